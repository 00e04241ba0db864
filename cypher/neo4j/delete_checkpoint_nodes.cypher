// After delete_checkpoint: the Checkpoint and Layer nodes themselves.
MATCH (c:Checkpoint {id: $ckpt})
OPTIONAL MATCH (c)-[:HAS_LAYER]->(l:Layer)
DETACH DELETE l, c
