// Unaligned mask distances between checkpoints, a -> b (symmetric; a: the run
// that sorts later, or the earlier epoch). One relationship per pair and
// method; one stored the other way round is removed.
// $rows: list of {a, b, layers, mean, method, version, hamming}.
UNWIND $rows AS r
MATCH (a:Checkpoint {id: r.a}), (b:Checkpoint {id: r.b})
OPTIONAL MATCH (b)-[old:MASK_DISTANCE]->(a) WHERE old.method = r.method
DELETE old
WITH a, b, r
MERGE (a)-[d:MASK_DISTANCE {method: r.method}]->(b)
SET d.layers = r.layers, d.mean = r.mean, d.version = r.version, d.hamming = r.hamming
