"""The registry of measures: the one list that analyze, the CLI, the stores and the tables read.

Adding a measure is one module here (its result dataclass, its function and
its spec), its reference test, and its Cypher write file under
``cypher/write/``; the contract test (``tests/test_measure_contract.py``)
then runs over it like over every other.
"""

from __future__ import annotations

from topograph.errors import InputError
from topograph.measures.base import CheckpointMeasure, LayerPromise, Measure, PairMeasure
from topograph.measures.nnstd import NNSTD, NNSTDOptions, NNSTDResult, nnstd
from topograph.measures.spectral import SPECTRAL, SpectralOptions, SpectralProperties
from topograph.measures.unaligned import UNALIGNED, UnalignedOptions, UnalignedResult, unaligned

__all__ = [
    "NNSTD",
    "REGISTRY",
    "SPECTRAL",
    "UNALIGNED",
    "CheckpointMeasure",
    "LayerPromise",
    "Measure",
    "NNSTDOptions",
    "NNSTDResult",
    "PairMeasure",
    "SpectralOptions",
    "SpectralProperties",
    "UnalignedOptions",
    "UnalignedResult",
    "by_align",
    "checkpoint_measures",
    "get",
    "nnstd",
    "pair_measures",
    "unaligned",
]

#: Every measure by name, in the order listings show them.
REGISTRY: dict[str, Measure] = {m.name: m for m in (NNSTD, UNALIGNED, SPECTRAL)}


def get(name: str) -> Measure:
    """The measure called ``name``; a one-line error lists the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown measure {name!r} (known: {', '.join(REGISTRY)})") from None


def pair_measures() -> list[PairMeasure]:
    """The registered distances between two checkpoints."""
    return [m for m in REGISTRY.values() if isinstance(m, PairMeasure)]


def by_align(align: str) -> PairMeasure:
    """The pair measure chosen by ``--align`` (``nnstd``, ``none``)."""
    for m in pair_measures():
        if m.align == align:
            return m
    known = ", ".join(m.align for m in pair_measures())
    raise InputError(f"unknown alignment {align!r} (use {known})")


def checkpoint_measures() -> list[CheckpointMeasure]:
    """The registered properties of one checkpoint."""
    return [m for m in REGISTRY.values() if isinstance(m, CheckpointMeasure)]
