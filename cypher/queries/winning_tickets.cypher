// Plenty of winning tickets: pairs of checkpoints at one epoch, far apart by NNSTD, about as accurate.
// @param min_distance float = 0.3  smallest stored NNSTD mean (over all layers) that counts as a different topology
// @param max_accuracy_gap float = 0.01  largest difference of test accuracy (fraction correct) that counts as equally good
// Each pair is stored once per NNSTD method (network a is the run that sorts later); checkpoints
// without a recorded accuracy are left out. The gap is |accuracy_a - accuracy_b|.
MATCH (a:Checkpoint)-[d:NNSTD]->(b:Checkpoint)
WHERE a.epoch = b.epoch AND a.run <> b.run
  AND a.accuracy IS NOT NULL AND b.accuracy IS NOT NULL
  AND d.mean >= $min_distance AND abs(a.accuracy - b.accuracy) <= $max_accuracy_gap
RETURN a.epoch AS epoch, a.run AS run_a, b.run AS run_b, d.mean AS distance,
       a.accuracy AS accuracy_a, b.accuracy AS accuracy_b,
       abs(a.accuracy - b.accuracy) AS accuracy_gap, d.method AS method
ORDER BY epoch, distance DESC, run_a, run_b, method
