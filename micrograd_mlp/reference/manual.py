"""The hand-derived backpropagation (δ) formulas on plain floats - the reference autograd is checked
against. Nothing here uses the autograd engine: a model's weights are read as floats, and the only
imports from the library are the naming scheme (:mod:`..nn.naming`) and the argument checks
(:mod:`..core.checks`), both plain Python - so the δ column of ``compare`` is independent.

For a sigmoid MLP with the half squared error E = Σₒ ½ (tₒ − outₒ)², layer by layer from the output:

* forward:  net_j = Σᵢ w_ij · out_i + b_j,   out_j = σ(net_j) = 1 / (1 + e^(−net_j))
* output:   δ_o = (out_o − t_o) · out_o (1 − out_o)
* hidden:   δ_j = (Σ_k δ_k · w_jk) · out_j (1 − out_j)     (k over the next layer, OLD weights)
* weights:  ∂E/∂w_ij = δ_j · out_i    (out_i is the input x_i for the first layer)
* biases:   ∂E/∂b_j = δ_j; a bias shared by a layer collects Σ_j δ_j over that layer
* update:   w⁺ = w − η · ∂E/∂w        (every gradient formed before any weight changes)

Entry points: :func:`gradients` (``{parameter name: ∂E/∂p}``), :func:`backprop` (every neuron's net,
out and δ), :func:`sgd_step` and :func:`train` (the article's training on top of the δs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping, Sequence

from ..core.checks import finite_real, nonnegative_int, one_of, positive_real
from ..nn.naming import neuron_names

__all__ = [
    "Backprop", "Network", "NeuronRecord", "backprop", "forward", "from_model", "gradients",
    "neuron_names", "sgd_step", "train",
]

#: How a layer holds its bias (as in :data:`micrograd_mlp.nn.BIAS_MODES`).
BIAS_MODES = ("neuron", "shared", "none")


def _sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


@dataclass(frozen=True)
class Network:
    """A sigmoid MLP as plain floats.

    ``weights[l][j][i]`` is the weight from input ``i`` of layer ``l`` to its neuron ``j``;
    ``biases[l][j]`` is neuron ``j``'s bias value (equal across a ``'shared'`` layer; 0 for
    ``'none'``); ``weight_names``/``bias_names`` mirror them with the library's parameter names
    (a shared bias repeats its name ``b{l}``; ``None`` where there is no bias).
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

    @classmethod
    def build(cls, nin: int, weights: Sequence[Sequence[Sequence[float]]],
              biases: Sequence[float | Sequence[float]] | None = None, bias: str = "shared",
              train_bias: bool = True) -> Network:
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
        return cls(nin, tuple(ws), tuple(bs), (bias,) * k, (bool(train_bias),) * k,
                   tuple(tuple(n) for n in names), tuple(wn), tuple(bn), ("sigmoid",) * k)

    def state(self) -> dict[str, float]:
        """``{name: value}`` for every parameter (frozen biases included)."""
        d: dict[str, float] = {}
        for li in range(len(self.weights)):
            for j, row in enumerate(self.weights[li]):
                for name, w in zip(self.weight_names[li][j], row):
                    d[name] = w
            for bias_name, b in zip(self.bias_names[li], self.biases[li]):
                if bias_name is not None:
                    d[bias_name] = b
        return d

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
    A :class:`Network` is returned unchanged."""
    if isinstance(model, Network):
        return model
    layers = getattr(model, "layers", None)
    if not layers:
        raise TypeError(f"expected an MLP or a manual.Network, got {type(model).__name__}")
    nin = len(layers[0].neurons[0].weights)
    ws, bs, wn, bn, modes, train, names, acts = [], [], [], [], [], [], [], []
    for layer in layers:
        acts.append(layer.activation)
        modes.append(layer.bias_mode)
        train.append(bool(getattr(layer, "train_bias", True)))
        names.append(tuple(n.name for n in layer.neurons))
        ws.append(tuple(tuple(float(w.data) for w in n.weights) for n in layer.neurons))
        wn.append(tuple(tuple(w.label for w in n.weights) for n in layer.neurons))
        bs.append(tuple(0.0 if n.bias is None else float(n.bias.data) for n in layer.neurons))
        bn.append(tuple(None if n.bias is None else n.bias.label for n in layer.neurons))
    return Network(nin, tuple(ws), tuple(bs), tuple(modes), tuple(train), tuple(names),
                   tuple(wn), tuple(bn), tuple(acts))


def _check_sigmoid(net: Network) -> None:
    for li, act in enumerate(net.activations, 1):
        if act != "sigmoid":
            raise ValueError(
                f"manual δ formulas are the sigmoid ones (out·(1 − out)); layer {li} uses "
                f"{act!r}. Use compare_gradients' autograd and numeric columns for other "
                "activations."
            )


def _check_vector(name: str, xs: object, expected: int) -> list[float]:
    """``xs`` (one number or a sequence) as ``expected`` finite floats; a Value is read as its
    ``.data``."""
    if isinstance(xs, Iterable) and not isinstance(xs, (str, bytes)):
        items = list(xs)
    else:
        items = [xs]  # one number (or a Value)
    if len(items) != expected:
        raise ValueError(f"{name}: expected {expected} values, got {len(items)}")
    return [finite_real(getattr(x, "data", x), f"{name}: value {k}")
            for k, x in enumerate(items, 1)]


@dataclass(frozen=True)
class NeuronRecord:
    """One neuron's forward and backward numbers: net, out = σ(net), δ = ∂E/∂net."""

    name: str
    layer: int  # 1-based
    net: float
    out: float
    delta: float


