"""Model clusters: ``draw_graph(..., model=...)`` groups the graph's nodes by layer and neuron.

:func:`model_layers` reads a model's layers and neurons (an MLP, or any Module through
``named_modules()``); :func:`model_groups` matches them to the nodes of a recorded graph by
identity (a neuron's weights are the weight operands of its ``affine`` nodes) and by label
(``net_h1``, ``out_h1``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core import Value
from ..core.checks import type_name


@dataclass
class NeuronGroup:
    """The graph nodes of one neuron."""

    layer: int  # 0-based layer index
    index: int  # 0-based index in the layer
    name: str
    activation: str
    members: list[Value] = field(default_factory=list)  # graph nodes owned by this neuron
    net: list[Value] = field(default_factory=list)
    out: list[Value] = field(default_factory=list)
    params: list[Value] = field(default_factory=list)  # its weights and bias (shared too)


@dataclass
class Clusters:
    """What ``model=`` groups: neurons matched to graph nodes, per layer."""

    groups: list[NeuronGroup] = field(default_factory=list)
    owner: dict[Value, NeuronGroup] = field(default_factory=dict)  # node -> its neuron
    shared: list[list[Value]] = field(default_factory=list)  # per layer: its shared biases
    titles: list[str] = field(default_factory=list)  # per layer: "layer 1", or attribute name
    loose: list[tuple[str, list[Value]]] = field(default_factory=list)  # other parameters


def _is_neuron(module: object) -> bool:
    return all(hasattr(module, a) for a in ("name", "weights", "bias"))


def _title(path: str) -> str:
    """A cluster title from a module's dotted name: ``mlp.layers.0`` → ``mlp layer 1``."""
    head, _, last = path.rpartition(".")
    if last.isdigit() and head.rpartition(".")[2] == "layers":
        return f"{head.rpartition('.')[0]} layer {int(last) + 1}".strip()
    return path


def weight_key(node: Value) -> tuple[int, ...]:
    """An ``affine`` node's weight operands, by identity (what matches it to its neuron)."""
    n = int(node.attribute or 0)
    return tuple(id(w) for w in node.operands[:n])


def model_layers(model: object
                 ) -> tuple[list[tuple[str, list[Any]]], list[tuple[str, list[Value]]]]:
    """``model``'s layers as ``(title, neurons)`` and its other parameters as ``(title, Values)``.

    An MLP (``.layers`` of ``.neurons``) gives ``layer 1``, ``layer 2``, ... . Any other
    :class:`~micrograd_mlp.nn.Module` is read through ``named_modules()``: each module with
    ``.neurons`` (a Layer) is a layer titled by its attribute name, a neuron outside any layer a
    layer of its own; the Values registered outside every neuron (``self.w = Value(...)``) are
    grouped by the module that holds them (the model's own under its class name)."""
    layers = getattr(model, "layers", None)
    entries = _mlp_layers(layers) if layers is not None else _module_layers(model)
    owned = {id(p) for _, neurons in entries for nr in neurons
             for p in [*nr.weights, nr.bias] if p is not None}
    loose: dict[str, list[Value]] = {}
    named_parameters = getattr(model, "named_parameters", None)
    if named_parameters is not None and layers is None:
        for name, value in named_parameters(include_frozen=True):
            if id(value) not in owned:
                path = name.rpartition(".")[0]
                loose.setdefault(_title(path) or type(model).__name__, []).append(value)
    return entries, list(loose.items())


def _mlp_layers(layers: Any) -> list[tuple[str, list[Any]]]:
    """An MLP's ``.layers``: ``layer 1``, ``layer 2``, ... (a missing attribute is refused)."""
    entries = []
    for li, layer in enumerate(layers):
        neurons = getattr(layer, "neurons", None)
        if neurons is None:
            raise TypeError(f"draw_graph: model.layers[{li}] has no .neurons")
        for ni, neuron in enumerate(neurons):
            for attr in ("name", "weights", "bias"):
                if not hasattr(neuron, attr):
                    raise TypeError(
                        f"draw_graph: model.layers[{li}].neurons[{ni}] has no .{attr}")
        entries.append((f"layer {li + 1}", list(neurons)))
    return entries


