"""What a measure is, for everything that runs, stores and exports measures.

Two families, one spec each (netrd keeps one class per graph distance behind
a base and one contract test over all of them; this is that base):

* :class:`PairMeasure`: a distance from checkpoint a to checkpoint b, layer by
  layer (NNSTD; the unaligned mask distance). Its result is a
  :class:`~topograph.results.DistanceResult`, stored as one relationship
  between the two Checkpoint nodes and exported as one table row per pair
  and layer.
* :class:`CheckpointMeasure`: properties of one checkpoint, a record per layer
  and one for the whole network (spectral properties), stored on the Layer
  and Checkpoint nodes and exported as one row per layer and per network.

A spec names the measure, its options and methods, what it promises (the
contract test checks each promise on every registered measure), and the
result dataclass whose field declarations (:func:`topograph.results.stored`)
drive the write-back, the stores' schemas and the Parquet tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from topograph.model import Checkpoint, CheckpointKey
from topograph.results import CheckpointProperties, DistanceResult, ResultField, result_fields

__all__ = ["CheckpointMeasure", "LayerPromise", "Measure", "PairMeasure"]

#: For which layers a pair measure keeps a promise (symmetry, invariance to
#: relabelling): ``all``, only the ``first`` (later layers depend on a
#: matching that breaks ties one way), or ``none``.
LayerPromise = Literal["all", "first", "none"]


@dataclass(frozen=True)
class PairMeasure:
    """A layer-by-layer distance between two checkpoints of the same widths.

    Attributes
    ----------
    name
        Registry key and the ``measure`` of its results.
    align
        How neurons are put in correspondence, the value users choose it by
        (``--align``): ``nnstd`` (matched by NNSTD), ``none`` (as labelled).
    summary
        One line for listings and help texts.
    version
        Version of its code: bumped whenever a change could alter a stored
        value, so stored results of an older version can be found.
    relationship
        Relationship type stored between the two Checkpoint nodes.
    table
        Name of its Parquet table (one row per pair and layer).
    result_type
        Its :class:`~topograph.results.DistanceResult` subclass.
    options_type
        Frozen dataclass of its options, built from keyword arguments; it has
        a ``method`` field whose values are ``methods``, and
        ``stored_methods()``: the methods of stored results that satisfy it
        (a method that resolves per network accepts each it resolves to).
    methods
        The method names the user may choose (the first is the default).
    compute
        ``compute(a, b, options) -> result``.
    aligned
        True when the result holds a neuron matching (stored as MATCHES and
        EVOLVES along runs).
    symmetry
        Layers whose value is the same from a to b as from b to a (see
        :data:`LayerPromise`).
    relabel_invariant
        Layers whose value is unchanged when the hidden neurons of b are
        relabelled (the same network under other labels).
    """

    name: str
    align: str
    summary: str
    version: str
    relationship: str
    table: str
    result_type: type[DistanceResult]
    options_type: type[Any]
    methods: tuple[str, ...]
    compute: Callable[[Checkpoint, Checkpoint, Any], DistanceResult]
    aligned: bool
    symmetry: LayerPromise
    relabel_invariant: LayerPromise

    @property
    def fields(self) -> tuple[ResultField, ...]:
        return result_fields(self.result_type)

    def options(self, **kwargs: Any) -> Any:
        """The options object of this measure from keyword arguments (validated)."""
        return self.options_type(**kwargs)

    def __call__(self, a: Checkpoint, b: Checkpoint, options: Any = None) -> DistanceResult:
        return self.compute(a, b, options if options is not None else self.options_type())


@dataclass(frozen=True)
class CheckpointMeasure:
    """Properties of one checkpoint: one record per layer and one for the network.

    ``result_type`` is the record dataclass; ``compute(checkpoint, options)``
    returns a :class:`~topograph.results.CheckpointProperties`.
    ``relabel_invariant``: relabelling hidden neurons leaves every value
    unchanged. ``table``: its Parquet table.
    """

    name: str
    summary: str
    table: str
    result_type: type[Any]
    options_type: type[Any]
    compute: Callable[[Checkpoint, Any], CheckpointProperties]
    relabel_invariant: bool

    @property
    def fields(self) -> tuple[ResultField, ...]:
        return result_fields(self.result_type)

    def options(self, **kwargs: Any) -> Any:
        return self.options_type(**kwargs)

    def __call__(self, ck: Checkpoint, options: Any = None) -> CheckpointProperties:
        return self.compute(ck, options if options is not None else self.options_type())

    def of(self, key: CheckpointKey, layers: tuple[Any, ...], network: Any) -> CheckpointProperties:
        return CheckpointProperties(self.name, key, layers, network)


Measure = PairMeasure | CheckpointMeasure
