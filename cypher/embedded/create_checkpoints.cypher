// The Checkpoint nodes of a batch (complete = false until their edges are
// stored) under their Run nodes, from an Arrow table with the columns of
// topograph.stores.embedded's checkpoint schema. Cypher, not COPY: every COPY
// into a node table holds several MiB of the buffer pool until the database
// is closed (measured: ~20 MiB per COPY into Checkpoint, ~25 MiB into Layer),
// so one COPY per small batch exhausted any bounded pool.
LOAD FROM $batch
MERGE (r:Run {name: run})
CREATE (r)-[:HAS_CHECKPOINT]->(:Checkpoint {id: id, run: run, epoch: epoch, hash: hash, accuracy: accuracy, source: source, cid: cid, n_layers: n_layers, neurons: neurons, edges: edges, complete: false})
