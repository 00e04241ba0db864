// NEXT: consecutive epochs of a run, carrying the NNSTD of the step.
// $rows: list of {a, b, layers, mean, method, version}.
UNWIND $rows AS r
MATCH (a:Checkpoint {id: r.a}), (b:Checkpoint {id: r.b})
MERGE (a)-[n:NEXT {method: r.method}]->(b)
SET n.distance = r.mean, n.layers = r.layers, n.version = r.version
