// Every non-zero weight of one checkpoint as parallel lists (one row: far
// cheaper to transfer than a row per edge): source uid, target uid, tap (the
// source neuron's row within its block; a missing tap is 0), weight. A checkpoint's neurons hold the uids [$lo, $hi), so the range is
// an index seek on the uid constraint (4x faster than matching on ckpt).
MATCH (a:Neuron)-[w:CONNECTS]->(b:Neuron)
WHERE a.uid >= $lo AND a.uid < $hi
RETURN collect(a.uid) AS src, collect(b.uid) AS dst, collect(coalesce(w.tap, 0)) AS tap,
       collect(w.weight) AS weight
