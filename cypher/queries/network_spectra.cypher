// Whole-network spectral properties of one run's checkpoints, epoch by epoch.
// @param run run  the run's name
MATCH (c:Checkpoint {run: $run})
WHERE c.spectral_solver IS NOT NULL
RETURN c.epoch AS epoch, c.accuracy AS accuracy, c.components AS components, c.lcc_size AS lcc_size,
       c.lcc_algebraic_connectivity AS lcc_algebraic_connectivity, c.spectral_gap AS spectral_gap
ORDER BY epoch
