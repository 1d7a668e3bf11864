"""What the benchmark scripts share: medians of interleaved repeats."""

from __future__ import annotations

import gc
import statistics
import time
from typing import Any, Callable


def median_of(repeat: int, contenders: dict[str, Callable[[], Any]],
              once: tuple[str, ...] = ()) -> dict[str, tuple[float, Any]]:
    """name -> (median seconds, result), the contenders interleaved: every round runs each once,
    so a change in the machine's load falls on all of them alike. Those in ``once`` run only in
    the first round (slow enough for one run to be stable). A contender that returns ``(seconds,
    result)`` times itself (to leave its set-up out); otherwise the call is timed."""
    times: dict[str, list[float]] = {k: [] for k in contenders}
    results: dict[str, Any] = {}
    for r in range(repeat):
        for name, fn in contenders.items():
            if r and name in once:
                continue
            gc.collect()
            t0 = time.perf_counter()
            got = fn()
            seconds = time.perf_counter() - t0
            if isinstance(got, tuple):
                seconds, got = got
            results[name] = got
            times[name].append(seconds)
    return {k: (statistics.median(v), results[k]) for k, v in times.items()}


def paired_ratio(repeat: int, numerator: Callable[[], Any], denominator: Callable[[], Any]
                 ) -> tuple[float, float, float]:
    """The median, over ``repeat`` pairs, of ``time(numerator) / time(denominator)`` with the two
    run back to back (in alternating order, so neither always runs first): a change in the
    machine's load falls on both halves of a pair alike. Returns (median, lower quartile, upper
    quartile)."""
    ratios = []
    for r in range(repeat):
        seconds = {}
        for name, fn in (("n", numerator), ("d", denominator))[::1 if r % 2 else -1]:
            gc.collect()
            t0 = time.perf_counter()
            fn()
            seconds[name] = time.perf_counter() - t0
        ratios.append(seconds["n"] / seconds["d"])
    low, mid, high = statistics.quantiles(ratios, n=4) if repeat > 1 else ratios * 3
    return mid, low, high
