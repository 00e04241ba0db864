// Every stored NNSTD result with the fields of topograph.measures.nnstd.NNSTDResult
// (the distances table expands the per-layer list into rows).
MATCH (a:Checkpoint)-[d:NNSTD]->(b:Checkpoint)
RETURN a.run AS run_a, a.epoch AS epoch_a, b.run AS run_b, b.epoch AS epoch_b,
       d.layers AS layers, d.mean AS mean, d.method AS method, d.version AS version
ORDER BY run_a, epoch_a, run_b, epoch_b, method
