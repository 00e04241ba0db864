// Bulk load of CONNECTS from an Arrow table (source uid, target uid, weight, tap).
COPY CONNECTS FROM $batch
