// EVOLVES: one layer from one epoch of a run to the next, with that layer's NNSTD.
// $rows: list of {a, b (Layer ids), distance, method, version}.
UNWIND $rows AS r
MATCH (a:Layer {id: r.a}), (b:Layer {id: r.b})
MERGE (a)-[e:EVOLVES {method: r.method}]->(b)
SET e.distance = r.distance, e.version = r.version
