"""Neurons, layers and multi-layer perceptrons on top of :class:`~micrograd_mlp.core.Value`.

A neuron computes ``out = φ(net)`` with ``net = Σᵢ wᵢ·xᵢ + b`` - one ``affine`` graph node labelled
``net_{neuron}`` followed by one activation node labelled ``out_{neuron}`` (for ``'linear'`` the net
node *is* the output). Names follow one scheme everywhere in the library:

* neurons: output layer ``o1..om``; hidden layer ``h1..hn`` when there is one hidden layer,
  ``h{l}_{j}`` (1-based) when there are several;
* weights ``w1, w2, ...`` numbered in the article's order across the whole net (layer by layer,
  neuron by neuron, input by input: ``w1`` = i1→h1, ``w2`` = i2→h1, ``w3`` = i1→h2, ...);
* a bias shared by layer ``l`` (1-based over the non-input layers) is ``b{l}``; a per-neuron bias is
  ``b_{neuron}`` (``b_h1``, ``b_o2``).

Every parameter Value's ``label`` is its name. A parameter is *frozen* when its
``requires_grad`` is ``False`` (``train_bias=False`` freezes the biases this way; the article's
shared biases are frozen parameters): it still takes part in the forward pass and is saved by
:meth:`Module.state_dict`, but ``backward()`` gives it no gradient and
:meth:`Module.parameters` leaves it out, so optimisers never move it. :meth:`Module.save` /
:meth:`Module.load` keep a module in a JSON state file (:mod:`.state`).
"""

from __future__ import annotations

import os
import random
from typing import Any, Iterable, Iterator, Mapping, NamedTuple, Sequence, TypeGuard

from ..core import Value
from ..core.checks import finite_real, integer, one_of, positive_int, shown, type_name
from ..core.value import _leaf
from . import state as _state
from .naming import neuron_names

#: Activations a layer can use.
ACTIVATIONS: tuple[str, ...] = ("sigmoid", "tanh", "relu", "linear")
#: How a layer holds its bias.
BIAS_MODES: tuple[str, ...] = ("neuron", "shared", "none")


def _capped(names: list[Any], limit: int = 20) -> str:
    """A list of names for a message, at most ``limit`` of them (and how many more)."""
    shown_names = [str(n)[:80] for n in names[:limit]]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"{shown_names}{more}"


class IncompatibleKeys(NamedTuple):
    """What :meth:`Module.load_state_dict` did not match (as PyTorch's ``_IncompatibleKeys``)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _holds_members(value: object) -> bool:
    """Whether an attribute is registered: a Value, a Module, or a list/tuple/dict whose items
    (at assignment) are all Values, Modules or such containers - an empty one included, so it can
    be filled later. A list of numbers is plain data, not registered."""
    if isinstance(value, (Value, Module)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_holds_members(x) for x in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _holds_members(x) for k, x in value.items())
    return False


def _walk(name: str, obj: object) -> Iterator[tuple[str, Value | Module]]:
    """``(dotted name, Value or Module)`` for ``obj`` and the items of its containers. A dict key
    that is not a string is refused (``TypeError`` naming it), as ``torch.nn.ModuleDict`` does."""
    if isinstance(obj, (Value, Module)):
        yield name, obj
    elif isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            yield from _walk(f"{name}.{i}", item)
    elif isinstance(obj, dict):
        for key, item in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"{name}: dict key {key!r:.60} is not a string; a dict of "
                                "Values/Modules needs string keys (its items are named by them)")
            yield from _walk(f"{name}.{key}", item)


def _non_string_key(value: object) -> object | None:
    """The first non-string key of a dict (inside ``value``) whose items are all Values, Modules
    or such containers - a dict that would be registered but for that key - else ``None``."""
    if isinstance(value, (list, tuple)):
        for item in value:
            key = _non_string_key(item)
            if key is not None:
                return key
    elif isinstance(value, dict) and value and all(
            _holds_members(x) or _non_string_key(x) is not None for x in value.values()):
        for k, item in value.items():
            if not isinstance(k, str):
                found: object = k
                return found
            inner = _non_string_key(item)
            if inner is not None:
                return inner
    return None


def _dotted_parts(module: Module) -> list[str]:
    """The registered attribute names and dict keys (at any depth) of ``module`` that hold a
    ".": a parameter named through them could not be told apart from a sub-module's."""
    bad: list[str] = []

    def visit(obj: object) -> None:
        if isinstance(obj, (list, tuple)):
            for item in obj:
                visit(item)
        elif isinstance(obj, dict):
            for key, item in obj.items():
                if isinstance(key, str) and "." in key:
                    bad.append(key)
                visit(item)

    for attr in getattr(module, "_members", ()):
        if "." in attr:
            bad.append(attr)
        visit(getattr(module, attr, None))
    return bad


