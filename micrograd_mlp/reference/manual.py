"""The hand-derived backpropagation (δ) formulas on plain floats - the reference autograd is checked
against. Nothing here uses the autograd engine: a model's weights are read as floats, and the only
imports from the library are the naming scheme (:mod:`..nn.naming`) and the argument checks
(:mod:`..core.checks`), both plain Python - so the δ column of ``compare`` is independent.

For an MLP with activation f in each layer and a loss E of the outputs, layer by layer from the
output:

* forward:  net_j = Σᵢ w_ij · out_i + b_j,   out_j = f(net_j)
* output:   δ_o = ∂E/∂out_o · f′(net_o)
* hidden:   δ_j = f′(net_j) · Σ_k δ_k · w_jk      (k over the next layer, OLD weights)
* weights:  ∂E/∂w_ij = δ_j · out_i    (out_i is the input x_i for the first layer)
* biases:   ∂E/∂b_j = δ_j; a bias shared by a layer collects Σ_j δ_j over that layer
* batch:    the gradients of each sample, summed (``reduction='sum'``) or averaged (``'mean'``)
* update:   w⁺ = w − η · ∂E/∂w        (every gradient formed before any weight changes)

f′ as a learner writes it (:data:`ACTIVATION_RULES`): σ′ = out (1 − out), tanh′ = 1 − out²,
ReLU′ = [net > 0], linear′ = 1. ∂E/∂out for each loss (:data:`LOSS_RULES`, n outputs):
½ squared error: out − t;  MSE: 2 (out − t) / n;  BCE on probabilities:
(out − t) / (out (1 − out)) / n,
and with a sigmoid output δ_o = (out − t) / n directly;  hinge: −y / n where 1 − y·out > 0, else 0.

Softmax cross-entropy (``cross_entropy``, the outputs are logits z, usually a ``'linear'`` output
layer): E = −Σ_o y_o ln p_o with p = softmax(z), the target y a one-hot vector (a class index c
gives y_c = 1) or any probability vector. Every p_j depends on every z_o (the coupled Jacobian
∂p_j/∂z_o = p_j (δ_jo − p_o)), so ∂E/∂z_o = Σ_j (−y_j / p_j) · p_j (δ_jo − p_o) = p_o − y_o
(using Σ_j y_j = 1): the famous δ_o = p_o − y_o holds for softmax *with* cross-entropy, and is then
multiplied by the output activation's f′ as for any loss (1 for ``'linear'``). The hidden δs follow
as above; a batch is averaged as above (``reduction='mean'``, the library's ``cross_entropy``).

Entry points: :func:`gradients` (``{parameter name: ∂E/∂p}``), :func:`backprop` (every neuron's net,
out and δ for one sample), :func:`sgd_step` and :func:`train` (the article's training on top of
the δs).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..core.checks import (
    finite_real,
    integer,
    nonnegative_int,
    one_of,
    positive_real,
    probability,
    shown,
    type_name,
)
from ..nn.naming import neuron_names

__all__ = [
    "ACTIVATION_RULES", "LOSS_RULES", "Backprop", "Network", "NeuronRecord", "backprop",
    "class_target", "forward", "from_model", "gradients", "loss_name", "loss_value",
    "neuron_names", "sgd_step", "softmax_probabilities", "train",
]

#: How a layer holds its bias (as in :data:`micrograd_mlp.nn.BIAS_MODES`).
BIAS_MODES = ("neuron", "shared", "none")
#: How a batch's per-sample gradients combine (as ``train`` does).
REDUCTIONS = ("mean", "sum")


def _sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


#: Each activation: (f(net); g·f′(net) from the upstream g, net and out, with f′ as a learner writes
#: it; the rule in words).
ACTIVATION_RULES: dict[str, tuple[Callable[[float], float],
                                  Callable[[float, float, float], float], str]] = {
    "sigmoid": (_sigmoid, lambda g, net, out: g * out * (1.0 - out), "σ′ = out·(1 − out)"),
    "tanh": (math.tanh, lambda g, net, out: g * (1.0 - out * out), "tanh′ = 1 − out²"),
    "relu": (lambda x: x if x > 0.0 else 0.0, lambda g, net, out: g if net > 0.0 else 0.0,
             "ReLU′ = [net > 0]"),
    "linear": (lambda x: x, lambda g, net, out: g, "linear′ = 1"),
}


def _half_squared(outs: Sequence[float], ts: Sequence[float]) -> tuple[float, list[float]]:
    return sum(0.5 * (t - o) ** 2 for o, t in zip(outs, ts)), [o - t for o, t in zip(outs, ts)]


def _mse(outs: Sequence[float], ts: Sequence[float]) -> tuple[float, list[float]]:
    n = len(outs)
    return (sum((o - t) ** 2 for o, t in zip(outs, ts)) / n,
            [2.0 * (o - t) / n for o, t in zip(outs, ts)])


def _bce(outs: Sequence[float], ts: Sequence[float]) -> tuple[float, list[float]]:
    n = len(outs)
    for k, (p, t) in enumerate(zip(outs, ts), 1):
        if not 0.0 < p < 1.0:
            raise ValueError(f"binary_cross_entropy: output {k} must be a probability in (0, 1), "
                             f"got {p!r}")
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"binary_cross_entropy: target {k} must be in [0, 1], got {t!r}")
    value = -sum(t * math.log(p) + (1.0 - t) * math.log1p(-p) for p, t in zip(outs, ts)) / n
    return value, [(p - t) / (p * (1.0 - p)) / n for p, t in zip(outs, ts)]


def _bce_logits(outs: Sequence[float], ts: Sequence[float]) -> tuple[float, list[float]]:
    n = len(outs)
    value = sum(max(z, 0.0) + math.log1p(math.exp(-abs(z))) - t * z for z, t in zip(outs, ts)) / n
    return value, [(_sigmoid(z) - t) / n for z, t in zip(outs, ts)]


def softmax_probabilities(zs: Sequence[float]) -> list[float]:
    """p_o = exp(z_o − m) / Σ_j exp(z_j − m), m = max z: never overflows (±1000 included)."""
    m = max(zs)
    exps = [math.exp(z - m) for z in zs]
    total = sum(exps)  # in [1, n]: one term is e⁰ = 1
    return [e / total for e in exps]


def _cross_entropy(outs: Sequence[float], ts: Sequence[float]) -> tuple[float, list[float]]:
    """E = Σ_o y_o (ln Σ_j exp(z_j − m) − (z_o − m)) = −Σ_o y_o ln p_o, and ∂E/∂z_o = p_o − y_o
    (the coupled softmax Jacobian summed: valid because Σ y = 1, see :func:`class_target`)."""
    m = max(outs)
    log_total = math.log(sum(math.exp(z - m) for z in outs))
    value = sum(y * (log_total - (z - m)) for z, y in zip(outs, ts) if y != 0.0)
    return value, [p - y for p, y in zip(softmax_probabilities(outs), ts)]


def class_target(target: object, n: int, what: str = "target") -> list[float]:
    """A cross-entropy target as the probability vector y over ``n`` classes: a class index c
    (an int in [0, n)) is the one-hot vector with y_c = 1; a list/tuple of ``n`` probabilities
    summing to 1 (within 1e-9) is taken as it is. ``TypeError``/``ValueError`` naming ``what``
    otherwise."""
    if isinstance(target, (list, tuple)):
        if len(target) != n:
            raise ValueError(f"{what}: expected one probability per class ({n} classes), got "
                             f"{len(target)}")
        ys = [probability(getattr(y, "data", y), f"{what}[{k}]") for k, y in enumerate(target)]
        total = math.fsum(ys)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"{what}: a probability vector must sum to 1, sums to {total!r}")
        return ys
    if isinstance(target, numbers.Integral) or hasattr(target, "__index__"):
        c = integer(target, f"{what} (a class index)", 0, n - 1)
        return [1.0 if k == c else 0.0 for k in range(n)]
    raise TypeError(f"{what} must be a class index (an int in [0, {n})) or a probability vector "
                    f"of {n} numbers, got {shown(target)}")


def _hinge(outs: Sequence[float], ts: Sequence[float]) -> tuple[float, list[float]]:
    n = len(outs)
    for k, y in enumerate(ts, 1):
        if y not in (-1.0, 1.0):
            raise ValueError(f"hinge: target {k} must be -1 or +1, got {y!r}")
    value = sum(max(0.0, 1.0 - y * s) for s, y in zip(outs, ts)) / n
    return value, [(-y / n if 1.0 - y * s > 0.0 else 0.0) for s, y in zip(outs, ts)]


#: Each loss by name: ``rule(outputs, targets) -> (E, [∂E/∂out_o])`` on floats.
LOSS_RULES: dict[str, Callable[[Sequence[float], Sequence[float]], tuple[float, list[float]]]] = {
    "half_squared_error": _half_squared,
    "mse": _mse,
    "binary_cross_entropy": _bce,
    "binary_cross_entropy_logits": _bce_logits,
    "hinge": _hinge,
    "cross_entropy": _cross_entropy,
}
#: The rule of ∂E/∂out_o, as derivation.md writes it.
LOSS_FORMULAS: dict[str, str] = {
    "half_squared_error": "∂E/∂out = out − t",
    "mse": "∂E/∂out = 2 (out − t) / n",
    "binary_cross_entropy": "∂E/∂out = (out − t) / (out (1 − out)) / n  "
                            "(sigmoid output: δ = (out − t) / n)",
    "binary_cross_entropy_logits": "∂E/∂z = (σ(z) − t) / n",
    "hinge": "∂E/∂out = −y / n where 1 − y·out > 0, else 0",
    "cross_entropy": "∂E/∂z = p − y, p = softmax(z)  (Σ_j ∂E/∂p_j · p_j (δ_jo − p_o), Σ y = 1)",
}
_LOSS_MODULE = "micrograd_mlp.nn.losses"


def loss_name(loss: object) -> str:
    """The name of a loss the δ formulas know: a name of :data:`LOSS_RULES`, or one of the library's
    loss functions (``losses.mse`` ...; ``functools.partial(binary_cross_entropy,
    from_logits=True)`` too). ``ValueError`` for any other loss."""
    if isinstance(loss, str):
        return one_of(loss, "loss", tuple(LOSS_RULES))
    func, keywords = loss, {}
    if hasattr(loss, "func") and hasattr(loss, "keywords") and not getattr(loss, "args", ()):
        func, keywords = loss.func, dict(loss.keywords or {})  # a functools.partial
    name = getattr(func, "__name__", None)
    if getattr(func, "__module__", None) == _LOSS_MODULE and name in LOSS_RULES:
        if name == "binary_cross_entropy" and keywords.pop("from_logits", False):
            name = "binary_cross_entropy_logits"
        if not keywords:
            return str(name)
    shown_name = getattr(loss, "__name__", loss)
    raise ValueError(f"the δ formulas have no rule for the loss {shown_name!r};"
                     f" they know {', '.join(n for n in LOSS_RULES if not n.endswith('logits'))}")


@dataclass(frozen=True)
class Network:
    """An MLP as plain floats.

    ``weights[l][j][i]`` is the weight from input ``i`` of layer ``l`` to its neuron ``j``;
    ``biases[l][j]`` is neuron ``j``'s bias value (equal across a ``'shared'`` layer; 0 for
    ``'none'``); ``weight_names``/``bias_names`` mirror them with the library's parameter names
    (a shared bias repeats its name ``b{l}``; ``None`` where there is no bias). ``activations[l]``
    is a key of :data:`ACTIVATION_RULES`; ``frozen`` names the parameters that get no gradient
    (besides the biases of a layer with ``trainable_bias[l]`` false).
    """

    nin: int
    weights: tuple[tuple[tuple[float, ...], ...], ...]
    biases: tuple[tuple[float, ...], ...]
    bias_modes: tuple[str, ...]
    trainable_bias: tuple[bool, ...]
    neuron_names: tuple[tuple[str, ...], ...]
    weight_names: tuple[tuple[tuple[str, ...], ...], ...]
    bias_names: tuple[tuple[str | None, ...], ...]
    activations: tuple[str, ...] = field(default=())
    frozen: frozenset[str] = field(default=frozenset())

    def __post_init__(self) -> None:
        acts = self.activations or ("sigmoid",) * len(self.weights)
        for li, act in enumerate(acts, 1):
            if act not in ACTIVATION_RULES:
                raise ValueError(f"layer {li}: the δ formulas have no rule for the activation "
                                 f"{act!r}; they know {', '.join(ACTIVATION_RULES)}")
        object.__setattr__(self, "activations", tuple(acts))

    @classmethod
    def build(cls, nin: int, weights: Sequence[Sequence[Sequence[float]]],
              biases: Sequence[float | Sequence[float]] | None = None, bias: str = "shared",
              train_bias: bool = True, hidden_activation: str = "sigmoid",
              output_activation: str = "sigmoid", frozen: Iterable[str] = ()) -> Network:
        """A network from nested weights, named as :class:`~micrograd_mlp.nn.MLP` names them.
        ``biases[l]`` is one number (``'shared'``) or one per neuron (``'neuron'``)."""
        one_of(bias, "bias", BIAS_MODES)
        nouts = [len(layer) for layer in weights]
        names = neuron_names(nouts)
        given: Any = biases  # a number per layer ('shared') or a sequence ('neuron')
        ws: list[tuple[tuple[float, ...], ...]] = []
        wn: list[tuple[tuple[str, ...], ...]] = []
        bs: list[tuple[float, ...]] = []
        bn: list[tuple[str | None, ...]] = []
        counter, fan_in = 0, nin
        for li, layer in enumerate(weights, 1):
            rows, row_names = [], []
            for j, row in enumerate(layer, 1):
                if len(row) != fan_in:
                    raise ValueError(
                        f"layer {li} neuron {j}: expected {fan_in} weights, got {len(row)}"
                    )
                rows.append(tuple(finite_real(x, f"layer {li} neuron {j} weight {i}")
                                  for i, x in enumerate(row, 1)))
                row_names.append(tuple(f"w{counter + i + 1}" for i in range(fan_in)))
                counter += fan_in
            ws.append(tuple(rows))
            wn.append(tuple(row_names))
            width = len(layer)
            if bias == "none":
                bs.append((0.0,) * width)
                bn.append((None,) * width)
            elif bias == "shared":
                b = 0.0 if given is None else finite_real(given[li - 1], f"layer {li} bias")
                bs.append((b,) * width)
                bn.append((f"b{li}",) * width)
            else:
                values = [0.0] * width if given is None else list(given[li - 1])
                if len(values) != width:
                    raise ValueError(f"layer {li}: expected {width} biases, got {len(values)}")
                bs.append(tuple(finite_real(x, f"layer {li} bias") for x in values))
                bn.append(tuple(f"b_{n}" for n in names[li - 1]))
            fan_in = width
        k = len(weights)
        acts = (hidden_activation,) * (k - 1) + (output_activation,)
        return cls(nin, tuple(ws), tuple(bs), (bias,) * k, (bool(train_bias),) * k,
                   tuple(tuple(n) for n in names), tuple(wn), tuple(bn), acts,
                   frozenset(frozen))

    def state(self) -> dict[str, float]:
        """``{name: value}`` for every parameter (frozen ones included)."""
        d: dict[str, float] = {}
        for li in range(len(self.weights)):
            for j, row in enumerate(self.weights[li]):
                for name, w in zip(self.weight_names[li][j], row):
                    d[name] = w
            for bias_name, b in zip(self.bias_names[li], self.biases[li]):
                if bias_name is not None:
                    d[bias_name] = b
        return d

    def trainable(self) -> set[str]:
        """The names of the parameters that receive a gradient (not frozen)."""
        names = {n for layer in self.weight_names for row in layer for n in row}
        for li, names_l in enumerate(self.bias_names):
            if self.trainable_bias[li]:
                names.update(n for n in names_l if n is not None)
        return names - self.frozen

    def with_state(self, state: Mapping[str, float]) -> Network:
        """A copy with the parameters named in ``state`` replaced."""
        ws = tuple(
            tuple(tuple(float(state.get(n, w)) for n, w in zip(names, row))
                  for names, row in zip(self.weight_names[li], self.weights[li]))
            for li in range(len(self.weights))
        )
        bs = tuple(
            tuple(b if n is None else float(state.get(n, b))
                  for n, b in zip(self.bias_names[li], self.biases[li]))
            for li in range(len(self.biases))
        )
        return replace(self, weights=ws, biases=bs)


def from_model(model: Any) -> Network:
    """Read an :class:`~micrograd_mlp.nn.MLP` (anything with ``.layers`` of ``.neurons`` holding
    ``.weights``/``.bias`` objects with ``.data`` and ``.label``) into a float :class:`Network`.
    A parameter whose ``requires_grad`` is false is frozen. A :class:`Network` is returned
    unchanged."""
    if isinstance(model, Network):
        return model
    layers = getattr(model, "layers", None)
    if not layers or not all(hasattr(layer, "neurons") for layer in layers):
        raise TypeError(f"expected an MLP or a manual.Network, got {type(model).__name__}")
    nin = len(layers[0].neurons[0].weights)
    ws, bs, wn, bn, modes, train, names, acts = [], [], [], [], [], [], [], []
    frozen: set[str] = set()
    for layer in layers:
        acts.append(layer.activation)
        modes.append(layer.bias_mode)
        train.append(bool(getattr(layer, "train_bias", True)))
        names.append(tuple(n.name for n in layer.neurons))
        ws.append(tuple(tuple(float(w.data) for w in n.weights) for n in layer.neurons))
        wn.append(tuple(tuple(w.label for w in n.weights) for n in layer.neurons))
        bs.append(tuple(0.0 if n.bias is None else float(n.bias.data) for n in layer.neurons))
        bn.append(tuple(None if n.bias is None else n.bias.label for n in layer.neurons))
        for n in layer.neurons:
            for p in [*n.weights, *([] if n.bias is None else [n.bias])]:
                if not getattr(p, "requires_grad", True):
                    frozen.add(p.label)
    return Network(nin, tuple(ws), tuple(bs), tuple(modes), tuple(train), tuple(names),
                   tuple(wn), tuple(bn), tuple(acts), frozenset(frozen))


def _check_vector(name: str, xs: object, expected: int) -> list[float]:
    """``xs`` (one number or a sequence) as ``expected`` finite floats; a Value is read as its
    ``.data``."""
    if isinstance(xs, Iterable) and not isinstance(xs, (str, bytes)):
        items = list(xs)
    else:
        items = [xs]  # one number (or a Value)
    if len(items) != expected:
        raise ValueError(f"{name}: expected {expected} value{'s' if expected != 1 else ''}, "
                         f"got {len(items)}")
    return [finite_real(getattr(x, "data", x), f"{name}: value {k}")
            for k, x in enumerate(items, 1)]


def is_batch(inputs: object) -> bool:
    """True when ``inputs`` is a list of input vectors (a batch), not one input vector."""
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Sequence) or not inputs:
        return False
    first = inputs[0]
    return isinstance(first, Iterable) and not isinstance(first, (str, bytes))


def check_batch_targets(xs: Sequence[Any], targets: object) -> None:
    """A batch of ``len(xs)`` inputs needs a list of as many target vectors (``ValueError``)."""
    if isinstance(targets, (str, bytes)) or not isinstance(targets, Sequence) \
            or len(targets) != len(xs):
        got = len(targets) if isinstance(targets, Sequence) else type_name(targets)
        raise ValueError(f"a batch of {len(xs)} inputs needs a list of {len(xs)} targets, "
                         f"got {got}")


def _target(loss: str, target: object, nout: int, what: str) -> list[float]:
    """One sample's target vector: for ``'cross_entropy'`` a class index or a probability vector
    (:func:`class_target`), for any other loss ``nout`` numbers."""
    if loss == "cross_entropy":
        return class_target(target, nout, what)
    return _check_vector(what, target, nout)


def samples(inputs: Any, targets: Any, nin: int, nout: int, loss: str = ""
            ) -> tuple[list[list[float]], list[list[float]], bool]:
    """``(inputs per sample, targets per sample, is a batch)``, each checked; with
    ``loss='cross_entropy'`` a sample's target may be a class index (made one-hot)."""
    if not is_batch(inputs):
        return ([_check_vector("inputs", inputs, nin)],
                [_target(loss, targets, nout, "targets")], False)
    xs = list(inputs)
    if isinstance(targets, (str, bytes)) or not isinstance(targets, Sequence):
        raise TypeError(f"targets of a batch must be a list, got {type(targets).__name__}")
    if len(targets) != len(xs):
        raise ValueError(f"a batch of {len(xs)} inputs needs {len(xs)} targets, got {len(targets)}")
    return ([_check_vector(f"inputs[{s}]", x, nin) for s, x in enumerate(xs)],
            [_target(loss, t, nout, f"targets[{s}]") for s, t in enumerate(targets)], True)


