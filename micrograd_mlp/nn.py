"""Neurons, layers and multi-layer perceptrons on top of :class:`~micrograd_mlp.engine.Value`.

A neuron computes ``out = φ(net)`` with ``net = Σᵢ wᵢ·xᵢ + b`` - one ``affine`` graph node labelled
``net_{neuron}`` followed by one activation node labelled ``out_{neuron}`` (for ``'linear'`` the net
node *is* the output). Names follow one scheme everywhere in the library:

* neurons: output layer ``o1..om``; hidden layer ``h1..hn`` when there is one hidden layer,
  ``h{l}_{j}`` (1-based) when there are several;
* weights ``w1, w2, ...`` numbered in the article's order across the whole net (layer by layer,
  neuron by neuron, input by input: ``w1`` = i1→h1, ``w2`` = i2→h1, ``w3`` = i1→h2, ...);
* a bias shared by layer ``l`` (1-based over the non-input layers) is ``b{l}``; a per-neuron bias is
  ``b_{neuron}`` (``b_h1``, ``b_o2``).

Every parameter Value's ``label`` is its name. Frozen biases (``train_bias=False``) still take part
in the forward pass and are saved by :meth:`Module.state_dict`, but :meth:`Module.parameters` leaves
them out, so optimisers never move them.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import random
from typing import Any, Iterable, Mapping, Sequence

from ._files import atomic_write_bytes
from .engine import Value, _affine_values, _leaf
from .manual import neuron_names  # the naming scheme lives in the engine-free module

__all__ = ["Module", "Neuron", "Layer", "MLP", "ACTIVATIONS", "BIAS_MODES", "neuron_names"]

#: Activations a layer can use.
ACTIVATIONS: tuple[str, ...] = ("sigmoid", "tanh", "relu", "linear")
#: How a layer holds its bias.
BIAS_MODES: tuple[str, ...] = ("neuron", "shared", "none")

STATE_FORMAT = "micrograd_mlp.state"
STATE_VERSION = 1
#: Largest state file :meth:`Module.load` / :meth:`MLP.from_file` read (bytes): 16 MiB, room for
#: about half a million parameters. Larger files are refused before they are parsed.
MAX_STATE_BYTES = 16 * 1024 * 1024
#: The architecture keys a saved ``config`` holds (exactly these).
_CONFIG_KEYS = ("nin", "nouts", "hidden_activation", "output_activation", "bias", "train_bias")


class _Refused(ValueError):
    """Raised from inside the JSON parser's hooks; re-raised as a ValueError naming the file."""


def _parse_constant(token: str) -> float:
    raise _Refused(f"non-finite number {token} is not allowed")


def _parse_float(text: str) -> float:
    x = float(text)
    if not math.isfinite(x):
        raise _Refused(f"number {text[:40]} does not fit in a finite float")
    return x


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > 309:  # beyond any finite float (and Python's int-parsing limit)
        raise _Refused(f"integer with {len(text)} digits does not fit in a finite float")
    return int(text)


