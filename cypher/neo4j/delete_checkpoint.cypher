// Remove one checkpoint's neurons (with their CONNECTS), layers and node, in
// batches, e.g. what a crashed ingest left behind (complete = false).
MATCH (n:Neuron {ckpt: $ckpt})
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS
