// How far apart the runs are at each epoch (across-run NNSTD), most divergent epoch first.
// No parameters. The mean is an aggregate: stores may differ in its last bits.
MATCH (a:Checkpoint)-[d:NNSTD]->(b:Checkpoint)
WHERE a.epoch = b.epoch AND a.run <> b.run
RETURN a.epoch AS epoch, count(d) AS pairs, avg(d.mean) AS mean_distance,
       min(d.mean) AS min_distance, max(d.mean) AS max_distance
ORDER BY mean_distance DESC, epoch
