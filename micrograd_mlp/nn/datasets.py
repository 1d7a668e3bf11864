"""Small 2-D toy datasets for classification: ``xor``, ``moons`` and ``circles``.

Every generator is deterministic from its ``seed`` (it owns a private ``random.Random(seed)``, so
the global :mod:`random` state is neither read nor changed) and returns plain Python floats - no
numpy, no scikit-learn.

Each returns a :class:`Dataset`, a named tuple ``(inputs, targets)``::

    inputs  = [[x1, x2], ...]   # n points, each a list of two floats
    targets = [t, ...]          # n class labels, ``labels[0]`` or ``labels[1]`` (default 0.0 / 1.0)

so ``X, y = moons(100, noise=0.1, seed=1)`` works. Pass ``labels=(-1.0, 1.0)`` for a hinge loss.

Noise is Gaussian: each coordinate gets ``+ N(0, noise²)``.

* ``xor``: the four corners (0,0), (0,1), (1,0), (1,1) labelled x1 XOR x2; point k sits on corner
  k mod 4, so ``xor()`` (n=4, noise=0) is exactly the truth table.
* ``moons``: two interleaving half circles - the outer (class 0) (cos t, sin t), t ∈ [0, π]; the
  inner (class 1) (1 − cos t, ½ − sin t).
* ``circles``: two concentric circles - the outer (class 0) of radius 1, the inner (class 1) of
  radius ``factor``.

For ``moons`` and ``circles`` the angles are evenly spaced, class 0 gets ⌈n/2⌉ points and class 1
⌊n/2⌋, and the points are shuffled (``shuffle=False`` keeps class 0 first).
"""

from __future__ import annotations

import math
import random
from typing import Callable, NamedTuple

from ..core.checks import finite_real, integer, nonnegative_real, shown


class Dataset(NamedTuple):
    """A toy dataset: ``inputs`` (n lists of 2 floats) and ``targets`` (n floats)."""

    inputs: list[list[float]]
    targets: list[float]


#: Most points a generator makes (plain Python floats: ~150 MB at this size); more is refused
#: with a ValueError instead of exhausting memory.
MAX_POINTS = 1_000_000


# --- argument checks -----------------------------------------------------------------------------
def _check_common(func: str, n: object, noise: object, seed: object, labels: object,
                  minimum_n: int) -> tuple[int, float, int, tuple[float, float]]:
    """The arguments every generator takes, checked (messages start with the generator's name)."""
    count = integer(n, f"{func}: n", minimum_n)
    if count > MAX_POINTS:  # (plain floats: about 150 bytes a point)
        raise ValueError(f"{func}: n must be at most {MAX_POINTS} (nn.datasets.MAX_POINTS), "
                         f"got {count if count.bit_length() <= 64 else shown(count)}")
    sigma = nonnegative_real(noise, f"{func}: noise")  # a standard deviation
    state = integer(seed, f"{func}: seed")
    if not isinstance(labels, (tuple, list)) or len(labels) != 2:
        raise ValueError(f"{func}: labels must be a pair (label of class 0, label of class 1), "
                         f"got {shown(labels)}")
    pair = (finite_real(labels[0], f"{func}: labels[0]"),
            finite_real(labels[1], f"{func}: labels[1]"))
    if pair[0] == pair[1]:
        raise ValueError(f"{func}: the two labels must differ, got {shown(labels)}")
    return count, sigma, state, pair


def _jitter(rng: random.Random, noise: float) -> float:
    return rng.gauss(0.0, noise) if noise > 0 else 0.0


def _finish(func: str, points: list[tuple[float, float, int]], rng: random.Random,
            noise: float, labels: tuple[float, float], shuffle: bool) -> Dataset:
    """Add noise (in point order, so it is reproducible), then shuffle if asked."""
    noisy = [(x + _jitter(rng, noise), y + _jitter(rng, noise), c) for x, y, c in points]
    for x, y, _ in noisy:  # a huge noise (1e308) draws coordinates beyond the floats
        if x - x != 0.0 or y - y != 0.0:
            raise ValueError(f"{func}: noise={noise!r} made a coordinate that is not a finite "
                             f"float ({x!r}, {y!r}); use a smaller noise")
    if shuffle:
        rng.shuffle(noisy)
    return Dataset([[float(x), float(y)] for x, y, _ in noisy], [labels[c] for _, _, c in noisy])


