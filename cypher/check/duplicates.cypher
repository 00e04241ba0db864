// Results stored more than once for one key (what concurrent writers once
// left behind): MATCHES per source neuron, target checkpoint and method;
// NNSTD per pair and method. One row per kind: (kind, n duplicated keys).
MATCH (x:Neuron)-[m:MATCHES]->(y:Neuron)
WITH x.uid AS src, y.ckpt AS b, m.method AS method, count(m) AS copies
WHERE copies > 1
RETURN 'MATCHES' AS kind, count(*) AS n
UNION ALL
MATCH (a:Checkpoint)-[d:NNSTD]->(b:Checkpoint)
WITH a.id AS a, b.id AS b, d.method AS method, count(d) AS copies
WHERE copies > 1
RETURN 'NNSTD' AS kind, count(*) AS n