@dataclass(frozen=True)
class NeuronRecord:
    """One neuron's forward and backward numbers: net, out = f(net), δ = ∂E/∂net."""

    name: str
    layer: int  # 1-based
    net: float
    out: float
    delta: float


@dataclass(frozen=True)
class Backprop:
    """The result of one forward + backward pass by the δ formulas (one sample)."""

    inputs: tuple[float, ...]
    targets: tuple[float, ...]
    neurons: dict[str, NeuronRecord]
    errors: dict[str, float]  # half squared error only: E_{output neuron} = ½ (t − out)²
    total_error: float  # the loss E
    gradients: dict[str, float]  # every parameter, frozen ones included
    outputs: tuple[float, ...]
    loss: str = "half_squared_error"


def _forward(net: Network, xs: Sequence[float]) -> list[list[tuple[float, float]]]:
    layers = []
    for W, B, act in zip(net.weights, net.biases, net.activations):
        f = ACTIVATION_RULES[act][0]
        rec = []
        for row, b in zip(W, B):
            s = b
            for w, x in zip(row, xs):
                s += w * x
            rec.append((s, f(s)))
        layers.append(rec)
        xs = [o for _, o in rec]
    return layers


def forward(model: Any, inputs: Sequence[float]) -> list[list[tuple[float, float]]]:
    """Per layer, per neuron ``(net, out)``, on floats."""
    net = from_model(model)
    return _forward(net, _check_vector("inputs", inputs, net.nin))


