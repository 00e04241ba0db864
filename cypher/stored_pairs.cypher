// Results already stored, so analyze computes only what is missing: one row
// per relationship of a pair measure (NNSTD, MASK_DISTANCE) or NEXT, and per
// checkpoint pair with MATCHES: (kind, a, b, method, version).
MATCH (a:Checkpoint)-[d:NNSTD]->(b:Checkpoint)
RETURN 'NNSTD' AS kind, a.id AS a, b.id AS b, d.method AS method, d.version AS version
UNION ALL
MATCH (a:Checkpoint)-[d:MASK_DISTANCE]->(b:Checkpoint)
RETURN 'MASK_DISTANCE' AS kind, a.id AS a, b.id AS b, d.method AS method, d.version AS version
UNION ALL
MATCH (a:Checkpoint)-[n:NEXT]->(b:Checkpoint)
RETURN 'NEXT' AS kind, a.id AS a, b.id AS b, n.method AS method, n.version AS version
UNION ALL
MATCH (x:Neuron)-[m:MATCHES]->(y:Neuron)
RETURN DISTINCT 'MATCHES' AS kind, x.ckpt AS a, y.ckpt AS b, m.method AS method, m.version AS version
