"""A model's batch from ONE sample's network graph: :func:`compile_model`.

:func:`~.graph.compile_batch` takes every sample's loss graph, built eagerly, and walks each to
check that it has sample 0's structure - the cost of an eager forward pass of the whole batch,
O(samples × edges), before the first compiled step. For a model of :mod:`micrograd_mlp.nn`
(``MLP``, ``Layer``, ``Neuron``) and a loss of ``nn.losses.LOSSES`` most of that is known without
building it:

* the network's graph does not depend on the data: its nodes are ``affine`` and activation nodes
  over the inputs, whatever their values - so it is built once, on input leaves holding sample 0's
  values, and sample ``s`` differs only in those leaves' values;
* the loss is built for every distinct target, ``loss_fn(outputs, t_s)`` on those same output
  nodes - a few nodes each; the losses are functions of their arguments, so samples with the same
  target (to the bit) share one - and each is checked to have sample 0's structure (its own nodes,
  and which network nodes they read); its leaves (the targets, constants) give the rest of sample
  ``s``'s row.

The result is the :class:`~.graph.BatchGraph` that ``compile_batch`` builds from all the graphs:
the same listing, the same rows. Anything else - another model or loss, inputs that are not
finite numbers, a loss whose structure differs between samples, ``binary_cross_entropy`` on an
output that is not a ``sigmoid`` node (it checks the output's *value*) - takes
``compile_batch``'s path, with its checks and errors.
"""

from __future__ import annotations

import math
from itertools import chain
from typing import Any, Iterable, Sequence

from ..core import Value, enable_grad
from ..core.checks import one_of, type_name
from ..nn.losses import LOSSES, binary_cross_entropy, half_squared_error
from ..nn.modules import MLP, Layer, Neuron
from .graph import BatchGraph, _leaves, compile_batch
from .trace import Listing, trace_sample

Structure = list[tuple[Any, ...]]


def compile_model(model: Any, data: Iterable[tuple[Any, Any]],
                  loss_fn: Any = half_squared_error, params: object = None,
                  reduction: str = "mean", penalty: Value | None = None) -> BatchGraph:
    """``compile_batch([loss_fn(model(x), t) for x, t in data], params, reduction, penalty)``,
    built from one sample's network graph when that is exact (see the module docstring).

    ``params``: the Values to differentiate (default: ``model.parameters()``).
    """
    one_of(reduction, "compile_model: reduction", ("mean", "sum"))
    if penalty is not None and not isinstance(penalty, Value):  # compile_batch's refusal, first
        raise TypeError(f"compile_model: penalty must be a Value, got {type_name(penalty)}")
    samples = list(data)
    if not samples:
        raise ValueError("compile_model: data is empty")
    ps = _leaves(model if params is None else params, "params")
    found = _one_graph(model, samples, loss_fn, ps)
    if found is not None:
        template, listing, leaves, rows = found
        return BatchGraph(template, leaves, rows, ps, reduction, penalty, listing=listing)
    return compile_batch([loss_fn(model(x), t) for x, t in samples], ps, reduction, penalty)


def _inputs(xs: list[Any], n: int) -> list[list[float]] | None:
    """Every ``x`` of ``xs`` as ``n`` floats if each is a list or tuple of finite numbers (what
    the model turns into leaves unchanged), else None."""
    if any(type(x) not in (list, tuple) or len(x) != n for x in xs):
        return None
    flat = list(chain.from_iterable(xs))
    if not set(map(type, flat)) <= {float, int}:  # (not bool, not a subclass)
        return None
    try:
        values = list(map(float, flat))
    except OverflowError:  # an int beyond the floats
        return None
    if not all(map(math.isfinite, values)):
        return None
    return [values[k:k + n] for k in range(0, len(values), n)]


