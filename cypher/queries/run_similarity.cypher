// Every pair of runs at one epoch with its NNSTD (the cells of the paper's Figure 4).
// @param epoch epoch  the epoch
MATCH (a:Checkpoint {epoch: $epoch})-[d:NNSTD]->(b:Checkpoint {epoch: $epoch})
WHERE a.run <> b.run
RETURN a.run AS run_a, b.run AS run_b, d.mean AS distance, d.method AS method
ORDER BY run_a, run_b
