// Start a read-write transaction.
BEGIN TRANSACTION
