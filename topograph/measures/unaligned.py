"""Unaligned topology distance: how much two masks differ, neuron labels taken as they are.

Networks pruned from the same dense model (lottery tickets, magnitude
pruning, pruning at initialisation) already share neuron identities: neuron
``j`` of one is neuron ``j`` of the other. For them the question is the mask
overlap itself, without NNSTD's matching. Per layer ``k``, with ``A`` and
``B`` the sets of non-zero positions of ``W[k]`` in a and b:

* ``distance = 1 - |A ∩ B| / |A ∪ B|`` (1 − Jaccard; 0 when both are empty);
* ``hamming = |A △ B| / (rows x columns)``: the fraction of all positions
  where the masks disagree (the normalised Hamming distance of the masks).

Both are symmetric and 0 for identical masks; neither is invariant to
relabelling hidden neurons (that is the point: use NNSTD when labels are
arbitrary, as between independently trained runs). Only the pattern is used,
never the weights. Conv layers compare their full masks (every kernel
position). O(nnz) time and memory: one sparse product per layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp

from topograph.errors import InputError
from topograph.measures.base import PairMeasure
from topograph.model import Checkpoint
from topograph.results import DistanceResult, stored

__all__ = ["UNALIGNED", "UNALIGNED_VERSION", "UnalignedOptions", "UnalignedResult", "unaligned"]

#: Bumped whenever a change could alter a stored value.
UNALIGNED_VERSION = "1"


@dataclass(frozen=True)
class UnalignedOptions:
    """No choices: the masks are compared as labelled (``method`` is always ``none``)."""

    method: Literal["none"] = "none"

    def __post_init__(self) -> None:
        if self.method != "none":
            raise InputError(f"the unaligned distance has no method {self.method!r} (only none)")

    def stored_methods(self) -> tuple[str, ...]:
        return ("none",)


@dataclass(frozen=True, eq=False)
class UnalignedResult(DistanceResult):
    """1 − Jaccard and Hamming density of each layer's two masks (see the module doc)."""

    layers: tuple[float, ...] = stored(
        "float64", "1 - Jaccard of the layer's two masks, in [0, 1]", scope="layer",
        column="distance",
    )  # fmt: skip
    method: str = stored("string", "alignment: none (neurons compared as labelled)")
    hamming: tuple[float, ...] = stored(
        "float64", "fraction of the layer's positions where the masks differ", scope="layer",
        default=(),
    )  # fmt: skip


def _layer(a: sp.csr_matrix, b: sp.csr_matrix) -> tuple[float, float]:
    both = int(a.multiply(b).nnz)  # patterns are 0/1: the product's non-zeros are A ∩ B
    union = a.nnz + b.nnz - both
    distance = 0.0 if union == 0 else (union - both) / union
    return distance, (union - both) / (a.shape[0] * a.shape[1])


def unaligned(
    a: Checkpoint, b: Checkpoint, options: UnalignedOptions | None = None
) -> UnalignedResult:
    """Per-layer mask distance from ``a`` to ``b`` (symmetric); layer shapes must be equal."""
    if a.widths != b.widths or a.structure != b.structure:
        raise InputError(
            f"cannot compare the masks of {a.key} and {b.key}: their layers differ in shape"
        )
    pairs = [_layer(a.pattern(k), b.pattern(k)) for k in range(len(a.layers))]
    layers = tuple(d for d, _ in pairs)
    return UnalignedResult(
        layers=layers,
        mean=float(np.mean(layers)),
        method="none",
        version=UNALIGNED_VERSION,
        hamming=tuple(h for _, h in pairs),
    )


def _compute(a: Checkpoint, b: Checkpoint, options: UnalignedOptions) -> UnalignedResult:
    return unaligned(a, b, options)


#: The registry's entry for the unaligned mask distance.
UNALIGNED = PairMeasure(
    align="none",
    name="unaligned",
    summary="mask overlap without matching: 1 - Jaccard and Hamming density per layer",
    version=UNALIGNED_VERSION,
    relationship="MASK_DISTANCE",
    table="mask_distances",
    result_type=UnalignedResult,
    options_type=UnalignedOptions,
    methods=("none",),
    compute=_compute,
    aligned=False,
    symmetry="all",
    relabel_invariant="none",
)
