// Neurons of one checkpoint (uids [$lo, $hi)) that carry a bias: uid and bias.
MATCH (n:Neuron)
WHERE n.uid >= $lo AND n.uid < $hi AND n.bias IS NOT NULL
RETURN collect(n.uid) AS uid, collect(n.bias) AS bias