def _module_layers(model: object) -> list[tuple[str, list[Any]]]:
    """A Module's layers, read through ``named_modules()``."""
    named_modules = getattr(model, "named_modules", None)
    if named_modules is None:
        raise TypeError(
            f"draw_graph: model must be a Module (an MLP, or a Module subclass of your own), "
            f"got {type_name(model)}"
        )
    entries = []
    inside: set[int] = set()
    for path, module in named_modules():
        neurons = getattr(module, "neurons", None)
        if isinstance(neurons, (list, tuple)) and neurons and all(map(_is_neuron, neurons)):
            entries.append((_title(path) or type(module).__name__, list(neurons)))
            inside.update(id(n) for n in neurons)
        elif _is_neuron(module) and id(module) not in inside:
            entries.append((_title(path) or f"neuron {module.name}", [module]))
            inside.add(id(module))
    return entries


def model_groups(model: object, order: list[Value]) -> Clusters:
    """Match ``model``'s neurons (:func:`model_layers`) to graph nodes.

    A neuron's net nodes are the ``affine`` nodes whose weight operands are the neuron's own
    weight Values (identity), or (not ``affine``) nodes labelled ``net_{name}``; its output
    nodes are nodes labelled ``out_{name}`` computed from a net node. Weights and a per-neuron
    bias belong to the neuron; a layer-shared bias belongs to the layer.
    """
    layers, loose = model_layers(model)
    in_graph = set(order)
    found = Clusters(titles=[title for title, _ in layers])
    nets_by_weights: dict[tuple[int, ...], list[Value]] = {}
    by_label: dict[str, list[Value]] = {}
    for node in order:
        if node.op is not None and node.op.name == "affine":
            nets_by_weights.setdefault(weight_key(node), []).append(node)
        elif node.label is not None:  # (an affine node is matched by its weights, not its name:
            by_label.setdefault(node.label, []).append(node)  # two Layers may both have an h1)
    for li, (_, neurons) in enumerate(layers):
        uses: dict[int, int] = {}  # id(bias) -> how many neurons of the layer hold it
        for nr in neurons:
            b0 = getattr(nr, "bias", None)
            if b0 is not None:
                uses[id(b0)] = uses.get(id(b0), 0) + 1
        layer_shared: list[Value] = []
        for ni, neuron in enumerate(neurons):
            g = NeuronGroup(li, ni, str(neuron.name), str(getattr(neuron, "activation", "")))
            nets = list(nets_by_weights.get(tuple(id(w) for w in neuron.weights), []))
            own = _match_neuron(g, neuron, nets, by_label, in_graph, uses, layer_shared)
            for node in own:
                if node not in found.owner:
                    found.owner[node] = g
                    g.members.append(node)
            found.groups.append(g)
        found.shared.append(layer_shared)
    found.loose = [(title, kept) for title, values in loose
                   if (kept := [v for v in values if v in in_graph and v not in found.owner])]
    if not any(g.net for g in found.groups) and not found.loose:
        raise ValueError(
            "draw_graph: none of the model's neurons or parameters appear in this graph (no "
            "net_ node uses their weights); was the graph built by a forward pass of this model?"
        )
    return found


def _match_neuron(g: NeuronGroup, neuron: Any, nets: list[Value],
                  by_label: dict[str, list[Value]], in_graph: set[Value], uses: dict[int, int],
                  layer_shared: list[Value]) -> list[Value]:
    """Fill ``g``'s net, out and params; return the nodes the neuron owns. A bias held by more
    than one neuron of the layer goes to ``layer_shared`` (once) instead."""
    net_set = set(nets)
    for node in by_label.get(f"net_{g.name}", []):
        if node not in net_set:
            nets.append(node)
            net_set.add(node)
    outs = [node for node in by_label.get(f"out_{g.name}", [])
            if node not in net_set and any(p in net_set for p in node.operands)]
    g.net, g.out = nets, outs
    params = [w for w in neuron.weights if w in in_graph]
    bias = neuron.bias
    if bias is not None and bias in in_graph:
        g.params = [*params, bias]
        if uses.get(id(bias), 0) > 1:
            if all(b is not bias for b in layer_shared):
                layer_shared.append(bias)
        else:
            params.append(bias)
    else:
        g.params = params
    return params + nets + outs
