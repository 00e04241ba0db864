// One batch of a big checkpoint's neurons (see neo4j/create_edges for its
// relationships), as parallel lists of uid, position, index and bias.
UNWIND range(0, size($uid) - 1) AS i
CREATE (:Neuron {uid: $uid[i], ckpt: $ckpt, run: $run, epoch: $epoch, layer: $layer[i], idx: $idx[i], bias: $bias[i]})
