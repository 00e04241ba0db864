// Every non-zero weight of one checkpoint as four parallel lists (one row:
// far cheaper to transfer than a row per edge): the source neuron's
// position and index, the target's index, the weight.
MATCH (a:Neuron {ckpt: $ckpt})-[w:CONNECTS]->(b:Neuron)
RETURN collect(a.layer) AS layer, collect(a.idx) AS src, collect(b.idx) AS dst, collect(w.weight) AS weight