def _output_deltas(net: Network, loss: str, layer: list[tuple[float, float]],
                   ts: Sequence[float]) -> tuple[float, list[float]]:
    """E and δ_o = ∂E/∂out_o · f′(net_o) for the output layer."""
    outs = [o for _, o in layer]
    act = net.activations[-1]
    if loss == "binary_cross_entropy" and act == "sigmoid":
        value, _ = _bce_logits([s for s, _ in layer], ts)  # stable E, as the library computes it
        return value, [(o - t) / len(outs) for o, t in zip(outs, ts)]  # δ_o = (out − t) / n
    if loss == "binary_cross_entropy_logits":
        value, dz = _bce_logits(outs, ts)  # the outputs are the logits
    else:
        value, dz = LOSS_RULES[loss](outs, ts)
    chain = ACTIVATION_RULES[act][1]
    return value, [chain(d, s, o) for d, (s, o) in zip(dz, layer)]


def _backprop(net: Network, xs: list[float], ts: list[float], loss: str
              ) -> tuple[list[list[tuple[float, float]]], list[list[float]], float]:
    """One sample: every (net, out), every δ, the loss E."""
    layers = _forward(net, xs)
    L = len(layers)
    deltas: list[list[float]] = [[] for _ in range(L)]
    value, deltas[-1] = _output_deltas(net, loss, layers[-1], ts)
    # hidden layers: δ_j = f′(net_j) · Σ_k δ_k w_jk, with the next layer's (old) weights
    for li in range(L - 2, -1, -1):
        nxt_w, nxt_d = net.weights[li + 1], deltas[li + 1]
        chain = ACTIVATION_RULES[net.activations[li]][1]
        deltas[li] = [chain(sum(d * row[j] for d, row in zip(nxt_d, nxt_w)), s, o)
                      for j, (s, o) in enumerate(layers[li])]
    return layers, deltas, value


