"""Generators of sparse layer topologies and whole networks, deterministic from a seed.

Every layer comes back as the model's layer type: a float32 CSR matrix ``W`` of
shape ``(n_in, n_out)``, rows are input neurons, columns output neurons, with
*non-zero* weights at exactly the generated connections, so that a layer's
topology is its non-zero pattern (:meth:`topograph.model.Checkpoint.pattern`).
Whole networks come back as :class:`~topograph.model.Checkpoint`.

Randomness comes only from a :class:`numpy.random.Generator` that the caller
passes in (or an int seed, turned into one by :func:`as_rng`); nothing reads or
changes numpy's global state. The same seed gives the same weights, bit for bit.

Families, where they come from, and their defining property (tested):

==================  ==========================================  ===========================
family              source                                      defining property
==================  ==========================================  ===========================
Erdős–Rényi         SET (Mocanu et al., Nat. Commun. 2018):     every position present
                    density ε(n_in + n_out)/(n_in·n_out)        independently, prob. p
left-regular        Bourely, Boueri, Choromanski 2017 (arXiv    every input neuron has
                    1706.05683), "random expander"              exactly d outputs
biregular           the random expander made regular on both    d per input, n_in·d/n_out
                    sides (the Ramanujan bound's setting)       per output, no multi-edges
regular circulant   same paper, deterministic "regular"         row r = row 0 rotated by
                    topology                                    r·shift; evenly spaced ones
Fibonacci circulant same paper, deterministic "Fibonacci"       row r = row 0 rotated by
                    topology                                    r·shift; Fibonacci ones
SET evolution       Mocanu et al. 2018                          nnz constant; the round(ζ·nnz)
                                                                smallest |w| replaced
Figure-4 recipe     Liu et al., ECML-PKDD 2020 (NNSTD), Fig. 4  each network changes
                                                                exactly 1% of connections
==================  ==========================================  ===========================

Choices where the papers leave room are documented on each function; in short:
the circulant constructions place ones in a vector of length ``n_out`` and rotate
it by ``r * shift`` (``shift = 1`` by default) for input row ``r``, so a layer is
always left-regular with exactly ``d`` outputs per input, and also right-regular
when ``n_out`` divides ``n_in`` (the rows wrap around) or the layer is square.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from topograph.errors import InputError
from topograph.model import Checkpoint

__all__ = [
    "CONSTRUCTIONS",
    "DEFAULT_WEIGHTS",
    "FIGURE4_DENSITY",
    "FIGURE4_WIDTHS",
    "Construction",
    "LayerMaker",
    "Seed",
    "WeightInit",
    "as_rng",
    "biregular_layer",
    "changed_connections",
    "circulant_layer",
    "complete_layer",
    "erdos_renyi_layer",
    "fibonacci_circulant_layer",
    "fibonacci_numbers",
    "fibonacci_vector",
    "figure4_networks",
    "left_regular_layer",
    "make_layer",
    "make_network",
    "regular_circulant_layer",
    "regular_vector",
    "rewire_layer",
    "set_density",
    "set_evolution",
    "set_evolve_layer",
    "stable_seed",
]

#: An int seed (made into ``numpy.random.default_rng(seed)``) or a Generator used as is.
Seed = int | np.random.Generator
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Widths of the NNSTD paper's networks (Liu et al. 2020, Figure 4): 784-784-784-784-10.
FIGURE4_WIDTHS: tuple[int, ...] = (784, 784, 784, 784, 10)
#: Density of the sparse layers of the Figure-4 start network (0.6 %).
FIGURE4_DENSITY = 0.006


def as_rng(seed: Seed) -> np.random.Generator:
    """The Generator to draw from: ``seed`` itself, or ``numpy.random.default_rng(seed)``.

    A Generator passed in is used (and advanced) as is, so a caller can thread
    one Generator through several calls; an int seed gives a fresh one, so the
    same int always gives the same result. Never touches numpy's global state.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"seed must be a non-negative int or a numpy Generator, got {seed!r}")
    return np.random.default_rng(int(seed))


def stable_seed(*parts: str | int) -> int:
    """A 32-bit integer from names and numbers, the same in every process and run.

    Python's ``hash`` of a string changes from process to process; CRC-32 of the
    text does not. Used to give each cell of a study its own seed.
    """
    return zlib.crc32("\x1f".join(str(p) for p in parts).encode())


# --------------------------------------------------------------------------- weights


@dataclass(frozen=True)
class WeightInit:
    """How the non-zero weights of generated connections are drawn (float32, never 0).

    ``normal``: N(0, scale²). ``uniform``: U(-scale, scale). Exact zeros (after
    the cast to float32) are drawn again, so every generated connection is a
    non-zero weight and the layer's topology is exactly its non-zero pattern.
    The default, N(0, 0.1²), is what SET's numpy implementation draws for
    regrown connections with ``weight_init='normal'`` (``randn / 10``), and is
    close to the spread of the published topo/ weights (std about 0.106).
    Only the topology matters to NNSTD and the spectra; magnitudes matter to
    SET's pruning, which removes the smallest.
    """

    distribution: Literal["normal", "uniform"] = "normal"
    scale: float = 0.1

    def __post_init__(self) -> None:
        if self.distribution not in ("normal", "uniform"):
            raise InputError(
                f"weight distribution must be 'normal' or 'uniform', got {self.distribution!r}"
            )
        if not (math.isfinite(self.scale) and 1e-30 <= self.scale <= 1e30):
            # float32 keeps such weights finite and (almost surely) non-zero
            raise InputError(f"weight scale must be in [1e-30, 1e30], got {self.scale!r}")

    def sample(self, size: int, rng: np.random.Generator) -> npt.NDArray[np.float32]:
        """``size`` non-zero float32 weights."""
        out = np.empty(size, dtype=np.float32)
        todo = np.arange(size)
        while todo.size:
            if self.distribution == "normal":
                draw = rng.normal(0.0, self.scale, size=todo.size)
            else:
                draw = rng.uniform(-self.scale, self.scale, size=todo.size)
            draw32 = draw.astype(np.float32)
            out[todo] = draw32
            todo = todo[draw32 == 0]
        return out


DEFAULT_WEIGHTS = WeightInit()


# --------------------------------------------------------------------------- checks and assembly


def _check_int(value: object, name: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InputError(f"{name} must be an integer, got {value!r}")
    v = int(value)
    if v < low or (high is not None and v > high):
        bound = f"at least {low}" if high is None else f"between {low} and {high}"
        raise InputError(f"{name} must be {bound}, got {v}")
    return v


def _check_widths(n_in: int, n_out: int) -> tuple[int, int]:
    return _check_int(n_in, "n_in", 1), _check_int(n_out, "n_out", 1)


def _assemble(
    rows: IntArray,
    cols: IntArray,
    shape: tuple[int, int],
    rng: np.random.Generator,
    weights: WeightInit,
) -> sp.csr_matrix:
    """Float32 CSR with fresh weights at the distinct positions ``(rows, cols)``.

    Weights are drawn in row-major order of the positions, so the result does
    not depend on the order the positions were generated in.
    """
    n_out = shape[1]
    flat = np.unique(rows.astype(np.int64) * n_out + cols.astype(np.int64))
    if flat.size != rows.size:  # a generator bug, never a user error
        raise AssertionError("generated positions are not distinct")
    return _csr_from_flat(flat, weights.sample(flat.size, rng), shape)


def _csr_from_flat(
    flat: IntArray, data: npt.NDArray[np.float32], shape: tuple[int, int]
) -> sp.csr_matrix:
    """CSR from sorted distinct flat positions ``r * n_out + c`` and their weights."""
    n_in, n_out = shape
    r = flat // n_out
    indptr = np.zeros(n_in + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n_in), out=indptr[1:])
    return sp.csr_matrix(
        (
            data.astype(np.float32, copy=False),
            (flat % n_out).astype(np.int32),
            indptr.astype(np.int32),
        ),
        shape=shape,
    )


def _flat_positions(w: sp.csr_matrix) -> tuple[IntArray, npt.NDArray[np.float32]]:
    """Row-major flat positions of ``w``'s non-zeros (sorted) and their weights."""
    csr = sp.csr_matrix(w)
    csr.sum_duplicates()
    csr.eliminate_zeros()
    csr.sort_indices()
    rows = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr))
    flat = rows * csr.shape[1] + csr.indices.astype(np.int64)
    return flat, csr.data.astype(np.float32)


# --------------------------------------------------------------------------- random families


def set_density(n_in: int, n_out: int, epsilon: float) -> float:
    """SET's Erdős–Rényi density ``ε (n_in + n_out) / (n_in · n_out)`` (Mocanu et al. 2018).

    The expected number of connections is ``ε (n_in + n_out)``: linear, not
    quadratic, in the layer's width. SET's experiments use ε = 20.
    """
    n_in, n_out = _check_widths(n_in, n_out)
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise InputError(f"epsilon must be a finite positive number, got {epsilon!r}")
    p = epsilon * (n_in + n_out) / (n_in * n_out)
    if p > 1:
        raise InputError(
            f"epsilon={epsilon} gives density {p:.4g} > 1 for a {n_in} x {n_out} layer; "
            f"the largest epsilon there is {n_in * n_out / (n_in + n_out):.4g}"
        )
    return p


def erdos_renyi_layer(
    n_in: int,
    n_out: int,
    *,
    rng: Seed,
    density: float | None = None,
    epsilon: float | None = None,
    weights: WeightInit = DEFAULT_WEIGHTS,
) -> sp.csr_matrix:
    """Erdős–Rényi bipartite layer: each of the ``n_in · n_out`` positions present with prob. p.

    Give exactly one of ``density`` (p itself) or ``epsilon`` (SET's rule,
    p = ε(n_in + n_out)/(n_in·n_out), :func:`set_density`). This is SET's
    initial topology (Mocanu et al., Nat. Commun. 2018): its code keeps each
    entry of a uniform random matrix independently. Here the count is drawn
    from Binomial(n_in·n_out, p) and that many distinct positions chosen
    uniformly, which is the same distribution in O(nnz) memory instead of an
    ``(n_in, n_out)`` array. The number of connections is random: its relative
    standard deviation is ``sqrt((1 - p) / (p · n_in · n_out))`` (0.57 % for a
    784 x 784 layer at SET's ε = 20).

    Returns float32 CSR ``(n_in, n_out)``, weights from ``weights``.
    """
    n_in, n_out = _check_widths(n_in, n_out)
    if (density is None) == (epsilon is None):
        raise InputError("give exactly one of density or epsilon")
    if epsilon is not None:
        p = set_density(n_in, n_out, epsilon)
    elif density is not None:
        p = float(density)
        if not (0.0 <= p <= 1.0):
            raise InputError(f"density must be in [0, 1], got {density!r}")
    gen = as_rng(rng)
    total = n_in * n_out
    count = int(gen.binomial(total, p))
    flat = np.sort(gen.choice(total, size=count, replace=False).astype(np.int64))
    return _csr_from_flat(flat, weights.sample(count, gen), (n_in, n_out))


