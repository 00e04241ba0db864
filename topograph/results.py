"""Results of measures, as the domain objects every part exchanges.

Measures produce them, stores persist them, tables and figures read them;
none of those parts needs to know which measure made a result. What a result
stores and exports is declared once, on the result dataclass's fields, with
:func:`stored`: the field's meaning, its type, whether it is one value per
layer or one per result, and the column it becomes in a Parquet table. The
write-back Cypher (``cypher/write/``), the embedded schema and the Parquet
schemas are checked against these declarations by a test.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from topograph.errors import InputError
from topograph.model import CheckpointKey
from topograph.types import FloatArray, Matching

__all__ = [
    "CheckpointProperties",
    "DistanceResult",
    "PairDistance",
    "ResultField",
    "record",
    "result_fields",
    "stored",
]

#: Value types a stored field may have (Parquet and both stores hold them).
FieldType = Literal["int32", "int64", "float64", "string", "bool"]
#: ``layer``: a sequence with one value per layer; ``result``: one value.
Scope = Literal["layer", "result"]


@dataclass(frozen=True)
class ResultField:
    """How one field of a result is stored and exported.

    ``name`` is the attribute and the graph property; ``column`` the Parquet
    column (``None`` when the field is stored but not a table column, e.g. a
    mean that the table's rows already give); ``in_graph`` is False for a
    field exported but not stored as a property (the graph holds it already
    under another name, e.g. a layer's node count).
    """

    name: str
    type: FieldType
    doc: str
    scope: Scope
    column: str | None
    in_graph: bool = True
    nullable: bool = False


def stored(
    type_: FieldType,
    doc: str,
    scope: Scope = "result",
    column: str | Literal[False] | None = None,
    in_graph: bool = True,
    nullable: bool = False,
    **kwargs: Any,
) -> Any:
    """A dataclass field that is stored in the graph (and exported unless ``column=False``).

    ``column`` renames the Parquet column (default: the field's name);
    ``in_graph=False`` exports it without storing it as a property;
    ``nullable``: the value may be missing (None).
    Remaining keyword arguments go to :func:`dataclasses.field`.
    """
    meta = {
        "topograph": {
            "type": type_,
            "doc": doc,
            "scope": scope,
            "column": column,
            "in_graph": in_graph,
            "nullable": nullable,
        }
    }
    return field(metadata=meta, **kwargs)


def result_fields(cls: type) -> tuple[ResultField, ...]:
    """The stored fields of a result dataclass, in declaration order."""
    out = []
    for f in dataclasses.fields(cls):
        meta = f.metadata.get("topograph")
        if meta is None:
            continue
        column = meta["column"]
        out.append(
            ResultField(
                name=f.name,
                type=meta["type"],
                doc=meta["doc"],
                scope=meta["scope"],
                column=None if column is False else (column or f.name),
                in_graph=meta["in_graph"],
                nullable=meta["nullable"],
            )
        )
    return tuple(out)


def record(result: Any) -> dict[str, Any]:
    """The fields of ``result`` stored in the graph, as plain Python values.

    Per-layer fields become lists.
    """
    out: dict[str, Any] = {}
    for f in result_fields(type(result)):
        if not f.in_graph:
            continue
        value = getattr(result, f.name)
        out[f.name] = [_plain(v) for v in value] if f.scope == "layer" else _plain(value)
    return out


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True, eq=False)
class DistanceResult:
    """A layer-by-layer distance from network a to network b.

    Attributes
    ----------
    layers
        Distance of each layer; ``layers[k]`` compares ``W[k]`` of a and b.
    mean
        ``numpy.mean(layers)``: the network distance.
    method
        How it was computed (the measure's method actually used).
    version
        Version of the measure's code: stored results of another version are
        recomputed.
    matchings
        For aligned measures, per layer an int64 array of length ``n_{k+1}``:
        output neuron ``j`` of a is matched to neuron ``matchings[k][j]`` of
        b (each in its own labels). Empty for measures that match nothing.
    costs
        With ``matchings``: ``costs[k][j]`` is the distance of neuron ``j``
        of a to its match.
    """

    layers: tuple[float, ...] = stored(
        "float64", "distance of the layer, in [0, 1]", scope="layer", column="distance"
    )
    mean: float = stored("float64", "mean of the layer distances", column=False)
    method: str = stored("string", "method that computed the distance")
    version: str = stored("string", "version of the measure's code", column=False)
    matchings: tuple[Matching, ...] = field(default=(), repr=False)
    costs: tuple[FloatArray, ...] = field(default=(), repr=False)

    def cumulative(self, layer: int) -> float:
        """Mean of the distances of layers ``0..layer``: the NNSTD paper's Figure 4 value."""
        if not 0 <= layer < len(self.layers):
            raise InputError(f"layer {layer} out of range 0..{len(self.layers) - 1}")
        return float(np.mean(self.layers[: layer + 1]))


@dataclass(frozen=True, eq=False)
class PairDistance:
    """One pair measure's result from checkpoint ``a`` to checkpoint ``b``."""

    measure: str
    a: CheckpointKey
    b: CheckpointKey
    result: DistanceResult


@dataclass(frozen=True, eq=False)
class CheckpointProperties:
    """One checkpoint measure's result: a record per layer and one for the whole network.

    ``layers[k]`` and ``network`` are instances of the measure's result
    dataclass (their stored fields are declared with :func:`stored`).
    """

    measure: str
    key: CheckpointKey
    layers: tuple[Any, ...]
    network: Any
