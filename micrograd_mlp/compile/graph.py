"""Compiled graphs: run the generated code; where it refuses a step, the eager engine runs it.

For a graph whose *structure* does not change between steps (a network and its loss), the eager
engine rebuilds the same nodes every step. :func:`compile_graph` traces the graph once
(:mod:`.trace`), writes straight-line Python for it from the primitive table (:mod:`.emit`; the
layer-lowered NumPy code of a batch: :mod:`.lowered`) and runs that::

    loss = half_squared_error(model(x), t)            # build the graph once, eagerly
    fast = compile_graph(loss, params=model.parameters())
    print(fast.listing)                               # v7 = sigmoid(v6) ...
    value, grads = fast.forward_backward()            # at the parameters' current .data
    value, grads = fast.forward_backward([0.1, 0.2, ...])   # or at new parameter values
    history = fast.train(steps=10000, lr=0.5)         # SGD, the loop inside the generated code

The code does the float operations of :meth:`Value.backward`, in its order, so the results are the
eager engine's - in practice bit for bit. Every value is checked for being finite; a step that
fails the check (or raises) is run again by the eager engine, so its error - or its non-finite
gradient - is exactly eager :class:`Value`'s.
"""

from __future__ import annotations

import ast
import contextlib
import math
import threading
import warnings
from itertools import pairwise
from operator import add, attrgetter
from types import SimpleNamespace
from typing import Any, Callable, Iterable, Sequence

from ..core import Primitive, Value, enable_grad, topological_order
from ..core.checks import (
    finite_real,
    nonnegative_int,
    one_of,
    positive_int,
    positive_real,
    type_name,
)
from ..core.functions import namespace
from ..core.value import apply
from ..nn.training import reduce_batch
from .emit import GeneratedCode, emit
from .inline import parse
from .lower import find_layers, find_reductions
from .lowered import emit_lowered, emit_reduced
from .steps import run_steps
from .trace import Listing, shape, trace


# --- the eager oracle -----------------------------------------------------------------------------
def _apply(op: Primitive, operands: list[Value], constant: float | None) -> Value:
    """``op`` on ``operands`` by the eager engine (``core.value.apply``, as every operator)."""
    return apply(op, tuple(operands), constant)


def _rebuild(order: Sequence[Value], leaves: dict[int, Value]) -> Value:
    """The graph of ``order`` built again by the eager engine; leaf ``v`` becomes
    ``leaves[id(v)]`` (any other leaf: a new constant). Returns the new root."""
    new: dict[int, Value] = {}
    with enable_grad():
        for node in order:
            if node.op is not None:
                v = _apply(node.op, [new[id(a)] for a in node.operands], node.attribute)
                v.label = node.label
            else:
                v = leaves[id(node)] if id(node) in leaves else Value(node.data, label=node.label)
            new[id(node)] = v
    return v


def _gradients(root: Value, params: list[Value]) -> tuple[float, list[float]]:
    root.backward()
    return root.data, [p.grad for p in params]


# --- user ops the compiler cannot write ----------------------------------------------------------
_REFUSE = {name: f"def {name}(*args):\n    raise FloatingPointError  # not compiled: eager runs"
           for name in ("forward", "forward_backward", "train")}


def _unknown_names(op: Primitive) -> list[str]:
    """The names the rules of user op ``op`` read that are neither its operands (``out``, the
    constant) nor a function the compiler knows (``core.functions.FUNCTIONS``), in order; a rule
    that reads anything but names, numbers and calls of names (``math.exp``) adds its text."""
    known = {*op.operand_names, "out", op.constant or "k", *namespace("float")}
    unknown: list[str] = []
    for rule in (op.forward_rule or "", *(op.partial_rules or ())):
        for node in ast.walk(parse(rule)):
            if isinstance(node, ast.Name) and node.id not in known:
                unknown.append(node.id)
            elif isinstance(node, (ast.Attribute, ast.Subscript, ast.Lambda, ast.comprehension)):
                unknown.append(ast.unparse(node))
    return list(dict.fromkeys(unknown))


def not_compilable(listing: Listing) -> str | None:
    """Why the compiler cannot write ``listing`` - a user op (:func:`micrograd_mlp.define_op`)
    whose rules' source cannot be read, or that calls what the compiler does not know - or None.
    Such a graph runs on the eager engine (each step is a refused step), with a warning."""
    for op in dict.fromkeys(ins.op for ins in listing.instructions if ins.op.user):
        if op.forward_rule is None or op.partial_rules is None:
            return (f"user op {op.name!r} cannot be compiled: the source of its forward or "
                    f"partials cannot be read (define them as lambdas or functions in a file)")
        unknown = _unknown_names(op)
        if unknown:
            return (f"user op {op.name!r} cannot be compiled: its rules use "
                    f"{', '.join(unknown)}, which the compiler does not know (it knows "
                    f"{', '.join(sorted(namespace('float')))})")
    return None


# --- arguments ------------------------------------------------------------------------------------
_op = attrgetter("op")


