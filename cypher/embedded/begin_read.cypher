// Start a read-only transaction: the store itself refuses writes in it,
// as Neo4j does in read access mode.
BEGIN TRANSACTION READ ONLY
