// One batch of CONNECTS relationships (non-zero weights), as parallel lists
// of source uid, target uid and weight; endpoints found by the uid constraint.
UNWIND range(0, size($src) - 1) AS i
MATCH (a:Neuron {uid: $src[i]})
MATCH (b:Neuron {uid: $dst[i]})
CREATE (a)-[:CONNECTS {weight: $w[i], tap: CASE $tap[i] WHEN 0 THEN null ELSE $tap[i] END}]->(b)