def _leaves(items: object, what: str) -> list[Value]:
    """``items`` (Values, or a module with ``parameters()``) as a list of distinct leaf Values."""
    parameters = getattr(items, "parameters", None)
    if callable(parameters):
        items = parameters()
    if isinstance(items, Value):
        items = [items]
    if not isinstance(items, Iterable) or isinstance(items, (str, bytes)):
        raise TypeError(f"compile_graph: {what} must be a list of Values, "
                        f"got {type_name(items)}")
    values = list(items)
    if set(map(type, values)) <= {Value} and not any(map(_op, values)) and \
            len(set(map(id, values))) == len(values):
        return values  # distinct leaf Values: the common case, checked without a Python loop
    seen: dict[int, int] = {}
    for i, v in enumerate(values):
        if not isinstance(v, Value):
            raise TypeError(f"compile_graph: {what}[{i}] must be a Value, got {type_name(v)}")
        if v.op is not None:
            raise ValueError(f"compile_graph: {what}[{i}] must be a leaf Value, but it is computed "
                             f"by {v.op.name!r}")
        if id(v) in seen:
            raise ValueError(f"compile_graph: {what}[{i}] is the same Value as "
                             f"{what}[{seen[id(v)]}]")
        seen[id(v)] = i
    return values


def _floats(values: object, expected: int, what: str) -> list[float]:
    """``values`` (numbers or Values) as a list of ``expected`` finite floats."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{what} must be a sequence of {expected} numbers, "
                        f"got {type_name(values)}")
    out = [finite_real(x.data if isinstance(x, Value) else x, f"{what}[{i}]")
           for i, x in enumerate(values)]
    if len(out) != expected:
        raise ValueError(f"{what}: expected {expected} values, got {len(out)}")
    return out


# --- what every compiled graph shares -------------------------------------------------------------
class _Program:
    """A listing, the code generated for it on one target, and running that code: each call
    falls back to :meth:`_eager_forward` / :meth:`_eager_forward_backward` when the code refuses."""

    eager_reason: str | None = None  # why this graph runs on the eager engine (see below)

    def __init__(self, listing: Listing, params: Sequence[Value], seed: str = "1.0") -> None:
        self.listing = listing
        self.params: tuple[Value, ...] = tuple(params)
        self.node_count = len(listing.instructions)  # values computed per sample and pass
        self._emit_seed = seed
        self.eager_reason = not_compilable(listing)
        if self.eager_reason is not None:
            warnings.warn(f"compile: {self.eager_reason}; this graph runs on the eager engine "
                          f"(same results, eager speed)", stacklevel=4)

    @property
    def _code(self) -> GeneratedCode:
        """The generated code, written on first use (a batch that is only lowered never needs
        its scalar code)."""
        code: GeneratedCode | None = self.__dict__.get("_generated")
        if code is None:
            functions = _REFUSE if self.eager_reason is not None else \
                emit(self.listing, self._emit_seed)
            code = GeneratedCode(functions, namespace("float"), "scalar")
            self.__dict__["_generated"] = code
        return code

    @_code.setter
    def _code(self, code: GeneratedCode) -> None:
        self.__dict__["_generated"] = code

    @property
    def source(self) -> str:
        """The generated Python source (``forward``, ``forward_backward``, ``train``)."""
        return self._code.text

    def _function(self, name: str) -> Callable[..., Any]:
        """The generated function ``name`` (compiled on first use)."""
        return self._code.function(name)

    _seed = 1.0  # the `seed` argument of the code: a batch's scale (1/n for a mean)

    # the eager engine's answer for a step the code refused
    def _eager_forward(self, P: list[float], X: Any) -> float:
        raise NotImplementedError

    def _eager_forward_backward(self, P: list[float], X: Any) -> tuple[float, list[float]]:
        raise NotImplementedError

    def _param_values(self, params: object) -> list[float]:
        if params is None:
            return [p.data for p in self.params]
        return _floats(params, len(self.params), "params")

    # Not finite, or raised: the eager engine runs the step and says what (called after the
    # handler, so that its error is not chained to the generated code's).
    def _forward(self, P: list[float], X: Any) -> float:
        try:
            return self._function("forward")(P, X, self._seed)  # type: ignore[no-any-return]
        except (ArithmeticError, ValueError):
            pass
        return self._eager_forward(P, X)

    def _forward_backward(self, P: list[float], X: Any) -> tuple[float, list[float]]:
        try:
            return self._function("forward_backward")(P, X, self._seed)  # type: ignore
        except (ArithmeticError, ValueError):
            pass
        return self._eager_forward_backward(P, X)

    def _accumulate(self, grads: list[float]) -> None:
        for p, g in zip(self.params, grads):
            p.grad += g

    def _train(self, steps: int, lr: float, params: list[float] | None, X: Any) -> list[float]:
        """Plain SGD ``p ← p − lr · ∂loss/∂p``; see :meth:`CompiledGraph.train`."""
        steps = nonnegative_int(steps, "train: steps")
        lr = positive_real(lr, "train: lr")  # as SGD: lr <= 0 would not descend
        P = self._param_values(params)
        run = self._function("train")
        history: list[float] = []
        try:
            while len(history) < steps:
                start, done = list(P), len(history)
                with contextlib.suppress(ArithmeticError, ValueError):  # a refused step is
                    run(P, X, self._seed, lr, steps - done, history)  # run eagerly below
                if any(x - x != 0.0 for x in P):  # the last recorded step's update overflowed:
                    recorded = len(history) - done  # run again to just before it (the same
                    del history[done:]  # bits), then refuse that step below
                    P[:] = start
                    if recorded > 1:
                        run(P, X, self._seed, lr, recorded - 1, history)
                if len(history) == steps:
                    break
                loss, grads = self._eager_forward_backward(P, X)  # the step the code refused
                for p, g in zip(self.params, grads):
                    if not math.isfinite(g):
                        raise ValueError(f"train: gradient of parameter {p.label or '?'} is not "
                                         f"finite ({g!r}) at step {len(history)}; no step taken")
                new = [x - lr * g for x, g in zip(P, grads)]
                for p, x in zip(self.params, new):
                    if x - x != 0.0:
                        raise ValueError(f"train: update of parameter {p.label or '?'} is not a "
                                         f"finite float at step {len(history)} (learning rate "
                                         f"{lr!r} too large?); no step taken")
                history.append(loss)
                P = new
        finally:
            if params is None:
                for p, x in zip(self.params, P):
                    p.data = x
            else:
                params[:] = P
        return history


# --- one graph ------------------------------------------------------------------------------------
class CompiledGraph(_Program):
    """A traced graph and the Python generated for it. Build with :func:`compile_graph`.

    Attributes: ``root``, ``params``, ``inputs`` (the traced Values), ``listing`` (the traced
    instructions; ``print`` it), ``source`` (the generated code), ``node_count``.
    """

    def __init__(self, root: Value, params: Sequence[Value], inputs: Sequence[Value]) -> None:
        self.root = root
        self.inputs: tuple[Value, ...] = tuple(inputs)
        super().__init__(trace(root, params, inputs), params)

    def _input_values(self, inputs: object) -> list[float]:
        if inputs is None:
            return [x.data for x in self.inputs]
        return _floats(inputs, len(self.inputs), "inputs")

    def forward(self, params: Sequence[float] | None = None,
                inputs: Sequence[float] | None = None) -> float:
        """The root's value at ``params`` / ``inputs`` (default: the Values' current ``.data``)."""
        return self._forward(self._param_values(params), self._input_values(inputs))

    def forward_backward(self, params: Sequence[float] | None = None,
                         inputs: Sequence[float] | None = None) -> tuple[float, list[float]]:
        """``(loss, [∂loss/∂p for p in params])`` at ``params`` / ``inputs``; nothing is written
        to any Value. Defaults: the Values' current ``.data``."""
        return self._forward_backward(self._param_values(params), self._input_values(inputs))

    def backward(self, inputs: Sequence[float] | None = None) -> float:
        """Eager-style: add ∂loss/∂p to each parameter's ``.grad`` (leaves accumulate, as with
        :meth:`Value.backward`) at the parameters' ``.data``; return the loss."""
        loss, grads = self.forward_backward(None, inputs)
        self._accumulate(grads)
        return loss

    def train(self, steps: int, lr: float, params: list[float] | None = None,
              inputs: Sequence[float] | None = None) -> list[float]:
        """Plain SGD ``p ← p − lr · ∂loss/∂p`` for ``steps`` steps; returns each step's loss
        (before its update), like :func:`micrograd_mlp.training.train`.

        ``params=None`` trains the parameter Values (their ``.data`` is updated); a list of floats
        is updated in place instead. The loop runs inside the generated code. A step whose loss
        or gradient is not finite is run eagerly: its error is raised (``ValueError`` for a
        non-finite gradient or update) with the parameters as they were before it.
        """
        return self._train(steps, lr, params, self._input_values(inputs))

    def replay(self, params: Sequence[float] | None = None,
               inputs: Sequence[float] | None = None) -> Value:
        """The traced graph rebuilt by the eager engine at ``params`` / ``inputs`` (new parameter
        leaves, labels kept); any error is the engine's own."""
        return self._replay(self._param_values(params), self._input_values(inputs))[0]

    def eager_forward_backward(self, params: Sequence[float] | None = None,
                               inputs: Sequence[float] | None = None
                               ) -> tuple[float, list[float]]:
        """:meth:`forward_backward` by the eager engine (the oracle a refused step uses)."""
        return self._eager_forward_backward(self._param_values(params),
                                            self._input_values(inputs))

    def _replay(self, P: list[float], X: list[float]) -> tuple[Value, list[Value]]:
        fresh = [Value(x, label=p.label) for p, x in zip(self.params, P)]
        leaves = {id(p): v for p, v in zip(self.params, fresh)}
        leaves.update({id(x): Value(d, label=x.label) for x, d in zip(self.inputs, X)})
        return _rebuild(topological_order(self.root), leaves), fresh

    def _eager_forward(self, P: list[float], X: list[float]) -> float:
        return self._replay(P, X)[0].data

    def _eager_forward_backward(self, P: list[float], X: list[float]) -> tuple[float, list[float]]:
        return _gradients(*self._replay(P, X))

    def __repr__(self) -> str:
        return (f"<CompiledGraph: {len(self.params)} params, {len(self.inputs)} inputs, "
                f"{self.node_count} values computed per pass>")


