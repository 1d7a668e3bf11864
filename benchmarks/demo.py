# ruff: noqa: E402  (the thread settings must come before NumPy is imported)
"""micrograd's demo workload and the scaling grid, against PyTorch CPU and hand-written NumPy.

    python benchmarks/demo.py                    # the demo workload (medians of 7 interleaved runs)
    python benchmarks/demo.py --grid             # + samples 100/1,000/10,000 × width 16/64/128
    python benchmarks/demo.py --grid --plot scaling.png

The demo workload (micrograd's demo notebook): a 2-16-16-1 MLP (ReLU hidden, linear out) on 100
moons points, SVM max-margin loss mean(relu(1 − y·s)) + L2 α·Σp² (α = 1e-4), 100 full-batch SGD
steps with micrograd's rate 1.0 − 0.9·k/100. Every contender starts from the same weights and
must end at the same loss (to 1e-9: summation orders differ). Times are per step; ``lowered
(incl. compile)`` counts building the graph once, tracing and generating the code.

Contenders: micrograd 0.1.0 (gc on), this library eager (``train(engine="eager")`` semantics:
rebuild + backward + SGD.step), ``compile_batch`` (one sample's scalar code run on each row: the
compiled path without NumPy), ``compile_model(...).lowered()`` (one sample's network graph, layers
as matrix products), PyTorch CPU float64 (full batch, ``torch.set_num_threads(1)``), and a
hand-written NumPy forward + backward + update.
"""

from __future__ import annotations

import os

# one thread everywhere: PyTorch runs with torch.set_num_threads(1), so NumPy's BLAS does too (on a
# shared machine a multi-threaded BLAS mostly waits for cores)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import numpy as np
from timing import median_of  # benchmarks/timing.py

from micrograd_mlp import MLP, Value
from micrograd_mlp.compile import compile_batch, compile_model
from micrograd_mlp.compile.steps import run_steps
from micrograd_mlp.nn.datasets import moons
from micrograd_mlp.nn.losses import hinge
from micrograd_mlp.nn.optim import SGD, LambdaLR

try:
    import torch
except ImportError:  # pragma: no cover - optional contender
    torch = None

try:
    from micrograd.engine import Value as MGValue
except ImportError:  # pragma: no cover
    MGValue = None

ALPHA = 1e-4


def rate(k: int, steps: int) -> float:
    return 1.0 - 0.9 * k / steps


def workload(n: int, width: int, seed: int = 6):
    X, y = moons(n, noise=0.1, seed=1, labels=(-1.0, 1.0))
    model = MLP(2, [width, width, 1], hidden_activation="relu", output_activation="linear",
                seed=seed)
    return model, X, y


def layers_of(model: MLP) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.array([[w.data for w in n.weights] for n in layer.neurons]),
             np.array([n.bias.data for n in layer.neurons])) for layer in model.layers]


# --- contenders: each returns (seconds per step, final loss) ------------------------------------------
def ours_eager(n: int, width: int, steps: int) -> tuple[float, float]:
    model, X, y = workload(n, width)
    params = model.parameters()
    opt = SGD(model, lr=1.0)
    sched = LambdaLR(opt, lambda k: rate(k, steps))
    t0 = time.perf_counter()
    loss = None
    for _ in range(steps):
        data = Value.sum([(1.0 + -t * model(x)[0]).relu() for x, t in zip(X, y)]) * (1.0 / n)
        loss = data + ALPHA * Value.sum([p * p for p in params])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return (time.perf_counter() - t0) / steps, loss.data