def _refuse_duplicates(pairs: list[tuple[str, Value]], who: str) -> None:
    """``ValueError`` naming the names that two different parameters share (a state file would
    keep one and load would silently leave the other as it was)."""
    seen: set[str] = set()
    dups: list[str] = []
    for name, _ in pairs:
        if name in seen and name not in dups:
            dups.append(name)
        seen.add(name)
    if dups:
        raise ValueError(f"{who}: several parameters are named {_capped(dups)}; names must be "
                         "unique to save and load (rename the attributes or dict keys)")


def _collect(module: Module, prefix: str, modules_seen: set[int], values_seen: set[int],
             out: list[tuple[str, Value]]) -> None:
    """Every parameter below ``module`` (frozen ones too), each Value once and each module
    visited once - a back-reference (``child.owner = parent``) is not followed again."""
    modules_seen.add(id(module))
    dotted = _dotted_parts(module)
    if dotted:
        where = f"module {prefix[:-1]!r}" if prefix else type(module).__name__
        raise ValueError(f"{where}: attribute or dict key name(s) {_capped(dotted)} contain a "
                         "'.', so the parameter names made from them cannot round-trip through "
                         "state_dict/save/load (as PyTorch, names must not contain '.')")
    for name, obj in module._registered():
        pairs: list[tuple[str, Value]]
        if isinstance(obj, Value):
            pairs = [(prefix + name, obj)]
        elif id(obj) in modules_seen:
            continue
        elif type(obj).named_parameters is Module.named_parameters:
            _collect(obj, f"{prefix}{name}.", modules_seen, values_seen, out)
            continue
        else:  # a module naming its own parameters (Neuron, Layer, MLP, ...)
            modules_seen.add(id(obj))
            pairs = [(f"{prefix}{name}.{n}", v)
                     for n, v in obj.named_parameters(include_frozen=True)]
        for n, v in pairs:
            if id(v) not in values_seen:
                values_seen.add(id(v))
                out.append((n, v))


