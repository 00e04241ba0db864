// MATCHES between neurons of two checkpoints (the NNSTD matching), as
// parallel lists: source uid, target uid, position, matched pair's distance.
UNWIND range(0, size($src) - 1) AS i
MATCH (x:Neuron {uid: $src[i]})
MATCH (y:Neuron {uid: $dst[i]})
CREATE (x)-[:MATCHES {layer: $layer[i], distance: $distance[i], method: $method[i], version: $version[i]}]->(y)
