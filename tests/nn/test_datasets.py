"""Toy datasets: geometry checked against the defining equations, determinism, noise, validation."""

from __future__ import annotations

import doctest
import math
import random
import statistics

import pytest

from micrograd_mlp.nn import datasets
from micrograd_mlp.nn.datasets import DATASETS, Dataset, circles, load_dataset, moons, xor


def _plain(ds: Dataset) -> None:
    assert type(ds.inputs) is list and type(ds.targets) is list
    assert len(ds.inputs) == len(ds.targets)
    for p in ds.inputs:
        assert type(p) is list and len(p) == 2
        assert all(type(c) is float and math.isfinite(c) for c in p)
    assert all(type(t) is float for t in ds.targets)


def test_docstring_examples():
    failures, tried = doctest.testmod(datasets)
    assert tried >= 4 and failures == 0


def test_xor_is_the_truth_table():
    X, y = xor()
    assert X == [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    assert y == [float(int(a) ^ int(b)) for a, b in X]


@pytest.mark.parametrize("n", [1, 5, 40])
def test_xor_noise_free_labels_follow_xor(n):
    X, y = xor(n, noise=0.0)
    _plain(Dataset(X, y))
    assert len(X) == n
    for (a, b), t in zip(X, y):
        assert t == float(int(a) ^ int(b))


def test_xor_noisy_points_stay_labelled_by_their_corner():
    X, y = xor(400, noise=0.1, seed=3)
    corners = [(0, 0), (0, 1), (1, 0), (1, 1)]
    for k, ((a, b), t) in enumerate(zip(X, y)):
        ca, cb = corners[k % 4]
        assert t == float(ca ^ cb)
        assert abs(a - ca) < 0.6 and abs(b - cb) < 0.6


def test_moons_noise_free_points_lie_on_their_half_circles():
    X, y = moons(101, noise=0.0, seed=5)
    _plain(Dataset(X, y))
    assert y.count(0.0) == 51 and y.count(1.0) == 50
    for (a, b), t in zip(X, y):
        if t == 0.0:   # (cos t, sin t): unit circle centred at the origin, upper half
            assert math.isclose(math.hypot(a, b), 1.0, abs_tol=1e-12) and b >= -1e-12
        else:          # (1 - cos t, 1/2 - sin t): unit circle centred at (1, 1/2), lower half
            assert math.isclose(math.hypot(a - 1.0, b - 0.5), 1.0, abs_tol=1e-12)
            assert b <= 0.5 + 1e-12


def test_moons_covers_the_whole_half_circle_evenly():
    X, y = moons(10, noise=0.0, shuffle=False)
    outer = [math.atan2(b, a) for (a, b), t in zip(X, y) if t == 0.0]
    assert outer == pytest.approx([math.pi * i / 4 for i in range(5)], abs=1e-12)


@pytest.mark.parametrize("factor", [0.2, 0.5, 0.8])
def test_circles_noise_free_radii(factor):
    X, y = circles(60, noise=0.0, factor=factor, seed=1)
    _plain(Dataset(X, y))
    assert y.count(0.0) == 30 and y.count(1.0) == 30
    for (a, b), t in zip(X, y):
        assert math.isclose(math.hypot(a, b), 1.0 if t == 0.0 else factor, abs_tol=1e-12)


def test_same_seed_same_data_other_seed_other_data():
    for make in DATASETS.values():
        kw = {"n": 50, "noise": 0.2}
        assert make(seed=7, **kw) == make(seed=7, **kw)
        assert make(seed=7, **kw) != make(seed=8, **kw)


def test_global_random_state_is_untouched():
    random.seed(123)
    expected = [random.random() for _ in range(3)]
    random.seed(123)
    moons(30, seed=1)
    circles(30, seed=1)
    xor(30, noise=0.3, seed=1)
    assert [random.random() for _ in range(3)] == expected


def test_noise_has_the_requested_standard_deviation():
    sigma = 0.3
    X, _ = circles(4000, noise=sigma, factor=0.5, seed=11, shuffle=False)
    clean, _ = circles(4000, noise=0.0, factor=0.5, seed=11, shuffle=False)
    deltas = [p[i] - q[i] for p, q in zip(X, clean) for i in (0, 1)]
    assert abs(statistics.fmean(deltas)) < 0.02
    assert statistics.pstdev(deltas) == pytest.approx(sigma, rel=0.05)


def test_shuffle_permutes_the_same_points():
    a = moons(40, noise=0.0, seed=2, shuffle=True)
    b = moons(40, noise=0.0, seed=2, shuffle=False)
    assert a != b
    assert sorted(zip(map(tuple, a.inputs), a.targets)) == sorted(zip(map(tuple, b.inputs),
                                                                     b.targets))


def test_custom_labels_for_hinge():
    _X, y = moons(20, labels=(-1.0, 1.0))
    assert set(y) == {-1.0, 1.0}
    assert xor(labels=[-1, 1]).targets == [-1.0, 1.0, 1.0, -1.0]


def test_load_dataset_by_name():
    assert load_dataset("circles", n=10, seed=4) == circles(10, seed=4)
    with pytest.raises(ValueError, match="unknown dataset 'spiral'.*circles, moons, xor"):
        load_dataset("spiral")


@pytest.mark.parametrize(
    "call, exc, message",
    [
        (lambda: xor(0), ValueError, r"xor: n must be at least 1, got 0"),
        (lambda: moons(1), ValueError, r"moons: n must be at least 2, got 1"),
        (lambda: moons(2.5), TypeError, r"moons: n must be an integer, got float"),
        (lambda: moons(True), TypeError, r"n must be an integer, got bool"),
        (lambda: circles(10, noise=-0.1), ValueError, r"circles: noise must be at least 0, got -0.1"),
        (lambda: circles(10, noise=float("nan")), ValueError, r"noise must be finite"),
        (lambda: circles(10, noise="big"), TypeError, r"noise must be a real number, got str"),
        (lambda: circles(10, factor=1.0), ValueError, r"factor .* must be in \(0, 1\), got 1.0"),
        (lambda: circles(10, factor=0), ValueError, r"must be in \(0, 1\)"),
        (lambda: moons(10, seed=1.5), TypeError, r"seed must be an integer, got float"),
        (lambda: moons(10, seed=None), TypeError, r"seed must be an integer, got NoneType"),
        (lambda: xor(labels=(1.0,)), ValueError, r"labels must be a pair"),
        (lambda: xor(labels=(1.0, 1.0)), ValueError, r"the two labels must differ"),
    ],
)
def test_bad_arguments_name_what_was_wrong(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


def test_any_integral_type_counts_as_an_integer():
    numpy = pytest.importorskip("numpy")
    assert moons(numpy.int64(10), seed=numpy.int32(3)) == moons(10, seed=3)


# --- issue 11 ------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", ["moons", "circles"])
def test_a_noise_that_overflows_the_coordinates_is_refused(make):
    from micrograd_mlp.nn import datasets as ds

    with pytest.raises(ValueError, match=f"{make}: noise=1e\\+308 made a coordinate that is not "
                                         "a finite float"):
        getattr(ds, make)(n=50, noise=1e308)
    X, _ = getattr(ds, make)(n=50, noise=1e300)  # huge but finite: allowed
    assert all(abs(c) < float("inf") for row in X for c in row)


def test_numpy_integers_and_huge_integers_in_the_generators():
    np = pytest.importorskip("numpy")
    from micrograd_mlp.nn import datasets as ds

    assert len(ds.moons(n=np.int64(6), seed=np.int64(1))[0]) == 6
    with pytest.raises(ValueError, match="at most 1000000 .*about 5001 digits"):
        ds.moons(n=10**5000)
    with pytest.raises(ValueError, match=r"noise must be finite, .* \(about 10\*\*5000\)"):
        ds.circles(noise=10**5000)
    with pytest.raises(TypeError, match="n must be an integer, got str"):
        ds.xor(n="4")
    with pytest.raises(ValueError) as info:
        ds.moons(labels=[0.0] * 100_000)
    assert len(str(info.value)) < 300