def left_regular_layer(
    n_in: int,
    n_out: int,
    degree: int,
    *,
    rng: Seed,
    weights: WeightInit = DEFAULT_WEIGHTS,
) -> sp.csr_matrix:
    """Random left-regular layer: every input neuron has exactly ``degree`` outputs.

    Bourely, Boueri and Choromanski (2017) call this the random expander
    topology: each input neuron picks its ``degree`` output neurons uniformly
    at random, without repetition, independently of the others. Output
    neurons' fan-in is random (about Binomial(n_in, degree/n_out)), so some
    outputs may have none. Density is ``degree / n_out`` exactly.

    Returns float32 CSR ``(n_in, n_out)``. Cost O(n_in · n_out) time, in blocks
    of at most about 4 M random keys (32 MiB) at a time.
    """
    n_in, n_out = _check_widths(n_in, n_out)
    degree = _check_int(degree, "degree", 0, n_out)
    gen = as_rng(rng)
    block = max(1, (1 << 22) // n_out)
    cols: list[IntArray] = []
    for start in range(0, n_in, block):
        rows_here = min(block, n_in - start)
        keys = gen.random((rows_here, n_out))
        # the `degree` smallest keys of each row are a uniform random degree-subset
        pick = np.argpartition(keys, degree - 1, axis=1)[:, :degree] if degree else keys[:, :0]
        cols.append(pick.astype(np.int64).ravel())
    rows = np.repeat(np.arange(n_in, dtype=np.int64), degree)
    return _assemble(rows, np.concatenate(cols), (n_in, n_out), gen, weights)


def _biregular_edges(
    n_in: int, n_out: int, d_in: int, d_out: int, gen: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """A simple bipartite graph with all input degrees ``d_in``, output degrees ``d_out``.

    Configuration model (a uniformly random perfect matching of input stubs
    to output stubs), then each surplus copy of a repeated edge ``(r, c)`` is
    removed by a random switching with another edge ``(r', c')``:
    ``(r, c), (r', c') -> (r, c'), (r', c)``, accepted only when both new edges
    are absent. Switchings keep every degree. Expected repeats are about
    ``(d_in - 1)(d_out - 1) / 2``, so few edges move and the result is close to
    the uniform distribution over such graphs (exactly uniform would need
    McKay–Wormald's rejection steps). Needs ``2 d_in <= n_out`` (then an
    accepted switching always exists); the caller complements denser layers.
    """
    rows = np.repeat(np.arange(n_in, dtype=np.int64), d_in)
    cols = gen.permutation(np.repeat(np.arange(n_out, dtype=np.int64), d_out))
    m = rows.size
    keys = rows * n_out + cols
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    surplus = np.sort(order[1:][sorted_keys[1:] == sorted_keys[:-1]])
    if surplus.size == 0:
        return rows, cols
    counts: dict[int, int] = {}
    for k in keys.tolist():
        counts[k] = counts.get(k, 0) + 1
    for e in surplus.tolist():
        r, c = int(rows[e]), int(cols[e])
        if counts[r * n_out + c] < 2:  # already resolved by an earlier switching
            continue
        for _ in range(1000 * m):
            f = int(gen.integers(m))
            r2, c2 = int(rows[f]), int(cols[f])
            new_a, new_b = r * n_out + c2, r2 * n_out + c
            if r2 == r or c2 == c or new_a in counts or new_b in counts:
                continue
            for old in (r * n_out + c, r2 * n_out + c2):
                counts[old] -= 1
                if counts[old] == 0:
                    del counts[old]
            counts[new_a] = 1
            counts[new_b] = 1
            cols[e], cols[f] = c2, c
            break
        else:  # pragma: no cover - an accepted switching exists whenever 2 d_in <= n_out
            raise RuntimeError("biregular repair found no switching")
    return rows, cols


def biregular_layer(
    n_in: int,
    n_out: int,
    degree: int,
    *,
    rng: Seed,
    weights: WeightInit = DEFAULT_WEIGHTS,
) -> sp.csr_matrix:
    """Random biregular layer: every input has ``degree`` outputs, every output the same fan-in.

    The fan-in is ``n_in · degree / n_out``, which must be an integer. It is
    the random expander of Bourely et al. (2017) (:func:`left_regular_layer`)
    with the output side made regular too. For a square layer this is the
    random ``d``-regular bipartite graph, whose second adjacency eigenvalue
    sits near the Ramanujan bound ``2 sqrt(d - 1)``; for
    ``n_in != n_out`` it is the ``(d_in, d_out)``-biregular graph, whose bound is
    ``sqrt(d_in - 1) + sqrt(d_out - 1)``. Sampled by the configuration model
    with switchings that remove repeated edges (see the module source);
    layers denser than one half are built as the complement of a sparser
    biregular layer, so the repair always has room.

    Returns float32 CSR ``(n_in, n_out)`` with no repeated edge.
    """
    n_in, n_out = _check_widths(n_in, n_out)
    degree = _check_int(degree, "degree", 0, n_out)
    if (n_in * degree) % n_out:
        raise InputError(
            f"a biregular {n_in} x {n_out} layer with {degree} outputs per input needs "
            f"n_in * degree divisible by n_out (fan-in {n_in * degree / n_out:.4g} is not whole)"
        )
    gen = as_rng(rng)
    d_out = n_in * degree // n_out
    if 2 * degree <= n_out:
        rows, cols = _biregular_edges(n_in, n_out, degree, d_out, gen)
    else:
        r0, c0 = _biregular_edges(n_in, n_out, n_out - degree, n_in - d_out, gen)
        present = np.ones((n_in, n_out), dtype=bool)  # dense layer: O(n_in n_out) is its size
        present[r0, c0] = False
        rows, cols = (a.astype(np.int64) for a in np.nonzero(present))
    return _assemble(rows, cols, (n_in, n_out), gen, weights)


def complete_layer(
    n_in: int, n_out: int, *, rng: Seed, weights: WeightInit = DEFAULT_WEIGHTS
) -> sp.csr_matrix:
    """The dense layer, complete bipartite K_{n_in, n_out} (the output layer of the topo/ runs)."""
    n_in, n_out = _check_widths(n_in, n_out)
    gen = as_rng(rng)
    flat = np.arange(n_in * n_out, dtype=np.int64)
    return _csr_from_flat(flat, weights.sample(flat.size, gen), (n_in, n_out))


# --------------------------------------------------------------------------- circulant families


def regular_vector(n: int, degree: int) -> BoolArray:
    """Length-``n`` 0/1 vector with ``degree`` evenly spaced ones, at ``floor(j n / degree)``.

    Bourely et al.'s "regular" generating vector. When ``degree`` divides ``n``
    the spacing is exactly ``n / degree`` and the rotated square layer is a
    disjoint union of ``n / degree`` copies of K_{d, d} (so its spectral gap is
    0 and it has ``n / d`` components); otherwise spacings are
    ``floor(n/d)`` or ``ceil(n/d)``.
    """
    n = _check_int(n, "n", 1)
    degree = _check_int(degree, "degree", 0, n)
    v = np.zeros(n, dtype=bool)
    v[(np.arange(degree, dtype=np.int64) * n) // max(degree, 1)] = True
    return v


def _fibonacci(count: int) -> list[int]:
    """The first ``count`` distinct Fibonacci numbers as Python ints (no overflow)."""
    out = []
    a, b = 1, 2
    for _ in range(count):
        out.append(a)
        a, b = b, a + b
    return out


def fibonacci_numbers(count: int) -> IntArray:
    """The first ``count`` distinct Fibonacci numbers 1, 2, 3, 5, 8, ... (F_2, F_3, ...).

    At most 91 of them: the 92nd exceeds int64.
    """
    count = _check_int(count, "count", 0, 91)
    return np.asarray(_fibonacci(count), dtype=np.int64)


def fibonacci_vector(n: int, degree: int, *, spread: bool = True) -> BoolArray:
    """Length-``n`` 0/1 vector with ``degree`` ones at Fibonacci positions.

    Bourely et al.'s "Fibonacci" topology puts the ones of the generating
    vector at Fibonacci numbers. Taken literally (``spread=False``) the ones
    sit at ``F = 1, 2, 3, 5, ..., F_d`` (the first ``degree`` distinct Fibonacci
    numbers): every connection is local, within ``F_d`` of the diagonal, and
    ``degree`` is limited to the Fibonacci numbers below ``n`` (14 for
    n = 784).

    With ``spread=True`` (default: our reading of "normalised to the layer
    width") the same numbers are scaled to the width: the ``j``-th one is at
    ``floor(n F_j / F_{d+1})``, roughly ``n φ^{-k}`` for ``k = 1..d`` (φ the
    golden ratio), a golden-ratio progression over the whole width. Where two
    scaled positions coincide (only when ``F_{d+1} > n``, i.e. ``degree`` above
    that count) the later one moves to the next free position, cyclically, so
    the vector always has exactly ``degree`` ones.
    """
    n = _check_int(n, "n", 1)
    degree = _check_int(degree, "degree", 0, n)
    fib = _fibonacci(degree + 1)  # Python ints: exact beyond int64 for large degrees
    v = np.zeros(n, dtype=bool)
    if not spread:
        if degree and fib[degree - 1] >= n:
            below = sum(1 for f in fib if f < n)
            raise InputError(
                f"unscaled Fibonacci positions: only {below} Fibonacci numbers "
                f"are below n={n}, asked for degree {degree}; use spread=True"
            )
        v[fib[:degree]] = True
        return v
    top = fib[degree]
    for f in fib[:degree]:
        p = (f * n) // top
        while v[p]:
            p = (p + 1) % n
        v[p] = True
    return v


def circulant_layer(
    vector: npt.ArrayLike,
    n_in: int,
    *,
    rng: Seed,
    shift: int = 1,
    weights: WeightInit = DEFAULT_WEIGHTS,
) -> sp.csr_matrix:
    """The layer whose row ``r`` is the 0/1 ``vector`` (length ``n_out``) rotated by ``r · shift``.

    ``W[r, c] != 0`` exactly when ``vector[(c - r · shift) mod n_out]`` is set,
    i.e. row r is ``numpy.roll(vector, r * shift)``. Square with ``shift = 1``
    this is a circulant matrix, whose singular values are ``|DFT(vector)|``;
    every input has ``sum(vector)`` outputs whatever the widths. When
    ``n_in > n_out`` the rotations wrap around (with ``shift = 1``, row
    ``r + n_out`` repeats row ``r``), and when ``n_out`` divides ``n_in`` the
    layer is ``n_in / n_out`` stacked copies of the square circulant, every
    output with fan-in ``d · n_in / n_out``, singular values
    ``sqrt(n_in / n_out) |DFT|``. When ``n_in < n_out`` it is the first
    ``n_in`` rows of the square circulant (fan-in then varies over outputs);
    with ``shift = m = n_out / n_in`` the rows spread over the whole width
    instead, and the singular values are
    ``sqrt(sum_t |DFT_{g + t n_in}|^2 / m)``, ``g < n_in``.

    Components (square, ``shift = 1``): input ``r`` reaches input ``r + p - q``
    for any two set positions ``p, q``, so the graph has
    ``gcd(n, all p - q)`` components of equal size: ``n / d`` copies of
    K_{d, d} for the regular vector when ``d`` divides ``n``, and likewise a
    scaled Fibonacci vector whose positions share a factor with ``n``.
    """
    v = np.asarray(vector).astype(bool).ravel()
    n_out = v.size
    n_in, n_out = _check_widths(n_in, n_out)
    shift = _check_int(shift, "shift", 0)
    gen = as_rng(rng)
    positions = np.flatnonzero(v).astype(np.int64)
    offsets = (np.arange(n_in, dtype=np.int64) * shift) % n_out
    cols = (positions[None, :] + offsets[:, None]) % n_out
    rows = np.repeat(np.arange(n_in, dtype=np.int64), positions.size)
    return _assemble(rows, cols.ravel(), (n_in, n_out), gen, weights)


def regular_circulant_layer(
    n_in: int,
    n_out: int,
    degree: int,
    *,
    rng: Seed,
    shift: int = 1,
    weights: WeightInit = DEFAULT_WEIGHTS,
) -> sp.csr_matrix:
    """Bourely et al.'s deterministic "regular" layer: :func:`regular_vector` rotated row by row.

    Only the weights use ``rng``; the topology depends on the widths, the
    degree and the shift alone. See :func:`circulant_layer` for ``n_in != n_out``.
    """
    n_in, n_out = _check_widths(n_in, n_out)
    return circulant_layer(
        regular_vector(n_out, degree), n_in, rng=rng, shift=shift, weights=weights
    )


def fibonacci_circulant_layer(
    n_in: int,
    n_out: int,
    degree: int,
    *,
    rng: Seed,
    shift: int = 1,
    spread: bool = True,
    weights: WeightInit = DEFAULT_WEIGHTS,
) -> sp.csr_matrix:
    """Bourely et al.'s deterministic "Fibonacci" layer: :func:`fibonacci_vector` rotated.

    Only the weights use ``rng``. ``spread`` chooses between the Fibonacci
    positions scaled to the width (default) and the literal positions; see
    :func:`fibonacci_vector`, and :func:`circulant_layer` for ``n_in != n_out``.
    """
    n_in, n_out = _check_widths(n_in, n_out)
    return circulant_layer(
        fibonacci_vector(n_out, degree, spread=spread),
        n_in,
        rng=rng,
        shift=shift,
        weights=weights,
    )


# --------------------------------------------------------------------------- SET and Figure 4


def _round_half_up(x: float) -> int:
    """``round`` as taught at school (0.5 goes up), not Python's round-half-to-even."""
    return math.floor(x + 0.5)


def _draw_empty(occupied: IntArray, total: int, k: int, gen: np.random.Generator) -> IntArray:
    """``k`` distinct flat positions, uniform among ``[0, total)`` minus sorted ``occupied``."""
    free = total - occupied.size
    if k > free:
        raise InputError(f"cannot place {k} connections: only {free} empty positions")
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    if 2 * occupied.size >= total:
        # at least half full: list the empty positions (O(total) = O(nnz) here)
        empty = np.setdiff1d(np.arange(total, dtype=np.int64), occupied, assume_unique=True)
        return gen.choice(empty, size=k, replace=False)
    # sparse: draw uniformly, drop occupied and repeated draws, keep draw order
    chosen = np.zeros(0, dtype=np.int64)
    while chosen.size < k:
        want = k - chosen.size
        draw = gen.integers(0, total, size=int(want * total / free * 1.1) + 16, dtype=np.int64)
        if occupied.size:
            hit = np.searchsorted(occupied, draw)
            inside = hit < occupied.size
            taken = np.zeros(draw.size, dtype=bool)
            taken[inside] = occupied[hit[inside]] == draw[inside]
            draw = draw[~taken]
        both = np.concatenate([chosen, draw])
        _, first = np.unique(both, return_index=True)
        chosen = both[np.sort(first)]
    return chosen[:k]


def _replace(
    w: sp.csr_matrix,
    remove: IntArray,
    gen: np.random.Generator,
    weights: WeightInit,
) -> sp.csr_matrix:
    """``w`` with the non-zeros at indices ``remove`` (into its row-major order) moved.

    The same number of new connections go to positions empty *before* the
    removal, chosen uniformly, with fresh weights; the others keep theirs.
    Excluding the just-removed positions makes every call change exactly
    ``len(remove)`` connections.
    """
    flat, data = _flat_positions(w)
    total = w.shape[0] * w.shape[1]
    new = _draw_empty(flat, total, remove.size, gen)
    keep = np.ones(flat.size, dtype=bool)
    keep[remove] = False
    all_flat = np.concatenate([flat[keep], np.sort(new)])
    all_data = np.concatenate([data[keep], weights.sample(new.size, gen)])
    order = np.argsort(all_flat, kind="stable")
    return _csr_from_flat(all_flat[order], all_data[order], w.shape)


def _check_fraction(x: float, name: str) -> float:
    if not (math.isfinite(x) and 0.0 <= x <= 1.0):
        raise InputError(f"{name} must be in [0, 1], got {x!r}")
    return float(x)


def set_evolve_layer(
    w: sp.csr_matrix,
    zeta: float = 0.3,
    *,
    rng: Seed,
    weights: WeightInit = DEFAULT_WEIGHTS,
) -> sp.csr_matrix:
    """One SET step on a layer: replace the ``round(ζ·nnz)`` smallest-magnitude weights.

    Sparse Evolutionary Training (Mocanu et al. 2018) removes, after each
    epoch, the fraction ζ of connections closest to zero and regrows as many
    at random empty positions. Here the removed ones are the
    ``k = floor(ζ·nnz + 1/2)`` smallest ``|w|`` (ties broken by row-major
    position, so the result is deterministic); SET's code takes ζ/2 of the
    smallest positive and ζ/2 of the largest negative weights instead, which
    differs only when the signs are unbalanced. Regrown connections go to
    positions that were empty before this step, chosen uniformly (SET's code
    may regrow a just-removed position; excluding them makes each step change
    exactly k connections), with weights from ``weights`` (default N(0, 0.1²),
    as SET's numpy code). Without training in between, the kept weights do
    not change. ζ = 0.3 is SET's default.

    Returns a new float32 CSR of the same shape and nnz.
    """
    zeta = _check_fraction(zeta, "zeta")
    gen = as_rng(rng)
    flat, data = _flat_positions(w)
    k = _round_half_up(zeta * flat.size)
    remove = np.lexsort((flat, np.abs(data)))[:k]  # smallest |w|, then lowest position
    return _replace(w, remove, gen, weights)


def rewire_layer(
    w: sp.csr_matrix,
    fraction: float,
    *,
    rng: Seed,
    weights: WeightInit = DEFAULT_WEIGHTS,
) -> sp.csr_matrix:
    """Move ``round(fraction · nnz)`` connections chosen uniformly to empty positions.

    The perturbation of the NNSTD paper's Figure-4 recipe: the count of
    connections stays the same and exactly ``k = floor(fraction·nnz + 1/2)``
    of them change (k removed, k added where there was none before). Kept
    connections keep their weights; new ones get fresh weights.
    """
    fraction = _check_fraction(fraction, "fraction")
    gen = as_rng(rng)
    nnz = sp.csr_matrix(w).count_nonzero()
    k = _round_half_up(fraction * nnz)
    remove = np.sort(gen.choice(nnz, size=k, replace=False)) if k else np.zeros(0, np.int64)
    return _replace(w, remove.astype(np.int64), gen, weights)


def changed_connections(
    a: sp.spmatrix | sp.sparray, b: sp.spmatrix | sp.sparray
) -> tuple[int, int]:
    """``(removed, added)``: connections of ``a`` not in ``b``, and of ``b`` not in ``a``."""
    pa_ = sp.csr_matrix(a) != 0
    pb_ = sp.csr_matrix(b) != 0
    both = int(pa_.multiply(pb_).count_nonzero())
    return int(pa_.count_nonzero()) - both, int(pb_.count_nonzero()) - both


def _sparse_layers(ck: Checkpoint) -> list[int]:
    """Layers with at least one empty position (a dense layer cannot be rewired)."""
    return [k for k, w in enumerate(ck.layers) if w.nnz < w.shape[0] * w.shape[1]]


def set_evolution(
    start: Checkpoint,
    epochs: int,
    *,
    rng: Seed,
    zeta: float = 0.3,
    layers: Sequence[int] | None = None,
    weights: WeightInit = DEFAULT_WEIGHTS,
    run: str | None = None,
) -> list[Checkpoint]:
    """``epochs`` SET steps from ``start``: the checkpoints after each, in order.

    Each step applies :func:`set_evolve_layer` to every layer in ``layers``
    (default: every layer that is not dense; SET keeps the output layer of
    the topo/ runs dense), in layer order, with the one Generator. Epochs are
    numbered ``start.epoch + 1 ..``; ``run`` defaults to the start's run;
    biases are carried over unchanged. Any checkpoint can be the start, e.g.
    a loaded one or :func:`make_network`'s.
    """
    epochs = _check_int(epochs, "epochs", 0)
    gen = as_rng(rng)
    chosen = _sparse_layers(start) if layers is None else list(layers)
    for k in chosen:
        _check_int(k, "layer index", 0, len(start.layers) - 1)
    out: list[Checkpoint] = []
    current = start
    for step in range(1, epochs + 1):
        new_layers = list(current.layers)
        for k in chosen:
            new_layers[k] = set_evolve_layer(new_layers[k], zeta, rng=gen, weights=weights)
        current = Checkpoint(
            run=run or start.run,
            epoch=start.epoch + step,
            layers=tuple(new_layers),
            biases=start.biases,
            source=f"set_evolution(zeta={zeta}) of {start.run}@{start.epoch}",
        )
        out.append(current)
    return out


def figure4_networks(
    widths: Sequence[int] = FIGURE4_WIDTHS,
    *,
    rng: Seed,
    density: float = FIGURE4_DENSITY,
    change: float = 0.01,
    count: int = 10,
    dense_last: bool = True,
    prefix: str = "fig4",
    weights: WeightInit = DEFAULT_WEIGHTS,
) -> list[Checkpoint]:
    """The starting networks of the NNSTD paper's Figure 4 (Liu et al., ECML-PKDD 2020).

    The paper: "We initialize one sparse network with a density level of
    0.6%. Then, we generate 9 networks by iteratively changing 1% of the
    connections from the previous generation step." Here network ``w0`` has
    Erdős–Rényi layers of ``density`` (SET's initial topology), and ``w_i``
    is ``w_{i-1}`` with :func:`rewire_layer` applied to each sparse layer:
    exactly ``round(change · nnz)`` connections of each sparse layer moved,
    so every network has the same number of connections. With ``dense_last``
    (default) the output layer is dense and never changes, as in the
    published topo/ files (layer 3, 784 x 10, density 1); those files are the
    networks after SET training started, so they cannot show the 1% steps
    themselves (w0 and w1 differ in 16-19% of each sparse layer at their
    epoch 0).

    Returns ``count`` checkpoints, runs ``{prefix}_w0 ..``, epoch 0, no biases.
    """
    widths = [_check_int(n, "width", 1) for n in widths]
    if len(widths) < 2:
        raise InputError("a network needs at least two widths (one layer)")
    count = _check_int(count, "count", 1)
    _check_fraction(change, "change")
    gen = as_rng(rng)
    first = make_network(
        "erdos_renyi",
        widths,
        rng=gen,
        density=density,
        dense_last=dense_last,
        run=f"{prefix}_w0",
        weights=weights,
    )
    nets = [first]
    for i in range(1, count):
        prev = nets[-1]
        layers = list(prev.layers)
        for k in _sparse_layers(prev):
            layers[k] = rewire_layer(layers[k], change, rng=gen, weights=weights)
        nets.append(
            Checkpoint(
                run=f"{prefix}_w{i}",
                epoch=0,
                layers=tuple(layers),
                source=f"figure4_networks: {change:.2%} of {prev.run}'s connections moved",
            )
        )
    return nets


# --------------------------------------------------------------------------- registry


#: ``(n_in, n_out, degree, rng, weights) -> layer``; ``degree`` is the (mean) number of
#: outputs per input neuron, so density = degree / n_out for every family.
LayerMaker = Callable[[int, int, int, np.random.Generator, WeightInit], sp.csr_matrix]


@dataclass(frozen=True)
class Construction:
    """One family of layer topologies, by name, with one degree parameter.

    ``degree`` means the number of outputs of each input neuron (its mean for
    Erdős–Rényi, whose density is ``degree / n_out``). ``random`` says whether
    the topology depends on the seed (the circulant ones do not).
    """

    name: str
    label: str
    source: str
    random: bool
    make: LayerMaker

    def valid(self, n_in: int, n_out: int, degree: int) -> bool:
        """Whether this family has a layer of these widths and degree."""
        if not 1 <= degree <= n_out:
            return False
        if self.name == "biregular":
            return (n_in * degree) % n_out == 0
        return True


def _er(n_in: int, n_out: int, d: int, g: np.random.Generator, w: WeightInit) -> sp.csr_matrix:
    return erdos_renyi_layer(n_in, n_out, density=d / n_out, rng=g, weights=w)


CONSTRUCTIONS: dict[str, Construction] = {
    c.name: c
    for c in (
        Construction(
            "erdos_renyi",
            "Erdős–Rényi",
            "SET's initial topology (Mocanu et al. 2018), density degree / n_out",
            True,
            _er,
        ),
        Construction(
            "left_regular",
            "random left-regular",
            "random expander (Bourely et al. 2017): each input picks degree outputs",
            True,
            lambda n, m, d, g, w: left_regular_layer(n, m, d, rng=g, weights=w),
        ),
        Construction(
            "biregular",
            "random biregular",
            "random (d_in, d_out)-biregular graph: the random expander, regular on both sides",
            True,
            lambda n, m, d, g, w: biregular_layer(n, m, d, rng=g, weights=w),
        ),
        Construction(
            "regular",
            "regular circulant",
            "evenly spaced ones rotated row by row (Bourely et al. 2017)",
            False,
            lambda n, m, d, g, w: regular_circulant_layer(n, m, d, rng=g, weights=w),
        ),
        Construction(
            "fibonacci",
            "Fibonacci circulant",
            "Fibonacci positions scaled to the width, rotated (Bourely et al. 2017)",
            False,
            lambda n, m, d, g, w: fibonacci_circulant_layer(n, m, d, rng=g, weights=w),
        ),
    )
}


def _construction(name: str) -> Construction:
    try:
        return CONSTRUCTIONS[name]
    except KeyError:
        raise InputError(
            f"unknown construction {name!r}; known: {', '.join(CONSTRUCTIONS)}"
        ) from None


def make_layer(
    construction: str,
    n_in: int,
    n_out: int,
    degree: int,
    *,
    rng: Seed,
    weights: WeightInit = DEFAULT_WEIGHTS,
) -> sp.csr_matrix:
    """A layer of the named family (a key of :data:`CONSTRUCTIONS`), degree outputs per input."""
    c = _construction(construction)
    n_in, n_out = _check_widths(n_in, n_out)
    degree = _check_int(degree, "degree", 1, n_out)
    if not c.valid(n_in, n_out, degree):
        raise InputError(f"{construction}: no {n_in} x {n_out} layer with degree {degree}")
    return c.make(n_in, n_out, degree, as_rng(rng), weights)


def make_network(
    construction: str,
    widths: Sequence[int],
    *,
    rng: Seed,
    degree: int | None = None,
    density: float | None = None,
    dense_last: bool = False,
    run: str = "generated",
    epoch: int = 0,
    weights: WeightInit = DEFAULT_WEIGHTS,
) -> Checkpoint:
    """A whole network: one layer of the named family per consecutive pair of ``widths``.

    Give ``degree`` (outputs per input neuron, every family) or, for
    ``erdos_renyi`` only, ``density``. ``dense_last`` makes the output layer
    dense (as the topo/ runs are). Layers are drawn in order from one
    Generator, so the network is a function of the seed. No biases.
    """
    c = _construction(construction)
    ws = [_check_int(n, "width", 1) for n in widths]
    if len(ws) < 2:
        raise InputError("a network needs at least two widths (one layer)")
    if (degree is None) == (density is None):
        raise InputError("give exactly one of degree or density")
    if density is not None and c.name != "erdos_renyi":
        raise InputError(f"{construction}: takes a degree, not a density")
    gen = as_rng(rng)
    layers: list[sp.csr_matrix] = []
    for k in range(len(ws) - 1):
        n_in, n_out = ws[k], ws[k + 1]
        if dense_last and k == len(ws) - 2:
            layers.append(complete_layer(n_in, n_out, rng=gen, weights=weights))
        elif density is not None:
            layers.append(erdos_renyi_layer(n_in, n_out, density=density, rng=gen, weights=weights))
        elif degree is not None:
            layers.append(make_layer(c.name, n_in, n_out, degree, rng=gen, weights=weights))
    return Checkpoint(
        run=run,
        epoch=epoch,
        layers=tuple(layers),
        source=f"make_network({construction!r}, degree={degree}, density={density})",
    )