def ours_compiled(kind: str, n: int, width: int, steps: int,
                  include_compile: bool = True) -> tuple[float, float]:
    model, X, y = workload(n, width)
    t0 = time.perf_counter()
    params = model.parameters()
    penalty = ALPHA * Value.sum([p * p for p in params])
    if kind == "lowered":  # the network's graph built for one sample (compile_model)
        batch = compile_model(model, zip(X, y), hinge, params, penalty=penalty)
    else:  # every sample's graph built and traced
        batch = compile_batch([hinge(model(x), t) for x, t in zip(X, y)], params, penalty=penalty)
    program = {"batch": lambda: batch, "lowered": batch.lowered}[kind]()
    P: Any = [p.data for p in params]
    if kind == "lowered":
        P = np.array(P)
        program.gradient_array(P)  # compile the code now
    else:
        program._function("forward_backward")
    opt = SGD(model, lr=1.0)  # set-up, as PyTorch's tensors are (counted in "incl. compile")
    sched = LambdaLR(opt, lambda k: rate(k, steps))
    t1 = time.perf_counter()
    history = run_steps(program, opt, steps, P, lambda k, loss: sched.step(), sync=False)
    t2 = time.perf_counter()
    return ((t2 - t0) if include_compile else (t2 - t1)) / steps, history[-1]


def micrograd(n: int, width: int, steps: int) -> tuple[float, float]:
    model, X, y = workload(n, width)
    layers = [[([MGValue(w.data) for w in nn.weights], MGValue(nn.bias.data))
               for nn in layer.neurons] for layer in model.layers]
    params = [p for layer in layers for ws, b in layer for p in (*ws, b)]
    t0 = time.perf_counter()
    loss = None
    for k in range(steps):
        scores = []
        for x in X:
            h = [MGValue(v) for v in x]
            for li, layer in enumerate(layers):
                nets = [sum((w * xi for w, xi in zip(ws, h)), b) for ws, b in layer]
                h = nets if li == len(layers) - 1 else [v.relu() for v in nets]
            scores.append(h[0])
        losses = [(1 + -t * s).relu() for t, s in zip(y, scores)]
        loss = sum(losses) * (1.0 / n) + ALPHA * sum(p * p for p in params)
        for p in params:
            p.grad = 0
        loss.backward()
        lr = rate(k, steps)
        for p in params:
            p.data -= lr * p.grad
    return (time.perf_counter() - t0) / steps, loss.data


def pytorch(n: int, width: int, steps: int) -> tuple[float, float]:
    model, X, y = workload(n, width)
    torch.set_num_threads(1)
    ws = [(torch.tensor(W, dtype=torch.float64, requires_grad=True),
           torch.tensor(b, dtype=torch.float64, requires_grad=True)) for W, b in layers_of(model)]
    params = [p for pair in ws for p in pair]
    Xt = torch.tensor(X, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)
    t0 = time.perf_counter()
    loss = None
    for k in range(steps):
        h = Xt
        for i, (W, b) in enumerate(ws):
            h = h @ W.T + b
            if i < len(ws) - 1:
                h = torch.relu(h)
        loss = torch.relu(1.0 - yt * h[:, 0]).mean() + ALPHA * sum((p * p).sum() for p in params)
        for p in params:
            p.grad = None
        loss.backward()
        lr = rate(k, steps)
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
    return (time.perf_counter() - t0) / steps, loss.item()


def numpy_by_hand(n: int, width: int, steps: int) -> tuple[float, float]:
    model, X, y = workload(n, width)
    (W1, b1), (W2, b2), (W3, b3) = layers_of(model)
    Xa, ya = np.array(X), np.array(y)
    t0 = time.perf_counter()
    loss = 0.0
    for k in range(steps):
        z1 = Xa @ W1.T + b1
        a1 = np.maximum(z1, 0.0)
        z2 = a1 @ W2.T + b2
        a2 = np.maximum(z2, 0.0)
        s = (a2 @ W3.T + b3)[:, 0]
        margin = 1.0 - ya * s
        loss = float(np.maximum(margin, 0.0).sum()) / n + ALPHA * float(
            (W1 * W1).sum() + (b1 * b1).sum() + (W2 * W2).sum() + (b2 * b2).sum()
            + (W3 * W3).sum() + (b3 * b3).sum())
        dz3 = (-1.0 * (margin > 0.0) * ya / n)[:, None]
        dz2 = (dz3 @ W3) * (z2 > 0.0)
        dz1 = (dz2 @ W2) * (z1 > 0.0)
        lr = rate(k, steps)
        W3 -= lr * (dz3.T @ a2 + 2 * ALPHA * W3)
        b3 -= lr * (dz3.sum(0) + 2 * ALPHA * b3)
        W2 -= lr * (dz2.T @ a1 + 2 * ALPHA * W2)
        b2 -= lr * (dz2.sum(0) + 2 * ALPHA * b2)
        W1 -= lr * (dz1.T @ Xa + 2 * ALPHA * W1)
        b1 -= lr * (dz1.sum(0) + 2 * ALPHA * b1)
    return (time.perf_counter() - t0) / steps, loss


