"""The hand-derived backpropagation (δ) formulas on plain floats - the reference autograd is checked
against. This module never imports the autograd engine: it reads a model's weights as floats.

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
from typing import Any, Mapping, Sequence

__all__ = [
    "Network", "NeuronRecord", "Backprop", "from_model", "backprop", "gradients", "sgd_step",
    "train", "forward", "neuron_names",
]


def _sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def neuron_names(nouts: Sequence[int]) -> list[list[str]]:
    """Neuron names per layer for widths ``nouts``: o1..om for the output layer; h1..hn (one
    hidden layer) or h{l}_{j} (several). The one naming scheme; :mod:`nn` uses it too."""
    hidden = len(nouts) - 1
    out = []
    for l, width in enumerate(nouts):
        if l == hidden:
            out.append([f"o{j}" for j in range(1, width + 1)])
        elif hidden == 1:
            out.append([f"h{j}" for j in range(1, width + 1)])
        else:
            out.append([f"h{l + 1}_{j}" for j in range(1, width + 1)])
    return out


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
              train_bias: bool = True) -> "Network":
        """A network from nested weights, named as :class:`~micrograd_mlp.nn.MLP` names them.
        ``biases[l]`` is one number (``'shared'``) or one per neuron (``'neuron'``)."""
        if bias not in ("neuron", "shared", "none"):
            raise ValueError(f"bias must be 'neuron', 'shared' or 'none', got {bias!r}")
        nouts = [len(layer) for layer in weights]
        names = neuron_names(nouts)
        ws, bs, wn, bn = [], [], [], []
        counter, fan_in = 0, nin
        for l, layer in enumerate(weights):
            rows, row_names = [], []
            for j, row in enumerate(layer):
                if len(row) != fan_in:
                    raise ValueError(
                        f"layer {l + 1} neuron {j + 1}: expected {fan_in} weights, got {len(row)}"
                    )
                rows.append(tuple(float(x) for x in row))
                row_names.append(tuple(f"w{counter + i + 1}" for i in range(fan_in)))
                counter += fan_in
            ws.append(tuple(rows))
            wn.append(tuple(row_names))
            if bias == "none":
                bs.append(tuple(0.0 for _ in layer))
                bn.append(tuple(None for _ in layer))
            elif bias == "shared":
                b = 0.0 if biases is None else float(biases[l])  # type: ignore[arg-type]
                bs.append(tuple(b for _ in layer))
                bn.append(tuple(f"b{l + 1}" for _ in layer))
            else:
                row = [0.0] * len(layer) if biases is None else list(biases[l])  # type: ignore
                if len(row) != len(layer):
                    raise ValueError(
                        f"layer {l + 1}: expected {len(layer)} biases, got {len(row)}"
                    )
                bs.append(tuple(float(x) for x in row))
                bn.append(tuple(f"b_{n}" for n in names[l]))
            fan_in = len(layer)
        k = len(weights)
        return cls(nin, tuple(ws), tuple(bs), (bias,) * k, (bool(train_bias),) * k,
                   tuple(tuple(n) for n in names), tuple(wn), tuple(bn), ("sigmoid",) * k)

    def state(self) -> dict[str, float]:
        """``{name: value}`` for every parameter (frozen biases included)."""
        d: dict[str, float] = {}
        for l in range(len(self.weights)):
            for j, row in enumerate(self.weights[l]):
                for name, w in zip(self.weight_names[l][j], row):
                    d[name] = w
            for name, b in zip(self.bias_names[l], self.biases[l]):
                if name is not None:
                    d[name] = b
        return d

    def with_state(self, state: Mapping[str, float]) -> "Network":
        """A copy with the parameters named in ``state`` replaced."""
        ws = tuple(
            tuple(tuple(float(state.get(n, w)) for n, w in zip(names, row))
                  for names, row in zip(self.weight_names[l], self.weights[l]))
            for l in range(len(self.weights))
        )
        bs = tuple(
            tuple(b if n is None else float(state.get(n, b))
                  for n, b in zip(self.bias_names[l], self.biases[l]))
            for l in range(len(self.biases))
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
    for l, act in enumerate(net.activations, 1):
        if act != "sigmoid":
            raise ValueError(
                f"manual δ formulas are the sigmoid ones (out·(1 − out)); layer {l} uses "
                f"{act!r}. Use compare_gradients' autograd and numeric columns for other activations."
            )


def _check_vector(name: str, xs: Sequence[float], expected: int) -> list[float]:
    if isinstance(xs, (int, float)):
        xs = [xs]
    xs = list(xs)
    if len(xs) != expected:
        raise ValueError(f"{name}: expected {expected} values, got {len(xs)}")
    out = []
    for k, x in enumerate(xs, 1):
        x = getattr(x, "data", x)  # a Value input is read as its float
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise ValueError(f"{name}: value {k} must be a finite number, got {x!r}")
        out.append(float(x))
    return out


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
    for l in range(L - 2, -1, -1):
        nxt_w, nxt_d = net.weights[l + 1], deltas[l + 1]
        deltas[l] = [
            sum(d * row[j] for d, row in zip(nxt_d, nxt_w)) * o * (1.0 - o)
            for j, (_, o) in enumerate(layers[l])
        ]
    grads: dict[str, float] = {}
    records: dict[str, NeuronRecord] = {}
    layer_inputs = xs
    for l in range(L):
        for j, ((s, o), d) in enumerate(zip(layers[l], deltas[l])):
            records[net.neuron_names[l][j]] = NeuronRecord(net.neuron_names[l][j], l + 1, s, o, d)
            for name, x in zip(net.weight_names[l][j], layer_inputs):
                grads[name] = d * x
        for bname, d in zip(net.bias_names[l], deltas[l]):
            if bname is not None:
                grads[bname] = grads.get(bname, 0.0) + d  # shared: Σ over the layer
        layer_inputs = [o for _, o in layers[l]]
    outs = tuple(o for _, o in layers[-1])
    errors = {net.neuron_names[-1][k]: 0.5 * (t - o) ** 2 for k, (o, t) in enumerate(zip(outs, ts))}
    total = 0.0
    for e in errors.values():
        total += e
    return Backprop(tuple(xs), tuple(ts), records, errors, total, grads, outs)


def _trainable(net: Network) -> set[str]:
    names = {n for layer in net.weight_names for row in layer for n in row}
    for l, names_l in enumerate(net.bias_names):
        if net.trainable_bias[l]:
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
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
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
    if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 0:
        raise ValueError(f"rounds must be a non-negative integer, got {rounds!r}")
    net = from_model(model)
    history = []
    for _ in range(rounds):
        net, err = sgd_step(net, inputs, targets, lr)
        history.append(err)
    return history, net
