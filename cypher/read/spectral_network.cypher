// Spectral properties of every analysed whole network, for the spectral table.
MATCH (c:Checkpoint)
WHERE c.spectral_solver IS NOT NULL
RETURN c.run AS run, c.epoch AS epoch, c.neurons AS nodes, c.edges AS edges,
       c.components AS components, c.algebraic_connectivity AS algebraic_connectivity, c.lcc_size AS lcc_size, c.lcc_algebraic_connectivity AS lcc_algebraic_connectivity, c.lambda1 AS lambda1, c.lambda2 AS lambda2, c.spectral_gap AS spectral_gap, c.isolated_in AS isolated_in, c.isolated_out AS isolated_out, c.mean_degree AS mean_degree, c.max_degree AS max_degree, c.mean_in_degree AS mean_in_degree, c.max_in_degree AS max_in_degree, c.spectral_solver AS spectral_solver
ORDER BY run, epoch