def _accumulate(net: Network, xs: list[float], layers: list[list[tuple[float, float]]],
                deltas: list[list[float]], grads: dict[str, float], scale: float) -> None:
    """grads += scale · (∂E/∂w = δ · input, ∂E/∂b = δ, summed over a shared bias's layer)."""
    layer_inputs = xs
    for li in range(len(layers)):
        for j, d in enumerate(deltas[li]):
            ds = d * scale
            for name, x in zip(net.weight_names[li][j], layer_inputs):
                grads[name] = grads.get(name, 0.0) + ds * x
        for bname, d in zip(net.bias_names[li], deltas[li]):
            if bname is not None:
                grads[bname] = grads.get(bname, 0.0) + d * scale
        layer_inputs = [o for _, o in layers[li]]


def _ordered(net: Network) -> dict[str, float]:
    """Every parameter name in the model's order, gradient 0."""
    grads: dict[str, float] = {}
    for li in range(len(net.weights)):
        for row in net.weight_names[li]:
            for name in row:
                grads[name] = 0.0
        for bname in net.bias_names[li]:
            if bname is not None:
                grads[bname] = 0.0
    return grads


def backprop(model: Any, inputs: Sequence[float], targets: Sequence[float],
             loss: object = "half_squared_error") -> Backprop:
    """One sample: forward pass keeping every net/out, then the δs from the output layer back,
    then ∂E/∂w = δ · input and ∂E/∂b = δ (summed over the layer for a shared bias)."""
    net = from_model(model)
    name = loss_name(loss)
    xs = _check_vector("inputs", inputs, net.nin)
    ts = _target(name, targets, len(net.weights[-1]), "targets")
    layers, deltas, value = _backprop(net, xs, ts, name)
    grads = _ordered(net)
    _accumulate(net, xs, layers, deltas, grads, 1.0)
    records: dict[str, NeuronRecord] = {}
    for li in range(len(layers)):
        for j, ((s, o), d) in enumerate(zip(layers[li], deltas[li])):
            neuron = net.neuron_names[li][j]
            records[neuron] = NeuronRecord(neuron, li + 1, s, o, d)
    outs = tuple(o for _, o in layers[-1])
    errors = {}
    if name == "half_squared_error":
        errors = {net.neuron_names[-1][k]: 0.5 * (t - o) ** 2
                  for k, (o, t) in enumerate(zip(outs, ts))}
        value = 0.0
        for e in errors.values():
            value += e
    return Backprop(tuple(xs), tuple(ts), records, errors, value, grads, outs, name)


