// Remove one checkpoint's neurons (with their CONNECTS), layers and node, in
// batches, e.g. what a crashed ingest left behind (complete = false).
// (The importing-WITH form of CALL runs on every Neo4j 5.x.)
MATCH (n:Neuron {ckpt: $ckpt})
CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS
