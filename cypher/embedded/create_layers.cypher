// The Layer nodes of a batch under their Checkpoint nodes (created just
// before, in the same transaction), from an Arrow table with the columns of
// topograph.stores.embedded's layer schema (spectral properties come later).
LOAD FROM $batch
MATCH (c:Checkpoint {id: ckpt})
CREATE (c)-[:HAS_LAYER]->(:Layer {id: id, ckpt: ckpt, run: run, epoch: epoch, idx: idx, n_in: n_in, n_out: n_out, nnz: nnz, density: density, name: name, kind: kind, kernel: kernel, block: block, topology: topology})