def _evenly(count: int) -> list[float]:
    """``count`` angles evenly spaced over [0, π] (both ends included; [0] for count 1)."""
    if count == 1:
        return [0.0]
    return [math.pi * i / (count - 1) for i in range(count)]


# --- generators ----------------------------------------------------------------------------------
def xor(n: int = 4, noise: float = 0.0, seed: int = 0,
        labels: tuple[float, float] = (0.0, 1.0)) -> Dataset:
    """The XOR problem: point k on corner k mod 4 of the unit square, label x1 XOR x2.

    >>> xor()
    Dataset(inputs=[[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], targets=[0.0, 1.0, 1.0, 0.0])
    """
    n, noise, seed, labels = _check_common("xor", n, noise, seed, labels, 1)
    rng = random.Random(seed)
    corners = [(0.0, 0.0, 0), (0.0, 1.0, 1), (1.0, 0.0, 1), (1.0, 1.0, 0)]
    return _finish("xor", [corners[k % 4] for k in range(n)], rng, noise, labels, shuffle=False)


def moons(n: int = 100, noise: float = 0.1, seed: int = 0,
          labels: tuple[float, float] = (0.0, 1.0), shuffle: bool = True) -> Dataset:
    """Two interleaving half circles: (cos t, sin t) for class 0, (1 − cos t, ½ − sin t) for
    class 1.

    >>> X, y = moons(6, noise=0.0, shuffle=False)
    >>> X[0], y[0], X[3], y[3]
    ([1.0, 0.0], 0.0, [0.0, 0.5], 1.0)
    """
    n, noise, seed, labels = _check_common("moons", n, noise, seed, labels, 2)
    rng = random.Random(seed)
    n_outer = (n + 1) // 2
    n_inner = n - n_outer
    points = [(math.cos(t), math.sin(t), 0) for t in _evenly(n_outer)]
    points += [(1.0 - math.cos(t), 0.5 - math.sin(t), 1) for t in _evenly(n_inner)]
    return _finish("moons", points, rng, noise, labels, bool(shuffle))


def circles(n: int = 100, noise: float = 0.05, factor: float = 0.5, seed: int = 0,
            labels: tuple[float, float] = (0.0, 1.0), shuffle: bool = True) -> Dataset:
    """Two concentric circles: radius 1 for class 0, radius ``factor`` (0 < factor < 1) for class 1.

    >>> X, y = circles(4, noise=0.0, factor=0.5, shuffle=False)
    >>> [[round(c, 12) + 0.0 for c in p] for p in X], y
    ([[1.0, 0.0], [-1.0, 0.0], [0.5, 0.0], [-0.5, 0.0]], [0.0, 0.0, 1.0, 1.0])
    """
    n, noise, seed, labels = _check_common("circles", n, noise, seed, labels, 2)
    factor = finite_real(factor, "circles: factor")
    if not 0.0 < factor < 1.0:
        raise ValueError(f"circles: factor (inner radius / outer radius) must be in (0, 1), "
                         f"got {factor!r}")
    rng = random.Random(seed)
    n_outer = (n + 1) // 2
    n_inner = n - n_outer

    def ring(count: int, radius: float, cls: int) -> list[tuple[float, float, int]]:
        angles = [2.0 * math.pi * i / count for i in range(count)]
        return [(radius * math.cos(a), radius * math.sin(a), cls) for a in angles]

    return _finish("circles", ring(n_outer, 1.0, 0) + ring(n_inner, factor, 1), rng, noise,
                   labels, bool(shuffle))


#: The generators by name (the CLI's ``train --dataset`` choices).
DATASETS: dict[str, Callable[..., Dataset]] = {"xor": xor, "moons": moons, "circles": circles}


def load_dataset(name: str, **options: object) -> Dataset:
    """``DATASETS[name](**options)``, with a clear error for an unknown name.

    >>> len(load_dataset("moons", n=10).inputs)
    10
    """
    try:
        make = DATASETS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown dataset {name!r}; choose one of {', '.join(sorted(DATASETS))}"
        ) from None
    return make(**options)
