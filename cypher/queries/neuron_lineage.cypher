// Follow one neuron through training along MATCHES (the NNSTD matching of consecutive epochs).
// $run, $epoch: where it starts; $layer: its position (1 = first hidden layer); $idx: its index.
// Follows at most 30 steps (stored consecutive-epoch pairs) from the start.
MATCH (n:Neuron {run: $run, epoch: $epoch, layer: $layer, idx: $idx})-[:MATCHES*1..30]->(m:Neuron)
WHERE m.run = $run
RETURN m.epoch AS epoch, m.layer AS layer, m.idx AS idx
ORDER BY epoch
