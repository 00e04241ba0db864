// One checkpoint's metadata and its layers' shapes, in layer order.
MATCH (c:Checkpoint {id: $ckpt})-[:HAS_LAYER]->(l:Layer)
RETURN c.run AS run, c.epoch AS epoch, c.hash AS hash, c.accuracy AS accuracy, c.source AS source,
       c.complete AS complete, c.cid AS cid, c.neurons AS neurons, l.idx AS layer, l.n_in AS n_in, l.n_out AS n_out,
       l.name AS name, l.kind AS kind, l.kernel AS kernel, l.block AS block, l.topology AS topology
ORDER BY layer
