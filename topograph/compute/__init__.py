"""Running registered measures over many checkpoints, in parallel.

:mod:`~topograph.compute.pairs` says which pairs and runs any measure over
them; :mod:`~topograph.compute.workers` is the engine (in-process, a local
process pool, or a Dask cluster). Knows the measures and the model, never a
store or a file format: checkpoints come through a provider.
"""
