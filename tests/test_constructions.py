"""Topology generators: the property that defines each family, and determinism from the seed."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from topograph.constructions import (
    CONSTRUCTIONS,
    FIGURE4_WIDTHS,
    WeightInit,
    as_rng,
    biregular_layer,
    changed_connections,
    circulant_layer,
    complete_layer,
    erdos_renyi_layer,
    fibonacci_circulant_layer,
    fibonacci_numbers,
    fibonacci_vector,
    figure4_networks,
    left_regular_layer,
    make_layer,
    make_network,
    regular_circulant_layer,
    regular_vector,
    rewire_layer,
    set_density,
    set_evolution,
    set_evolve_layer,
)
from topograph.errors import InputError
from topograph.model import Checkpoint

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def _pattern(w: sp.csr_matrix) -> np.ndarray:
    return np.asarray((w != 0).toarray())


def _assert_layer(w: sp.csr_matrix, shape: tuple[int, int]) -> None:
    """The model's layer type: float32 CSR, canonical, every stored weight non-zero."""
    assert isinstance(w, sp.csr_matrix)
    assert w.shape == shape
    assert w.dtype == np.float32
    assert w.has_sorted_indices
    assert np.all(w.data != 0)
    assert w.nnz == np.count_nonzero(_pattern(w))  # no duplicates


def _row_degrees(w: sp.csr_matrix) -> np.ndarray:
    return np.diff(w.indptr)


def _col_degrees(w: sp.csr_matrix) -> np.ndarray:
    return np.bincount(w.indices, minlength=w.shape[1])


# --------------------------------------------------------------------------- seeds and weights


def test_as_rng_takes_a_seed_or_a_generator() -> None:
    g = np.random.default_rng(5)
    assert as_rng(g) is g
    assert as_rng(5).random() == np.random.default_rng(5).random()
    for bad in (-1, 1.5, "3", True, None):
        with pytest.raises(InputError):
            as_rng(bad)  # type: ignore[arg-type]


def test_generators_leave_global_numpy_state_alone() -> None:
    # the legacy global API is what this test watches
    np.random.seed(123)  # noqa: NPY002
    before = np.random.get_state()[1].copy()  # type: ignore[index]  # noqa: NPY002
    for name in CONSTRUCTIONS:
        make_layer(name, 30, 30, 3, rng=1)
    figure4_networks((20, 20, 5), rng=2, density=0.2, count=3)
    after = np.random.get_state()[1]  # type: ignore[index]  # noqa: NPY002
    assert np.array_equal(before, after)


@pytest.mark.parametrize("distribution", ["normal", "uniform"])
def test_weights_are_nonzero_float32_of_the_stated_spread(distribution: str) -> None:
    init = WeightInit(distribution, scale=0.1)  # type: ignore[arg-type]
    w = init.sample(200_000, np.random.default_rng(0))
    assert w.dtype == np.float32
    assert np.all(w != 0)
    if distribution == "normal":
        assert abs(float(w.std()) - 0.1) < 0.002
    else:
        assert float(np.abs(w).max()) <= 0.1
        assert abs(float(w.std()) - 0.1 / math.sqrt(3)) < 0.002


def test_weights_redraw_exact_zeros() -> None:
    class ZerosFirst:
        """Gives zeros on the first draw, then ones: the zeros must be drawn again."""

        def __init__(self) -> None:
            self.calls: list[int] = []

        def normal(self, loc: float, scale: float, size: int) -> np.ndarray:
            self.calls.append(size)
            return np.zeros(size) if len(self.calls) == 1 else np.full(size, 0.5)

    fake = ZerosFirst()
    out = WeightInit().sample(4, fake)  # type: ignore[arg-type]
    assert fake.calls == [4, 4]
    assert np.array_equal(out, np.full(4, 0.5, dtype=np.float32))