def demo(repeat: int, steps: int) -> tuple[list[str], dict[str, tuple[float, float]]]:
    n, width = 100, 16
    contenders: dict[str, Callable[[], tuple[float, float]]] = {
        "eager (rebuild + backward + SGD.step)": lambda: ours_eager(n, width, steps),
        "compile_batch (scalar loop)": lambda: ours_compiled("batch", n, width, steps),
        "compile_model(...).lowered() (incl. compile)": lambda: ours_compiled("lowered", n, width,
                                                                              steps),
        "compile_model(...).lowered() (steps only)": lambda: ours_compiled(
            "lowered", n, width, steps, include_compile=False),
        "hand-written NumPy": lambda: numpy_by_hand(n, width, steps),
    }
    if torch is not None:
        contenders["PyTorch CPU float64"] = lambda: pytorch(n, width, steps)
    if MGValue is not None:
        contenders["micrograd 0.1.0"] = lambda: micrograd(n, width, steps)
    rows = median_of(repeat, contenders, once=("micrograd 0.1.0",
                                               "eager (rebuild + backward + SGD.step)"))
    ref = rows.get("PyTorch CPU float64")
    lines = [f"## micrograd's demo workload: 2-16-16-1 ReLU, 100 moons points, SVM loss + L2, "
             f"{steps} SGD steps (median of {repeat} interleaved runs; micrograd and eager: one)",
             "", "| contender | per step (ms) | vs PyTorch | final loss |", "|---|---:|---:|---:|"]
    for name, (t, loss) in rows.items():
        vs = f"{ref[0] / t:.2f}x faster" if ref and t < ref[0] else (
            f"{t / ref[0]:.2f}x slower" if ref else "n/a")
        lines.append(f"| {name} | {t * 1e3:.3f} | {vs} | {loss:.12g} |")
    return lines + [""], rows


GRID_SAMPLES = (100, 1000, 10000)
GRID_WIDTHS = (16, 64, 128)
SCALAR_LIMIT = 1e5  # samples × edges above which the per-node contenders are skipped (minutes)


