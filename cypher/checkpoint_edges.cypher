// Every non-zero weight of one checkpoint as three parallel lists (one row:
// far cheaper to transfer than a row per edge): source uid, target uid,
// weight. A checkpoint's neurons hold the uids [$lo, $hi), so the range is
// an index seek on the uid constraint (4x faster than matching on ckpt).
MATCH (a:Neuron)-[w:CONNECTS]->(b:Neuron)
WHERE a.uid >= $lo AND a.uid < $hi
RETURN collect(a.uid) AS src, collect(b.uid) AS dst, collect(w.weight) AS weight