# --- batches --------------------------------------------------------------------------------------
class _Batch(_Program):
    """The interface of a compiled batch: calls take parameter values only (the data is fixed).

    ``penalty`` (optional): a compiled graph over the same parameters only (an L2 term
    α·Σ p²), added to the batch loss: loss = reduce(losses) + penalty."""

    penalty: CompiledGraph | None = None

    def _data(self) -> Any:
        raise NotImplementedError

    def _forward(self, P: Any, X: Any) -> float:
        loss = super()._forward(P, X)
        if self.penalty is not None:
            loss = loss + self.penalty._forward(list(P), [])
        return loss

    def _forward_backward(self, P: Any, X: Any) -> tuple[float, list[float]]:
        loss, grads = super()._forward_backward(P, X)
        if self.penalty is not None:
            extra, more = self.penalty._forward_backward(list(P), [])
            loss, grads = loss + extra, [g + h for g, h in zip(grads, more)]
        return loss, grads

    def forward(self, params: Sequence[float] | None = None) -> float:
        """The batch loss at ``params`` (default: the parameters' current ``.data``)."""
        return self._forward(self._param_values(params), self._data())

    def forward_backward(self, params: Sequence[float] | None = None
                         ) -> tuple[float, list[float]]:
        """``(batch loss, [∂loss/∂p for p in params])``; nothing is written to any Value."""
        return self._forward_backward(self._param_values(params), self._data())

    def backward(self) -> float:
        """Add ∂loss/∂p to each parameter's ``.grad`` (leaves accumulate); return the loss."""
        loss, grads = self.forward_backward()
        self._accumulate(grads)
        return loss

    def train(self, steps: int, lr: float, params: list[float] | None = None) -> list[float]:
        """Full-batch SGD for ``steps`` steps (as :meth:`CompiledGraph.train`), through
        :func:`.steps.run_steps`: the loop in Python, the update :class:`~micrograd_mlp.nn.optim.
        SGD`'s own rule."""
        from ..nn.optim import SGD

        steps = nonnegative_int(steps, "train: steps")
        lr = positive_real(lr, "train: lr")
        values = self._param_values(params)
        floats = values.tolist() if hasattr(values, "tolist") else list(values)
        shadow = [Value(x, label=p.label, requires_grad=p.requires_grad)
                  for p, x in zip(self.params, floats)]
        try:
            return run_steps(self, SGD(shadow, lr=lr), steps, values)
        finally:  # the steps taken are kept, also when one raised
            final = values.tolist() if hasattr(values, "tolist") else list(values)
            if params is None:
                for p, x in zip(self.params, final):
                    p.data = x
            else:
                params[:] = final


