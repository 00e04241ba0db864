// Every stored NNSTD result, for the distances table (layers expanded in Python).
MATCH (a:Checkpoint)-[d:NNSTD]->(b:Checkpoint)
RETURN a.run AS run_a, a.epoch AS epoch_a, b.run AS run_b, b.epoch AS epoch_b, d.layers AS layers, d.method AS method
ORDER BY run_a, epoch_a, run_b, epoch_b, method
