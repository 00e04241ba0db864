// Mark a checkpoint complete: only now is it visible to readers.
MATCH (c:Checkpoint {id: $ckpt})
SET c.complete = true
