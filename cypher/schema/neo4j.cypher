// Schema of the topograph graph in Neo4j 5: constraints and indexes first.
// Each statement is idempotent (IF NOT EXISTS), so it runs on every connect.
CREATE CONSTRAINT run_name IF NOT EXISTS FOR (r:Run) REQUIRE r.name IS UNIQUE;
CREATE CONSTRAINT checkpoint_id IF NOT EXISTS FOR (c:Checkpoint) REQUIRE c.id IS UNIQUE;
CREATE CONSTRAINT layer_id IF NOT EXISTS FOR (l:Layer) REQUIRE l.id IS UNIQUE;
CREATE CONSTRAINT neuron_uid IF NOT EXISTS FOR (n:Neuron) REQUIRE n.uid IS UNIQUE;
CREATE INDEX checkpoint_run_epoch IF NOT EXISTS FOR (c:Checkpoint) ON (c.run, c.epoch);
CREATE INDEX layer_ckpt IF NOT EXISTS FOR (l:Layer) ON (l.ckpt);
CREATE INDEX neuron_ckpt_layer IF NOT EXISTS FOR (n:Neuron) ON (n.ckpt, n.layer);
CREATE INDEX nnstd_method IF NOT EXISTS FOR ()-[r:NNSTD]-() ON (r.method);
// Bookkeeping: the writer lease and the checkpoint-number counter, one node each.
CREATE CONSTRAINT topograph_lock_name IF NOT EXISTS FOR (l:TopographLock) REQUIRE l.name IS UNIQUE;
CREATE CONSTRAINT topograph_counter_name IF NOT EXISTS FOR (k:TopographCounter) REQUIRE k.name IS UNIQUE;
