// Density and non-zero weights of every layer of one run, epoch by epoch.
// @param run run  the run's name
MATCH (r:Run {name: $run})-[:HAS_CHECKPOINT]->(c:Checkpoint)-[:HAS_LAYER]->(l:Layer)
WHERE c.complete = true
RETURN c.epoch AS epoch, l.idx AS layer, l.n_in AS n_in, l.n_out AS n_out, l.nnz AS nnz, l.density AS density
ORDER BY epoch, layer
