"""A battery of bad inputs across the public API.

Every case must raise a *documented* error type (docs/errors.md lists each case: input, type,
message) whose message names what was wrong, and must leave everything unchanged: the model's
parameters and gradients, the Values involved, the saved state file and an existing picture file
(compared byte for byte). The table in docs/errors.md is checked against CASES, so it cannot drift.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from micrograd_mlp import (
    MLP,
    SGD,
    Adam,
    GraphTooLargeError,
    Value,
    binary_cross_entropy,
    cli,
    compare_gradients,
    draw_graph,
    explain,
    grad,
    half_squared_error,
    hinge,
    mse,
    render_graph,
    train,
)
from micrograd_mlp.compile import compile_graph
from micrograd_mlp.nn import datasets

DOCS = Path(__file__).resolve().parents[1] / "docs" / "errors.md"


class World:
    """Everything a bad call could damage, plus a snapshot to compare against."""

    def __init__(self, tmp: Path) -> None:
        self.model = MLP(2, [2, 2], bias="shared", seed=0)
        self.x = Value(2.0, label="x")
        self.y = Value(-3.0, label="y")
        self.z = self.x * self.y
        self.z.label = "z"
        self.path = tmp / "model.json"
        self.model.save(self.path)
        self.svg = tmp / "graph.svg"
        self.svg.write_bytes(b"<svg>an earlier picture</svg>")
        self.loss = half_squared_error(self.model([0.05, 0.10]), [0.01, 0.99])
        self.loss.backward()
        self.tmp = tmp

    def snapshot(self) -> tuple:
        return (
            self.model.state_dict(),
            [(n, p.grad) for n, p in self.model.named_parameters(include_frozen=True)],
            [(v.data, v.grad, v.label) for v in (self.x, self.y, self.z)],
            self.path.read_bytes(),
            self.svg.read_bytes(),
            sorted(p.name for p in self.tmp.iterdir()),
        )


@dataclass(frozen=True)
class Case:
    area: str
    what: str  # the input, as the docs table shows it
    call: Callable[[World], object]
    error: type
    message: str  # a regex the message must match (also shown in the docs)


def _cli(*argv: str) -> Callable[[World], object]:
    def run(w: World) -> object:
        args = [a.replace("{model}", str(w.path)).replace("{svg}", str(w.svg)) for a in argv]
        return cli.main(args)
    return run


def _corrupt_model(w: World) -> None:
    bad = w.tmp / "corrupt.json"
    bad.write_text('{"format": "micrograd_mlp.state", "version": 1, "state": {"w1": NaN}}')
    try:
        w.model.load(bad)
    finally:
        bad.unlink()


def _overflowing_sgd(w: World) -> None:
    for p in w.model.parameters():
        p.grad = 1e300
    try:
        SGD(w.model, lr=1e10).step()  # each update would be -1e310: inf
    finally:
        w.model.zero_grad()
        w.loss.backward()  # restore the snapshot's gradients


def _inf_grad_step(w: World) -> None:
    p = w.model.parameter("w6")
    old = p.grad
    p.grad = math.inf
    try:
        Adam(w.model, lr=0.1).step()
    finally:
        p.grad = old


def _train_nan_lr(w: World) -> None:
    train(w.model, [([0.05, 0.1], [0.01, 0.99])], steps=1, lr=math.nan)


CASES: list[Case] = [
    # --- engine --------------------------------------------------------------------------------
    Case("engine", 'Value("1.5")', lambda w: Value("1.5"), TypeError,
         "must be a real number .*got str"),
    Case("engine", "Value(None)", lambda w: Value(None), TypeError, "got NoneType"),
    Case("engine", "Value(1+2j)", lambda w: Value(1 + 2j), TypeError, "got complex"),
    Case("engine", "Value([1.0])", lambda w: Value([1.0]), TypeError, "got list"),
    Case("engine", "Value(True)", lambda w: Value(True), TypeError, "got bool"),
    Case("engine", "Value(nan)", lambda w: Value(math.nan), ValueError, "must be finite, got nan"),
    Case("engine", "Value(-inf)", lambda w: Value(-math.inf), ValueError, "must be finite"),
    Case("engine", "Value(10**400)", lambda w: Value(10**400), ValueError, "must be finite"),
    Case("engine", "Value(1.0, label=3)", lambda w: Value(1.0, label=3), TypeError,
         "label must be a str"),
    Case("engine", 'x + "a"', lambda w: w.x + "a", TypeError,
         "add: operand must be a Value or a real number, got str"),
    Case("engine", "None * x", lambda w: None * w.x, TypeError, "mul: .*got NoneType"),
    Case("engine", "x / 0", lambda w: w.x / 0, ZeroDivisionError,
         r"div: division by zero \(a=2\.0, b=0\.0\)"),
    Case("engine", "(x*y).log()  [log of -6]", lambda w: w.z.log(), ValueError,
         r"log: operand outside the domain a > 0 \(a=-6\.0\)"),
    Case("engine", "y.sqrt()", lambda w: w.y.sqrt(), ValueError, r"sqrt: .*domain.*a=-3\.0"),
    Case("engine", "(x*400).exp()", lambda w: (w.x * 400).exp(), OverflowError,
         r"exp: result is not a finite float \(a=800\.0\)"),
    Case("engine", "y ** 0.5", lambda w: w.y ** 0.5, ValueError, r"powc: .*a=-3\.0, k=0\.5"),
    Case("engine", "y ** Value(0.5)", lambda w: w.y ** Value(0.5), ValueError,
         r"pow: .*a=-3\.0, b=0\.5"),
    Case("engine", "Value(0.0) ** -1", lambda w: Value(0.0) ** -1, (ValueError, ZeroDivisionError),
         r"powc: .*a=0\.0"),
    Case("engine", "Value(1e308) * 10", lambda w: Value(1e308) * 10, OverflowError,
         r"mul: result is not a finite float"),
    Case("engine", 'x ** "2"', lambda w: w.x ** "2", TypeError, "pow: exponent must be"),
    Case("engine", 'x.leaky_relu("a")', lambda w: w.x.leaky_relu("a"), TypeError,
         "leaky_relu: slope must be a real number"),
    Case("engine", 'Value.sum([x, "a"])', lambda w: Value.sum([w.x, "a"]), TypeError,
         "sum: operand must be"),
    Case("engine", "Value.affine([x], [x, y])", lambda w: Value.affine([w.x], [w.x, w.y]),
         ValueError, "affine: expected 1 inputs to match 1 weights, got 2"),
    Case("engine", 'z.backward("1")', lambda w: w.z.backward("1"), TypeError,
         "backward: gradient must be a real number, got str"),
    Case("engine", "z.backward(nan)", lambda w: w.z.backward(math.nan), ValueError,
         "backward: gradient must be finite, got nan"),
    Case("engine", "grad(1.0, [x])", lambda w: grad(1.0, [w.x]), TypeError,
         "grad: output must be a Value, got float"),
    Case("engine", "grad(z, [x, 2.0])", lambda w: grad(w.z, [w.x, 2.0]), TypeError,
         r"grad: inputs\[1\] must be a Value, got float"),
    Case("engine", "Value(0.0).sqrt().backward()  [∂√a at 0]",
         lambda w: Value(0.0).sqrt().backward(), ZeroDivisionError, "backward through sqrt"),
    Case("engine", "(x*2.0 + Value(0.0).sqrt()).backward()  [x.grad stays]",
         lambda w: (w.x * 2.0 + Value(0.0).sqrt()).backward(), ZeroDivisionError,
         "backward through sqrt"),
    Case("engine", "Value(0.5) ** inf", lambda w: Value(0.5) ** math.inf, ValueError,
         "pow: exponent must be finite, got inf"),
    Case("engine", "x ** nan", lambda w: w.x ** math.nan, ValueError,
         "pow: exponent must be finite, got nan"),
    Case("engine", "x ** 10**400", lambda w: w.x ** 10**400, ValueError,
         r"pow: exponent must be finite, got an integer too large for a float \(about 10\*\*400\)"),
    Case("engine", "x.leaky_relu(nan)", lambda w: w.x.leaky_relu(math.nan), ValueError,
         "leaky_relu: slope must be finite, got nan"),
    Case("engine", "Value(10**5000)", lambda w: Value(10**5000), ValueError,
         r"must be finite, got int too large for a float \(about 10\*\*5000\)"),
    Case("engine", "grad(y, [x]) with ∂y/∂x = 1e400", lambda w: _overflowing_grad(), OverflowError,
         r"grad: ∂output/∂inputs\[0\] is not a finite float \(inf\)"),
    # --- nn --------------------------------------------------------------------------------------
    Case("nn", "MLP(0, [2])", lambda w: MLP(0, [2]), ValueError,
         "nin must be at least 1, got 0"),
    Case("nn", "MLP(2, [])", lambda w: MLP(2, []), ValueError, "nouts must be a non-empty list"),
    Case("nn", "MLP(2, [2, 0])", lambda w: MLP(2, [2, 0]), ValueError,
         r"nouts\[1\] must be at least 1, got 0"),
    Case("nn", "MLP(2.0, [2])", lambda w: MLP(2.0, [2]), TypeError,
         "nin must be an integer, got float"),
    Case("nn", 'MLP(2, [1], hidden_activation="swish")',
         lambda w: MLP(2, [1], hidden_activation="swish"), ValueError,
         "hidden_activation must be one of .*got str: 'swish'"),
    Case("nn", 'MLP(2, [1], bias="both")', lambda w: MLP(2, [1], bias="both"), ValueError,
         "bias must be one of"),
    Case("nn", 'MLP(2, [1], seed="x")', lambda w: MLP(2, [1], seed="x"), TypeError,
         "seed must be an int"),
    Case("nn", "MLP(2, [1], weights=[[[1.0]]])  [1 weight for 2 inputs]",
         lambda w: MLP(2, [1], weights=[[[1.0]]]), ValueError,
         "layer 1 neuron 1 expected 2 weights, got 1"),
    Case("nn", "MLP(2, [1], weights=[[[1.0, nan]]])",
         lambda w: MLP(2, [1], weights=[[[1.0, math.nan]]]), ValueError,
         "weight 2 must be finite, got nan"),
    Case("nn", "model([1.0, 2.0, 3.0])  [3 inputs to a 2-input net]",
         lambda w: w.model([1.0, 2.0, 3.0]), ValueError, "MLP expects 2 inputs, got 3"),
    Case("nn", 'model(["a", 1.0])', lambda w: w.model(["a", 1.0]), TypeError,
         "MLP: input 1 must be a real number, got str"),
    Case("nn", "model([nan, 1.0])", lambda w: w.model([math.nan, 1.0]), ValueError,
         "MLP: input 1 must be finite, got nan"),
    Case("nn", "model([1.0, 10**400])", lambda w: w.model([1.0, 10**400]), ValueError,
         "MLP: input 2 must be finite"),
    Case("nn", "model.load_state_dict({...} without w3)",
         lambda w: w.model.load_state_dict({k: v for k, v in w.model.state_dict().items()
                                            if k != "w3"}), KeyError, r"missing \['w3'\]"),
    Case("nn", "model.load_state_dict({..., 'w99': 1.0})",
         lambda w: w.model.load_state_dict({**w.model.state_dict(), "w99": 1.0}), KeyError,
         r"unexpected \['w99'\]"),
    Case("nn", "model.load_state_dict({..., 'w1': '0.5'})",
         lambda w: w.model.load_state_dict({**w.model.state_dict(), "w1": "0.5"}), TypeError,
         r"state\['w1'\] must be a real number, got str"),
    Case("nn", "model.load_state_dict({..., 'w1': inf})",
         lambda w: w.model.load_state_dict({**w.model.state_dict(), "w1": math.inf}), ValueError,
         r"state\['w1'\] must be finite"),
    Case("nn", "model.load_state_dict({..., 'w1': 10**400})",
         lambda w: w.model.load_state_dict({**w.model.state_dict(), "w1": 10**400}), ValueError,
         r"state\['w1'\] must be finite, got an integer too large for a float \(about 10\*\*400\)"),
    Case("nn", "model.load_state_dict([1.0] * 10)",
         lambda w: w.model.load_state_dict([1.0] * 10), TypeError, "must be a mapping"),
    Case("nn", 'model.parameter("w99")', lambda w: w.model.parameter("w99"), KeyError,
         "no parameter named 'w99'"),
    Case("state files", "model.load(file with a NaN token)", _corrupt_model, ValueError,
         "not a JSON state file .*NaN is not allowed"),
    Case("state files", "model.load(missing file)", lambda w: w.model.load(w.tmp / "nope.json"),
         FileNotFoundError, "nope.json"),
    Case("state files", "MLP(2, [3], bias=\"shared\").load(file saved by a 2-2-2 net)",
         lambda w: MLP(2, [3], bias="shared", seed=0).load(w.path), ValueError,
         r"different architecture \(nouts: file \[2, 2\], model \[3\]"),
    Case("state files", "MLP.from_file(file with \"version\": true)",
         lambda w: _hostile_file(w, '"version": 1', '"version": true'), ValueError,
         "state version True not supported"),
    Case("state files", "MLP.from_file(file with a key given twice)",
         lambda w: _hostile_file(w, '"state": {', '"state": {"w1": 0.5, '), ValueError,
         "duplicate key str: 'w1'"),
    Case("state files", "MLP.from_file(file with \"bias\": [])",
         lambda w: _hostile_file(w, '"bias": "shared"', '"bias": []'), ValueError,
         "config bias must be a string, got list"),
    Case("state files", "model.save(path) with a parameter set to \"0.5\"",
         lambda w: _save_with(w, "0.5"), TypeError, "parameter w1 holds str: '0.5'"),
    Case("state files", "model.save(path) with a parameter set to inf",
         lambda w: _save_with_inf(w), ValueError, r"parameter\(s\) \['w1'\] are not finite"),
    # --- losses ----------------------------------------------------------------------------------
    Case("losses", "half_squared_error([o1, o2], [0.01])",
         lambda w: half_squared_error(w.model([0.05, 0.1]), [0.01]), ValueError,
         "expected 2 targets .*got 1"),
    Case("losses", "mse([o1, o2], [0.1, nan])",
         lambda w: mse(w.model([0.05, 0.1]), [0.1, math.nan]), ValueError,
         "mse: target 2 must be finite, got nan"),
    Case("losses", 'mse(["a"], [1.0])', lambda w: mse(["a"], [1.0]), TypeError,
         "mse: output 1 must be a real number, got str"),
    Case("losses", "mse([], [])", lambda w: mse([], []), ValueError, "at least one output"),
    Case("losses", "binary_cross_entropy(o, [1.5])",
         lambda w: binary_cross_entropy(w.model([0.05, 0.1])[0], [1.5]), ValueError,
         r"target 1 must be between 0 and 1, got 1\.5"),
    Case("losses", "binary_cross_entropy(Value(1.0), [1.0])  [p = 1, not a sigmoid node]",
         lambda w: binary_cross_entropy(Value(1.0), [1.0]), ValueError,
         r"output 1 must be a probability in \(0, 1\)"),
    Case("losses", "binary_cross_entropy([σ(800·x/2)], [0.0]).backward()  [∂L/∂p = 1 + e⁸⁰⁰]",
         lambda w: binary_cross_entropy([(w.x * 400.0).sigmoid()], [0.0]).backward(),
         OverflowError, r"backward through bce.*beyond the floats.*from_logits=True"),
    Case("losses", "hinge([s], [0.5])", lambda w: hinge([w.x], [0.5]), ValueError,
         r"target 1 must be one of -1\.0, 1\.0; got float: 0\.5"),
    # --- optimisers ------------------------------------------------------------------------------
    Case("optim", "SGD([])", lambda w: SGD([]), ValueError, "empty parameter list"),
    Case("optim", "SGD([1.0])", lambda w: SGD([1.0]), TypeError,
         "parameter 0 must be a Value, got float"),
    Case("optim", "SGD(model, lr=-0.1)", lambda w: SGD(w.model, lr=-0.1), ValueError,
         "lr must be positive, got -0.1"),
    Case("optim", "SGD(model, lr=nan)", lambda w: SGD(w.model, lr=math.nan), ValueError,
         "lr must be finite, got nan"),
    Case("optim", 'SGD(model, lr="0.1")', lambda w: SGD(w.model, lr="0.1"), TypeError,
         "lr must be a real number, got str"),
    Case("optim", "SGD(model, momentum=1.0)", lambda w: SGD(w.model, momentum=1.0), ValueError,
         "momentum must be < 1"),
    Case("optim", "Adam(model, betas=(0.9, 1.0))", lambda w: Adam(w.model, betas=(0.9, 1.0)),
         ValueError, r"betas\[1\] must be < 1"),
    Case("optim", "Adam(model, eps=0)", lambda w: Adam(w.model, eps=0), ValueError,
         "eps must be positive, got 0.0"),
    Case("optim", "Adam(...).step() with w6.grad = inf", _inf_grad_step, ValueError,
         "gradient of parameter w6 is not finite .*no step taken"),
    Case("optim", "SGD(model, lr=1e10).step() with grads 1e300  [update overflows]",
         _overflowing_sgd, ValueError, "update of parameter w1 is not a finite float .*no step taken"),
    Case("optim", "train(model, data, lr=nan)", _train_nan_lr, ValueError,
         "lr must be finite, got nan"),
    Case("optim", "train(model, [], steps=1)", lambda w: train(w.model, [], steps=1), ValueError,
         "data is empty"),
    Case("optim", "train(model, data, steps=-1)",
         lambda w: train(w.model, [([0.05, 0.1], [0.01, 0.99])], steps=-1), ValueError,
         "train: steps must be at least 0, got -1"),
    # --- datasets --------------------------------------------------------------------------------
    Case("datasets", 'load_dataset("spirals")', lambda w: datasets.load_dataset("spirals"),
         ValueError, "unknown dataset 'spirals'; choose one of circles, moons, xor"),
    Case("datasets", "moons(n=0)", lambda w: datasets.moons(n=0), ValueError,
         "moons: n must be at least 2, got 0"),
    Case("datasets", "moons(n=10**12)", lambda w: datasets.moons(n=10**12), ValueError,
         r"moons: n must be at most 1000000 \(nn.datasets.MAX_POINTS\)"),
    Case("datasets", "moons(noise=-1)", lambda w: datasets.moons(noise=-1), ValueError,
         "moons: noise must be at least 0, got -1.0"),
    Case("datasets", "moons(noise=nan)", lambda w: datasets.moons(noise=math.nan), ValueError,
         "noise must be finite"),
    Case("datasets", "moons(noise=1e308)", lambda w: datasets.moons(noise=1e308), ValueError,
         "moons: noise=1e\\+308 made a coordinate that is not a finite float"),
    Case("datasets", "moons(n=10**5000)", lambda w: datasets.moons(n=10**5000), ValueError,
         "n must be at most 1000000 .*about 5001 digits"),
    Case("datasets", "circles(factor=2)", lambda w: datasets.circles(factor=2), ValueError,
         r"factor .* must be in \(0, 1\), got 2\.0"),
    Case("datasets", 'xor(seed="a")', lambda w: datasets.xor(seed="a"), TypeError,
         "xor: seed must be an integer, got str"),
    # --- compiled path ---------------------------------------------------------------------------
    Case("compiled", 'compile_graph("loss")', lambda w: compile_graph("loss"), TypeError,
         "compile_graph: root must be a Value, got str"),
    Case("compiled", "compile_graph(loss, params=[1.0])",
         lambda w: compile_graph(w.loss, params=[1.0]), TypeError,
         r"params\[0\] must be a Value, got float"),
    Case("compiled", "compile_graph(loss, params=[w1, w1])",
         lambda w: compile_graph(w.loss, params=[w.model.parameter("w1")] * 2), ValueError,
         r"params\[1\] is the same Value as params\[0\]"),
    Case("compiled", "compiled.forward_backward([1.0])  [10 parameters]",
         lambda w: _compiled(w).forward_backward([1.0]), ValueError,
         "params: expected 10 values, got 1"),
    Case("compiled", "compiled.forward_backward([nan, ...])",
         lambda w: _compiled(w).forward_backward([math.nan] * 10), ValueError,
         r"params\[0\] must be finite, got nan"),
    Case("compiled", "compiled.train(steps=-1, lr=0.5)",
         lambda w: _compiled(w).train(steps=-1, lr=0.5), ValueError,
         "steps must be at least 0, got -1"),
    # --- explain / compare -----------------------------------------------------------------------
    Case("explain", 'explain("w99", model=model, inputs=..., targets=...)',
         lambda w: explain("w99", model=w.model, inputs=[0.05, 0.1], targets=[0.01, 0.99]),
         (KeyError, ValueError), "w99"),
    Case("explain", 'explain("w1", depth=-1)', lambda w: explain("w1", depth=-1), ValueError,
         "depth must be at least 0, got -1"),
    Case("explain", 'explain("w1", learning_rate="0.5")',
         lambda w: explain("w1", learning_rate="0.5"), TypeError,
         "learning_rate must be a real number, got str"),
    Case("compare", "compare_gradients(model, [0.05], [0.01, 0.99])",
         lambda w: compare_gradients(w.model, [0.05], [0.01, 0.99]), ValueError,
         "2 inputs, got 1|expects 2 inputs"),
    Case("compare", "compare_gradients(model, x, t, eps=0)",
         lambda w: compare_gradients(w.model, [0.05, 0.1], [0.01, 0.99], eps=0), ValueError,
         "eps must be positive, got 0"),
    # --- graph rendering -------------------------------------------------------------------------
    Case("graph", 'draw_graph("z")', lambda w: draw_graph("z"), TypeError,
         "root must be a Value or a sequence of Values, got str"),
    Case("graph", "draw_graph([])", lambda w: draw_graph([]), ValueError, "no root Values"),
    Case("graph", 'draw_graph(z, rankdir="XY")', lambda w: draw_graph(w.z, rankdir="XY"),
         ValueError, "rankdir must be"),
    Case("graph", "draw_graph(z, max_nodes=0)", lambda w: draw_graph(w.z, max_nodes=0),
         ValueError, "max_nodes must be at least 1, got 0"),
    Case("graph", "draw_graph(z, precision=1.5)", lambda w: draw_graph(w.z, precision=1.5),
         TypeError, "precision must be an integer, got float"),
    Case("graph", 'draw_graph(z, name="a b")', lambda w: draw_graph(w.z, name="a b"),
         ValueError, "name must be a plain identifier"),
    Case("graph", "draw_graph(z, collapse=True)  [no model]",
         lambda w: draw_graph(w.z, collapse=True), ValueError, "collapse=True needs model"),
    Case("graph", 'draw_graph(loss, highlight="w99")',
         lambda w: draw_graph(w.loss, highlight="w99"), (KeyError, ValueError), "w99"),
    Case("graph", 'render_graph(z, "graph.txt")',
         lambda w: render_graph(w.z, w.tmp / "graph.txt"), ValueError,
         "cannot tell the format from the file name"),
    Case("graph", 'render_graph(z, path, format="exe")',
         lambda w: render_graph(w.z, w.tmp / "graph.out", format="exe"), ValueError,
         "format must be one of"),
    Case("graph", "render_graph(loss, existing.svg, max_nodes=5)",
         lambda w: render_graph(w.loss, w.svg, max_nodes=5), GraphTooLargeError,
         "more than max_nodes=5"),
    # --- command line (exit status 2 = usage error, 1 = a failure it explains) ------------------
    Case("cli", "micrograd-mlp bogus", _cli("bogus"), SystemExit, "2"),
    Case("cli", "micrograd-mlp train --steps -5", _cli("train", "--steps", "-5"), SystemExit, "2"),
    Case("cli", "micrograd-mlp train --lr nan", _cli("train", "--lr", "nan"), SystemExit, "2"),
    Case("cli", "micrograd-mlp train --dataset foo", _cli("train", "--dataset", "foo"),
         SystemExit, "2"),
    Case("cli", "micrograd-mlp train --layers 0,3 --save model.json",
         _cli("train", "--dataset", "xor", "--layers", "0,3", "--save", "{model}"), SystemExit,
         "2"),
    Case("cli", "micrograd-mlp train --dataset moons --samples 100000000000",
         _cli("train", "--dataset", "moons", "--samples", "100000000000"), SystemExit, "2"),
    Case("cli", "micrograd-mlp explain w99", _cli("explain", "w99"), SystemExit, "2"),
    Case("cli", "micrograd-mlp explain w1 --inputs 1,2,3", _cli("explain", "w1", "--inputs",
                                                                "1,2,3"), SystemExit, "2"),
    Case("cli", "micrograd-mlp compare --inputs 1e999,1", _cli("compare", "--inputs", "1e999,1"),
         SystemExit, "2"),
    Case("cli", "micrograd-mlp graph -o graph.txt", _cli("graph", "-o", "graph.txt"), SystemExit,
         "2"),
    Case("cli", "micrograd-mlp graph --highlight w99 -o existing.svg",
         _cli("graph", "--highlight", "w99", "-o", "{svg}"), SystemExit, "2"),
]


def _compiled(w: World):
    return compile_graph(w.loss, params=w.model.parameters())


def _overflowing_grad() -> None:
    x = Value(1e-300)
    grad((x * 1e200) * 1e200, [x])


def _hostile_file(w: World, old: str, new: str) -> None:
    text = w.path.read_text(encoding="utf-8").replace("\n", "").replace("  ", "")
    text = text.replace('": ', '": ').replace(old, new, 1)
    assert new in text, "the fixture file changed shape"
    bad = w.tmp / "hostile.json"
    bad.write_text(text, encoding="utf-8")
    try:
        MLP.from_file(bad)
    finally:
        bad.unlink()


def _save_with(w: World, value: object) -> None:
    p = w.model.parameter("w1")
    old = p.data
    p.data = value  # type: ignore[assignment]
    try:
        w.model.save(w.path)
    finally:
        p.data = old


def _save_with_inf(w: World) -> None:
    p = w.model.parameter("w1")
    old = p.data
    p.data = math.inf
    try:
        w.model.save(w.path)
    finally:
        p.data = old


_CLI_RC1 = [
    Case("cli", "micrograd-mlp compare --model missing.json",
         _cli("compare", "--model", "missing.json"), int, "model file not found"),
    Case("cli", "micrograd-mlp compare --model corrupt.json",
         lambda w: _cli_corrupt(w), int, "cannot load the model"),
]


def _cli_corrupt(w: World) -> int:
    bad = w.tmp / "corrupt.json"
    bad.write_text("[" * 100_000)
    try:
        return cli.main(["compare", "--model", str(bad)])
    finally:
        bad.unlink()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.area}: {c.what}" for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    w = World(tmp_path)
    before = w.snapshot()
    with pytest.raises(case.error) as info:
        case.call(w)
    err = info.value
    if isinstance(err, SystemExit):
        assert err.code == int(case.message), "usage errors exit with status 2"
        text = capsys.readouterr().err
        assert "error:" in text and "usage:" in text
    else:
        text = err.args[0] if isinstance(err, KeyError) else str(err)
        assert re.search(case.message, text), f"message {text!r} does not say {case.message!r}"
        assert not isinstance(err, RecursionError)
    assert w.snapshot() == before, "a refused call changed the model, a Value or a file"


@pytest.mark.parametrize("case", _CLI_RC1, ids=[c.what for c in _CLI_RC1])
def test_cli_failures_exit_1_with_a_message(case: Case, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = World(tmp_path)
    before = w.snapshot()
    assert case.call(w) == 1
    text = capsys.readouterr().err
    assert re.search(case.message, text) and "Traceback" not in text
    assert w.snapshot() == before


def test_a_training_run_that_diverges_does_not_overwrite_the_saved_model(tmp_path, capsys):
    path = tmp_path / "model.json"
    MLP(2, [2, 2], bias="shared", seed=0).save(path)
    old = path.read_bytes()
    rc = cli.main(["train", "--dataset", "xor", "--layers", "4", "--activation", "linear",
                   "--output-activation", "linear", "--loss", "mse", "--optimizer", "sgd",
                   "--lr", "1e150", "--steps", "50", "--save", str(path), "--no-progress"])
    assert rc == 1
    assert "training stopped" in capsys.readouterr().err
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]


def test_the_docs_table_lists_every_case():
    text = DOCS.read_text(encoding="utf-8")
    rows = [ln for ln in text.splitlines() if ln.startswith("| ")]
    for case in CASES + _CLI_RC1:
        assert any(_md(case.what) in ln for ln in rows), f"docs/errors.md misses {case.what!r}"


def _md(text: str) -> str:
    return "`" + text.replace("|", "\\|") + "`"


def _type_name(error) -> str:
    if isinstance(error, tuple):
        return " or ".join(e.__name__ for e in error)
    return "exit status 1" if error is int else error.__name__


def docs_table() -> str:
    """The table of docs/errors.md, generated from CASES (``python tests/test_refusals.py``)."""
    lines = ["| area | input | error | message (regex) |", "|---|---|---|---|"]
    for c in CASES + _CLI_RC1:
        if c.error is SystemExit:
            etype, msg = f"SystemExit({c.message})", "usage line + `error: ...` on stderr"
        else:
            etype, msg = _type_name(c.error), _md(c.message)
        lines.append(f"| {c.area} | {_md(c.what)} | {etype} | {msg} |")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(docs_table())


def test_refused_optimiser_steps_keep_the_optimiser_state():
    w = Value(1.0, label="w")
    sgd = SGD([w], lr=1e300, momentum=0.5)
    w.grad = 1.0
    sgd.step()  # fine: w = 1 - 1e300, velocity 1
    state = (w.data, list(sgd._velocity), sgd.steps)
    w.grad = 1e10  # v = 0.5 + 1e10; lr·v = 1e310: overflows
    with pytest.raises(ValueError, match="update of parameter w is not a finite float"):
        sgd.step()
    assert (w.data, list(sgd._velocity), sgd.steps) == state

    p = Value(0.0, label="p")
    adam = Adam([p], lr=1e308)
    p.grad = 1.0
    adam.step()  # p = -1e308 (the first Adam step moves by lr·sign(g))
    state = (p.data, list(adam._m), list(adam._v), adam.steps)
    with pytest.raises(ValueError, match="update of parameter p is not a finite float"):
        adam.step()  # -1e308 - 1e308 = -inf
    assert (p.data, list(adam._m), list(adam._v), adam.steps) == state
