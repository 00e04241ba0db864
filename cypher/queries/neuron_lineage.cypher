// Follow one neuron through training along MATCHES (the NNSTD matching of consecutive epochs).
// @param run run  the run the neuron belongs to
// @param epoch epoch  the epoch it starts at
// @param layer int  its position in the chain (0 = inputs, 1 = first hidden layer)
// @param idx int  its index within that position
// Follows at most 30 steps (stored consecutive-epoch pairs) from the start.
MATCH (n:Neuron {run: $run, epoch: $epoch, layer: $layer, idx: $idx})-[:MATCHES*1..30]->(m:Neuron)
WHERE m.run = $run
RETURN m.epoch AS epoch, m.layer AS layer, m.idx AS idx
ORDER BY epoch
