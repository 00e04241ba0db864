"""Distances between checkpoints: one module per measure, one signature for all.

Every distance takes two :class:`~topograph.Checkpoint` objects and keyword
options, and returns a frozen result dataclass. :data:`REGISTRY` maps the
measure's name to its function, so pipelines, workers and contract tests can
iterate over every measure.
"""

from collections.abc import Callable
from typing import Any

from topograph.distances.nnstd import NNSTDOptions, NNSTDResult, nnstd

REGISTRY: dict[str, Callable[..., Any]] = {"nnstd": nnstd}

__all__ = ["REGISTRY", "NNSTDOptions", "NNSTDResult", "nnstd"]
