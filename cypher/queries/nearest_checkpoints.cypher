// The checkpoints nearest to one checkpoint by stored NNSTD (either direction).
// $run, $epoch: the checkpoint; $limit: how many.
MATCH (c:Checkpoint {run: $run, epoch: $epoch})-[d:NNSTD]-(o:Checkpoint)
RETURN o.run AS run, o.epoch AS epoch, d.mean AS distance, d.method AS method
ORDER BY distance, run, epoch
LIMIT $limit
