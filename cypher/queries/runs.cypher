// Runs with their number of complete checkpoints and their first and last epoch.
// No parameters.
MATCH (r:Run)-[:HAS_CHECKPOINT]->(c:Checkpoint)
WHERE c.complete = true
RETURN r.name AS run, count(c) AS checkpoints, min(c.epoch) AS first_epoch, max(c.epoch) AS last_epoch
ORDER BY run
