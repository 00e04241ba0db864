// MATCHES between neurons of checkpoint pairs, bulk: an Arrow table of
// (from uid, to uid, layer, distance, method, version).
COPY MATCHES FROM $batch
