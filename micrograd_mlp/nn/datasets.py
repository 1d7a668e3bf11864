"""Small 2-D toy datasets for classification (``xor``, ``moons``, ``circles``) and one real,
bundled data set (``digits``).

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

* ``digits``: the UCI handwritten digits (1,797 images of 8×8 pixels, classes 0-9), shipped in the
  package as ``nn/data/digits.csv.gz`` (source, licence CC BY 4.0 and format in
  ``nn/data/README.md``) and read offline - never downloaded. Its inputs are 64 floats in [0, 1]
  (pixel / 16, row by row) and its targets are *class indices* (ints 0..9), what
  :func:`~micrograd_mlp.nn.losses.cross_entropy` takes; a one-hot target is
  ``[1.0 if k == t else 0.0 for k in range(10)]``. See :func:`digits` for the train/test split.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import random
from functools import lru_cache
from importlib import resources
from typing import IO, Callable, NamedTuple, Union

from ..core.checks import finite_real, integer, nonnegative_real, one_of, shown


class Dataset(NamedTuple):
    """A dataset: ``inputs`` (n lists of floats: 2 for the toys, 64 for ``digits``) and
    ``targets`` (n floats for the toys; n class indices, ints, for ``digits``)."""

    inputs: list[list[float]]
    targets: Union[list[float], list[int]]


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


# --- the bundled handwritten digits --------------------------------------------------------------
#: The file's name in ``micrograd_mlp/nn/data`` and its sha256 (checked on every first read).
DIGITS_FILE = "digits.csv.gz"
DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
#: Images, pixels per image, classes.
DIGITS_COUNT, DIGITS_PIXELS, DIGITS_CLASSES = 1797, 64, 10
#: Largest compressed / decompressed size read (the real file: 57,523 / about 300,000 bytes).
MAX_BUNDLED_BYTES = 1 << 20
MAX_BUNDLED_TEXT = 4 << 20


def _bounded_read(stream: IO[bytes] | gzip.GzipFile, limit: int, what: str) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"digits: {what} is larger than {limit:,} bytes; refusing to read it "
                         f"(the bundled file is about 60 KB: is the installation damaged?)")
    return data


@lru_cache(maxsize=1)
def _digits_rows() -> tuple[tuple[tuple[int, ...], int], ...]:
    """The file's rows ``(64 pixels 0..16, label 0..9)`` in file order, read once and checked."""
    source = resources.files("micrograd_mlp.nn").joinpath("data", DIGITS_FILE)
    with source.open("rb") as stream:
        raw = _bounded_read(stream, MAX_BUNDLED_BYTES, DIGITS_FILE)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != DIGITS_SHA256:
        raise ValueError(f"digits: {DIGITS_FILE} has sha256 {digest}, expected {DIGITS_SHA256} "
                         f"(the bundled file is damaged; reinstall micrograd_mlp)")
    with gzip.GzipFile(fileobj=io.BytesIO(raw)) as unzipped:
        text = _bounded_read(unzipped, MAX_BUNDLED_TEXT, f"{DIGITS_FILE} (decompressed)")
    rows = []
    for number, line in enumerate(text.decode("ascii").splitlines(), 1):
        fields = [int(f) for f in line.split(",")]
        if (len(fields) != DIGITS_PIXELS + 1 or not all(0 <= v <= 16 for v in fields[:-1])
                or not 0 <= fields[-1] < DIGITS_CLASSES):
            raise ValueError(f"digits: line {number} of {DIGITS_FILE} is not 64 pixels in 0..16 "
                             f"and a label in 0..9")
        rows.append((tuple(fields[:-1]), fields[-1]))
    if len(rows) != DIGITS_COUNT:
        raise ValueError(f"digits: {DIGITS_FILE} has {len(rows)} rows, expected {DIGITS_COUNT}")
    return tuple(rows)


def _permutation(n: int, seed: int) -> list[int]:
    """A Fisher-Yates shuffle of ``range(n)`` driven only by ``random.Random(seed).random()``
    (whose stream Python guarantees across versions, unlike ``Random.shuffle``)."""
    rng = random.Random(seed)
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = int(rng.random() * (i + 1))
        order[i], order[j] = order[j], order[i]
    return order


def digits(split: str = "all", seed: int = 0, test_fraction: float = 0.2) -> Dataset:
    """The UCI handwritten digits, offline: inputs are 64 floats pixel / 16 in [0, 1] (the 8×8
    image row by row), targets class indices 0..9 (ints).

    ``split``: ``"all"`` (the 1,797 images in file order), ``"train"`` or ``"test"``. The split is
    deterministic: the indices 0..1796 are shuffled with ``seed`` (a Fisher-Yates shuffle drawing
    from ``random.Random(seed).random()``); the last ``round(1797 · test_fraction)`` of them
    (359 by default) are the test set, in that shuffled order, the others the training set. The
    same ``seed`` and ``test_fraction`` always give the same two disjoint sets covering all 1,797.

    >>> X, y = digits("test")
    >>> len(X), len(X[0]), len(digits("train").inputs), sorted(set(y)) == list(range(10))
    (359, 64, 1438, True)
    """
    one_of(split, "digits: split", ("all", "train", "test"))
    seed = integer(seed, "digits: seed")
    fraction = finite_real(test_fraction, "digits: test_fraction")
    n_test = round(DIGITS_COUNT * fraction)
    if not 0.0 < fraction < 1.0 or not 0 < n_test < DIGITS_COUNT:
        raise ValueError(f"digits: test_fraction must leave at least one image on each side "
                         f"(between about 0.0003 and 0.9997), got {fraction!r}")
    rows = _digits_rows()
    if split == "all":
        order = list(range(DIGITS_COUNT))
    else:
        shuffled = _permutation(DIGITS_COUNT, seed)
        cut = DIGITS_COUNT - n_test
        order = shuffled[:cut] if split == "train" else shuffled[cut:]
    return Dataset([[p / 16.0 for p in rows[i][0]] for i in order], [rows[i][1] for i in order])


#: The generators by name (the CLI's ``train --dataset`` choices).
DATASETS: dict[str, Callable[..., Dataset]] = {"xor": xor, "moons": moons, "circles": circles}

#: Data sets shipped with the package, by name (``load_dataset`` finds them too).
BUNDLED: dict[str, Callable[..., Dataset]] = {"digits": digits}


def load_dataset(name: str, **options: object) -> Dataset:
    """``DATASETS[name](**options)`` (or ``BUNDLED[name]``, e.g. ``"digits"``), with a clear error
    for an unknown name.

    >>> len(load_dataset("moons", n=10).inputs), len(load_dataset("digits", split="test").inputs)
    (10, 359)
    """
    try:
        make = DATASETS[name] if name in DATASETS else BUNDLED[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown dataset {name!r}; choose one of {', '.join(sorted(DATASETS))}, "
            f"or the bundled {', '.join(sorted(BUNDLED))}"
        ) from None
    return make(**options)
