// Start one checkpoint: its Run, the Checkpoint node (complete = false until
// every neuron and edge is stored), its Layer nodes and their relationships.
// $ck: map of Checkpoint properties; $layers: list of Layer property maps.
MERGE (r:Run {name: $ck.run})
CREATE (c:Checkpoint)
SET c = $ck, c.complete = false
CREATE (r)-[:HAS_CHECKPOINT]->(c)
WITH c
UNWIND $layers AS layer
CREATE (l:Layer)
SET l = layer
CREATE (c)-[:HAS_LAYER]->(l)
