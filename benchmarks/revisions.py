"""Two checkouts of the library side by side: the worked example's eager nn path and compiled loop.

    python benchmarks/revisions.py OLD_CHECKOUT [NEW_CHECKOUT] [--repeats 15] [--rounds 2000]
    python benchmarks/revisions.py OLD_CHECKOUT [NEW_CHECKOUT] --gc-off   # the collector off
    python benchmarks/revisions.py OLD_CHECKOUT [NEW_CHECKOUT] --instructions   # needs valgrind

Each repeat runs one fresh interpreter per checkout, alternating old and new, and times (inside it,
best of 3) 2,000 SGD rounds of the 2-2-2 sigmoid network through ``nn.MLP`` + loss + ``SGD`` and the
same rounds in ``compile_graph(...).train``. It prints the medians over the repeats and their ratio
new/old (below 1: the new checkout is faster), so a slow moment of the machine hits both sides.
Where micrograd 0.1.0 is installed (the ``bench`` extra), each interpreter also times it on the same
rounds, with σ built from its own exp and ** (benchmarks/run.py's contender), and the table gives
each checkout's speed-up over it: a ratio measured on one machine, comparable across checkouts.

On a busy machine, ``--instructions`` counts machine instructions instead (valgrind's callgrind,
the same count run after run whatever else the machine does): each path is run with 0 and with
``--rounds`` rounds, and the difference divided by the rounds is the cost of one round.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

PROBE = r"""
import gc, json, sys, time
sys.path.insert(0, sys.argv[1])
if sys.argv[4:5] == ["gc-off"]:
    gc.disable()
if len(sys.argv) > 5:  # benchmarks/, for micrograd_contender
    sys.path.append(sys.argv[5])
from micrograd_mlp import SGD, article
from micrograd_mlp.losses import half_squared_error
from micrograd_mlp.compiled import compile_graph

rounds = int(sys.argv[2])

def eager():
    model = article.network()
    opt = SGD(model.parameters(), lr=article.LEARNING_RATE)
    for _ in range(rounds):
        loss = half_squared_error(model(list(article.INPUTS)), list(article.TARGETS))
        opt.zero_grad()
        loss.backward()
        opt.step()

def compiled():
    model = article.network()
    loss = half_squared_error(model(list(article.INPUTS)), list(article.TARGETS))
    fast = compile_graph(loss, model.parameters())
    t = time.perf_counter()
    fast.train(rounds, article.LEARNING_RATE)
    return time.perf_counter() - t

def best(fn):
    times = []
    for _ in range(3):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)

def micrograd():  # benchmarks/micrograd_contender.py: σ from micrograd's own exp and **
    from micrograd_contender import mg_sigmoid_from_ops, worked_example
    worked_example(article, rounds, mg_sigmoid_from_ops)

if sys.argv[3:4] not in ([], ["time"]):  # one path, once (counted by callgrind)
    {"eager": eager, "compiled": compiled}[sys.argv[3]]()
else:
    times = {"eager": best(eager), "compiled": min(compiled() for _ in range(3))}
    try:
        times["micrograd"] = best(micrograd)
    except ImportError:
        pass
    print(json.dumps(times))
"""


def measure(checkout: Path, rounds: int, gc_off: bool = False) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", PROBE, str(checkout), str(rounds), "time",
                          "gc-off" if gc_off else "gc-on", str(Path(__file__).resolve().parent)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def instructions(checkout: Path, rounds: int, path: str) -> int:
    """Machine instructions of ``rounds`` rounds of ``path`` (callgrind, start-up subtracted)."""
    counts = []
    for n in (0, rounds):
        run = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                              sys.executable, "-c", PROBE, str(checkout), str(n), path],
                             capture_output=True, text=True, check=True)
        line = next(ln for ln in run.stderr.splitlines() if "Collected" in ln)
        counts.append(int(line.rsplit(":", 1)[1]))
    return counts[1] - counts[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path, nargs="?", default=Path(__file__).resolve().parents[1])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--gc-off", action="store_true",
                        help="time with Python's cyclic garbage collector disabled")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions with valgrind instead of timing")
    args = parser.parse_args()
    if args.instructions:
        rounds = min(args.rounds, 400)
        print(f"machine instructions per round (callgrind, {rounds} rounds)")
        print(f"{'path':<10} {'old':>10} {'new':>10} {'new/old':>8}")
        for path in ("eager", "compiled"):
            n = rounds if path == "eager" else rounds * 10
            old, new = (instructions(c, n, path) / n for c in (args.old, args.new))
            print(f"{path:<10} {old:>10.0f} {new:>10.0f} {new / old:>8.3f}")
        return
    runs: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    for _ in range(args.repeats):
        for side in ("old", "new"):
            for key, seconds in measure(getattr(args, side), args.rounds, args.gc_off).items():
                runs[side].setdefault(key, []).append(seconds)
    collector = "off" if args.gc_off else "on"
    print(f"{args.repeats} interleaved repeats, {args.rounds} rounds each, the garbage collector "
          f"{collector}; medians in µs per round")
    print(f"{'path':<10} {'old':>9} {'new':>9} {'new/old':>8}")
    median = {side: {key: statistics.median(times) / args.rounds * 1e6
                     for key, times in runs[side].items()} for side in runs}
    for key in median["old"]:
        old, new = median["old"][key], median["new"][key]
        print(f"{key:<10} {old:>9.2f} {new:>9.2f} {new / old:>8.3f}")
    if "micrograd" in median["old"]:  # each checkout's speed-up, from its own interpreters
        ups = {side: statistics.median(m / e for m, e in zip(runs[side]["micrograd"],
                                                             runs[side]["eager"]))
               for side in runs}
        print(f"eager nn path's speed-up over micrograd 0.1.0 (σ from exp and **), median of "
              f"the repeats: old {ups['old']:.2f}x, new {ups['new']:.2f}x")


if __name__ == "__main__":
    main()