def gradients(model: Any, inputs: Any, targets: Any, loss: object = "half_squared_error",
              include_frozen: bool = False, reduction: str = "mean") -> dict[str, float]:
    """``{parameter name: ∂E/∂p}`` by the δ formulas, in the model's parameter order.

    ``inputs``/``targets``: one sample (an input vector and a target vector), or a batch (a list
    of input vectors and a list of target vectors) whose loss is the sum of the samples' losses,
    divided by their number with ``reduction='mean'`` (as ``train`` does). ``loss`` is one of the
    library's loss functions (``losses.mse``, ``losses.cross_entropy`` ...) or its name; for
    ``cross_entropy`` a sample's target is a class index or a probability vector. Frozen
    parameters are left out unless ``include_frozen`` (then they get their true derivative)."""
    net = from_model(model)
    name = loss_name(loss)
    one_of(reduction, "reduction", REDUCTIONS)
    xss, tss, batch = samples(inputs, targets, net.nin, len(net.weights[-1]), name)
    scale = 1.0 / len(xss) if batch and reduction == "mean" else 1.0
    grads = _ordered(net)
    for xs, ts in zip(xss, tss):
        layers, deltas, _ = _backprop(net, xs, ts, name)
        _accumulate(net, xs, layers, deltas, grads, scale)
    keep = net.trainable()
    return {n: g for n, g in grads.items() if include_frozen or n in keep}


