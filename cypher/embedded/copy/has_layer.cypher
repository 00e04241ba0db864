// Bulk load of HAS_LAYER from an Arrow table (Checkpoint id, Layer id).
COPY HAS_LAYER FROM $batch