class BatchGraph(_Batch):
    """Per-sample losses of identical structure: one sample's scalar code, run on every row.

    Build with :func:`compile_batch`. The per-sample code reads every leaf that is not a parameter
    (inputs, targets, constants) from a row of :attr:`rows`, so a 100-sample batch costs the code
    of one sample; its seed ∂loss/∂result is the batch's scale, and the rows' losses and gradients
    are summed in row order, as the eager engine sums them. This is the compiled path without
    NumPy; :meth:`lowered` is the fast one. The batch loss is ``Σ losses``
    (``reduction='sum'``) or ``Σ losses · (1/n)`` (``'mean'``, as the eager ``train`` forms it).
    """

    def __init__(self, template: Value, leaves: Sequence[Value], rows: list[tuple[float, ...]],
                 params: Sequence[Value], reduction: str, penalty: Value | None = None, *,
                 listing: Listing | None = None) -> None:
        """``template``: sample 0's loss; ``leaves``: its leaves that are not parameters, in
        topological order; ``rows[s]``: sample ``s``'s values of those leaves. ``listing``: the
        trace of ``template`` over ``params`` and ``leaves``, if it is made already
        (:func:`.trace.trace_sample`)."""
        self.template = template
        self.penalty_root = penalty
        if penalty is not None:
            self.penalty = CompiledGraph(penalty, params, ())
        self.reduction = reduction
        self.scale = 1.0 / len(rows) if reduction == "mean" and len(rows) > 1 else 1.0
        self.rows = rows
        self._leaves = tuple(leaves)  # sample 0's, whose values the rows replace
        self._seed = self.scale
        if listing is None:
            listing = trace(template, params, leaves)
        super().__init__(listing, params, seed="seed")

    def _data(self) -> list[tuple[float, ...]]:
        return self.rows

    def _function(self, name: str) -> Callable[..., Any]:
        """The scalar code of one sample (its seed ∂loss/∂result the batch's scale), run on each
        row and summed in row order, as the eager engine sums the samples."""
        one = super()._function(name)
        if name == "forward":
            def forward(P: list[float], X: Any, seed: float) -> float:
                total = 0.0
                for row in X:
                    total += one(P, row, seed)
                return total * seed

            return forward

        def forward_backward(P: list[float], X: Any, seed: float) -> tuple[float, list[float]]:
            total, sums = 0.0, [0.0] * len(P)
            for row in X:
                loss, grads = one(P, row, seed)
                total += loss
                sums = list(map(add, sums, grads))
            return total * seed, sums

        return forward_backward

    def replay(self, params: Sequence[float] | None = None) -> Value:
        """The batch loss rebuilt by the eager engine at ``params``, as training.train forms it."""
        return self._replay(self._param_values(params))[0]

    def eager_forward_backward(self, params: Sequence[float] | None = None
                               ) -> tuple[float, list[float]]:
        """:meth:`forward_backward` by the eager engine (the oracle a refused step uses)."""
        return _gradients(*self._replay(self._param_values(params)))

    def _replay(self, P: list[float]) -> tuple[Value, list[Value]]:
        fresh = [Value(x, label=p.label) for p, x in zip(self.params, P)]
        order = topological_order(self.template)
        losses = []
        for row in self.rows:
            leaves = {id(p): v for p, v in zip(self.params, fresh)}
            leaves.update({id(v): Value(x, label=v.label) for v, x in zip(self._leaves, row)})
            losses.append(_rebuild(order, leaves))
        total = reduce_batch(losses, self.reduction)
        if self.penalty_root is not None:
            leaves = {id(p): v for p, v in zip(self.params, fresh)}
            total = total + _rebuild(topological_order(self.penalty_root), leaves)
        return total, fresh

    def _eager_forward(self, P: list[float], X: Any) -> float:
        return self._replay(P)[0].data

    def _eager_forward_backward(self, P: list[float], X: Any) -> tuple[float, list[float]]:
        return _gradients(*self._replay(P))

    def lowered(self, block_rows: int | None = None) -> LoweredBatch:
        """The same batch with its layers as matrix products and the rest as array code (needs
        NumPy, imported only here), run over blocks of ``block_rows`` rows (by default as many
        as keep a block's arrays near 256 KB: see :class:`LoweredBatch`)."""
        return LoweredBatch(self, block_rows)

    def __repr__(self) -> str:
        return (f"<BatchGraph: {len(self.rows)} samples, {len(self.params)} params, "
                f"{self.node_count} values computed per sample>")


