// Neurons of one checkpoint that carry a bias: position, index, bias.
MATCH (n:Neuron {ckpt: $ckpt})
WHERE n.bias IS NOT NULL
RETURN n.layer AS layer, n.idx AS idx, n.bias AS bias
