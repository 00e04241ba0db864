// Schema of the topograph graph in the embedded store (LadybugDB): tables
// must be declared before use; the primary keys are the uniqueness
// constraints and are indexed. Idempotent (IF NOT EXISTS).
CREATE NODE TABLE IF NOT EXISTS Run(name STRING, PRIMARY KEY (name));
CREATE NODE TABLE IF NOT EXISTS Checkpoint(id STRING, run STRING, epoch INT64, hash STRING, accuracy DOUBLE, source STRING, cid INT64, n_layers INT64, neurons INT64, edges INT64, complete BOOLEAN, PRIMARY KEY (id));
CREATE NODE TABLE IF NOT EXISTS Layer(id STRING, ckpt STRING, run STRING, epoch INT64, idx INT64, n_in INT64, n_out INT64, nnz INT64, density DOUBLE, PRIMARY KEY (id));
CREATE NODE TABLE IF NOT EXISTS Neuron(uid INT64, ckpt STRING, run STRING, epoch INT64, layer INT64, idx INT64, bias DOUBLE, PRIMARY KEY (uid));
CREATE REL TABLE IF NOT EXISTS HAS_CHECKPOINT(FROM Run TO Checkpoint);
CREATE REL TABLE IF NOT EXISTS HAS_LAYER(FROM Checkpoint TO Layer);
CREATE REL TABLE IF NOT EXISTS CONNECTS(FROM Neuron TO Neuron, weight FLOAT);
