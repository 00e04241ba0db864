// The catalog: every stored checkpoint, complete or not, with the fields of
// topograph.stores.base.StoredCheckpoint (the checkpoints table's columns).
MATCH (c:Checkpoint)
RETURN c.run AS run, c.epoch AS epoch, c.hash AS hash, c.accuracy AS accuracy, c.source AS source,
       c.n_layers AS n_layers, c.neurons AS neurons, c.edges AS edges, c.complete AS complete, c.cid AS cid
ORDER BY run, epoch
