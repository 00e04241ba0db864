// One batch of CONNECTS relationships (non-zero weights) of a big checkpoint,
// in its own transaction (bounded memory on the server). The batch's
// endpoints lie in the uid range [$lo, $hi), every neuron of it stored (the
// checkpoint's neurons are consecutive uids): one index range scan finds them
// all, and each edge addresses its endpoints by offset into that range
// ($src[j] = uid - $lo), not by two index lookups. Returns how many were
// created, which the caller checks against the batch.
MATCH (n:Neuron)
WHERE n.uid >= $lo AND n.uid < $hi
WITH n ORDER BY n.uid
WITH collect(n) AS ns
WHERE size(ns) = $hi - $lo
UNWIND range(0, size($src) - 1) AS j
WITH ns[$src[j]] AS a, ns[$dst[j]] AS b, $w[j] AS w, $tap[j] AS t
CREATE (a)-[:CONNECTS {weight: w, tap: CASE t WHEN 0 THEN null ELSE t END}]->(b)
RETURN count(*) AS created
