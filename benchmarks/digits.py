# ruff: noqa: E402  (the thread settings must come before NumPy is imported)
"""Mini-batches on the UCI digits: the compiled engine against PyTorch CPU (issue 25).

    .venv/bin/python benchmarks/digits.py                    # medians of 5 interleaved runs
    .venv/bin/python benchmarks/digits.py --quick            # a smoke run (1 repeat, short)
    .venv/bin/python benchmarks/digits.py --activation tanh  # tanh hidden units

The workload: ``nn.digits("train")`` (1,438 images of 64 pixels / 16, classes 0-9, bundled), an MLP
64-32-10 (ReLU hidden, or tanh; linear output: logits), ``cross_entropy``, Adam (lr 0.01), from the
weights ``MLP(..., seed=0)`` draws:

* (a) mini-batches of 32, 20 epochs, shuffled by ``plan_batches(seed=1)`` (45 batches an epoch,
  the last one of 30: 900 steps);
* (b) full batch, 200 steps.

Contenders: this library's compiled engine (``train(..., engine="compiled")``, timed from the call:
tracing the network and generating the code included), PyTorch CPU float64 with
``torch.set_num_threads(1)`` doing the same batches from the same weights (copied from the model;
``torch.optim.Adam``, the data as tensors made before the clock starts, each batch gathered by
index in the loop), and the eager engine on a short run (its first steps, extrapolated to the
whole run per step). The compiled engine and PyTorch must end at the same final loss (the last
step's) to 1e-9 relative - asserted and printed.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one thread everywhere, as torch.set_num_threads(1)

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from timing import median_of  # benchmarks/timing.py

from micrograd_mlp.compile.training import train
from micrograd_mlp.nn import MLP, digits
from micrograd_mlp.nn.batching import plan_batches
from micrograd_mlp.nn.losses import cross_entropy
from micrograd_mlp.nn.optim import Adam

try:
    import torch
except ImportError:  # pragma: no cover - the benchmark needs it
    torch = None

LR = 0.01
HIDDEN = 32
ACTIVATION = "relu"
PLAN_SEED = 1


def data() -> list[tuple[list[float], int]]:
    X, y = digits("train")
    return list(zip(X, y))


def model() -> MLP:
    return MLP(64, [HIDDEN, 10], hidden_activation=ACTIVATION, output_activation="linear", seed=0)


def ours(samples: list[Any], batch: int | None, epochs: int | None, steps: int | None
         ) -> Callable[[], tuple[float, float]]:
    def run() -> tuple[float, float]:
        m = model()  # (made before the clock starts, as PyTorch's model and tensors are)
        opt = Adam(m, lr=LR)
        kw: dict[str, Any] = ({"steps": steps} if epochs is None else
                              {"epochs": epochs, "batch_size": batch, "seed": PLAN_SEED})
        t0 = time.perf_counter()
        history = train(m, samples, loss_fn=cross_entropy, optimizer=opt, engine="compiled", **kw)
        return time.perf_counter() - t0, history[-1]

    return run


def eager_per_step(samples: list[Any], batch: int | None, steps: int) -> float:
    """Seconds per step of the eager engine over its first ``steps`` steps."""
    m = model()
    opt = Adam(m, lr=LR)
    if batch is None:
        kw: dict[str, Any] = {"steps": steps}
    else:
        samples = samples[:steps * batch]  # the first steps' worth of samples: 1 epoch
        kw = {"epochs": 1, "batch_size": batch, "seed": PLAN_SEED}
    t0 = time.perf_counter()
    train(m, samples, loss_fn=cross_entropy, optimizer=opt, engine="eager", **kw)
    return (time.perf_counter() - t0) / steps


def pytorch(samples: list[Any], batch: int | None, epochs: int | None, steps: int | None
            ) -> Callable[[], tuple[float, float]]:
    def run() -> tuple[float, float]:
        torch.set_num_threads(1)
        m = model()
        layers = [(torch.tensor([[w.data for w in n.weights] for n in layer.neurons],
                                dtype=torch.float64, requires_grad=True),
                   torch.tensor([n.bias.data for n in layer.neurons], dtype=torch.float64,
                                requires_grad=True)) for layer in m.layers]
        params = [p for pair in layers for p in pair]
        X = torch.tensor([x for x, _ in samples], dtype=torch.float64)
        y = torch.tensor([t for _, t in samples], dtype=torch.int64)
        if epochs is None:
            order = [None] * (steps or 0)
        else:
            order = [torch.tensor(b, dtype=torch.int64)
                     for e in plan_batches(len(samples), batch, epochs, seed=PLAN_SEED) for b in e]
        opt = torch.optim.Adam(params, lr=LR)
        (W1, b1), (W2, b2) = layers
        hidden = torch.relu if ACTIVATION == "relu" else torch.tanh
        t0 = time.perf_counter()
        loss = None
        for index in order:
            xb, yb = (X, y) if index is None else (X[index], y[index])
            logits = hidden(xb @ W1.T + b1) @ W2.T + b2
            loss = torch.nn.functional.cross_entropy(logits, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return time.perf_counter() - t0, loss.item()

    return run


def workload(name: str, samples: list[Any], batch: int | None, epochs: int | None,
             steps: int | None, repeat: int, eager_steps: int) -> list[str]:
    total = (steps if epochs is None else
             sum(len(e) for e in plan_batches(len(samples), batch, epochs, seed=PLAN_SEED)))
    rows = median_of(repeat, {"compiled": ours(samples, batch, epochs, steps),
                              "pytorch": pytorch(samples, batch, epochs, steps)})
    (t_ours, loss_ours), (t_torch, loss_torch) = rows["compiled"], rows["pytorch"]
    gap = abs(loss_ours - loss_torch) / abs(loss_torch)
    assert gap <= 1e-9, (name, loss_ours, loss_torch)
    t_eager = eager_per_step(samples, batch, eager_steps) * total
    return [f"| {name} ({total} steps) | compiled (incl. compile) | {t_ours:.3f} | "
            f"{t_ours / total * 1e6:.0f} | {t_torch / t_ours:.2f}x | {loss_ours:.12f} |",
            f"| | PyTorch CPU float64, 1 thread | {t_torch:.3f} | {t_torch / total * 1e6:.0f} | "
            f"1.00x | {loss_torch:.12f} |",
            f"| | eager (first {eager_steps} steps, extrapolated) | {t_eager:.1f} | "
            f"{t_eager / total * 1e6:.0f} | {t_torch / t_eager:.3f}x | |",
            f"| | final losses agree to | {gap:.1e} | | | |"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (1 repeat, short)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--activation", choices=("relu", "tanh"), default="relu",
                        help="the hidden layer's activation (default relu)")
    args = parser.parse_args(argv)
    global ACTIVATION
    ACTIVATION = args.activation
    if torch is None:
        print("PyTorch is not installed: nothing to compare with", file=sys.stderr)
        return 1
    samples = data()
    repeat, epochs, steps, eager_steps = (1, 2, 20, 2) if args.quick else (args.repeat, 20, 200, 5)
    lines = [f"digits train set ({len(samples)} samples), MLP 64-{HIDDEN}-10 {ACTIVATION}/linear, "
             f"cross_entropy, Adam lr {LR}; median of {repeat} interleaved runs; "
             f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
             f"NumPy {__import__('numpy').__version__}, torch {torch.__version__}", "",
             "| workload | contender | seconds | µs/step | speed vs PyTorch | final loss |",
             "|---|---|---:|---:|---:|---:|"]
    lines += workload("mini-batch 32", samples, 32, epochs, None, repeat, eager_steps)
    lines += workload("full batch", samples, None, None, steps, repeat, max(eager_steps // 2, 1))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
