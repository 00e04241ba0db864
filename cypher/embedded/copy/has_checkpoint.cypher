// Bulk load of HAS_CHECKPOINT from an Arrow table (Run name, Checkpoint id).
COPY HAS_CHECKPOINT FROM $batch