def grid(repeat: int, steps: int) -> tuple[list[str], dict[tuple[int, int], dict[str, float]]]:
    cells: dict[tuple[int, int], dict[str, float]] = {}
    lines = [f"## Scaling: seconds per step, 2-w-w-1 ReLU, SVM loss + L2 (median of {repeat}, "
             f"{steps} steps)", "",
             "| samples | width | eager | compile_batch | lowered | PyTorch | NumPy by hand | "
             "lowered / PyTorch |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in GRID_SAMPLES:
        for w in GRID_WIDTHS:
            edges = 2 * w + w * w + w
            contenders: dict[str, Callable[[], tuple[float, float]]] = {
                "lowered": lambda: ours_compiled("lowered", n, w, steps, include_compile=False),
                "numpy": lambda: numpy_by_hand(n, w, steps),
            }
            if torch is not None:
                contenders["torch"] = lambda: pytorch(n, w, steps)
            if n * edges <= SCALAR_LIMIT:
                contenders["eager"] = lambda: ours_eager(n, w, min(steps, 3))
                contenders["batch"] = lambda: ours_compiled("batch", n, w, min(steps, 3),
                                                            include_compile=False)
            rows = median_of(repeat, contenders, once=("eager", "batch"))
            cell = {k: t for k, (t, _) in rows.items()}
            cells[(n, w)] = cell

            def fmt(key: str) -> str:
                return f"{cell[key]:.2e}" if key in cell else "-"

            ratio = f"{cell['lowered'] / cell['torch']:.2f}" if "torch" in cell else "-"
            lines.append(f"| {n:,} | {w} | {fmt('eager')} | {fmt('batch')} | {fmt('lowered')} | "
                         f"{fmt('torch')} | {fmt('numpy')} | {ratio} |")
            print(lines[-1], file=sys.stderr, flush=True)
    return lines + [""], cells


def plot(cells: dict[tuple[int, int], dict[str, float]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    contenders = (("eager", "eager"), ("batch", "compile_batch"), ("lowered", "lowered"),
                  ("torch", "PyTorch CPU"), ("numpy", "NumPy by hand"))
    colours = dict(zip((key for key, _ in contenders), plt.rcParams["axes.prop_cycle"].by_key()
                       ["color"]))  # one colour per contender in every panel
    fig, axes = plt.subplots(1, len(GRID_WIDTHS), figsize=(12, 4.4), sharey=True)
    for ax, w in zip(axes, GRID_WIDTHS):
        for key, label in contenders:
            xs = [n for n in GRID_SAMPLES if key in cells[(n, w)]]
            ax.loglog(xs, [cells[(n, w)][key] for n in xs], marker="o", label=label,
                      color=colours[key])
        ax.set_title(f"width {w}")
        ax.set_xlabel("samples")
    axes[0].set_ylabel("seconds per step")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(contenders), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    fig.savefig(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--grid", action="store_true", help="also run the scaling grid")
    parser.add_argument("--grid-steps", type=int, default=10)
    parser.add_argument("--plot", metavar="PATH", help="plot the grid (implies --grid)")
    parser.add_argument("--grid-only", action="store_true", help="skip the demo workload")
    args = parser.parse_args(argv)
    if args.grid_only:
        lines, cells = grid(max(3, args.repeat // 2), args.grid_steps)
        if args.plot:
            plot(cells, args.plot)
        print("\n".join([f"`python benchmarks/demo.py {' '.join(sys.argv[1:])}`", "", *lines]))
        return 0
    out, rows = demo(args.repeat, args.steps)
    lowered = rows["compile_model(...).lowered() (incl. compile)"][0]
    loop = rows["compile_model(...).lowered() (steps only)"][0]
    hand = rows["hand-written NumPy"][0]
    verdicts = []
    if "PyTorch CPU float64" in rows:
        tt = rows["PyTorch CPU float64"][0]
        verdicts.append(f"lowered (incl. compile) {tt / lowered:.2f}x faster than PyTorch CPU "
                        f"(target ≥ 1.5): {'met' if tt / lowered >= 1.5 else 'MISSED'}; steps "
                        f"only {tt / loop:.2f}x")
    verdicts.append(f"lowered (incl. compile) {lowered / hand:.2f}x the hand-written NumPy "
                    f"(target ≤ 2): {'met' if lowered / hand <= 2 else 'MISSED'}; steps only "
                    f"{loop / hand:.2f}x")
    losses = [loss for _, loss in rows.values()]
    same = all(abs(v - losses[0]) <= 1e-9 * abs(losses[0]) for v in losses)
    verdicts.append(f"every contender ends at the same loss (1e-9): {same}")
    if args.grid or args.plot:
        lines, cells = grid(max(3, args.repeat // 2), args.grid_steps)
        out += lines
        if args.plot:
            plot(cells, args.plot)
            out.append(f"plot written to {args.plot}")
    print("\n".join([f"`python benchmarks/demo.py {' '.join(sys.argv[1:])}`", "", *out,
                     "### Targets", "", *[f"- {v}" for v in verdicts]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
