// Every complete checkpoint's metadata, for the checkpoints table.
MATCH (c:Checkpoint)
WHERE c.complete = true
RETURN c.run AS run, c.epoch AS epoch, c.hash AS hash, c.accuracy AS accuracy, c.source AS source,
       c.n_layers AS n_layers, c.neurons AS neurons, c.edges AS edges
ORDER BY run, epoch
