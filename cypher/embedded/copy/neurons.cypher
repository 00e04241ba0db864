// Bulk load of Neuron nodes from an Arrow table with every column of the
// Neuron table of schema/embedded.cypher, in order.
COPY Neuron FROM $batch
