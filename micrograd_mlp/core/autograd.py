"""Functional gradients: :func:`grad`, including gradients of gradients (``create_graph=True``)."""

from __future__ import annotations

from typing import Sequence

from .anomaly import _ANOMALY, checked_propagate
from .checks import type_name
from .errors import OpOverflowError
from .generated import propagate, value_partials
from .modes import enable_grad
from .value import Value, topological_order

__all__ = ["grad"]


def _scaled(g: Value, partial: Value | float) -> Value:
    """g · partial, skipping the multiply (and its graph node) when the partial is 1."""
    if type(partial) is float and partial == 1.0:
        return g
    return g * partial


def grad(output: Value, inputs: Value | Sequence[Value], create_graph: bool = False
         ) -> list[Value]:
    """Return ∂output/∂x for each ``x`` in ``inputs`` without touching any ``.grad``.

    With ``create_graph=True`` the gradients are Values whose own graph is recorded, so they can
    be differentiated again (second derivatives, Hessians): each local partial is the table's rule
    evaluated on Values (:func:`~micrograd_mlp.core.generated.value_partials`). Otherwise they are
    constant leaves. An input ``output`` does not depend on gets ``Value(0.0)``.
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad: output must be a Value, got {type_name(output)}")
    wanted = [inputs] if isinstance(inputs, Value) else list(inputs)
    for i, x in enumerate(wanted):
        if not isinstance(x, Value):
            raise TypeError(f"grad: inputs[{i}] must be a Value, got {type_name(x)}")
    order = topological_order(output)
    if not create_graph:
        found: dict[int, float]
        # Run the float pass on scratch gradients, then restore every .grad.
        previous = {node: node.grad for node in order}
        try:
            for node in order:
                node.grad = 0.0
            output.grad = 1.0
            if _ANOMALY.get():
                checked_propagate(order)
            else:
                propagate(order)
            # only inputs in the graph: another input's .grad is stale, its gradient is 0
            found = {id(x): x.grad for x in wanted if x in previous}
        finally:
            for node, old in previous.items():
                node.grad = old
        for i, x in enumerate(wanted):
            g = found.get(id(x), 0.0)
            if g - g != 0.0:  # a Value cannot hold it; backward() would leave it in .grad
                err = OpOverflowError(
                    f"grad: ∂output/∂inputs[{i}] is not a finite float ({g!r}): the gradient "
                    "overflowed on the way back; run it under detect_anomaly() to name the op")
                err.phase, err.node = "backward", x
                raise err
        return [Value(found.get(id(x), 0.0)) for x in wanted]

    grads: dict[Value, Value] = {output: Value(1.0)}
    with enable_grad():
        for node in reversed(order):
            g_node = grads.get(node)
            if g_node is None or node._op is None:
                continue
            for operand, partial in zip(node._prev, value_partials(node)):
                contribution = _scaled(g_node, partial)
                previous_grad = grads.get(operand)
                grads[operand] = contribution if previous_grad is None else \
                    previous_grad + contribution
    result = []
    for x in wanted:
        gx = grads.get(x)
        result.append(Value(0.0) if gx is None else (gx if isinstance(gx, Value) else Value(gx)))
    return result
