// Remove one checkpoint: its neurons with their CONNECTS, then its layers and node.
MATCH (n:Neuron {ckpt: $ckpt}) DETACH DELETE n;
MATCH (c:Checkpoint {id: $ckpt})
OPTIONAL MATCH (c)-[:HAS_LAYER]->(l:Layer)
DETACH DELETE l, c
