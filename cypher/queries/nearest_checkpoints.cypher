// The checkpoints nearest to one checkpoint by stored NNSTD (either direction).
// @param run run  the checkpoint's run
// @param epoch epoch  the checkpoint's epoch
// @param limit int = 10  how many checkpoints
MATCH (c:Checkpoint {run: $run, epoch: $epoch})-[d:NNSTD]-(o:Checkpoint)
RETURN o.run AS run, o.epoch AS epoch, d.mean AS distance, d.method AS method
ORDER BY distance, run, epoch
LIMIT $limit
