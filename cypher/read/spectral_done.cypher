// Checkpoints whose spectral properties are stored (layers are written before the network).
MATCH (c:Checkpoint)
WHERE c.spectral_solver IS NOT NULL
RETURN c.id AS id
