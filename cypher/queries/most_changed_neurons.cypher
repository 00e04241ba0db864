// The neurons of one checkpoint whose inputs changed most by the next epoch (matched pair distance).
// @param run run  the checkpoint's run
// @param epoch epoch  the checkpoint's epoch
// @param limit int = 20  how many neurons
MATCH (x:Neuron {run: $run, epoch: $epoch})-[m:MATCHES]->(y:Neuron)
WHERE y.run = $run
RETURN x.layer AS layer, x.idx AS idx, y.epoch AS next_epoch, y.idx AS matched_idx, m.distance AS distance
ORDER BY distance DESC, layer, idx
LIMIT $limit
