"""The pipeline: what users do, one module each.

ingest (checkpoints into a store), analyze (measures from the store, written
back), compare (measures straight from files, no store), queries (named
Cypher with declared parameters), tables (Parquet), plot (figures). Each
calls loaders, stores and the compute engine; the session and the CLI call
these.
"""
