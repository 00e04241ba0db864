// Remove the MATCHES of one checkpoint pair and method, in either direction,
// before writing them anew.
MATCH (x:Neuron)-[m:MATCHES]->(y:Neuron)
WHERE ((x.ckpt = $a AND y.ckpt = $b) OR (x.ckpt = $b AND y.ckpt = $a)) AND m.method = $method
DELETE m