def loss_value(model: Any, inputs: Any, targets: Any, loss: object = "half_squared_error",
               reduction: str = "mean") -> float:
    """The loss E on floats (one sample or a batch, as :func:`gradients`)."""
    net = from_model(model)
    name = loss_name(loss)
    one_of(reduction, "reduction", REDUCTIONS)
    xss, tss, batch = samples(inputs, targets, net.nin, len(net.weights[-1]), name)
    total = sum(_backprop(net, xs, ts, name)[2] for xs, ts in zip(xss, tss))
    return total / len(xss) if batch and reduction == "mean" else total


def sgd_step(model: Any, inputs: Sequence[float], targets: Sequence[float],
             lr: float = 0.5) -> tuple[Network, float]:
    """The article's training step: all δs from the current weights, then every trainable
    parameter p⁺ = p − η · ∂E/∂p. Returns ``(updated Network, E_total before the update)``;
    the model itself is not touched."""
    lr = positive_real(lr, "lr")
    net = from_model(model)
    result = backprop(net, inputs, targets)
    keep = net.trainable()
    state = net.state()
    new = {n: state[n] - lr * g for n, g in result.gradients.items() if n in keep}
    return net.with_state(new), result.total_error


def train(model: Any, inputs: Sequence[float], targets: Sequence[float], rounds: int,
          lr: float = 0.5) -> tuple[list[float], Network]:
    """``rounds`` article steps on one sample. Returns the error measured in each round's forward
    pass (``history[0]`` untrained, ``history[1]`` after one update) and the final network."""
    rounds = nonnegative_int(rounds, "rounds")
    net = from_model(model)
    history = []
    for _ in range(rounds):
        net, err = sgd_step(net, inputs, targets, lr)
        history.append(err)
    return history, net
