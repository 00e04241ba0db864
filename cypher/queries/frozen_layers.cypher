// Layers whose topology (almost) stopped changing: EVOLVES steps with NNSTD at most $threshold.
// @param threshold float = 0.0  largest layer distance that counts as unchanged (0 = identical wiring)
// @param sparse_only bool = false  leave out dense layers (density 1): a dense layer never changes, so all its steps are listed
MATCH (a:Layer)-[e:EVOLVES]->(b:Layer)
WHERE e.distance <= $threshold AND (NOT $sparse_only OR a.density < 1.0)
RETURN a.run AS run, a.idx AS layer, a.epoch AS from_epoch, b.epoch AS to_epoch, e.distance AS distance
ORDER BY run, layer, from_epoch
