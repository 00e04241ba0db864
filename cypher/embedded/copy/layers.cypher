// Bulk load of Layer nodes from an Arrow table with exactly these columns, in order
// (their spectral properties are set later by analyze).
COPY Layer(id, ckpt, run, epoch, idx, n_in, n_out, nnz, density, name, kind, kernel, block, topology) FROM $batch
