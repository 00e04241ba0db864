// Roll back the open transaction.
ROLLBACK
