// Spectral properties of each layer's bipartite graph, set on its Layer node.
// $rows: list of maps with id and the graph-stored fields of topograph.measures.spectral.SpectralProperties.
UNWIND $rows AS r
MATCH (x:Layer {id: r.id})
SET x.components = r.components,
    x.algebraic_connectivity = r.algebraic_connectivity,
    x.lcc_size = r.lcc_size,
    x.lcc_algebraic_connectivity = r.lcc_algebraic_connectivity,
    x.lambda1 = r.lambda1,
    x.lambda2 = r.lambda2,
    x.spectral_gap = r.spectral_gap,
    x.isolated_in = r.isolated_in,
    x.isolated_out = r.isolated_out,
    x.mean_degree = r.mean_degree,
    x.max_degree = r.max_degree,
    x.mean_in_degree = r.mean_in_degree,
    x.max_in_degree = r.max_in_degree,
    x.spectral_solver = r.spectral_solver
