"""What anomaly mode costs: off (the default) and on.

Run:  python benchmarks/bench_anomaly.py

"off" is measured as an A/B against the same ``engine._propagate`` with the anomaly check's two
lines removed (rebuilt from its source at run time), so the difference is exactly the hook: one
context-variable read per backward pass, nothing per node or per op (the forward pass has no hook at
all). "on" runs the checked twin, which tests every gradient it writes.
"""

from __future__ import annotations

import inspect
import textwrap
import time
from typing import Callable

from micrograd_mlp import MLP, Value, detect_anomaly, engine


def _unhooked_propagate() -> Callable:
    src = textwrap.dedent(inspect.getsource(engine._propagate))
    lines = src.splitlines()
    kept = [ln for i, ln in enumerate(lines)
            if "_ANOMALY" not in ln and not (i and "_ANOMALY" in lines[i - 1]
                                              and "_checked_propagate" in ln)]
    assert len(kept) == len(lines) - 2, "the hook is no longer two lines: update this benchmark"
    namespace = dict(vars(engine))
    exec("\n".join(kept), namespace)
    return namespace["_propagate"]


def _best(fn: Callable[[], None], repeat: int, number: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def main() -> None:
    hooked = engine._propagate
    bare = _unhooked_propagate()

    model = MLP(2, [2, 2], bias="shared", seed=1)
    outs = model([0.05, 0.10])
    article_loss = Value.sum([(t - o) ** 2 * 0.5 for o, t in zip(outs, (0.01, 0.99))])

    def chain(n: int) -> Value:
        """3n op nodes: y <- tanh(0.999·y) + 0.001."""
        x = Value(0.5)
        y = x
        for _ in range(n):
            y = (y * 0.999).tanh() + 0.001
        return y

    cases = [("2-2-2 article net loss", article_loss, 20000),
             ("15k-op chain", chain(5000), 10)]
    print(f"{'graph':26} {'nodes':>7} {'bare':>10} {'hooked':>10} {'hook cost':>10} "
          f"{'anomaly on':>11} {'on/off':>7}")
    for name, root, number in cases:
        n_nodes = len(engine.topological_order(root))
        rows = {"bare": float("inf"), "hooked": float("inf")}
        for _ in range(9):  # interleave A and B so drift hits both alike; keep each one's best
            for tag, prop in (("bare", bare), ("hooked", hooked)):
                engine._propagate = prop
                try:
                    rows[tag] = min(rows[tag], _best(root.backward, repeat=1, number=number))
                finally:
                    engine._propagate = hooked
        with detect_anomaly():
            rows["on"] = _best(root.backward, repeat=5, number=max(1, number // 4))
        cost = rows["hooked"] - rows["bare"]
        print(f"{name:26} {n_nodes:7d} {rows['bare'] * 1e6:8.2f}µs {rows['hooked'] * 1e6:8.2f}µs "
              f"{cost * 1e9:8.0f}ns {rows['on'] * 1e6:9.2f}µs {rows['on'] / rows['hooked']:6.2f}x")
    get = engine._ANOMALY.get
    t = _best(lambda: [get() for _ in range(1000)], repeat=7, number=200) / 1000
    print(f"one context-variable read (the whole hook): {t * 1e9:.0f} ns")


if __name__ == "__main__":
    main()
