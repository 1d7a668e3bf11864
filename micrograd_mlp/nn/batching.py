"""Mini-batches: which samples each step of an epoch trains on, as PyTorch's ``DataLoader`` does.

One epoch visits every sample once. With ``shuffle`` the order is a fresh permutation each epoch,
drawn from one ``random.Random(seed)`` for the whole run (so a seed fixes every epoch's order);
without it the order is the data's own. The epoch is cut into consecutive batches of
``batch_size`` samples; the last one holds what is left (``drop_last=False``).

The eager loop and the compiled engine both read this plan, so they train on the same batches.
"""

from __future__ import annotations

import random

from ..core.checks import nonnegative_int

#: Most sample indices a plan holds (samples × epochs; about 40 bytes each in memory): a larger run
#: is refused with a ValueError instead of exhausting memory before its first step. (The eager
#: engine trains a few hundred digit images a second, so 10⁷ visits is hours of training.)
MAX_PLANNED = 10_000_000


def _positive(n: object, what: str) -> int:
    k = nonnegative_int(n, what)
    if k == 0:
        raise ValueError(f"{what} must be at least 1, got 0")
    return k


def epoch_batches(n: int, batch_size: int, rng: random.Random | None) -> list[list[int]]:
    """One epoch of ``n`` samples as lists of sample indices, ``batch_size`` each (the last may
    be shorter); shuffled by ``rng`` (``None``: in order)."""
    order = list(range(n))
    if rng is not None:
        rng.shuffle(order)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def plan_batches(n: int, batch_size: int | None, epochs: int, *, shuffle: bool = True,
                 seed: int | None = 0) -> list[list[list[int]]]:
    """Every epoch's batches: ``plan[e][b]`` lists the sample indices of batch ``b`` of epoch
    ``e``. ``batch_size=None`` trains on all ``n`` samples at once (one step an epoch);
    ``seed=None`` draws the permutations from the system's entropy (not reproducible).

    >>> plan_batches(5, 2, 2, shuffle=False)
    [[[0, 1], [2, 3], [4]], [[0, 1], [2, 3], [4]]]
    >>> plan_batches(5, 2, 1, seed=3) == plan_batches(5, 2, 1, seed=3)
    True
    """
    n = _positive(n, "batches: number of samples")
    size = n if batch_size is None else _positive(batch_size, "train: batch_size")
    epochs = nonnegative_int(epochs, "train: epochs")
    if n * epochs > MAX_PLANNED:
        raise ValueError(f"train: {epochs:,} epochs of {n:,} samples plan {n * epochs:,} sample "
                         f"visits, more than nn.batching.MAX_PLANNED = {MAX_PLANNED:,}; train in "
                         f"several calls (a new seed each: the model and the optimiser carry on)")
    if not isinstance(shuffle, bool):
        raise TypeError(f"train: shuffle must be a bool, got {type(shuffle).__name__}")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise TypeError(f"train: seed must be an int or None, got {type(seed).__name__}")
    rng = random.Random(seed) if shuffle else None
    return [epoch_batches(n, size, rng) for _ in range(epochs)]