def _is_real(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _check_activation(activation: object, what: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"{what} must be one of {', '.join(map(repr, ACTIVATIONS))}, got {activation!r}"
        )
    return activation  # type: ignore[return-value]


class Module:
    """Base class: parameters, gradients reset, and state as plain dicts / JSON files."""

    # -- to be provided by subclasses ------------------------------------------------------------
    def named_parameters(self, include_frozen: bool = False) -> list[tuple[str, Value]]:
        """``(name, Value)`` pairs in a stable order; frozen biases only with ``include_frozen``."""
        return []

    # -- generic --------------------------------------------------------------------------------
    def parameters(self) -> list[Value]:
        """The trainable parameter Values (what an optimiser updates)."""
        return [v for _, v in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set ``.grad = 0`` on every parameter, frozen ones included."""
        for _, v in self.named_parameters(include_frozen=True):
            v.grad = 0.0

    def state_dict(self) -> dict[str, float]:
        """``{name: float}`` for every parameter, frozen biases included (they shape the function)."""
        return {name: v.data for name, v in self.named_parameters(include_frozen=True)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Set every parameter from ``state``. Exactly the names of :meth:`state_dict` must be
        present, each a finite real number; otherwise ``KeyError``/``TypeError``/``ValueError``
        names the problem and no parameter changes."""
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a mapping of name -> number, got {type(state).__name__}")
        params = dict(self.named_parameters(include_frozen=True))
        missing = [n for n in params if n not in state]
        extra = [n for n in state if n not in params]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing {missing}")
            if extra:
                parts.append(f"unexpected {extra}")
            raise KeyError(f"state does not match the model's parameters: {'; '.join(parts)}")
        new: dict[str, float] = {}
        for name in params:
            x = state[name]
            if not _is_real(x):
                raise TypeError(
                    f"state[{name!r}] must be a real number, got {type(x).__name__}: {x!r}"
                )
            try:
                xf = float(x)
            except OverflowError:
                raise ValueError(f"state[{name!r}] is too large for a float, got {x!r:.40}") from None
            if not math.isfinite(xf):
                raise ValueError(f"state[{name!r}] must be finite, got {xf!r}")
            new[name] = xf
        for name, v in params.items():  # validated: now apply all at once
            v.data = new[name]

    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this module's architecture (JSON-able)."""
        raise NotImplementedError

    def save(self, path: str | os.PathLike) -> None:
        """Write architecture and state as JSON, atomically (temp file, fsync, ``os.replace``):
        a crash mid-write leaves either the old file or the new one, never a torn one."""
        payload = {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "model": type(self).__name__,
            "config": self.config(),
            "state": self.state_dict(),
        }
        bad = [name for name, x in payload["state"].items() if not math.isfinite(x)]
        if bad:  # JSON has no NaN/inf; refuse before touching any file
            raise ValueError(f"cannot save: parameter(s) {bad} are not finite "
                             f"({payload['state'][bad[0]]!r}); the previous file is left as it was")
        text = json.dumps(payload, indent=2, allow_nan=False)
        atomic_write_bytes(path, text.encode("utf-8"))

    @staticmethod
    def _read_payload(path: str | os.PathLike) -> dict[str, Any]:
        """Read and parse a state file: at most :data:`MAX_STATE_BYTES`, UTF-8 JSON, finite numbers
        only (no ``NaN``/``Infinity`` tokens, no ``1e999``, no 400-digit integers), no pathological
        nesting. Anything else is a ``ValueError`` naming the file; I/O problems are ``OSError``."""
        with open(path, "rb") as fh:
            raw = fh.read(MAX_STATE_BYTES + 1)
        if len(raw) > MAX_STATE_BYTES:
            raise ValueError(f"{os.fspath(path)}: state file larger than the {MAX_STATE_BYTES} byte "
                             f"limit (nn.MAX_STATE_BYTES)")
        try:
            payload = json.loads(raw.decode("utf-8"), parse_constant=_parse_constant,
                                 parse_float=_parse_float, parse_int=_parse_int)
        except UnicodeDecodeError as exc:
            raise ValueError(f"{os.fspath(path)}: not a JSON state file (not UTF-8 text: "
                             f"{exc.reason} at byte {exc.start})") from None
        except (json.JSONDecodeError, _Refused) as exc:
            raise ValueError(f"{os.fspath(path)}: not a JSON state file ({exc})") from None
        except RecursionError:
            raise ValueError(f"{os.fspath(path)}: not a state file (JSON nested too deeply)") from None
        if not isinstance(payload, dict) or payload.get("format") != STATE_FORMAT:
            raise ValueError(f"{os.fspath(path)}: not a {STATE_FORMAT} file")
        if payload.get("version") != STATE_VERSION:
            raise ValueError(
                f"{os.fspath(path)}: state version {payload.get('version')!r} not supported "
                f"(expected {STATE_VERSION})"
            )
        return payload

    def load(self, path: str | os.PathLike) -> "Module":
        """Load parameters saved by :meth:`save` into this module (same checks as
        :meth:`load_state_dict`; nothing changes on error). Returns ``self``."""
        payload = self._read_payload(path)
        cfg = payload.get("config")
        try:
            mine = self.config()
        except NotImplementedError:
            mine = None
        if mine is not None and cfg != mine:
            if not isinstance(cfg, dict):
                raise ValueError(f"{os.fspath(path)}: missing the model config")
            diff = [f"{k}: file {cfg.get(k)!r}, model {mine.get(k)!r}"
                    for k in sorted(set(cfg) | set(mine), key=str) if cfg.get(k) != mine.get(k)]
            raise ValueError(f"{os.fspath(path)}: saved for a different architecture ("
                             f"{'; '.join(diff)})")
        try:
            self.load_state_dict(payload.get("state"))
        except (KeyError, TypeError, ValueError) as exc:  # same type, message names the file
            raise type(exc)(f"{os.fspath(path)}: {exc.args[0] if exc.args else exc}") from None
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


_ACTIVATE = {
    "sigmoid": Value.sigmoid,
    "tanh": Value.tanh,
    "relu": Value.relu,
}


class Neuron(Module):
    """``out = φ(Σᵢ wᵢ·xᵢ + b)``: one ``affine`` node ``net_{name}``, one node ``out_{name}``."""

    def __init__(self, name: str, weights: Sequence[Value], bias: Value | None,
                 activation: str = "sigmoid", train_bias: bool = True) -> None:
        self.name = name
        self.weights: list[Value] = list(weights)
        self.bias: Value | None = bias
        self.activation = activation
        self.train_bias = bool(train_bias)

    # name and activation are properties so the labels and the activation method the forward pass
    # uses are worked out once, when they are set, not on every call
    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, name: str) -> None:
        self._name = name
        self._net_label = f"net_{name}"
        self._out_label = f"out_{name}"

    @property
    def activation(self) -> str:
        return self._activation

    @activation.setter
    def activation(self, activation: str) -> None:
        self._activation = _check_activation(activation, "activation")
        self._activate = _ACTIVATE.get(activation)  # None for 'linear'

    @property
    def nin(self) -> int:
        return len(self.weights)

    def net(self, inputs: Sequence[Value]) -> Value:
        """The net input Σᵢ wᵢ·xᵢ + b as one node labelled ``net_{name}``."""
        node = Value.affine(self.weights, inputs, self.bias)
        node.label = self._net_label
        return node

    def __call__(self, inputs: Sequence[Value | float]) -> Value:
        return self._forward(_as_inputs(inputs, self.nin, f"neuron {self.name}"))

    def _forward(self, xs: list[Value]) -> Value:
        """The neuron on inputs already checked by its caller (a list of ``nin`` Values)."""
        net = _affine_values(self.weights, xs, self.bias)
        net.label = self._net_label
        if self._activate is None:  # 'linear'
            return net
        out = self._activate(net)
        out.label = self._out_label
        return out

    def named_parameters(self, include_frozen: bool = False) -> list[tuple[str, Value]]:
        pairs = [(w.label or "", w) for w in self.weights]
        if self.bias is not None and (self.train_bias or include_frozen):
            pairs.append((self.bias.label or "", self.bias))
        return pairs

    def __repr__(self) -> str:
        ws = ", ".join(f"{w.label}={w.data:.6g}" for w in self.weights)
        if self.bias is None:
            b = "no bias"
        else:
            b = f"{self.bias.label}={self.bias.data:.6g}" + ("" if self.train_bias else " frozen")
        return f"Neuron({self.name}: {self.activation}, {ws}, {b})"


class Layer(Module):
    """A row of neurons with one activation and one bias mode (``'neuron'``, ``'shared'``,
    ``'none'``). With ``'shared'`` every neuron's ``.bias`` is the same Value ``b{index}``."""

    def __init__(self, neurons: Sequence[Neuron], activation: str, bias_mode: str,
                 index: int, train_bias: bool = True) -> None:
        if bias_mode not in BIAS_MODES:
            raise ValueError(
                f"bias must be one of {', '.join(map(repr, BIAS_MODES))}, got {bias_mode!r}"
            )
        self.neurons: list[Neuron] = list(neurons)
        self.activation: str = _check_activation(activation, "activation")
        self.bias_mode: str = bias_mode
        self.index = index  # 1-based over non-input layers
        self.train_bias = bool(train_bias)

    @property
    def nin(self) -> int:
        return self.neurons[0].nin

    @property
    def nout(self) -> int:
        return len(self.neurons)

    @property
    def shared_bias(self) -> Value | None:
        return self.neurons[0].bias if self.bias_mode == "shared" else None

    def __call__(self, inputs: Sequence[Value | float]) -> list[Value]:
        xs = _as_inputs(inputs, self.nin, f"layer {self.index}")
        return [n._forward(xs) for n in self.neurons]

    def named_parameters(self, include_frozen: bool = False) -> list[tuple[str, Value]]:
        pairs = [(w.label or "", w) for n in self.neurons for w in n.weights]
        if self.train_bias or include_frozen:
            if self.bias_mode == "shared":
                b = self.shared_bias
                pairs.append((b.label or "", b))
            elif self.bias_mode == "neuron":
                pairs.extend((n.bias.label or "", n.bias) for n in self.neurons)
        return pairs

    def __repr__(self) -> str:
        names = [n.name for n in self.neurons]
        span = names[0] if len(names) == 1 else f"{names[0]}..{names[-1]}"
        frozen = "" if self.train_bias or self.bias_mode == "none" else ", frozen"
        return (f"Layer({self.index}: {self.nin} -> {self.nout} {self.activation} [{span}], "
                f"bias={self.bias_mode!r}{frozen})")


_INPUT_LABELS: list[str] = []


def _input_labels(n: int) -> list[str]:
    """``['i1', ..., 'im']`` with m ≥ n. The list is never modified: a longer one replaces it
    (one assignment, so concurrent callers each see a complete list)."""
    global _INPUT_LABELS
    labels = _INPUT_LABELS
    if len(labels) < n:
        labels = _INPUT_LABELS = [f"i{i}" for i in range(1, n + 1)]
    return labels


def _as_inputs(inputs: Sequence[Value | float], expected: int, who: str) -> list[Value]:
    """Check the input count; turn raw numbers into leaves labelled i1..in."""
    if type(inputs) in (list, tuple):  # the common case, without the slow ABC check below
        xs = list(inputs)
    elif isinstance(inputs, (Value, str, bytes)) or not isinstance(inputs, Iterable):
        xs = [inputs]  # a lone scalar
    else:
        xs = list(inputs)
    if len(xs) != expected:
        raise ValueError(f"{who} expects {expected} inputs, got {len(xs)}")
    out = []
    labels = _input_labels(expected)
    for i, x in enumerate(xs, 1):
        if type(x) is float and x - x == 0.0:  # a finite float
            out.append(_leaf(x, labels[i - 1]))
        elif isinstance(x, Value):
            out.append(x)
        elif _is_real(x):
            try:
                out.append(Value(x, label=f"i{i}"))
            except ValueError:  # NaN, inf, or an int too large for a float
                raise ValueError(f"{who}: input {i} must be finite, got {x!r:.40}") from None
        else:
            raise TypeError(f"{who}: input {i} must be a number or Value, got {type(x).__name__}: {x!r}")
    return out


class MLP(Module):
    """A multi-layer perceptron: ``nin`` inputs, then layers of widths ``nouts``.

    Parameters
    ----------
    nin, nouts
        Input count and the width of every non-input layer (the last one is the output layer).
    hidden_activation, output_activation
        One of ``'sigmoid'``, ``'tanh'``, ``'relu'``, ``'linear'`` (default: sigmoid for both,
        as in the article).
    bias
        ``'neuron'`` (one bias per neuron, ``b_{neuron}``), ``'shared'`` (one per layer, ``b{l}``,
        the article's choice) or ``'none'``.
    train_bias
        ``False`` freezes the biases: they are used and saved but not returned by ``parameters()``.
    seed
        Seed for the random initialisation (weights and biases uniform in [−1, 1]); ``None`` draws
        from fresh entropy.
    weights, biases
        Explicit construction instead of random: ``weights[l][j]`` is the list of neuron ``j``'s
        input weights in layer ``l``; ``biases[l]`` is a number for a ``'shared'`` layer, a list of
        numbers (one per neuron) for ``'neuron'``. Omitted biases default to 0. A flat
        ``{name: value}`` mapping for ``weights`` is also accepted (the :meth:`state_dict` form).

    Calling the MLP with a list of ``nin`` numbers or Values returns the list of output Values
    (always a list, even for one output).
    """

    def __init__(self, nin: int, nouts: Sequence[int], hidden_activation: str = "sigmoid",
                 output_activation: str = "sigmoid", bias: str = "neuron",
                 train_bias: bool = True, seed: int | None = None,
                 weights: Sequence[Sequence[Sequence[float]]] | Mapping[str, float] | None = None,
                 biases: Sequence[float | Sequence[float]] | None = None) -> None:
        if not isinstance(nin, int) or isinstance(nin, bool) or nin < 1:
            raise ValueError(f"nin must be a positive integer, got {nin!r}")
        if isinstance(nouts, int) and not isinstance(nouts, bool):
            nouts = [nouts]
        nouts = list(nouts)
        if not nouts or any(not isinstance(k, int) or isinstance(k, bool) or k < 1 for k in nouts):
            raise ValueError(f"nouts must be a non-empty list of positive integers, got {nouts!r}")
        _check_activation(hidden_activation, "hidden_activation")
        _check_activation(output_activation, "output_activation")
        if bias not in BIAS_MODES:
            raise ValueError(
                f"bias must be one of {', '.join(map(repr, BIAS_MODES))}, got {bias!r}"
            )
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
        self.nin = nin
        self.nouts = nouts
        self.hidden_activation = hidden_activation
        self.output_activation = output_activation
        self.bias_mode = bias
        self.train_bias = bool(train_bias)
        self.seed = seed

        rng = random.Random(seed)
        state: Mapping[str, float] | None = weights if isinstance(weights, Mapping) else None
        nested = None if state is not None else weights
        if nested is not None:
            _check_nested_weights(nin, nouts, nested)
        if biases is not None:
            if state is not None:
                raise ValueError("give biases inside the weights mapping, not as a separate argument")
            _check_biases(nouts, bias, biases)

        names = neuron_names(nouts)
        self.layers: list[Layer] = []
        counter = 0
        fan_in = nin
        for l, width in enumerate(nouts):
            act = output_activation if l == len(nouts) - 1 else hidden_activation
            shared = None
            if bias == "shared":
                b0 = biases[l] if biases is not None else (0.0 if nested is not None else rng.uniform(-1, 1))
                shared = Value(b0, label=f"b{l + 1}")
            neurons = []
            for j, name in enumerate(names[l]):
                ws = []
                for i in range(fan_in):
                    counter += 1
                    w0 = nested[l][j][i] if nested is not None else rng.uniform(-1, 1)
                    ws.append(Value(w0, label=f"w{counter}"))
                if bias == "shared":
                    b = shared
                elif bias == "neuron":
                    if biases is not None:
                        b0 = biases[l][j]
                    else:
                        b0 = 0.0 if nested is not None else rng.uniform(-1, 1)
                    b = Value(b0, label=f"b_{name}")
                else:
                    b = None
                neurons.append(Neuron(name, ws, b, act, self.train_bias))
            self.layers.append(Layer(neurons, act, bias, l + 1, self.train_bias))
            fan_in = width
        if state is not None:
            self.load_state_dict(state)

    # -- structure ------------------------------------------------------------------------------
    @property
    def nout(self) -> int:
        return self.nouts[-1]

    def neurons(self) -> list[Neuron]:
        """Every neuron, layer by layer."""
        return [n for layer in self.layers for n in layer.neurons]

    def named_parameters(self, include_frozen: bool = False) -> list[tuple[str, Value]]:
        """Layer by layer: that layer's weights (w-numbering order), then its bias(es)."""
        return [p for layer in self.layers for p in layer.named_parameters(include_frozen)]

    def parameter(self, name: str) -> Value:
        """The parameter Value called ``name`` (frozen ones included); ``KeyError`` if none."""
        for n, v in self.named_parameters(include_frozen=True):
            if n == name:
                return v
        names = [n for n, _ in self.named_parameters(include_frozen=True)]
        raise KeyError(f"no parameter named {name!r}; the model has {names}")

    def config(self) -> dict[str, Any]:
        return {
            "nin": self.nin,
            "nouts": list(self.nouts),
            "hidden_activation": self.hidden_activation,
            "output_activation": self.output_activation,
            "bias": self.bias_mode,
            "train_bias": self.train_bias,
        }

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "MLP":
        """Rebuild an MLP (architecture and parameters) from a file written by :meth:`save`."""
        payload = cls._read_payload(path)
        if payload.get("model") != cls.__name__:
            raise ValueError(f"{os.fspath(path)}: holds a {payload.get('model')!r}, not an MLP")
        cfg = payload.get("config")
        if not isinstance(cfg, dict):
            raise ValueError(f"{os.fspath(path)}: missing the model config")
        _check_saved_config(cfg, payload.get("state"), os.fspath(path))
        try:
            model = cls(**cfg, seed=0)
            model.load_state_dict(payload.get("state"))
        except (KeyError, TypeError, ValueError) as exc:  # same type, message names the file
            raise type(exc)(f"{os.fspath(path)}: {exc.args[0] if exc.args else exc}") from None
        return model

    # -- forward --------------------------------------------------------------------------------
    def __call__(self, inputs: Sequence[Value | float]) -> list[Value]:
        """Forward pass: a list of ``nout`` output Values. Raw numbers become leaves i1..in."""
        xs: list[Value] = _as_inputs(inputs, self.nin, "MLP")
        for layer in self.layers:  # each layer's outputs are its successor's checked inputs
            xs = [n._forward(xs) for n in layer.neurons]
        return xs

    def __repr__(self) -> str:
        total = len(self.named_parameters(include_frozen=True))
        trainable = len(self.parameters())
        frozen = f", {total - trainable} frozen" if total != trainable else ""
        widths = " -> ".join(str(k) for k in [self.nin, *self.nouts])
        layers = "\n".join(f"  {layer!r}," for layer in self.layers)
        return (f"MLP({widths}, hidden={self.hidden_activation!r}, "
                f"output={self.output_activation!r}, bias={self.bias_mode!r}; "
                f"{trainable} trainable parameters{frozen}\n{layers}\n)")


def _check_saved_config(cfg: dict, state: Any, where: str) -> None:
    """Refuse a saved config before building anything from it: exactly the known keys, and an
    architecture whose parameter count equals the number of saved values (so a tiny hostile file
    cannot ask for a billion-parameter model)."""
    if sorted(cfg) != sorted(_CONFIG_KEYS):
        raise ValueError(f"{where}: config keys must be {list(_CONFIG_KEYS)}, got {sorted(cfg, key=str)}")
    nin, nouts, bias = cfg["nin"], cfg["nouts"], cfg["bias"]
    if not isinstance(cfg["train_bias"], bool):
        raise ValueError(f"{where}: config train_bias must be true or false, got {cfg['train_bias']!r}")
    if (not isinstance(nin, int) or isinstance(nin, bool) or nin < 1 or not isinstance(nouts, list)
            or not nouts
            or any(not isinstance(k, int) or isinstance(k, bool) or k < 1 for k in nouts)):
        raise ValueError(f"{where}: config nin/nouts must be positive integers, got {nin!r}, {nouts!r}")
    if not isinstance(state, dict):
        raise TypeError(f"{where}: state must be a mapping of name -> number, got "
                        f"{type(state).__name__}")
    limit = max(len(state), 10_000)  # building this many is cheap; load_state_dict names the rest
    count, fan_in = 0, nin
    for width in nouts:
        count += fan_in * width + {"neuron": width, "shared": 1}.get(bias, 0)
        fan_in = width
        if count > limit:
            raise ValueError(f"{where}: the config describes more than {limit} parameters but the "
                             f"file holds {len(state)} values")


def _check_nested_weights(nin: int, nouts: Sequence[int], weights: Any) -> None:
    if len(weights) != len(nouts):
        raise ValueError(f"weights: expected {len(nouts)} layers, got {len(weights)}")
    fan_in = nin
    for l, (width, layer) in enumerate(zip(nouts, weights), 1):
        if len(layer) != width:
            raise ValueError(f"weights: layer {l} expected {width} neurons, got {len(layer)}")
        for j, row in enumerate(layer, 1):
            if len(row) != fan_in:
                raise ValueError(
                    f"weights: layer {l} neuron {j} expected {fan_in} weights, got {len(row)}"
                )
            for i, x in enumerate(row, 1):
                if not _is_real(x) or not math.isfinite(float(x)):
                    raise ValueError(
                        f"weights: layer {l} neuron {j} weight {i} must be a finite number, "
                        f"got {x!r}"
                    )
        fan_in = width


def _check_biases(nouts: Sequence[int], mode: str, biases: Any) -> None:
    if mode == "none":
        raise ValueError("biases given but bias='none'")
    if len(biases) != len(nouts):
        raise ValueError(f"biases: expected {len(nouts)} layers, got {len(biases)}")
    for l, (width, b) in enumerate(zip(nouts, biases), 1):
        items = [b] if mode == "shared" else b
        if mode == "neuron":
            if not isinstance(b, Sequence) or len(b) != width:
                got = len(b) if isinstance(b, Sequence) else type(b).__name__
                raise ValueError(f"biases: layer {l} expected {width} per-neuron biases, got {got}")
        for x in items:
            if not _is_real(x) or not math.isfinite(float(x)):
                raise ValueError(f"biases: layer {l} bias must be a finite number, got {x!r}")
