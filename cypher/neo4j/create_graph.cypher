// All neurons and non-zero weights of one checkpoint in one statement, as
// parallel lists. Edge endpoints are offsets into this statement's own
// neuron list ($src[j] = uid - first uid), so no edge needs an index lookup.
UNWIND range(0, size($uid) - 1) AS i
CREATE (n:Neuron {uid: $uid[i], ckpt: $ckpt, run: $run, epoch: $epoch, layer: $layer[i], idx: $idx[i], bias: $bias[i]})
WITH collect(n) AS ns
UNWIND range(0, size($src) - 1) AS j
WITH ns[$src[j]] AS a, ns[$dst[j]] AS b, $w[j] AS w
CREATE (a)-[:CONNECTS {weight: w}]->(b)
