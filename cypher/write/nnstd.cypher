// NNSTD results between checkpoints, a -> b (a: the run that sorts later, as in
// the published code's Figure 4, or the earlier epoch). Recomputing replaces:
// one relationship per pair and method; a result of the pair stored the other
// way round (by an older version) is removed.
// $rows: list of {a, b, layers, mean, method, version}.
UNWIND $rows AS r
MATCH (a:Checkpoint {id: r.a}), (b:Checkpoint {id: r.b})
OPTIONAL MATCH (b)-[old:NNSTD]->(a) WHERE old.method = r.method
DELETE old
WITH a, b, r
MERGE (a)-[d:NNSTD {method: r.method}]->(b)
SET d.layers = r.layers, d.mean = r.mean, d.version = r.version
