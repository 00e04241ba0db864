// One batch of CONNECTS relationships (non-zero weights) of a big checkpoint,
// in its own transaction (bounded memory on the server), as parallel lists
// of source uid, target uid, tap and weight; endpoints found by the uid constraint.
UNWIND range(0, size($src) - 1) AS i
MATCH (a:Neuron {uid: $src[i]})
MATCH (b:Neuron {uid: $dst[i]})
CREATE (a)-[:CONNECTS {weight: $w[i], tap: CASE $tap[i] WHEN 0 THEN null ELSE $tap[i] END}]->(b)
