// Layers whose topology (almost) stopped changing: EVOLVES steps with NNSTD at most $threshold.
// @param threshold float = 0.0  largest layer distance that counts as unchanged (0 = identical wiring)
MATCH (a:Layer)-[e:EVOLVES]->(b:Layer)
WHERE e.distance <= $threshold
RETURN a.run AS run, a.idx AS layer, a.epoch AS from_epoch, b.epoch AS to_epoch, e.distance AS distance
ORDER BY run, layer, from_epoch
