// Remove the MATCHES of one checkpoint pair and method before writing them anew.
MATCH (x:Neuron {ckpt: $a})-[m:MATCHES]->(y:Neuron {ckpt: $b})
WHERE m.method = $method
DELETE m