@dataclass(frozen=True)
class Backprop:
    """The result of one forward + backward pass by the δ formulas."""

    inputs: tuple[float, ...]
    targets: tuple[float, ...]
    neurons: dict[str, NeuronRecord]
    errors: dict[str, float]  # E_{output neuron} = ½ (t − out)²
    total_error: float
    gradients: dict[str, float]  # every parameter, frozen biases included
    outputs: tuple[float, ...]


def forward(model: Any, inputs: Sequence[float]) -> list[list[tuple[float, float]]]:
    """Per layer, per neuron ``(net, out)``, on floats."""
    net = from_model(model)
    _check_sigmoid(net)
    xs = _check_vector("inputs", inputs, net.nin)
    layers = []
    for W, B in zip(net.weights, net.biases):
        rec = []
        for row, b in zip(W, B):
            s = b
            for w, x in zip(row, xs):
                s += w * x
            rec.append((s, _sigmoid(s)))
        layers.append(rec)
        xs = [o for _, o in rec]
    return layers


def backprop(model: Any, inputs: Sequence[float], targets: Sequence[float]) -> Backprop:
    """Forward pass keeping every net/out, then the δs from the output layer back, then
    ∂E/∂w = δ · input and ∂E/∂b = δ (summed over the layer for a shared bias)."""
    net = from_model(model)
    _check_sigmoid(net)
    xs = _check_vector("inputs", inputs, net.nin)
    ts = _check_vector("targets", targets, len(net.weights[-1]))
    layers = forward(net, xs)
    L = len(layers)
    deltas: list[list[float]] = [[] for _ in range(L)]
    # output layer: δ_o = (out_o − t_o) · out_o (1 − out_o)
    deltas[-1] = [(o - t) * o * (1.0 - o) for (_, o), t in zip(layers[-1], ts)]
    # hidden layers: δ_j = (Σ_k δ_k w_jk) · out_j (1 − out_j), with the next layer's weights
    for li in range(L - 2, -1, -1):
        nxt_w, nxt_d = net.weights[li + 1], deltas[li + 1]
        deltas[li] = [
            sum(d * row[j] for d, row in zip(nxt_d, nxt_w)) * o * (1.0 - o)
            for j, (_, o) in enumerate(layers[li])
        ]
    grads: dict[str, float] = {}
    records: dict[str, NeuronRecord] = {}
    layer_inputs = xs
    for li in range(L):
        for j, ((s, o), d) in enumerate(zip(layers[li], deltas[li])):
            neuron = net.neuron_names[li][j]
            records[neuron] = NeuronRecord(neuron, li + 1, s, o, d)
            for name, x in zip(net.weight_names[li][j], layer_inputs):
                grads[name] = d * x
        for bname, d in zip(net.bias_names[li], deltas[li]):
            if bname is not None:
                grads[bname] = grads.get(bname, 0.0) + d  # shared: Σ over the layer
        layer_inputs = [o for _, o in layers[li]]
    outs = tuple(o for _, o in layers[-1])
    errors = {net.neuron_names[-1][k]: 0.5 * (t - o) ** 2 for k, (o, t) in enumerate(zip(outs, ts))}
    total = 0.0
    for e in errors.values():
        total += e
    return Backprop(tuple(xs), tuple(ts), records, errors, total, grads, outs)


def _trainable(net: Network) -> set[str]:
    names = {n for layer in net.weight_names for row in layer for n in row}
    for li, names_l in enumerate(net.bias_names):
        if net.trainable_bias[li]:
            names.update(n for n in names_l if n is not None)
    return names


def gradients(model: Any, inputs: Sequence[float], targets: Sequence[float],
              include_frozen: bool = False) -> dict[str, float]:
    """``{parameter name: ∂E/∂p}`` by the δ formulas, E = Σ ½ (t − out)². Frozen biases are left
    out unless ``include_frozen``; the order is the model's parameter order."""
    net = from_model(model)
    result = backprop(net, inputs, targets)
    keep = _trainable(net)
    return {n: g for n, g in result.gradients.items() if include_frozen or n in keep}


def sgd_step(model: Any, inputs: Sequence[float], targets: Sequence[float],
             lr: float = 0.5) -> tuple[Network, float]:
    """The article's training step: all δs from the current weights, then every trainable
    parameter p⁺ = p − η · ∂E/∂p. Returns ``(updated Network, E_total before the update)``;
    the model itself is not touched."""
    lr = positive_real(lr, "lr")
    net = from_model(model)
    result = backprop(net, inputs, targets)
    keep = _trainable(net)
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
