// All neurons and non-zero weights of one checkpoint in one statement, as
// parallel lists. Edge endpoints are offsets into this statement's own
// neuron list ($src[j] = uid - first uid), so no edge needs an index lookup.
// A tap of 0 (every dense layer's) is left unset: readers take a missing tap as 0.
UNWIND range(0, size($uid) - 1) AS i
CREATE (n:Neuron {uid: $uid[i], ckpt: $ckpt, run: $run, epoch: $epoch, layer: $layer[i], idx: $idx[i], bias: $bias[i]})
WITH collect(n) AS ns
UNWIND range(0, size($src) - 1) AS j
WITH ns[$src[j]] AS a, ns[$dst[j]] AS b, $w[j] AS w, $tap[j] AS t
CREATE (a)-[:CONNECTS {weight: w, tap: CASE t WHEN 0 THEN null ELSE t END}]->(b)
