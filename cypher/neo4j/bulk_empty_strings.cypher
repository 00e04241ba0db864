// After a Parquet bulk import: the importer's Parquet reader drops empty
// strings (it keeps them from CSV), where the online path stores ''. The
// string properties below are never null in the graph model, so a missing
// one was ''. One pass over the Checkpoint and Layer nodes (few).
MATCH (l:Layer)
WHERE l.name IS NULL OR l.kind IS NULL OR l.kernel IS NULL OR l.topology IS NULL
SET l.name = coalesce(l.name, ''), l.kind = coalesce(l.kind, ''),
    l.kernel = coalesce(l.kernel, ''), l.topology = coalesce(l.topology, '')
WITH count(l) AS layers
OPTIONAL MATCH (c:Checkpoint)
WHERE c.source IS NULL
SET c.source = ''
RETURN layers, count(c) AS checkpoints