BLOCK_FLOATS = 2 ** 15  # a lowered block's rows × its widest layer: arrays of 256 KB (a batch
# whose arrays are at most 1 MB is one block)


#: ``pick`` computes ``f`` on the whole array, not on the gathered elements, once more than one
#: element in PICK_GATHERS needs it: at 1,438 × 32 gathering and scattering an element costs
#: several times what ``sech2`` on it does (measured: see docs/performance.md).
PICK_GATHERS = 8


def array_helpers(np: Any, n: int) -> dict[str, Callable[..., Any]]:
    """The helpers the lowered code calls (over NumPy ``np``, for a block of ``n`` rows):

    * ``total(a)``: Σ over the batch (a value that depends on no row counts ``n`` times);
    * ``matrix(*columns)``: the (n, k) matrix of k columns (a number fills its column);
    * ``lanes(a, k)``: ``a`` as an array of ``k`` lanes, to be written to;
    * ``pick(c, x, f, *args)``: ``where(c, x, f(*args))``, ``f`` - an elementwise rule -
      computed only on the elements where ``c`` is false (gathered), or on the whole array
      when more than 1 in :data:`PICK_GATHERS` are;
    * ``tanh_layer`` and ``tanh_partial``: :func:`tanh_helpers`;
    * ``rowmax(a)``, ``rowsum(a)``: each row's largest entry (as a column) and sum. NumPy
      reduces a short row element by element (at 1,438 × 10, 40 times slower than a
      matrix-vector product): so the sum is the product with ones (BLAS: another order of the
      sum), and the max of many rows is taken column by column (the same in any order);
    * ``bincount``: each parameter's gradient entries, summed (``numpy.bincount``).
    """
    ndarray, broadcast_to, empty = np.ndarray, np.broadcast_to, np.empty

    def total(a: Any) -> float:
        return float(a.sum()) if type(a) is ndarray and a.ndim else float(a) * n

    def matrix(*columns: Any) -> Any:
        if len(columns) == 1 and type(columns[0]) is ndarray and columns[0].shape == (n,):
            return columns[0].reshape(n, 1)
        out = empty((n, len(columns)))
        for j, c in enumerate(columns):
            out[:, j] = c
        return out

    def lanes(a: Any, k: int) -> Any:
        return a if type(a) is ndarray and a.shape == (k,) else np.full(k, float(a))

    def pick(c: Any, x: Any, f: Callable[..., Any], *args: Any) -> Any:
        if type(c) is not ndarray:
            return x if c else f(*args)
        needed = c.size - np.count_nonzero(c)  # the elements that take f
        if needed * PICK_GATHERS > c.size:  # (gathering them costs more than f on the rest)
            return np.where(c, x, f(*args)).astype(float, copy=False)
        out = np.array(broadcast_to(x, c.shape), dtype=float)
        if needed:
            rest = ~c
            out[rest] = f(*(broadcast_to(a, c.shape)[rest] if type(a) is ndarray else a
                            for a in args))
        return out

    def rowmax(a: Any) -> Any:
        if n <= 64:
            return a.max(1, keepdims=True)
        out = empty((n, 1))
        column = out[:, 0]
        column[:] = a[:, 0]
        for j in range(1, a.shape[1]):
            np.maximum(column, a[:, j], out=column)
        return out

    def rowsum(a: Any) -> Any:
        return a @ np.ones(a.shape[1])

    return {"total": total, "matrix": matrix, "lanes": lanes, "pick": pick, "rowmax": rowmax,
            "rowsum": rowsum, **tanh_helpers(np), "bincount": np.bincount, "where": np.where,
            "zeros": np.zeros, "concatenate": np.concatenate, "matmul": np.matmul,
            "multiply": np.multiply}