def _one_graph(model: Any, samples: Sequence[tuple[Any, Any]], loss_fn: Any, params: list[Value]
               ) -> tuple[Value, Listing, list[Value], list[tuple[float, ...]]] | None:
    """(sample 0's loss, its listing, its leaves that are not parameters, every sample's row) -
    or None if this path cannot vouch for the result."""
    if type(model) not in (MLP, Layer, Neuron) or loss_fn not in LOSSES.values():
        return None
    nin = model.nin
    inputs = _inputs([x for x, _ in samples], nin)
    if inputs is None:
        return None
    with enable_grad():
        xs = [Value(v, label=f"i{k}") for k, v in enumerate(inputs[0], 1)]
        outputs = model(xs)
        seen = [outputs] if isinstance(outputs, Value) else list(outputs)
        if loss_fn is binary_cross_entropy and any(
                o.op is None or o.op.name != "sigmoid" for o in seen):
            return None  # it checks the outputs' values: each sample's own
        # the loss reads the network through its outputs (binary_cross_entropy also through
        # their operands, the logits): its walk stops at those (see _loss_part)
        ends = {id(v) for o in seen for v in (o, *o._prev)}
        leaves_in = set(map(id, chain(xs, params)))
        template = loss_fn(outputs, samples[0][1])
        if not isinstance(template, Value):
            return None
        found = _loss_part(template, ends, leaves_in)
        if found is None:
            return None
        structure, own = found
        parts = [[v.data for v in own]]
        built: dict[object, list[float]] = {}  # a loss is a function of (outputs, t): one per t
        first = _key(samples[0][1])
        if first is not None:
            built[first] = parts[0]
        for _, t in samples[1:]:
            key = _key(t)
            part = built.get(key) if key is not None else None
            if part is None:
                found = _loss_part(loss_fn(outputs, t), ends, leaves_in)
                if found is None or found[0] != structure:
                    return None
                part = [v.data for v in found[1]]
                if key is not None:
                    built[key] = part
            parts.append(part)
    listing, leaves = trace_sample(template, params)  # (the one walk of the whole graph)
    # sample s's row: its inputs, its loss's leaves and the constants (cells), as `leaves` orders
    # them (picks)
    slot = {id(x): k for k, x in enumerate(xs)}
    slot.update({id(v): nin + j for j, v in enumerate(own)})
    constants: list[float] = []
    picks = []
    for v in leaves:
        k = slot.get(id(v))
        if k is None:
            k = nin + len(own) + len(constants)
            constants.append(v.data)
        picks.append(k)
    rows = []
    for x, part in zip(inputs, parts):
        cells = [*x, *part, *constants]
        rows.append(tuple(map(cells.__getitem__, picks)))
    return template, listing, leaves, rows


def _key(t: object) -> object:
    """A key telling targets apart to the bit (``0.0`` from ``-0.0``), or None."""
    if type(t) is float:
        return t.hex()
    if type(t) in (list, tuple) and all(type(v) is float for v in t):  # type: ignore[attr-defined]
        return tuple(v.hex() for v in t)  # type: ignore[attr-defined]
    return None


def _loss_part(root: Value, ends: set[int], network: set[int]
               ) -> tuple[Structure, list[Value]] | None:
    """The nodes of ``root``'s graph up to the network's last nodes ``ends`` (its outputs and
    their operands) as structure (per node: op, constant, operands - an end by its identity, a
    loss node by its position), in post-order, and those that are leaves; None if the walk meets
    a ``network`` leaf (an input or a parameter).

    Any other network node reaches an input without passing an end (an nn model is layers, and
    every node of a layer depends on the inputs; the ends are the last layer's nodes and their
    operands), so the walk either stays in the loss's own nodes or meets a network leaf.
    """
    if id(root) in ends:
        return [("network", id(root))], []
    position: dict[int, int] = {}
    structure: Structure = []
    leaves: list[Value] = []
    stack: list[tuple[Value, int]] = [(root, 0)]
    while stack:
        v, i = stack[-1]
        prev = v._prev
        if i < len(prev):
            stack[-1] = (v, i + 1)
            c = prev[i]
            if id(c) not in position and id(c) not in ends:
                stack.append((c, 0))
            continue
        stack.pop()
        position[id(v)] = len(structure)
        if v.op is None:
            if id(v) in network:
                return None
            structure.append(("leaf",))
            leaves.append(v)
        else:
            structure.append((v.op, v._k, tuple(("network", id(c)) if id(c) in ends
                                                 else position[id(c)] for c in prev)))
    return structure, leaves
