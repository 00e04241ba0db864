// Spectral properties of every layer beside the checkpoint's test accuracy (Bourely et al. 2017).
// No parameters. Checkpoints without a recorded accuracy are left out.
MATCH (c:Checkpoint)-[:HAS_LAYER]->(l:Layer)
WHERE c.accuracy IS NOT NULL AND l.spectral_solver IS NOT NULL
RETURN c.run AS run, c.epoch AS epoch, c.accuracy AS accuracy, l.idx AS layer,
       l.components AS components, l.lcc_size AS lcc_size,
       l.lcc_algebraic_connectivity AS lcc_algebraic_connectivity, l.spectral_gap AS spectral_gap
ORDER BY run, epoch, layer