@pytest.mark.parametrize(
    "kwargs", [{"distribution": "cauchy"}, {"scale": 0.0}, {"scale": math.nan}, {"scale": 1e40}]
)
def test_weight_init_refuses_bad_options(kwargs: dict[str, object]) -> None:
    with pytest.raises(InputError):
        WeightInit(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- Erdős–Rényi


def test_set_density_is_epsilon_times_widths_over_their_product() -> None:
    assert set_density(784, 784, 20) == 20 * (784 + 784) / (784 * 784)
    assert set_density(784, 10, 1) == (784 + 10) / 7840
    with pytest.raises(InputError, match="density"):
        set_density(10, 10, 6)  # 6 * 20 / 100 > 1


@pytest.mark.parametrize(
    ("n_in", "n_out", "epsilon"), [(784, 784, 20), (300, 1000, 5), (64, 32, 4)]
)
def test_erdos_renyi_density_within_five_binomial_sigmas(
    n_in: int, n_out: int, epsilon: float
) -> None:
    """nnz ~ Binomial(n_in·n_out, p): every seed within 5 standard deviations of p·n_in·n_out."""
    p = set_density(n_in, n_out, epsilon)
    total = n_in * n_out
    sigma = math.sqrt(total * p * (1 - p))
    counts = []
    for seed in range(8):
        w = erdos_renyi_layer(n_in, n_out, epsilon=epsilon, rng=seed)
        _assert_layer(w, (n_in, n_out))
        assert abs(w.nnz - p * total) <= 5 * sigma
        counts.append(w.nnz)
    assert len(set(counts)) > 1  # the count is random, as in SET


def test_erdos_renyi_positions_are_uniform() -> None:
    """Every row and column is hit about equally often over many layers (no positional bias)."""
    total = np.zeros((20, 30))
    for seed in range(400):
        total += _pattern(erdos_renyi_layer(20, 30, density=0.1, rng=seed))
    # each cell ~ Binomial(400, 0.1): mean 40, sd 6
    assert abs(total.mean() - 40) < 1
    assert abs(total.sum(axis=0) / 20 - 40).max() < 6
    assert abs(total.sum(axis=1) / 30 - 40).max() < 6


def test_erdos_renyi_edge_densities_and_errors() -> None:
    assert erdos_renyi_layer(7, 9, density=0.0, rng=0).nnz == 0
    assert erdos_renyi_layer(7, 9, density=1.0, rng=0).nnz == 63
    with pytest.raises(InputError, match="exactly one"):
        erdos_renyi_layer(7, 9, rng=0)
    with pytest.raises(InputError, match="exactly one"):
        erdos_renyi_layer(7, 9, density=0.1, epsilon=1, rng=0)
    with pytest.raises(InputError):
        erdos_renyi_layer(7, 9, density=1.5, rng=0)
    with pytest.raises(InputError):
        erdos_renyi_layer(0, 9, density=0.5, rng=0)


# --------------------------------------------------------------------------- random regular


@settings(max_examples=40, deadline=None)
@given(n_in=st.integers(1, 60), n_out=st.integers(1, 60), data=st.data(), seed=seeds)
def test_left_regular_every_input_has_exactly_d_outputs(
    n_in: int, n_out: int, data: st.DataObject, seed: int
) -> None:
    d = data.draw(st.integers(0, n_out), label="degree")
    w = left_regular_layer(n_in, n_out, d, rng=seed)
    _assert_layer(w, (n_in, n_out))
    assert np.all(_row_degrees(w) == d)
    assert w.nnz == n_in * d


def test_left_regular_outputs_are_uniform() -> None:
    """Each output is chosen by an input with probability d / n_out."""
    hits = np.zeros(40)
    for seed in range(200):
        hits += _col_degrees(left_regular_layer(50, 40, 4, rng=seed))
    expected = 200 * 50 * 4 / 40  # 1000, sd about 30
    assert np.abs(hits - expected).max() < 150


@settings(max_examples=40, deadline=None)
@given(n_in=st.integers(1, 60), n_out=st.integers(1, 60), data=st.data(), seed=seeds)
def test_biregular_degrees_on_both_sides(
    n_in: int, n_out: int, data: st.DataObject, seed: int
) -> None:
    step = n_out // math.gcd(n_in, n_out)  # degrees d with n_in·d divisible by n_out
    k = data.draw(st.integers(0, n_out // step), label="multiple")
    d = k * step
    w = biregular_layer(n_in, n_out, d, rng=seed)
    _assert_layer(w, (n_in, n_out))
    assert np.all(_row_degrees(w) == d)
    assert np.all(_col_degrees(w) == n_in * d // n_out)


def test_biregular_dense_layers_use_the_complement() -> None:
    w = biregular_layer(40, 40, 31, rng=3)  # 2d > n_out: complement of a 9-regular graph
    assert np.all(_row_degrees(w) == 31) and np.all(_col_degrees(w) == 31)
    full = biregular_layer(12, 8, 8, rng=0)
    assert full.nnz == 96


def test_biregular_refuses_fractional_fan_in() -> None:
    with pytest.raises(InputError, match="divisible"):
        biregular_layer(10, 4, 3, rng=0)  # fan-in 7.5


def test_complete_layer_is_dense() -> None:
    w = complete_layer(5, 3, rng=0)
    _assert_layer(w, (5, 3))
    assert w.nnz == 15


# --------------------------------------------------------------------------- circulant families


@settings(max_examples=50, deadline=None)
@given(
    n_in=st.integers(1, 50),
    n_out=st.integers(1, 50),
    shift=st.integers(0, 7),
    data=st.data(),
    family=st.sampled_from(["regular", "fibonacci"]),
)
def test_circulant_row_r_is_row_0_rotated_by_r_shift(
    n_in: int, n_out: int, shift: int, data: st.DataObject, family: str
) -> None:
    d = data.draw(st.integers(0, n_out), label="degree")
    make = regular_circulant_layer if family == "regular" else fibonacci_circulant_layer
    w = make(n_in, n_out, d, rng=0, shift=shift)
    _assert_layer(w, (n_in, n_out))
    b = _pattern(w)
    for r in range(n_in):
        assert np.array_equal(b[r], np.roll(b[0], r * shift))
    assert np.all(b.sum(axis=1) == d)  # exact degree for every input
    if shift == 1 and n_in % n_out == 0:  # square, or whole wraps: right-regular too
        assert np.all(b.sum(axis=0) == d * n_in // n_out)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 400), data=st.data())
def test_regular_vector_has_evenly_spaced_ones(n: int, data: st.DataObject) -> None:
    d = data.draw(st.integers(1, n), label="degree")
    pos = np.flatnonzero(regular_vector(n, d))
    assert pos.size == d
    assert np.array_equal(pos, (np.arange(d) * n) // d)
    gaps = np.diff(np.append(pos, pos[0] + n))  # cyclic spacings
    assert set(gaps.tolist()) <= {n // d, -(-n // d)}
    if n % d == 0:
        assert np.all(gaps == n // d)


def test_fibonacci_numbers() -> None:
    assert fibonacci_numbers(10).tolist() == [1, 2, 3, 5, 8, 13, 21, 34, 55, 89]
    assert fibonacci_numbers(0).size == 0
    assert fibonacci_numbers(91)[-1] == 7540113804746346429  # F_92, the last below 2^63
    with pytest.raises(InputError):
        fibonacci_numbers(92)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 1000), data=st.data())
def test_fibonacci_vector_scaled_positions(n: int, data: st.DataObject) -> None:
    """Exactly d ones; at floor(n F_j / F_{d+1}) whenever F_{d+1} <= n (no collision)."""
    d = data.draw(st.integers(0, n), label="degree")
    v = fibonacci_vector(n, d)
    assert v.size == n and int(v.sum()) == d
    if d and d < 91:
        fib = fibonacci_numbers(d + 1)
        if fib[d] <= n:
            assert np.array_equal(np.flatnonzero(v), (fib[:d] * n) // fib[d])


def test_fibonacci_vector_literal_positions() -> None:
    v = fibonacci_vector(784, 14, spread=False)
    assert np.flatnonzero(v).tolist() == [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610]
    with pytest.raises(InputError, match="spread=True"):
        fibonacci_vector(784, 15, spread=False)  # the 15th is 987 > 784
    w = fibonacci_circulant_layer(20, 20, 4, rng=0, spread=False)
    assert np.flatnonzero(_pattern(w)[0]).tolist() == [1, 2, 3, 5]


def test_circulant_layer_from_any_vector() -> None:
    v = np.array([1, 0, 0, 1, 1, 0, 0])
    b = _pattern(circulant_layer(v, 7, rng=0))
    c = np.array([np.roll(v, r) for r in range(7)], dtype=bool)
    assert np.array_equal(b, c)


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("name", list(CONSTRUCTIONS))
def test_same_seed_same_layer_and_network(name: str) -> None:
    a = make_layer(name, 60, 40, 6, rng=11)
    b = make_layer(name, 60, 40, 6, rng=np.random.default_rng(11))
    assert (a != b).nnz == 0 and np.array_equal(a.data, b.data)
    n1 = make_network(name, (60, 40, 20), degree=4, rng=7)
    n2 = make_network(name, (60, 40, 20), degree=4, rng=7)
    assert n1.content_hash == n2.content_hash
    c = make_layer(name, 60, 40, 6, rng=12)
    same_topology = (_pattern(a) == _pattern(c)).all()
    assert same_topology != CONSTRUCTIONS[name].random  # only random families change topology
    assert not np.array_equal(a.data, c.data)  # weights always follow the seed


def test_make_network_widths_dense_last_and_errors() -> None:
    ck = make_network("left_regular", (30, 20, 10, 3), degree=2, rng=0, dense_last=True, run="x")
    assert isinstance(ck, Checkpoint)
    assert ck.widths == (30, 20, 10, 3)
    assert ck.layers[-1].nnz == 30
    assert all(np.all(_row_degrees(w) == 2) for w in ck.layers[:-1])
    er = make_network("erdos_renyi", (50, 50), density=0.2, rng=0)
    assert 0.1 < er.layers[0].nnz / 2500 < 0.3
    with pytest.raises(InputError, match="unknown construction"):
        make_network("smallworld", (5, 5), degree=1, rng=0)
    with pytest.raises(InputError, match="exactly one"):
        make_network("regular", (5, 5), rng=0)
    with pytest.raises(InputError, match="density"):
        make_network("regular", (5, 5), density=0.2, rng=0)
    with pytest.raises(InputError):
        make_layer("biregular", 10, 4, 3, rng=0)
    with pytest.raises(InputError):
        make_layer("regular", 10, 4, 5, rng=0)


# --------------------------------------------------------------------------- SET


def _positions(w: sp.csr_matrix) -> set[tuple[int, int]]:
    coo = w.tocoo()
    return set(zip(coo.row.tolist(), coo.col.tolist(), strict=True))


@settings(max_examples=40, deadline=None)
@given(
    n_in=st.integers(2, 40),
    n_out=st.integers(2, 40),
    density=st.floats(0.05, 0.9),
    zeta=st.floats(0.0, 1.0),
    seed=seeds,
)
def test_set_step_replaces_exactly_the_smallest_magnitudes(
    n_in: int, n_out: int, density: float, zeta: float, seed: int
) -> None:
    w = erdos_renyi_layer(n_in, n_out, density=density, rng=seed)
    k = math.floor(zeta * w.nnz + 0.5)
    assume(w.nnz + k <= n_in * n_out)  # room to regrow at positions empty before the step
    new = set_evolve_layer(w, zeta, rng=seed + 1)
    _assert_layer(new, w.shape)
    assert new.nnz == w.nnz
    removed, added = changed_connections(w, new)
    assert removed == added == k
    coo = w.tocoo()
    by_magnitude = sorted(
        zip(np.abs(coo.data).tolist(), coo.row.tolist(), coo.col.tolist(), strict=True)
    )
    smallest = {(r, c) for _, r, c in by_magnitude[:k]}
    old, now = _positions(w), _positions(new)
    assert old - now == smallest
    assert not (now - old) & old  # regrown only where there was no connection
    before, after = w.todok(), new.todok()
    assert all(before[p] == after[p] for p in old & now)  # kept weights unchanged


def test_set_step_needs_room() -> None:
    with pytest.raises(InputError, match="empty positions"):
        set_evolve_layer(complete_layer(4, 4, rng=0), 0.3, rng=0)


def test_set_evolution_epochs_and_dense_output_layer() -> None:
    start = make_network("erdos_renyi", (100, 80, 10), density=0.05, rng=1, dense_last=True)
    steps = set_evolution(start, 4, rng=2, zeta=0.3)
    assert [c.epoch for c in steps] == [1, 2, 3, 4]
    prev = start
    for ck in steps:
        assert ck.run == start.run and ck.nnz == start.nnz
        for k, (a, b) in enumerate(zip(prev.layers, ck.layers, strict=True)):
            if k == 1:  # dense output layer: SET leaves it alone
                assert (a != b).nnz == 0
            else:
                assert changed_connections(a, b) == (round(0.3 * a.nnz),) * 2
        prev = ck
    again = set_evolution(start, 4, rng=2, zeta=0.3)
    assert [c.content_hash for c in again] == [c.content_hash for c in steps]
    only0 = set_evolution(start, 1, rng=2, layers=[0], run="other")[0]
    assert only0.run == "other"


# --------------------------------------------------------------------------- Figure 4


@settings(max_examples=30, deadline=None)
@given(nnz_density=st.floats(0.01, 0.5), fraction=st.floats(0.0, 0.5), seed=seeds)
def test_rewire_moves_exactly_round_fraction_nnz(
    nnz_density: float, fraction: float, seed: int
) -> None:
    w = erdos_renyi_layer(30, 25, density=nnz_density, rng=seed)
    k = math.floor(fraction * w.nnz + 0.5)
    assume(w.nnz + k <= 750)
    new = rewire_layer(w, fraction, rng=seed)
    assert new.nnz == w.nnz
    assert changed_connections(w, new) == (k, k)


def test_figure4_recipe_default_widths_density_and_one_percent_steps() -> None:
    nets = figure4_networks(rng=2020)
    assert len(nets) == 10
    assert [n.run for n in nets] == [f"fig4_w{i}" for i in range(10)]
    assert all(n.widths == FIGURE4_WIDTHS for n in nets)
    first = nets[0]
    for w in first.layers[:-1]:  # 784 x 784 at 0.6 %: 3688 expected, sd 60
        assert abs(w.nnz - 0.006 * 784 * 784) < 5 * 60
    assert first.layers[-1].nnz == 7840  # dense output layer, as in topo/
    total = 0
    for a, b in itertools.pairwise(nets):
        assert a.nnz == b.nnz
        for k, (wa, wb) in enumerate(zip(a.layers, b.layers, strict=True)):
            k_expected = 0 if k == 3 else math.floor(0.01 * wa.nnz + 0.5)
            assert changed_connections(wa, wb) == (k_expected, k_expected)
            total += k_expected
    assert total == pytest.approx(0.01 * 9 * (first.nnz - 7840), rel=0.01)
    assert figure4_networks(rng=2020)[-1].content_hash == nets[-1].content_hash


def test_figure4_small_and_without_dense_last() -> None:
    nets = figure4_networks((50, 40, 30), rng=0, density=0.1, count=3, dense_last=False, prefix="t")
    assert [n.run for n in nets] == ["t_w0", "t_w1", "t_w2"]
    assert all(w.nnz < 0.2 * w.shape[0] * w.shape[1] for w in nets[0].layers)
    with pytest.raises(InputError):
        figure4_networks((50,), rng=0)


def test_counts_round_half_up() -> None:
    """round(ζ·nnz) rounds halves up (Python's round would give 0 and 2 here)."""
    w = left_regular_layer(10, 20, 5, rng=0)  # nnz = 50
    assert changed_connections(w, rewire_layer(w, 0.01, rng=1)) == (1, 1)  # 0.5 -> 1
    assert changed_connections(w, set_evolve_layer(w, 0.05, rng=1)) == (3, 3)  # 2.5 -> 3
