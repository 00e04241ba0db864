// Count of every node label and relationship type of the schema.
MATCH (n:Run) RETURN 'Run' AS kind, count(n) AS n
UNION ALL MATCH (n:Checkpoint) RETURN 'Checkpoint' AS kind, count(n) AS n
UNION ALL MATCH (n:Layer) RETURN 'Layer' AS kind, count(n) AS n
UNION ALL MATCH (n:Neuron) RETURN 'Neuron' AS kind, count(n) AS n
UNION ALL MATCH ()-[r:HAS_CHECKPOINT]->() RETURN 'HAS_CHECKPOINT' AS kind, count(r) AS n
UNION ALL MATCH ()-[r:HAS_LAYER]->() RETURN 'HAS_LAYER' AS kind, count(r) AS n
UNION ALL MATCH ()-[r:CONNECTS]->() RETURN 'CONNECTS' AS kind, count(r) AS n
UNION ALL MATCH ()-[r:NNSTD]->() RETURN 'NNSTD' AS kind, count(r) AS n
UNION ALL MATCH ()-[r:MASK_DISTANCE]->() RETURN 'MASK_DISTANCE' AS kind, count(r) AS n
UNION ALL MATCH ()-[r:NEXT]->() RETURN 'NEXT' AS kind, count(r) AS n
UNION ALL MATCH ()-[r:EVOLVES]->() RETURN 'EVOLVES' AS kind, count(r) AS n
UNION ALL MATCH ()-[r:MATCHES]->() RETURN 'MATCHES' AS kind, count(r) AS n
