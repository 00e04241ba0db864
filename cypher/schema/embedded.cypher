// Schema of the topograph graph in the embedded store (LadybugDB): tables
// must be declared before use; the primary keys are the uniqueness
// constraints and are indexed. Idempotent (IF NOT EXISTS).
CREATE NODE TABLE IF NOT EXISTS Run(name STRING, PRIMARY KEY (name));
CREATE NODE TABLE IF NOT EXISTS Checkpoint(id STRING, run STRING, epoch INT64, hash STRING, accuracy DOUBLE, source STRING, cid INT64, n_layers INT64, neurons INT64, edges INT64, complete BOOLEAN, components INT64, algebraic_connectivity DOUBLE, lcc_size INT64, lcc_algebraic_connectivity DOUBLE, lambda1 DOUBLE, lambda2 DOUBLE, spectral_gap DOUBLE, isolated_in INT64, isolated_out INT64, mean_degree DOUBLE, max_degree INT64, mean_in_degree DOUBLE, max_in_degree INT64, spectral_solver STRING, PRIMARY KEY (id));
CREATE NODE TABLE IF NOT EXISTS Layer(id STRING, ckpt STRING, run STRING, epoch INT64, idx INT64, n_in INT64, n_out INT64, nnz INT64, density DOUBLE, name STRING, kind STRING, kernel STRING, block INT64, topology STRING, components INT64, algebraic_connectivity DOUBLE, lcc_size INT64, lcc_algebraic_connectivity DOUBLE, lambda1 DOUBLE, lambda2 DOUBLE, spectral_gap DOUBLE, isolated_in INT64, isolated_out INT64, mean_degree DOUBLE, max_degree INT64, mean_in_degree DOUBLE, max_in_degree INT64, spectral_solver STRING, PRIMARY KEY (id));
CREATE NODE TABLE IF NOT EXISTS Neuron(uid INT64, ckpt STRING, run STRING, epoch INT64, layer INT64, idx INT64, bias DOUBLE, PRIMARY KEY (uid));
CREATE REL TABLE IF NOT EXISTS HAS_CHECKPOINT(FROM Run TO Checkpoint);
CREATE REL TABLE IF NOT EXISTS HAS_LAYER(FROM Checkpoint TO Layer);
CREATE REL TABLE IF NOT EXISTS CONNECTS(FROM Neuron TO Neuron, weight FLOAT, tap INT32);
// Results written back by the workers (topograph analyze).
CREATE REL TABLE IF NOT EXISTS NNSTD(FROM Checkpoint TO Checkpoint, layers DOUBLE[], mean DOUBLE, method STRING, version STRING);
CREATE REL TABLE IF NOT EXISTS MASK_DISTANCE(FROM Checkpoint TO Checkpoint, layers DOUBLE[], mean DOUBLE, method STRING, version STRING, hamming DOUBLE[]);
CREATE REL TABLE IF NOT EXISTS NEXT(FROM Checkpoint TO Checkpoint, distance DOUBLE, layers DOUBLE[], method STRING, version STRING);
CREATE REL TABLE IF NOT EXISTS EVOLVES(FROM Layer TO Layer, distance DOUBLE, method STRING, version STRING);
CREATE REL TABLE IF NOT EXISTS MATCHES(FROM Neuron TO Neuron, layer INT64, distance DOUBLE, method STRING, version STRING);
