// Every pair of runs at one epoch with its unaligned mask distance (analyze --align none).
// @param epoch epoch  the epoch
MATCH (a:Checkpoint {epoch: $epoch})-[d:MASK_DISTANCE]->(b:Checkpoint {epoch: $epoch})
WHERE a.run <> b.run
RETURN a.run AS run_a, b.run AS run_b, d.mean AS distance, d.method AS method
ORDER BY run_a, run_b
