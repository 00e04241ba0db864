// Bulk load of a batch of whole checkpoints, one COPY per table, all inside
// one transaction (the caller's). Each parameter is an Arrow table whose
// columns are those named (in order; spectral properties come later) or all
// of schema/embedded.cypher; relationship tables take the
// from-key and to-key columns first.
COPY Checkpoint(id, run, epoch, hash, accuracy, source, cid, n_layers, neurons, edges, complete) FROM $checkpoints;
COPY Layer(id, ckpt, run, epoch, idx, n_in, n_out, nnz, density) FROM $layers;
COPY Neuron FROM $neurons;
COPY HAS_CHECKPOINT FROM $has_checkpoint;
COPY HAS_LAYER FROM $has_layer;
COPY CONNECTS FROM $connects
