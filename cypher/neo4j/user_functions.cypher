// Functions installed on the server beyond Neo4j's own (plugins such as APOC):
// a read-only query may not call them (some read files or write).
SHOW FUNCTIONS YIELD name, isBuiltIn
WHERE NOT isBuiltIn
RETURN name
