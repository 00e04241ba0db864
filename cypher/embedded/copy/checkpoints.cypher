// Bulk load of Checkpoint nodes from an Arrow table with exactly these columns, in order.
COPY Checkpoint(id, run, epoch, hash, accuracy, source, cid, n_layers, neurons, edges, complete) FROM $batch