def tanh_helpers(np: Any) -> dict[str, Callable[..., Any]]:
    """``tanh_layer(a, into, work)`` and ``tanh_partial(a, out, g, into, work)``: a tanh layer's
    ``tanh a`` and ``g · tanh′`` (the table's rule), one ``exp`` for both, in the program's scratch
    arrays (see :data:`.lowered.IN_PLACE`)."""

    def tanh_layer(a: Any, into: Any, work: Any) -> Any:
        """``tanh a`` into ``into`` (returned), and e = e^(−2|a|) into ``work`` for
        :func:`tanh_partial`: ``tanh|a| = 2/(1 + e) − 1`` (an exact subtraction, 2/(1+e) being in
        [1, 2]; within a few ulps of tanh), with ``a``'s sign - and NumPy's ``tanh`` where
        |a| < 0.49 (e > 0.375), where that formula would lose digits. One ``exp`` serves the
        forward value and tanh′'s sech² (NumPy's ``tanh`` is no faster than an ``exp``)."""
        e = np.exp(np.multiply(np.abs(a, out=work), -2.0, out=work), out=work)
        t = np.add(e, 1.0, out=into)
        np.divide(2.0, t, out=t)
        t -= 1.0
        np.copysign(t, a, out=t)
        small = np.flatnonzero(e > 0.375)
        if small.size:
            t.reshape(-1).put(small, np.tanh(a.reshape(-1).take(small)))
        return t

    def tanh_partial(a: Any, out: Any, g: Any, into: Any, work: Any) -> Any:
        """``g · tanh′(a)`` by the engine's rule (``1 − out²`` where ``−0.9 < out < 0.9``, else
        ``sech²a`` = 4e/(1+e)², e = e^(−2|a|)), the same floats as ``multiply(g, pick(...))``,
        with ``work`` holding e (:func:`tanh_layer`'s), computed in ``into`` (returned) and
        ``work``: no new array of their size, whose memory the system would hand out (and
        fault in) again each step."""
        e = work
        near = (out > -0.9) & (out < 0.9)
        needed = near.size - np.count_nonzero(near)
        if needed * PICK_GATHERS > near.size:  # sech² everywhere, then 1 − out² where it holds
            square = np.add(e, 1.0, out=into)
            square *= square
            e *= 4.0
            e /= square
            one_minus = np.subtract(1.0, np.multiply(out, out, out=into), out=into)
            # (1 − out²)·[near] + sech²·[far]: each product is its factor or 0 exactly (both
            # finite), so each sum is the one picked - without a branch per element (copyto
            # with where=, or where, is 4-10 times slower on a mixed mask)
            np.multiply(one_minus, near, out=into)
            np.multiply(e, ~near, out=work)
            into += work
        else:
            np.subtract(1.0, np.multiply(out, out, out=into), out=into)
            if needed:
                far = ~near
                f = e[far]
                into[far] = 4.0 * f / ((1.0 + f) * (1.0 + f))  # (sech2's own expression)
        into *= g  # (g · t = t · g: one rounding of the same product)
        return into

    return {"tanh_layer": tanh_layer, "tanh_partial": tanh_partial}


def lowered_code(np: Any, functions: dict[str, str], names: dict[str, Any], n: int
                 ) -> GeneratedCode:
    """:func:`.lowered.emit_lowered`'s ``functions`` for a block of ``n`` rows (its helpers know
    ``n``), reading ``names`` (its index arrays) besides NumPy's."""
    return GeneratedCode(functions, {**namespace("numpy"), **names, **array_helpers(np, n)},
                         "lowered")


def _refused(*args: Any) -> Any:
    raise FloatingPointError  # a graph that is not compiled: the eager engine runs the step


