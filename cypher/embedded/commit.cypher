// Commit the open transaction.
COMMIT
