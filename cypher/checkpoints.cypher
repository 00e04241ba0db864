// Every stored checkpoint with its content hash and whether it is complete.
MATCH (c:Checkpoint)
RETURN c.id AS id, c.run AS run, c.epoch AS epoch, c.hash AS hash, c.complete AS complete, c.cid AS cid,
       c.neurons AS neurons, c.edges AS edges
ORDER BY run, epoch
