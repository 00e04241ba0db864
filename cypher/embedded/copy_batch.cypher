// Bulk load of a batch of whole checkpoints, one COPY per table, all inside
// one transaction (the caller's). Each parameter is an Arrow table whose
// columns follow schema/embedded.cypher; relationship tables take the
// from-key and to-key columns first.
COPY Checkpoint FROM $checkpoints;
COPY Layer FROM $layers;
COPY Neuron FROM $neurons;
COPY HAS_CHECKPOINT FROM $has_checkpoint;
COPY HAS_LAYER FROM $has_layer;
COPY CONNECTS FROM $connects
