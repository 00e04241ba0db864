// Spectral properties of every analysed layer, for the spectral table.
MATCH (c:Checkpoint)-[:HAS_LAYER]->(l:Layer)
WHERE l.spectral_solver IS NOT NULL
RETURN c.run AS run, c.epoch AS epoch, l.idx AS layer, l.n_in AS n_in, l.n_out AS n_out, l.nnz AS nnz,
       l.components AS components, l.algebraic_connectivity AS algebraic_connectivity, l.lcc_size AS lcc_size, l.lcc_algebraic_connectivity AS lcc_algebraic_connectivity, l.lambda1 AS lambda1, l.lambda2 AS lambda2, l.spectral_gap AS spectral_gap, l.isolated_in AS isolated_in, l.isolated_out AS isolated_out, l.mean_degree AS mean_degree, l.max_degree AS max_degree, l.mean_in_degree AS mean_in_degree, l.max_in_degree AS max_in_degree, l.spectral_solver AS spectral_solver
ORDER BY run, epoch, layer
