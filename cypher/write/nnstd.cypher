// NNSTD results between checkpoints, a -> b (a: the run that sorts first, or
// the earlier epoch). Recomputing replaces: one relationship per pair and method.
// $rows: list of {a, b, layers, mean, method, version}.
UNWIND $rows AS r
MATCH (a:Checkpoint {id: r.a}), (b:Checkpoint {id: r.b})
MERGE (a)-[d:NNSTD {method: r.method}]->(b)
SET d.layers = r.layers, d.mean = r.mean, d.version = r.version