class Module:
    """Base class: parameters, gradients reset, and state as plain dicts / JSON files.

    As with ``torch.nn.Module``, assigning a :class:`~micrograd_mlp.core.Value`, a ``Module``, or
    a list, tuple or dict of them to an attribute registers it, in assignment order: a subclass
    that sets ``self.w = Value(1.0)`` and ``self.layer = Layer(...)`` has both in
    :meth:`parameters`, :meth:`named_parameters` (``"w"``, ``"layer.w1"``, ``"ws.0"``),
    :meth:`state_dict`, :meth:`children` and :meth:`named_modules`. A parameter whose
    ``requires_grad`` is ``False`` is *frozen*: used, saved, but left out of :meth:`parameters`.
    """

    _members: dict[str, None]

    # (``self.__dict__`` is never touched: on CPython 3.11+ reading it turns the instance's
    # attributes into a plain dict, and every later ``self.weights`` in the forward pass slows)
    def __setattr__(self, name: str, value: object) -> None:
        bad_key = _non_string_key(value)
        if bad_key is not None:  # refused before anything is set
            raise TypeError(f"{name}: dict key {bad_key!r:.60} is not a string; a dict of "
                            "Values/Modules needs string keys (its items are named by them)")
        object.__setattr__(self, name, value)
        try:
            members = self._members
        except AttributeError:
            members = {}
            object.__setattr__(self, "_members", members)
        if _holds_members(value):
            members.setdefault(name, None)  # a reassigned attribute keeps its place
        else:
            members.pop(name, None)

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        getattr(self, "_members", {}).pop(name, None)

    def _registered(self) -> Iterator[tuple[str, Value | Module]]:
        """The registered Values and Modules (containers unpacked), in assignment order."""
        for attr in getattr(self, "_members", ()):
            yield from _walk(attr, getattr(self, attr, None))

    # -- structure ------------------------------------------------------------------------------
    def named_children(self) -> list[tuple[str, Module]]:
        """The directly registered sub-modules, ``(attribute name, module)``, each once."""
        seen: set[int] = set()
        out = []
        for name, obj in self._registered():
            if isinstance(obj, Module) and id(obj) not in seen:
                seen.add(id(obj))
                out.append((name, obj))
        return out

    def children(self) -> list[Module]:
        return [m for _, m in self.named_children()]

    def named_modules(self, prefix: str = "") -> list[tuple[str, Module]]:
        """This module (named ``prefix``, ``""`` by default) and every sub-module below it,
        depth first, each once, with dotted names (``"layers.0.neurons.1"``)."""
        seen: set[int] = set()
        out: list[tuple[str, Module]] = []
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            out.append((name, module))
            kids = module.named_children()
            stack.extend((f"{name}.{n}" if name else n, m) for n, m in reversed(kids))
        return out

    def modules(self) -> list[Module]:
        return [m for _, m in self.named_modules()]

    # -- parameters -----------------------------------------------------------------------------
    def named_parameters(self, include_frozen: bool = False) -> list[tuple[str, Value]]:
        """``(name, Value)`` pairs in registration order, each Value once; frozen ones
        (``requires_grad=False``) only with ``include_frozen``. A sub-module's parameters are named
        ``"{attribute}.{its name}"``. Each sub-module is visited once (a back-reference such as
        ``child.owner = parent`` is not followed again). Names that cannot round-trip through
        :meth:`state_dict` - an attribute or dict key holding a ".", two parameters with one
        name - are refused with a ``ValueError`` naming them."""
        out: list[tuple[str, Value]] = []
        _collect(self, "", set(), set(), out)
        _refuse_duplicates(out, type(self).__name__)
        return out if include_frozen else [p for p in out if p[1].requires_grad]

    def parameters(self) -> list[Value]:
        """The trainable parameter Values (what an optimiser updates)."""
        return [v for _, v in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set ``.grad = 0`` on every parameter, frozen ones included."""
        for _, v in self.named_parameters(include_frozen=True):
            v.grad = 0.0

    def state_dict(self) -> dict[str, float]:
        """``{name: float}`` for every parameter, frozen ones included (they shape the
        function). Two parameters with one name are refused (``ValueError`` naming it)."""
        pairs = self.named_parameters(include_frozen=True)
        _refuse_duplicates(pairs, type(self).__name__)
        return {name: v.data for name, v in pairs}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Set the parameters from ``state``; returns ``(missing_keys, unexpected_keys)``.

        ``strict=True``: exactly the names of :meth:`state_dict` must be present, otherwise
        ``KeyError`` names the missing and unexpected ones. ``strict=False``: the names both have
        are loaded and the others reported, as PyTorch does. Every loaded value must be a finite
        real number (``TypeError``/``ValueError`` name it). On any error no parameter changes."""
        if not isinstance(state, Mapping):
            raise TypeError(
                f"state must be a mapping of name -> number, got {type_name(state)}")
        if not isinstance(strict, bool):
            raise TypeError(f"strict must be a bool (True or False), got {shown(strict)}")
        pairs = self.named_parameters(include_frozen=True)
        _refuse_duplicates(pairs, type(self).__name__)
        params = dict(pairs)
        missing = [n for n in params if n not in state]
        extra = [n for n in state if n not in params]
        if strict and (missing or extra):
            parts = []
            if missing:
                parts.append(f"missing {_capped(missing)}")
            if extra:
                parts.append(f"unexpected {_capped(extra)}")
            raise KeyError(f"state does not match the model's parameters: {'; '.join(parts)}")
        new = {name: finite_real(state[name], f"state[{name!r}]")
               for name in params if name in state}
        for name, x in new.items():  # validated: now apply all at once
            params[name].data = x
        return IncompatibleKeys(missing, [str(n) for n in extra])

    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this module's architecture (JSON-able). A
        module of your own has none (its code is its architecture): ``{}``."""
        return {}

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write architecture and state as JSON, atomically (temp file, fsync, ``os.replace``):
        a crash mid-write leaves either the old file or the new one, never a torn one."""
        _state.write_state(path, type(self).__name__, self.config(), self.state_dict())

    def load(self, path: str | os.PathLike[str]) -> Module:
        """Load parameters saved by :meth:`save` into this module (same checks as
        :meth:`load_state_dict`; nothing changes on error). Returns ``self``."""
        payload = _state.read_state(path, type(self).__name__)  # a Neuron file is no MLP
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
        state: Any = payload.get("state")
        try:
            self.load_state_dict(state)
        except (KeyError, TypeError, ValueError) as exc:  # same type, message names the file
            raise type(exc)(f"{os.fspath(path)}: {exc.args[0] if exc.args else exc}") from None
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _repr_html_(self) -> str:
        """A notebook cell's view: the module's summary (its ``repr``), then a table of its
        parameters - name, value, gradient (``—`` for a frozen one: it gets none) and whether it
        is frozen - the first :data:`HTML_ROWS` of them for a large module."""
        return _parameters_html(self)


#: Parameters a module's notebook table lists (the rest are counted; ``state_dict()`` has all).
HTML_ROWS = 50


def _parameters_html(module: Module) -> str:
    """:meth:`Module._repr_html_`: summary, then one row per parameter (labels escaped)."""
    import html

    pairs = module.named_parameters(include_frozen=True)
    esc, right = html.escape, " style='text-align:right'"
    rows = []
    for name, v in pairs[:HTML_ROWS]:
        grad, mark = ("—", "frozen") if not v.requires_grad else (f"{v.grad:.6g}", "")
        rows.append(f"<tr><td><code>{esc(name)}</code></td><td{right}>{v.data:.6g}</td>"
                    f"<td{right}>{grad}</td><td>{mark}</td></tr>")
    if len(pairs) > HTML_ROWS:
        rows.append(f"<tr><td colspan='4'>… {len(pairs) - HTML_ROWS} more parameters "
                    "(state_dict() has all)</td></tr>")
    lines = repr(module).splitlines()
    detail = "".join(f"<br><code>{esc(line.strip().rstrip(','))}</code>" for line in lines[1:]
                     if line.strip() not in ("", ")"))
    frozen = sum(not v.requires_grad for _, v in pairs)
    count = f"{len(pairs)} parameters" + (f", {frozen} frozen" if frozen else "")
    head = "".join(f"<th>{h}</th>" for h in ("parameter", "value", "grad", "frozen"))
    return (f"<div class='micrograd-module'><p><code>{esc(lines[0] if lines else '')}</code>"
            f"{detail}</p><table><caption>{esc(count)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


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
        if bias is not None and not self.train_bias:
            bias.requires_grad = False  # frozen: used and saved, never trained

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
        self._activation = one_of(activation, "activation", ACTIVATIONS)
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
        net = Value.affine(self.weights, xs, self.bias)
        net.label = self._net_label
        activate = self._activate
        if activate is None:  # 'linear'
            return net
        out = activate(net)
        out.label = self._out_label
        return out

    def named_parameters(self, include_frozen: bool = False) -> list[tuple[str, Value]]:
        """Named by their labels: the weights, then the bias; frozen ones with
        ``include_frozen``."""
        pairs = [(w.label or "", w) for w in self.weights]
        if self.bias is not None:
            pairs.append((self.bias.label or "", self.bias))
        return pairs if include_frozen else [p for p in pairs if p[1].requires_grad]

    def __repr__(self) -> str:
        ws = ", ".join(f"{w.label}={w.data:.6g}" for w in self.weights)
        if self.bias is None:
            b = "no bias"
        else:
            b = f"{self.bias.label}={self.bias.data:.6g}" + (
                "" if self.bias.requires_grad else " frozen")
        return f"Neuron({self.name}: {self.activation}, {ws}, {b})"


class Layer(Module):
    """A row of neurons with one activation and one bias mode (``'neuron'``, ``'shared'``,
    ``'none'``). With ``'shared'`` every neuron's ``.bias`` is the same Value ``b{index}``."""

    def __init__(self, neurons: Sequence[Neuron], activation: str, bias_mode: str,
                 index: int, train_bias: bool = True) -> None:
        self.neurons: list[Neuron] = list(neurons)
        self.activation: str = one_of(activation, "activation", ACTIVATIONS)
        self.bias_mode: str = one_of(bias_mode, "bias", BIAS_MODES)
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
        """The layer's outputs, one Value per neuron. Raw numbers become leaves i1..in."""
        xs = inputs if _are_values(inputs) else _as_inputs(inputs, self.nin, f"layer {self.index}")
        return [n._forward(xs) for n in self.neurons]

    def named_parameters(self, include_frozen: bool = False) -> list[tuple[str, Value]]:
        """Named by their labels: every neuron's weights, then the bias(es) - a shared bias once;
        frozen ones (``requires_grad=False``) with ``include_frozen``."""
        pairs = [(w.label or "", w) for n in self.neurons for w in n.weights]
        # a shared bias once (the first neuron's), a per-neuron bias for each neuron
        holders = self.neurons[:1] if self.bias_mode == "shared" else self.neurons
        pairs.extend((n.bias.label or "", n.bias) for n in holders if n.bias is not None)
        return pairs if include_frozen else [p for p in pairs if p[1].requires_grad]

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


def _are_values(inputs: object) -> TypeGuard[list[Value]]:
    """Whether ``inputs`` is a list of Values (a layer's outputs, as an :class:`MLP` passes them
    on): nothing to convert, and each neuron's ``Value.affine`` checks the count."""
    return type(inputs) is list and all(type(x) is Value for x in inputs)


def _as_inputs(inputs: object, expected: int, who: str) -> list[Value]:
    """Check the input count; turn raw numbers into leaves labelled i1..in."""
    xs: list[object]
    if isinstance(inputs, (list, tuple)):  # the common case, without the slow ABC check below
        xs = list(inputs)
    elif isinstance(inputs, (Value, str, bytes)) or not isinstance(inputs, Iterable):
        xs = [inputs]  # a lone scalar
    else:
        xs = list(inputs)
    if len(xs) != expected:
        raise ValueError(f"{who} expects {expected} inputs, got {len(xs)}")
    out = []
    labels = _input_labels(expected)
    for i, x in enumerate(xs):
        if type(x) is float and x - x == 0.0:  # a finite float
            out.append(_leaf(x, labels[i]))
        elif isinstance(x, Value):
            out.append(x)
        else:
            out.append(_leaf(finite_real(x, f"{who}: input {i + 1}"), labels[i]))
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
        ``False`` freezes the biases (``requires_grad = False``): they are used and saved but get
        no gradient and are not returned by ``parameters()``.
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
        nin = positive_int(nin, "nin")
        widths = list(nouts) if isinstance(nouts, Iterable) else [nouts]  # (one int: one layer)
        if not widths:
            raise ValueError("nouts must be a non-empty list of layer widths, got []")
        widths = [positive_int(k, f"nouts[{i}]") for i, k in enumerate(widths)]
        one_of(hidden_activation, "hidden_activation", ACTIVATIONS)
        one_of(output_activation, "output_activation", ACTIVATIONS)
        one_of(bias, "bias", BIAS_MODES)
        if seed is not None:
            seed = integer(seed, "seed")
        state = weights if isinstance(weights, Mapping) else None
        if state is not None and biases is not None:
            raise ValueError("give biases inside the weights mapping, not as a separate argument")
        given_w = None if weights is None or state is not None else _weight_values(nin, widths,
                                                                                    weights)
        given_b = None if biases is None else _bias_values(widths, bias, biases)
        self.nin = nin
        self.nouts = widths
        self.hidden_activation = hidden_activation
        self.output_activation = output_activation
        self.bias_mode = bias
        self.train_bias = bool(train_bias)
        self.seed = seed

        # explicit weights without biases: biases 0; otherwise uniform in [-1, 1] from the seed
        rng = random.Random(seed)

        def draw() -> float:
            return 0.0 if given_w is not None else rng.uniform(-1, 1)

        self.layers: list[Layer] = []
        counter = 0  # weights are numbered across the whole net
        fan_in = nin
        for li, names in enumerate(neuron_names(widths)):
            act = output_activation if li == len(widths) - 1 else hidden_activation
            if bias == "shared":
                b0 = given_b[li][0] if given_b is not None else draw()
                shared = Value(b0, label=f"b{li + 1}")
            neurons = []
            for j, name in enumerate(names):
                ws = []
                for i in range(fan_in):
                    counter += 1
                    w0 = given_w[li][j][i] if given_w is not None else rng.uniform(-1, 1)
                    ws.append(Value(w0, label=f"w{counter}"))
                b: Value | None = None
                if bias == "shared":
                    b = shared
                elif bias == "neuron":
                    b = Value(given_b[li][j] if given_b is not None else draw(), label=f"b_{name}")
                neurons.append(Neuron(name, ws, b, act, self.train_bias))
            self.layers.append(Layer(neurons, act, bias, li + 1, self.train_bias))
            fan_in = len(names)
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
    def from_file(cls, path: str | os.PathLike[str]) -> MLP:
        """Rebuild an MLP (architecture and parameters) from a file written by :meth:`save`."""
        payload = _state.read_state(path)
        if payload.get("model") != cls.__name__:
            raise ValueError(f"{os.fspath(path)}: holds a {payload.get('model')!r}, not an MLP")
        cfg = payload.get("config")
        if not isinstance(cfg, dict):
            raise ValueError(f"{os.fspath(path)}: missing the model config")
        state: Any = payload.get("state")
        _state.check_saved_config(cfg, state, os.fspath(path))
        try:
            model = cls(**cfg, seed=0)
            model.load_state_dict(state)
        except (KeyError, TypeError, ValueError) as exc:  # same type, message names the file
            raise type(exc)(f"{os.fspath(path)}: {exc.args[0] if exc.args else exc}") from None
        return model

    # -- forward --------------------------------------------------------------------------------
    def __call__(self, inputs: Sequence[Value | float]) -> list[Value]:
        """Forward pass: a list of ``nout`` output Values. Raw numbers become leaves i1..in."""
        xs: list[Value] = _as_inputs(inputs, self.nin, "MLP")
        for layer in self.layers:  # each layer called as itself (a subclass's __call__ counts)
            xs = layer(xs)
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


def _weight_values(nin: int, nouts: Sequence[int], weights: Any) -> list[list[list[float]]]:
    """``weights[l][j][i]`` as floats, its shape checked against the architecture."""
    if len(weights) != len(nouts):
        raise ValueError(f"weights: expected {len(nouts)} layers, got {len(weights)}")
    fan_in = nin
    out = []
    for li, (width, layer) in enumerate(zip(nouts, weights), 1):
        if len(layer) != width:
            raise ValueError(f"weights: layer {li} expected {width} neurons, got {len(layer)}")
        rows = []
        for j, row in enumerate(layer, 1):
            if len(row) != fan_in:
                raise ValueError(
                    f"weights: layer {li} neuron {j} expected {fan_in} weights, got {len(row)}"
                )
            rows.append([finite_real(x, f"weights: layer {li} neuron {j} weight {i}")
                         for i, x in enumerate(row, 1)])
        out.append(rows)
        fan_in = width
    return out


def _bias_values(nouts: Sequence[int], mode: str, biases: Any) -> list[list[float]]:
    """Per layer the given bias values as floats: one for a ``'shared'`` layer, one per neuron for
    ``'neuron'``."""
    if mode == "none":
        raise ValueError("biases given but bias='none'")
    if len(biases) != len(nouts):
        raise ValueError(f"biases: expected {len(nouts)} layers, got {len(biases)}")
    out = []
    for li, (width, b) in enumerate(zip(nouts, biases), 1):
        if mode == "neuron" and (not isinstance(b, Sequence) or len(b) != width):
            got = len(b) if isinstance(b, Sequence) else type(b).__name__
            raise ValueError(f"biases: layer {li} expected {width} per-neuron biases, got {got}")
        items = [b] if mode == "shared" else b
        out.append([finite_real(x, f"biases: layer {li} bias") for x in items])
    return out
