// Mark a batch of checkpoints complete ($ids: list of checkpoint ids), in its
// own statement after the COPY transaction committed: COPY data becomes
// durable at that commit, so the flag can never outlive the data it vouches for.
UNWIND $ids AS id
MATCH (c:Checkpoint {id: id})
SET c.complete = true
