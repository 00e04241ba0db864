// Every stored unaligned mask distance with the fields of
// topograph.measures.unaligned.UnalignedResult (the mask_distances table
// expands the per-layer lists into rows).
MATCH (a:Checkpoint)-[d:MASK_DISTANCE]->(b:Checkpoint)
RETURN a.run AS run_a, a.epoch AS epoch_a, b.run AS run_b, b.epoch AS epoch_b,
       d.layers AS layers, d.mean AS mean, d.method AS method, d.version AS version,
       d.hamming AS hamming
ORDER BY run_a, epoch_a, run_b, epoch_b, method
