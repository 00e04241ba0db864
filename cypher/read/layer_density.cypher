// The lowest density of each layer index over every stored checkpoint: a layer whose
// lowest density is 1 is dense everywhere (figures leave it out under sparse_only).
MATCH (c:Checkpoint)-[:HAS_LAYER]->(l:Layer)
WHERE c.complete = true
RETURN l.idx AS layer, min(l.density) AS min_density, count(l) AS checkpoints
ORDER BY layer
