"""Functional gradients: :func:`grad`, including gradients of gradients (``create_graph=True``)."""

from __future__ import annotations

from typing import Sequence

from .checks import type_name
from .errors import OpOverflowError
from .modes import enable_grad
from .value import Value, gradients


def grad(output: Value, inputs: Value | Sequence[Value], create_graph: bool = False
         ) -> list[Value]:
    """Return ∂output/∂x for each ``x`` in ``inputs`` without touching any ``.grad``.

    The same backward loop as :meth:`Value.backward` (:func:`~micrograd_mlp.core.value.gradients`),
    its gradients returned instead of written, so concurrent calls on one graph never interfere.
    With ``create_graph=True`` each local partial is the table's rule evaluated on Values, so the
    gradients are Values whose own graph is recorded and can be differentiated again (second
    derivatives, Hessians); otherwise they are constant leaves. An input ``output`` does not
    depend on gets ``Value(0.0)``.
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad: output must be a Value, got {type_name(output)}")
    wanted = [inputs] if isinstance(inputs, Value) else list(inputs)
    for i, x in enumerate(wanted):
        if not isinstance(x, Value):
            raise TypeError(f"grad: inputs[{i}] must be a Value, got {type_name(x)}")
    if create_graph:
        with enable_grad():
            found = gradients(output, Value(1.0), on_values=True)
        gs = [found.get(x, 0.0) for x in wanted]
        return [g if isinstance(g, Value) else Value(g) for g in gs]
    found = gradients(output, 1.0)
    result = []
    for i, x in enumerate(wanted):
        g = found.get(x, 0.0)
        if g - g != 0.0:  # a Value cannot hold it; backward() would leave it in .grad
            err = OpOverflowError(
                f"grad: ∂output/∂inputs[{i}] is not a finite float ({g!r}): the gradient "
                "overflowed on the way back; run it under detect_anomaly() to name the op")
            err.phase, err.node = "backward", x
            raise err
        result.append(Value(g))
    return result
