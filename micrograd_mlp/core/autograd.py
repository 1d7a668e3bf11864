"""Functional gradients: :func:`grad`, including gradients of gradients (``create_graph=True``)."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Sequence

from .checks import type_name
from .errors import OpOverflowError
from .modes import enable_grad
from .value import ONE_PASS_AT_A_TIME, Value, chain_rule


def grad(output: Value, inputs: Value | Sequence[Value], create_graph: bool = False
         ) -> list[Value]:
    """Return ∂output/∂x for each ``x`` in ``inputs``, leaving every ``.grad`` as it was.

    The backward loop of :meth:`Value.backward` (:func:`~micrograd_mlp.core.value.chain_rule`),
    run from zero, read, and undone: every ``.grad`` is put back (passes run one at a time, so
    concurrent calls on one graph give the right numbers). With ``create_graph=True`` each local
    partial is the table's rule evaluated on Values, so the gradients are Values whose own graph is
    recorded and can be differentiated again (second derivatives, Hessians); otherwise they are
    constant leaves. An input ``output`` does not depend on gets ``Value(0.0)``.
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad: output must be a Value, got {type_name(output)}")
    wanted = [inputs] if isinstance(inputs, Value) else list(inputs)
    for i, x in enumerate(wanted):
        if not isinstance(x, Value):
            raise TypeError(f"grad: inputs[{i}] must be a Value, got {type_name(x)}")
    with ONE_PASS_AT_A_TIME, enable_grad() if create_graph else nullcontext():
        seed = Value(1.0) if create_graph else 1.0
        before, _ = chain_rule(output, seed, fresh=True, on_values=create_graph)
        found = [x.grad if x in before else 0.0 for x in wanted]
        for v, g in before.items():  # every .grad as it was
            v.grad = g
    if create_graph:
        return [g if isinstance(g, Value) else Value(g) for g in found]
    for i, g in enumerate(found):
        if g - g != 0.0:  # a Value cannot hold it; backward() would leave it in .grad
            err = OpOverflowError(
                f"grad: ∂output/∂inputs[{i}] is not a finite float ({g!r}): the gradient "
                "overflowed on the way back; run it under detect_anomaly() to name the op")
            err.phase, err.node = "backward", wanted[i]
            raise err
    return [Value(g) for g in found]

