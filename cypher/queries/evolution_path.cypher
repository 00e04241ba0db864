// A run's path through training: each NEXT step with its NNSTD and the accuracy reached.
// @param run run  the run's name
MATCH (a:Checkpoint {run: $run})-[n:NEXT]->(b:Checkpoint)
RETURN a.epoch AS from_epoch, b.epoch AS to_epoch, n.distance AS distance, b.accuracy AS accuracy
ORDER BY from_epoch
