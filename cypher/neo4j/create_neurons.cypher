// One batch of neurons, as parallel lists (cheaper to send than maps).
UNWIND range(0, size($uid) - 1) AS i
CREATE (:Neuron {uid: $uid[i], ckpt: $ckpt, run: $run, epoch: $epoch, layer: $layer[i], idx: $idx[i], bias: $bias[i]})
