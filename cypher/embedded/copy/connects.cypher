// Bulk load of CONNECTS from an Arrow table (source uid, target uid, weight).
COPY CONNECTS FROM $batch