class LoweredBatch(_Batch):
    """A :class:`BatchGraph` with its layers lowered to matrix products (:mod:`.lower`).

    The neurons of a layer (affine nodes over the same inputs, then the same activation) become
    ``Z = H @ W.T + b``, ``A = φ(Z)`` on arrays of the whole batch, and their backward the
    transposed products; the other nodes (the loss, anything irregular) run as the table's rules
    on arrays, one column per node. A ``penalty`` (α·Σ p·p) has its sums over parameters as
    array code too (:func:`.lower.find_reductions`, listed in ``reductions``). The same
    interface as the batch graph; a step whose values are not all finite is run by the eager
    engine. Results agree with eager to rounding (matrix products sum in another order).
    ``layers`` lists the groups found; with none, every node is column code.

    Each thread that steps the program gets its own :meth:`scratch` arrays - a layer's ``Z``,
    ``A`` and ``dZ`` (block rows × width) and ``dH`` (block rows × inputs) - kept while the
    program lives, so that a step allocates no big array.

    A batch whose arrays would pass 1 MB runs in :attr:`blocks` of rows instead (``block_rows``
    each, by default ``BLOCK_FLOATS`` // its widest layer: arrays of about 256 KB, which the
    caches keep), the blocks' losses and gradients summed: every sample's graph is its own, so
    only the order of the sums changes. At 10,000 samples × width 128 that took a step from 48
    to 36 ms, and makes the cost grow with samples × edges.
    """

    def __init__(self, batch: BatchGraph, block_rows: int | None = None) -> None:
        import numpy as np

        self.batch = batch
        self.columns = [np.array(column, dtype=float) for column in zip(*batch.rows)]
        self.layers = find_layers(batch.listing)
        self._np = np
        n = len(batch.rows)
        if block_rows is None:  # arrays over 1 MB: in blocks of about 256 KB, which the caches
            widest = max([len(layer.weights) for layer in self.layers]  # keep
                         + [len(layer.inputs) for layer in self.layers] + [1])
            block_rows = n if n * widest <= 4 * BLOCK_FLOATS else max(BLOCK_FLOATS // widest, 1)
        block_rows = positive_int(block_rows, "lowered: block_rows")
        count = -(-n // block_rows)  # ceil: blocks of sizes as equal as can be (two at most)
        bounds = [n * k // count for k in range(count + 1)]
        self.blocks = list(pairwise(bounds))
        self._functions, names, stacked, self._scratch_columns = emit_lowered(
            batch.listing, self.layers) if batch.eager_reason is None else (_REFUSE, {}, {}, {})
        matrix = array_helpers(np, n)["matrix"]
        self._stacked = {key: matrix(*(self.columns[c] for c in cols))
                         for key, cols in stacked.items()}  # the input matrices, stacked once
        self._block_columns = [[c[a:b] for c in self.columns] for a, b in self.blocks]
        self._codes = {size: lowered_code(np, self._functions, names, size)
                       for size in {b - a for a, b in self.blocks}}
        self._code = self._codes[self.blocks[0][1] - self.blocks[0][0]]
        self._seed = batch.scale
        self._errstate = np.errstate
        self.penalty = batch.penalty
        self.listing = batch.listing
        self.params = batch.params
        self.node_count = batch.node_count
        self._threads = threading.local()  # each thread's own scratch arrays
        np.zeros(1).sum()  # NumPy imports ndarray.sum's Python half on its first call, with the
        # caller's builtins: the generated code, which calls it, has none (KeyError: __import__)
        self.reductions = []  # the penalty's sums over parameters, as array code
        self._penalty: Callable[..., Any] | None = None
        if batch.penalty is not None and batch.penalty.eager_reason is not None:
            self._penalty = _refused  # the penalty's own scalar fallback runs it eagerly
        elif batch.penalty is not None:
            self.reductions = find_reductions(batch.penalty.listing)
            source, more = emit_reduced(batch.penalty.listing, self.reductions)
            self._penalty = GeneratedCode({"penalty": source}, {
                **namespace("numpy"), **more, **array_helpers(np, 1)}, "penalty"
            ).function("penalty")

    def _data(self) -> list[Any]:
        return self.columns

    def _param_values(self, params: object) -> Any:
        return self._np.array(super()._param_values(params), dtype=float)

    def scratch(self) -> list[SimpleNamespace]:
        """For each block of rows, what its code reads and writes besides ``P``: the input
        matrices (``D…``, views of the data stacked once) and the arrays it writes a layer's
        ``Z``, ``A``, ``dZ`` and ``dH`` into, made on a thread's first step and reused by its
        later ones."""
        blocks: list[SimpleNamespace] | None = getattr(self._threads, "arrays", None)
        if blocks is None:
            empty, made = self._np.empty, self._scratch_columns.items()
            blocks = [SimpleNamespace(
                **{key: matrix[a:b] for key, matrix in self._stacked.items()},
                **{name: empty((b - a, columns)) for name, columns in made})
                for a, b in self.blocks]
            self._threads.arrays = blocks
        return blocks

    def _run(self, name: str, P: Any) -> Any:
        """The generated ``name`` on each block of rows, summed: the loss, or ``(loss, G)``."""
        result: Any = None
        for (a, b), columns, arrays in zip(self.blocks, self._block_columns, self.scratch()):
            got = self._codes[b - a].function(name)(P, columns, self._seed, arrays)
            if result is None:
                result = got
            elif name == "forward":
                result += got
            else:
                loss, G = result
                G += got[1]  # G is the first block's new array
                result = loss + got[0], G
        return result

    def _function(self, name: str) -> Callable[..., Any]:
        errstate = self._errstate

        def run(P: Any, X: Any, seed: float) -> Any:  # X, seed: the batch's own (per block)
            with errstate(all="ignore"):
                return self._run(name, P)

        return run

    def quiet(self) -> Any:
        """A context in which NumPy does not warn (what it would warn about - an inf, a nan - is
        what the code's checks catch); :meth:`gradient_array` runs in it."""
        return self._errstate(all="ignore")

    def gradient_array(self, P: Any) -> tuple[float, Any]:
        """``(loss, G)`` at the parameter array ``P`` (G an array), to be called inside
        :meth:`quiet`; a step the code refuses is run by the eager engine (its error raised, or
        its non-finite gradient returned)."""
        try:
            loss, G = self._run("forward_backward", P)
        except (ArithmeticError, ValueError):
            loss, grads = self.batch.eager_forward_backward(P.tolist())
            return loss, self._np.array(grads, dtype=float)
        if self._penalty is not None:
            try:
                extra, more = self._penalty(P)
            except (ArithmeticError, ValueError):  # the scalar code, or eager, says what
                extra, grads = self.penalty._forward_backward(P.tolist(), [])  # type: ignore
                more = self._np.array(grads, dtype=float)
            loss, G = loss + extra, G + more
        return loss, G

    def forward_backward(self, params: Sequence[float] | None = None
                         ) -> tuple[float, list[float]]:
        """``(batch loss, [∂loss/∂p for p in params])``; nothing is written to any Value."""
        with self.quiet():
            loss, G = self.gradient_array(self._param_values(params))
        return loss, [g + 0.0 for g in G.tolist()]

    def _forward(self, P: Any, X: Any) -> float:
        with self.quiet():
            return super()._forward(P, X)

    def _eager_forward(self, P: list[float], X: Any) -> float:
        return self.batch.replay(list(P)).data

    def _eager_forward_backward(self, P: list[float], X: Any) -> tuple[float, list[float]]:
        return self.batch.eager_forward_backward(list(P))

    def __repr__(self) -> str:
        return (f"<LoweredBatch: {len(self.batch.rows)} samples, {len(self.layers)} layers as "
                f"matrix products>")


# --- building them --------------------------------------------------------------------------------
def compile_graph(root: Value, params: object = (), inputs: object = ()) -> CompiledGraph:
    """Trace ``root``'s graph and generate straight-line forward/backward code for it.

    ``params``: the leaf Values to differentiate with respect to (a list, or a module with
    ``parameters()``); ``inputs``: leaf Values whose values may change between calls (data).
    Every other leaf is frozen as a constant. See :class:`CompiledGraph` for running it.
    """
    if not isinstance(root, Value):
        raise TypeError(f"compile_graph: root must be a Value, got {type_name(root)}")
    ps, xs = _leaves(params, "params"), _leaves(inputs, "inputs")
    overlap = {id(p) for p in ps} & {id(x) for x in xs}
    if overlap:
        j = next(i for i, x in enumerate(xs) if id(x) in overlap)
        raise ValueError(f"compile_graph: inputs[{j}] is also listed in params")
    return CompiledGraph(root, ps, xs)


def compile_batch(losses: Sequence[Value] | Value, params: object = (),
                  reduction: str = "mean", penalty: Value | None = None) -> BatchGraph:
    """Compile per-sample losses of identical structure into one sample's code, run on each row.

    ``losses[s]`` is sample ``s``'s loss graph (e.g. ``mse(model(x), t)``), all built by the same
    operations; every leaf not in ``params`` (inputs, targets, constants) is read per sample from
    :attr:`BatchGraph.rows`. The batch loss is the mean (or the sum) of the losses, exactly as
    :func:`micrograd_mlp.training.train` forms it, so ``compile_batch(...).train(steps, lr)``
    follows ``training.train``'s trajectory. ``penalty``: a Value computed from the parameters
    alone (e.g. an L2 term ``α·Σ p·p``), added to the batch loss.
    """
    one_of(reduction, "compile_batch: reduction", ("mean", "sum"))
    if penalty is not None and not isinstance(penalty, Value):
        raise TypeError(f"compile_batch: penalty must be a Value, got {type_name(penalty)}")
    roots = [losses] if isinstance(losses, Value) else list(losses)
    if not roots:
        raise ValueError("compile_batch: losses is empty")
    for i, r in enumerate(roots):
        if not isinstance(r, Value):
            raise TypeError(f"compile_batch: losses[{i}] must be a Value, got {type_name(r)}")
    ps = _leaves(params, "params")
    leaves, rows = _rows_by_shape(roots, ps)
    return BatchGraph(roots[0], leaves, rows, ps, reduction, penalty)


def _rows_by_shape(roots: list[Value], params: list[Value]
                   ) -> tuple[list[Value], list[tuple[float, ...]]]:
    """Sample 0's leaves that are not parameters and every sample's values of them, after checking
    that every sample's graph has sample 0's structure (one walk of each graph)."""
    structure, leaves = shape(roots[0], params)
    rows: list[tuple[float, ...]] = [tuple(v.data for v in leaves)]
    for k, root in enumerate(roots[1:], 1):
        other, its_leaves = shape(root, params)
        if other != structure:
            where = next((i for i, (x, y) in enumerate(zip(structure, other)) if x != y),
                         min(len(structure), len(other)))
            raise ValueError(
                f"compile_batch: the graph of sample {k} differs from sample 0's at node "
                f"{where} ({len(other)} vs {len(structure)} values); every sample's loss must "
                f"be built by the same operations")
        rows.append(tuple(v.data for v in its_leaves))
    return leaves, rows
