// The Neuron nodes of a small batch, from an Arrow table with every column of
// the Neuron table (for a large batch copy/neurons is faster; a COPY costs a
// fixed ~7 MiB of buffer pool until the database closes, this ~0.2 KiB a row).
LOAD FROM $batch
CREATE (:Neuron {uid: uid, ckpt: ckpt, run: run, epoch: epoch, layer: layer, idx: idx, bias: bias})
