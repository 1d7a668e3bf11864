"""One emitter: a :class:`~.trace.Listing` → Python source for a :class:`Target`.

Every target gets the same three functions, built from the same pieces::

    forward(P, X, seed)                          -> loss
    forward_backward(P, X, seed)                 -> (loss, [∂loss/∂p for p in P])
    train(P, X, seed, lr, steps, history)        SGD in place on the list P; appends each loss

The pieces: the *forward* lines (one per instruction, the table's forward rule), a *check* that the
values are finite (one addition per value: ``_c - _c != 0.0`` only for a finite ``_c``; a value
that a later checked one carries is left out, see :func:`_covered`), and the
*backward* lines - the reverse sweep of :meth:`Value.backward`, node by node, last to first::

    ∂L/∂operand += ∂L/∂node · ∂node/∂operand          (the table's partial for that operand)

with each node's contributions summed in the order the engine adds them. A failed check raises
``FloatingPointError``; the caller then replays the step with the eager engine. In the float code
the forward values are checked together with the loss and the gradients, once at the end of the
step (one graph's gradients: those :func:`_gradients_to_check` keeps), and a value assigned once
and read once is written into the line that reads it (:func:`_written_into_use`): the same float
operations, fewer loads and stores.

The targets differ only in what one step covers:

* ``SCALAR``: one graph, inputs ``X = [x0, x1, ...]``; the seed ∂L/∂result is the number 1.0;
* ``BATCH``: the per-sample code looped over the rows of ``X``, losses and gradients summed and
  scaled by ``seed`` (1/n for a mean);
* ``NUMPY``: the per-sample code once, on one array per input column, summed by ``total``.

The lowered code (:func:`emit_lowered`: an MLP's layers as matrix products) takes one more
argument, ``scratch``: for the block of rows it runs on, the input matrices it reads and the
arrays its layers are written into, ``forward(P, X, seed, scratch)``.
"""

from __future__ import annotations

import ast
import functools
import itertools
import linecache
import re
import weakref
from dataclasses import dataclass
from itertools import chain
from typing import Any, Callable, Sequence

from ..core.functions import WRITES_OUT, namespace
from .inline import parse
from .rules import Rules, carries_nonfinite, is_simple, keeps_finite, left_sum, times
from .trace import Instruction, Listing, is_constant

__all__ = ["Target", "SCALAR", "BATCH", "NUMPY", "LOWERED", "emit", "emit_lowered",
           "emit_reduced", "GeneratedCode"]


@dataclass(frozen=True)
class Target:
    """Where generated code runs: its functions (``backend``), the seed, and what a step covers."""

    name: str
    backend: str  # "float" or "numpy": which implementations the code calls
    seed: str  # ∂loss/∂result: the number 1.0 (folded into the code) or the argument `seed`
    rows: bool = False  # loop over the rows of X, summing the losses and gradients
    total: bool = False  # sum arrays over the batch with `total(...)`


SCALAR = Target("scalar", "float", "1.0")
BATCH = Target("batch", "float", "seed", rows=True)
NUMPY = Target("numpy", "numpy", "seed", total=True)


def _block(lines: list[str], depth: int) -> list[str]:
    return ["    " * depth + line for line in lines]


def _check(names: list[str], arrays: bool = False) -> list[str]:
    """Lines raising ``FloatingPointError`` unless every named value (or array) is finite."""
    if not names:
        return []
    lines = left_sum("_c", names)
    if arrays:
        lines.append("_c = total(_c)")
    return [*lines, "if _c - _c != 0.0:", "    raise FloatingPointError"]


_TEMPORARY = re.compile(r"\b(d?v\d+)\b")  # a node's value or gradient: v12, dv12
_DEFINITION = re.compile(r"(d?v\d+) = (.*)")
_GRADIENT = re.compile(r"\b(dp\d+)\b"), re.compile(r"(dp\d+) = (.*)")  # a parameter's: dp3


def _written_into_use(lines: list[str], gradients: bool = False) -> list[str]:
    """``lines`` (straight-line float code) with each value that is assigned once and read once
    written into the line that reads it: ``v19 = v18 ** 2.0`` and ``v20 = 0.5 * v19`` become
    ``0.5 * (v18 ** 2.0)`` where ``v20`` is read. The same float operations run on the same floats,
    one store and one load fewer each. Not moved: a value read in a branch of a conditional (it
    might not run there, and its own error must still refuse the step) and an expression that
    assigns (``_t1 := ...``). With ``gradients`` the parameters' gradients (``dp3``) are moved
    instead (in the training loop, into their update; only the lines that name one are read)."""
    if gradients:
        at: Sequence[int] = [i for i, line in enumerate(lines) if "dp" in line]
        temporary, definitions = _GRADIENT
    else:
        at, temporary, definitions = range(len(lines)), _TEMPORARY, _DEFINITION
    return [line for line in _moved(lines, at, temporary, definitions) if line is not None]


def _moved(lines: list[str], at: Sequence[int], temporary: re.Pattern[str],
           definitions: re.Pattern[str]) -> list[str | None]:
    """:func:`_written_into_use` on the lines ``at`` (the only ones that name a value the pattern
    ``temporary`` matches): ``lines`` with those changed, a moved line as None."""
    matches = {i: definitions.fullmatch(lines[i]) for i in at}
    read = {i: temporary.findall(m.group(2) if m else lines[i]) for i, m in matches.items()}
    assigned: dict[str, int] = {}
    reads: dict[str, int] = {}
    last_read: dict[str, int] = {}
    for i, m in matches.items():
        for name in read[i]:
            reads[name] = reads.get(name, 0) + 1
            last_read[name] = i
        if m:
            assigned[m.group(1)] = assigned.get(m.group(1), 0) + 1
    pending: dict[str, str] = {}  # a value to write into its one use: its expression
    out: list[str | None] = list(lines)
    for i, m in matches.items():
        names = read[i]
        if pending and any(n in pending for n in names):
            out[i] = _substitute(lines[i], {n: pending.pop(n) for n in names if n in pending},
                                 temporary)
            m = definitions.fullmatch(out[i] or "")
        if m:
            name, expression = m.groups()
            if (assigned[name] == 1 and reads.get(name) == 1 and ":=" not in expression
                    and not _read_in_branch(lines[last_read[name]], name, temporary)):
                pending[name] = expression
                out[i] = None
    assert not pending, pending
    return out


_WHOLE = re.compile(r"\S+ [-+*/]?= (\S+)")  # a statement whose right-hand side is one name


def _substitute(line: str, expressions: dict[str, str], temporary: re.Pattern[str]) -> str:
    """``line`` with each named value replaced by its expression, in parentheses unless it is a
    name or a number or the whole right-hand side (so the tree is the one the two lines made)."""
    whole = _WHOLE.fullmatch(line)

    def put(m: re.Match[str]) -> str:
        code = expressions.get(m.group(1))
        if code is None:
            return m.group(0)
        return code if is_simple(code) or (whole and whole.group(1) == m.group(1)) else f"({code})"

    return temporary.sub(put, line)


_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d*)?(?:e[-+]?\d+)?")


def _read_in_branch(line: str, name: str, temporary: re.Pattern[str]) -> bool:
    """Whether the statement ``line`` reads ``name`` where it might not be evaluated: in a branch
    of a conditional (``x if c else y``), after the first operand of ``and``/``or``, or after the
    second of a chained comparison (``a < b < c``). Worked out once per shape of line (names and
    numbers written alike)."""
    if not (" if " in line or " and " in line or " or " in line or line.count("<")
            + line.count(">") > 1):
        return False
    shape = _NUMBER.sub("1.0", temporary.sub(lambda m: "_x_" if m.group(1) == name else "_v_",
                                             line))
    return _shape_reads_in_branch(shape)


@functools.lru_cache(maxsize=4096)
def _shape_reads_in_branch(shape: str) -> bool:
    def maybe(node: ast.AST) -> Sequence[ast.AST]:  # the parts of ``node`` that may not run
        if isinstance(node, ast.IfExp):
            return [node.body, node.orelse]
        if isinstance(node, ast.BoolOp):
            return node.values[1:]
        if isinstance(node, ast.Compare):
            return node.comparators[1:]
        return []

    return any(isinstance(n, ast.Name) and n.id == "_x_"
               for node in ast.walk(parse(shape, mode="exec"))
               for part in maybe(node) for n in ast.walk(part))


def _covered(listing: Listing, member: dict[int, Any]) -> set[str]:
    """The scalar nodes that need no check of their own: a later check sees them, because a node
    that carries them (:func:`.rules.carries_nonfinite`: not finite when they are not) is checked
    or covered itself - the result is, by the loss's check. A node that may go unchecked
    (:func:`.rules.keeps_finite`, when its operand is checked) covers nothing."""
    covered = {listing.result}
    for pos in range(len(listing.instructions) - 1, -1, -1):  # consumers before their operands
        ins = listing.instructions[pos]
        if pos in member or (ins.target not in covered and keeps_finite(ins)):
            continue
        covered.update(x for i, x in enumerate(ins.operands) if carries_nonfinite(ins, i))
    return covered


def _to_check(listing: Listing, member: dict[int, Any]) -> list[str]:
    """The values (of the instructions not in ``member``) that need a check of their own: not
    :func:`_covered`, and not finite because their checked operand is (relu's ``A``)."""
    covered = _covered(listing, member)
    checked: set[str] = set()  # checked, or finite (or covered) because of one that is
    wanted = []
    for pos, ins in enumerate(listing.instructions):
        if pos in member:
            continue
        if not (ins.target in covered or (keeps_finite(ins) and ins.operands[0] in checked)):
            wanted.append(ins.target)
        checked.add(ins.target)
    return wanted


@dataclass
class _Pieces:
    forward: list[str]  # one sample's forward lines
    checked: list[str]  # the forward values that need a check of their own (see _to_check)
    backward: list[str]  # its reverse sweep
    gradients: list[str]  # per parameter: its gradient's name, or "0.0" if it does not reach
    gradients_checked: list[str]  # the gradients that need a check of their own (one graph's)


def _backward_step(ins: Instruction, rules: Rules, needs: frozenset[str],
                   contributions: dict[str, list[str]]) -> list[str]:
    """One node of the reverse sweep: the lines summing its gradient ``d<node>`` from the terms
    collected in ``contributions`` (popped), and - added to ``contributions`` - its terms
    ``d<node> · ∂node/∂operand`` for each operand that depends on a parameter (``needs``)."""
    terms = contributions.pop(ins.target, None)
    if terms is None:  # depends on no parameter
        return []
    lines: list[str] = []
    if len(terms) == 1 and is_simple(terms[0]):
        g = terms[0]  # a bare name or a number: used as it is
    else:
        g = f"d{ins.target}"
        lines = left_sum(g, terms)
    wanted = [i for i, operand in enumerate(ins.operands) if operand in needs]
    for i, partial in zip(wanted, rules.partials(ins, wanted)):
        contributions.setdefault(ins.operands[i], []).append(times(g, partial))
    return lines


def _pieces(listing: Listing, target: Target) -> _Pieces:
    rules = Rules(target.backend)
    forward = [line for ins in listing.instructions for line in rules.forward_lines(ins)]
    checked = _to_check(listing, {})
    needs = listing.differentiable
    # contributions[name]: the terms ∂L/∂node · ∂node/∂name, in the order the engine adds them
    contributions: dict[str, list[str]] = {listing.result: [target.seed]} \
        if listing.result in needs else {}
    backward: list[str] = []
    for ins in reversed(listing.instructions):
        backward += _backward_step(ins, rules, needs, contributions)
    gradients = []
    for p in listing.params:
        if p in contributions:
            backward += left_sum(f"d{p}", contributions[p])
            gradients.append(f"d{p}")
        else:
            gradients.append("0.0")
    terms = {f"d{p}": contributions[p] for p in listing.params if p in contributions}
    return _Pieces(forward, checked, backward, gradients, _gradients_to_check(listing, terms))


_PRODUCT = re.compile(r"-?([A-Za-z_]\w*)(?: \* ([\w.+-]+))?")  # g, -g or g * m (m simple)


def _gradients_to_check(listing: Listing, terms: dict[str, list[str]]) -> list[str]:
    """The parameter gradients (name -> its terms) that need a check of their own. Not those of
    one term ``g · m`` with ``|m| ≤ 1`` - a number, or a node whose op has ``bound`` 1 (σ, tanh) -
    whose ``g`` another checked gradient of one term ``g · m′`` carries: a non-finite ``g`` makes
    ``g · m′`` non-finite whatever finite ``m′`` (inf · 0 is nan; the forward values are checked
    in the same check), and a finite ``g`` keeps ``|g · m| ≤ |g|`` finite. The article's
    ``∂L/∂w2 = δ_h1 · 0.1`` needs no check once ``∂L/∂w1 = δ_h1 · 0.05`` has one."""
    bounded = {ins.target for ins in listing.instructions
               if ins.op.bound is not None and ins.op.bound <= 1.0}
    factors: dict[str, tuple[str, bool]] = {}  # gradient -> (g, |m| ≤ 1)
    for name, parts in terms.items():
        found = _PRODUCT.fullmatch(parts[0]) if len(parts) == 1 else None
        if found is None or is_constant(found.group(1)):
            continue
        g, m = found.groups()
        small = m is None or m in bounded or (is_constant(m) and abs(float(m)) <= 1.0)
        factors[name] = (g, small)
    carried = {g for g, small in factors.values() if not small}  # by a gradient checked below
    wanted = []
    for name in terms:
        factor = factors.get(name)
        if factor is not None and factor[1]:
            if factor[0] in carried:
                continue
            carried.add(factor[0])
        wanted.append(name)
    return wanted


def _step(listing: Listing, pc: _Pieces, target: Target, backward: bool
          ) -> tuple[list[str], list[str]]:
    """Lines of one step at the current ``P`` - setting ``loss`` and, with ``backward``, the
    gradients - and the gradients' names (``"0.0"`` for a parameter that does not reach).

    On floats the forward values are checked with the loss and the gradients, in one check at
    the end of the step: nothing the backward lines do with a value that is not finite can hide
    it (a sum has it), and an error they raise refuses the step as a failed check does. On
    arrays they are checked before the backward lines run on them."""
    if target.total:
        sample = [*pc.forward, *_check(pc.checked, arrays=True), *(pc.backward if backward else [])]
        late: list[str] = []
    elif target.rows:  # each row's forward values, at the end of the row's lines
        sample = [*pc.forward, *(pc.backward if backward else []), *_check(pc.checked)]
        late = []
    else:
        sample, late = [*pc.forward, *(pc.backward if backward else [])], pc.checked
    grads = pc.gradients if backward else []
    summed = {g: f"sum_{g}" for g in grads if g != "0.0"}  # a batch's Σ of each gradient
    if target.rows:  # Σ over the rows of X
        row = "".join(f"{x}, " for x in listing.inputs) or "_ "
        body = _written_into_use([*sample, f"sum_loss += {listing.result}",
                                  *(f"{s} += {g}" for g, s in summed.items())])
        lines = ["sum_loss = 0.0", *(f"{s} = 0.0" for s in summed.values()), f"for {row}in X:",
                 *_block(body, 1),
                 f"loss = sum_loss * {target.seed}"]
    elif target.total:  # Σ over the arrays' elements
        lines = [*sample, f"loss = total({listing.result}) * {target.seed}",
                 *(f"{s} = total({g})" for g, s in summed.items())]
    else:  # one graph: its own gradients, those that no other check covers checked
        summed = {g: g for g in summed}
        lines = [*sample, f"loss = {listing.result}"]
    gradient_checks = pc.gradients_checked if backward and not (target.rows or target.total) \
        else list(summed.values())
    lines += _check(["loss", *gradient_checks, *late])
    if not (target.rows or target.total):  # (a row's lines were done above)
        lines = _written_into_use(lines)
    return lines, [summed.get(g, "0.0") for g in grads]


_EXTRA = ("where", "total")  # what the NumPy target adds to its namespace


def emit(listing: Listing, target: Target) -> dict[str, str]:
    """The sources of ``forward``, ``forward_backward`` and ``train`` for ``listing``."""
    pc = _pieces(listing, target)
    text = "\n".join(pc.forward + pc.backward)
    local = sorted(n for n in [*namespace(target.backend), *_EXTRA] if f"{n}(" in text
                   or (n == "total" and target.total))
    tail = "".join(f", {n}={n}" for n in local)  # the functions as locals (a fast look-up)
    tail = f", *{tail}" if tail else ""
    params = "".join(f"{p}, " for p in listing.params)
    head = [f"{params}= P"] if params else []
    if listing.inputs and not target.rows:
        head.append(f"{''.join(f'{x}, ' for x in listing.inputs)}= X")

    forward, _ = _step(listing, pc, target, backward=False)
    step, grads = _step(listing, pc, target, backward=True)
    updates = [f"{p} -= lr * {g}" for p, g in zip(listing.params, grads) if g != "0.0"]
    # + 0.0: a gradient is 0.0 + Σ terms in the engine (a leaf starts at 0.0), so never -0.0
    returned = ", ".join(g if g == "0.0" else f"{g} + 0.0" for g in grads)
    body = [*step, "record(loss)", *updates]
    if not (target.rows or target.total):  # a gradient read once: written into its update
        body = _written_into_use(body, gradients=True)
    loop = ["for _step in range(steps):", *_block(body, 1)]
    return {
        "forward": _define(f"forward(P, X, seed{tail})", [*head, *forward, "return loss"]),
        "forward_backward": _define(f"forward_backward(P, X, seed{tail})",
                                    [*head, *step, f"return loss, [{returned}]"]),
        "train": _define(f"train(P, X, seed, lr, steps, history{tail})",
                         [*head, "record = history.append", "try:", *_block(loop, 1),
                          "finally:",  # the steps done are kept, even if one raised
                          f"    P[:] = ({params})"]),
    }


def _define(signature: str, body: list[str]) -> str:
    return "\n".join([f"def {signature}:", *_block(body, 1)])


class GeneratedCode:
    """Generated functions, compiled on first use, their source registered with :mod:`linecache`.

    The source gets a file name of its own (``<micrograd_mlp.compile: scalar #3>``) and its lines
    go into ``linecache.cache`` - as ``dataclasses`` and ``attrs`` do for the methods they write -
    so tracebacks, debuggers and ``inspect.getsource`` show the generated lines. The entry is
    removed when the code and every function compiled from it are gone.
    """

    _serial = itertools.count(1)

    def __init__(self, functions: dict[str, str], names: dict[str, Any], title: str) -> None:
        """``functions``: name -> source; ``names``: what the code may call; ``title``: for the
        file name."""
        self.filename = f"<micrograd_mlp.compile: {title} #{next(self._serial)}>"
        header = f"# generated by micrograd_mlp.compile from the primitive table ({title})\n"
        self._functions = functions
        self._first_line: dict[str, int] = {}
        line, parts = 3, [header]
        for name, source in functions.items():
            self._first_line[name] = line
            parts.append(source + "\n")
            line += source.count("\n") + 2
        self.text = "\n".join(parts)
        linecache.cache[self.filename] = (len(self.text), None, self.text.splitlines(True),
                                          self.filename)
        weakref.finalize(self, linecache.cache.pop, self.filename, None)
        # the functions' globals keep this object (and so the linecache entry) alive
        self._namespace: dict[str, Any] = {
            "__builtins__": {}, "__name__": self.filename, "range": range,
            "FloatingPointError": FloatingPointError, **names, "__generated__": self}
        self._compiled: dict[str, Callable[..., Any]] = {}

    def function(self, name: str) -> Callable[..., Any]:
        """The generated function ``name``, compiled now if it is not yet (big graphs compile
        slowly, and a program may use only one of its functions)."""
        fn = self._compiled.get(name)
        if fn is None:
            padding = "\n" * (self._first_line[name] - 1)  # line numbers as in self.text
            exec(compile(padding + self._functions[name], self.filename, "exec"), self._namespace)
            fn = self._compiled[name] = self._namespace[name]
        return fn


# --- the lowered target: layers as matrix products, the rest as the NumPy target's columns ------
LOWERED = Target("lowered", "numpy", "seed", total=True)


def _slice(layer: Any) -> tuple[int, int, int, bool] | None:
    """``(start, m, n, biased)`` when the layer's parameters are a slice of ``P`` laid out as a
    module registers them - the m × n weights row by row, then the m biases - else None."""
    m, n = len(layer.weights), len(layer.inputs)
    biases = layer.bias_params
    if n == 0 or (biases is None and layer.biases is not None):
        return None
    start = layer.weights[0][0]
    if tuple(chain.from_iterable(layer.weights)) != tuple(range(start, start + m * n)):
        return None
    if biases is not None and biases != tuple(range(start + m * n, start + m * n + m)):
        return None
    return start, m, n, biases is not None


def _lowered_head(listing: Listing, layers: list[Any], slices: dict[str, Any],
                  scalar_params: set[str]) -> list[str]:
    """Lines reading the parameter vector ``P`` (an array): each layer's weight matrix and bias
    vector - slices of ``P`` when the layer's parameters lie in it as a module registers them,
    else gathered by index arrays - and the parameters the scalar code uses, as floats."""
    lines = []
    for layer in layers:
        block = slices[layer.name]
        if block is not None:  # slices of P, viewed as W and B: no gathering
            start, m, n, biased = block
            lines.append(f"W{layer.name} = P[{start}:{start + m * n}].reshape({m}, {n})")
            if biased:
                lines.append(f"B{layer.name} = P[{start + m * n}:{start + m * n + m}]")
            continue
        lines.append(f"W{layer.name} = P[I{layer.name}]")
        if layer.bias_params is not None:
            lines.append(f"B{layer.name} = P[J{layer.name}]")
    used = [p for p in listing.params if p in scalar_params]
    if used:
        lines.append(f"{''.join(f'{p}, ' for p in listing.params)}= P.tolist()")
    if listing.inputs:
        lines.append(f"{''.join(f'{x}, ' for x in listing.inputs)}= X")
    return lines


def _gradient_tail(listing: Any, pieces: list[str], contributions: dict[str, list[str]],
                   needs: Any, *, blocks: Sequence[str] = (), reduce: str = "",
                   first: str | None = None) -> tuple[list[str], list[int]]:
    """The lines that assemble the gradient vector G: the array ``pieces`` scattered by INDEX (a
    parameter with several entries, e.g. a shared bias, gets their sum), then ``blocks`` (slices
    added in place), then each scalar contribution (``reduce`` applied to it), and 0 for the frozen
    parameters. Returns the lines and the frozen parameters' positions."""
    if first is not None:
        tail = [first]
    elif pieces:
        tail = [f"G = bincount(INDEX, concatenate(({', '.join(pieces)},)), NP)"]
    else:
        tail = ["G = zeros(NP)"]
    tail += blocks
    for j, p in enumerate(listing.params):
        if p in contributions:
            tail += left_sum(f"d{p}", contributions[p])
            tail.append(f"G[{j}] += {reduce}(d{p})" if reduce else f"G[{j}] += d{p}")
    frozen = [j for j, p in enumerate(listing.params) if p not in needs]
    if frozen:
        tail.append("G[FROZEN] = 0.0")  # a frozen parameter gets no gradient
    return tail, frozen


def _into(line: str, array: str) -> str | None:
    """``line`` (``A = f(...)``) writing its result into ``array``, when ``f`` is a NumPy ufunc
    (:data:`~micrograd_mlp.core.functions.WRITES_OUT`) called on the whole right-hand side."""
    target, _, expression = line.partition(" = ")
    tree = parse(expression)  # (one parse at a time: see .inline.parse)
    assert isinstance(tree, ast.Expression)
    call = tree.body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and call.func.id in WRITES_OUT and not call.keywords):
        return None
    return f"{target} = {expression[:-1]}, out={array})"


def emit_lowered(listing: Listing, layers: list[Any]) -> tuple[
        dict[str, str], dict[str, Any], dict[str, tuple[int, ...]], dict[str, int]]:
    """Sources of ``forward(P, X, seed, scratch)`` and ``forward_backward(P, X, seed, scratch)
    -> (loss, G)`` for the lowered target (``P``, ``G``: arrays), the index arrays they read, the
    input matrices to stack (read as ``scratch.D…``), and the scratch arrays: name -> columns
    (each has a row per sample of the block).

    Each layer (:mod:`.lower`) is ``Z = H @ W.T + B`` and ``A = φ(Z)`` with φ the table's forward
    rule on arrays; its backward is ``dZ = dA · φ′`` (the table's partial), then - because affine's
    rules are ∂/∂w = x, ∂/∂x = w, ∂/∂b = 1 - ``dW = dZᵀ @ H`` (Σ over the rows of g·x), ``dH = dZ @
    W`` and ``dB = Σ_rows dZ``. Every other instruction is the NumPy target's column code.

    The forward values are checked for being finite by one sum per array (``Z.sum()``), except a
    node finite wherever its checked operand is (:func:`.rules.keeps_finite`: relu's ``A``).

    A layer's ``Z``, ``A``, ``dZ`` and ``dH`` are written into arrays of ``scratch`` (``out=``),
    made once and reused by every step: a step then allocates no big array, so the memory is not
    handed back to the system at the end of one step and faulted in again by the next - the same
    floats, at 1,000 samples × width 128 about half the time. ``G`` is a new array each step.
    """
    import numpy as np

    rules = Rules("numpy")
    ins_all = listing.instructions
    member = {pos: layer for layer in layers for pos in layer.members}
    by_output = {o: (layer, j) for layer in layers for j, o in enumerate(layer.outputs)}
    # a layer whose inputs are exactly another's outputs, in order, takes its matrix as it is
    chained = {layer.name: by_output[layer.inputs[0]][0] for layer in layers
               if layer.inputs[0] in by_output
               and by_output[layer.inputs[0]][0].outputs == layer.inputs}
    needs = listing.differentiable
    slices = {layer.name: _slice(layer) for layer in layers}
    arrays: list[str] = []  # matrices to check for being finite
    data = list(listing.inputs)
    constants: dict[str, tuple[int, ...]] = {}  # D<layer> -> the input columns it stacks
    scratch: dict[str, int] = {}  # the arrays written in place: name -> columns

    def activation(layer: Any) -> Instruction | None:
        a = layer.activation
        return None if a is None else Instruction(f"A{layer.name}", a.op, (f"Z{layer.name}",),
                                                  a.constant)

    # which layer outputs the scalar code reads (as columns)
    read_as_column: set[str] = {listing.result}
    for pos, ins in enumerate(ins_all):
        if pos not in member:
            read_as_column.update(ins.operands)
    for layer in layers:
        if layer.name not in chained:
            read_as_column.update(layer.inputs)

    forward: list[str] = []
    scalar_targets = _to_check(listing, member)  # the scalar values to check for being finite
    for pos, ins in enumerate(ins_all):
        layer = member.get(pos)
        if layer is None:
            forward += rules.forward_lines(ins)
            continue
        if pos != layer.first:
            continue
        name = layer.name
        source = chained.get(name)
        if source is not None:
            h = f"A{source.name}"
        elif all(x in data for x in layer.inputs):  # the batch's own columns: built once
            h = f"scratch.D{name}"
            constants[f"D{name}"] = tuple(data.index(x) for x in layer.inputs)
        else:
            h = f"matrix({', '.join(layer.inputs)})"
        forward.append(f"H{name} = {h}")
        forward.append(f"Z{name} = matmul(H{name}, W{name}.T, out=scratch.Z{name})")
        scratch[f"Z{name}"] = len(layer.weights)
        if layer.biases is not None:
            forward.append(f"Z{name} += B{name}" if layer.bias_params is not None else
                           f"Z{name} += matrix({', '.join(layer.biases)})")
        arrays.append(f"Z{name}")
        act = activation(layer)
        if act is not None:
            lines = rules.forward_lines(act)
            written = _into(lines[0], f"scratch.A{name}") if len(lines) == 1 else None
            if written is not None:
                lines = [written]
                scratch[f"A{name}"] = len(layer.weights)
            forward += lines
            if not keeps_finite(act):  # (relu: A is finite where Z is)
                arrays.append(f"A{name}")
        else:
            forward.append(f"A{name} = Z{name}")
        for j, out in enumerate(layer.outputs):
            if out in read_as_column:
                forward.append(f"{out} = A{name}[:, {j}]")
    checks = [*left_sum("_c", scalar_targets), "_c = total(_c)"] if scalar_targets else \
        ["_c = 0.0"]
    checks += [f"_c += {a}.sum()" for a in arrays]
    forward += [*checks, "if _c - _c != 0.0:", "    raise FloatingPointError"]

    contributions: dict[str, list[str]] = {listing.result: [LOWERED.seed]} \
        if listing.result in needs else {}
    matrices: dict[str, list[str]] = {}  # layer -> matrix gradients of its outputs
    backward: list[str] = []
    pieces: list[str] = []  # the layers' gradient arrays, for the parameters in `index`
    index: list[int] = []
    blocks: list[tuple[int, int, str]] = []  # (start, stop, dW or dB) of the layers laid out
    # as slices of P
    for pos in range(len(ins_all) - 1, -1, -1):
        ins = ins_all[pos]
        layer = member.get(pos)
        if layer is None:
            backward += _backward_step(ins, rules, needs, contributions)
            continue
        if pos != layer.first:
            continue
        name = layer.name
        parts = matrices.pop(name, [])
        columns = [contributions.pop(out, None) for out in layer.outputs]
        if any(c is not None for c in columns):
            cells = []
            for c in columns:
                if c is None:
                    cells.append("0.0")
                else:
                    cells.append(c[0] if len(c) == 1 else f"({' + '.join(c)})")
            parts.append(f"matrix({', '.join(cells)})")
        if not parts:
            continue
        backward += left_sum(f"dA{name}", parts)
        act = activation(layer)
        if act is not None:
            (partial,) = rules.partials(act, [0])
            product = times(f"dA{name}", partial)
            if product.startswith(f"dA{name} * "):  # dA · φ′, into its array
                product = f"multiply(dA{name}, {partial}, out=scratch.dZ{name})"
                scratch[f"dZ{name}"] = len(layer.weights)
            backward.append(f"dZ{name} = {product}")
        else:
            backward.append(f"dZ{name} = dA{name}")
        block = slices[name]
        if block is not None:  # into G's slices, viewed as dW and dB
            start, m, n, biased = block
            blocks.append((start, start + m * n, f"(dZ{name}.T @ H{name}).ravel()"))
            if biased:
                blocks.append((start + m * n, start + m * n + m, f"dZ{name}.sum(0)"))
        else:
            pieces.append(f"(dZ{name}.T @ H{name}).ravel()")
            index.extend(i for row in layer.weights for i in row)
            if layer.bias_params is not None:
                pieces.append(f"dZ{name}.sum(0)")
                index.extend(layer.bias_params)
        if layer.biases is not None and layer.bias_params is None:
            for j, b in enumerate(layer.biases):
                if b in needs:
                    contributions.setdefault(b, []).append(f"dZ{name}[:, {j}]")
        if any(x in needs for x in layer.inputs):
            backward.append(f"dH{name} = matmul(dZ{name}, W{name}, out=scratch.dH{name})")
            scratch[f"dH{name}"] = len(layer.inputs)
            source = chained.get(name)
            if source is not None:
                matrices.setdefault(source.name, []).append(f"dH{name}")
            else:
                for i, x in enumerate(layer.inputs):
                    if x in needs:
                        contributions.setdefault(x, []).append(f"dH{name}[:, {i}]")
    text = "\n".join(forward + backward)
    scalar_params = set(re.findall(r"\bp\d+\b", text))
    # G = Σ of each parameter's entries in the layers' gradients (a shared bias has several)
    blocks.sort()
    starts, stops = [a for a, _, _ in blocks], [b for _, b, _ in blocks]
    if blocks and not pieces and starts == [0, *stops[:-1]] and stops[-1] == len(listing.params):
        # the slices tile P: G is their concatenation (+ 0.0: an entry is 0.0 + Σ, never -0.0)
        first: str | None = f"G = concatenate(({', '.join(e for _, _, e in blocks)},)) + 0.0"
        added: list[str] = []
    else:
        first, added = None, [f"G[{a}:{b}] += {e}" for a, b, e in blocks]
    tail, frozen = _gradient_tail(listing, pieces, contributions, needs, blocks=added,
                                  reduce="total", first=first)
    tail += ["loss = total(" + listing.result + ") * seed",
             "_c = loss + total(G)", "if _c - _c != 0.0:", "    raise FloatingPointError"]
    head = _lowered_head(listing, layers, slices, scalar_params)
    local = sorted(n for n in [*namespace("numpy"), "where"] if f"{n}(" in text)
    local += ["matmul", "multiply", "total", "matrix", "zeros", "bincount", "concatenate"]
    sig = "".join(f", {n}={n}" for n in local)
    names: dict[str, Any] = {"NP": len(listing.params), "INDEX": np.array(index, dtype=np.intp),
                             "FROZEN": np.array(frozen, dtype=np.intp)}
    for layer in layers:
        if slices[layer.name] is not None:  # read as slices of P: no index arrays
            continue
        names[f"I{layer.name}"] = np.array(layer.weights, dtype=np.intp)
        if layer.bias_params is not None:
            names[f"J{layer.name}"] = np.array(layer.bias_params, dtype=np.intp)
    loss_lines = [f"loss = total({listing.result}) * seed", "_c = loss",
                  "if _c - _c != 0.0:", "    raise FloatingPointError"]
    return {
        "forward": _define(f"forward(P, X, seed, scratch, *{sig})",
                           [*head, *forward, *loss_lines, "return loss"]),
        "forward_backward": _define(f"forward_backward(P, X, seed, scratch, *{sig})",
                                    [*head, *forward, *backward, *tail, "return loss, G"]),
    }, names, constants, scratch


# --- a penalty over the parameters (Σ p·p): its reductions as array code, the rest scalar --------
def emit_reduced(listing: Listing, reductions: list[Any]) -> tuple[str, dict[str, Any]]:
    """Source of ``penalty(P) -> (value, G)`` for a listing over the parameters alone (``P``,
    ``G``: arrays), and the index arrays it reads.

    Each reduction (:func:`.lower.find_reductions`) is ``Q = P[K]``, ``V = op(Q, ...)`` (the lane
    op's forward rule on arrays) and ``total = Σ V``; its backward is the sum's partial (1) times
    each lane's partials, on the arrays, added into ``G`` per parameter. Every other instruction is
    the scalar code, with the scalar emitter's backward step.
    """
    import numpy as np

    scalar = arrays = Rules("numpy")  # one namespace: the scalar rest runs on NumPy's too
    needs = listing.differentiable
    by_sum = {r.at: r for r in reductions}
    member = {pos for r in reductions for pos in r.members}
    every = tuple(range(len(listing.params)))

    def lane(r: Any) -> Instruction:
        return Instruction(f"V{r.name}", r.lane.op, tuple(f"Q{r.name}" if c is None else c
                                                           for c in r.pattern), r.lane.constant)

    forward: list[str] = []
    checked: list[str] = []
    for pos, ins in enumerate(listing.instructions):
        r = by_sum.get(pos)
        if r is not None:
            gather = "P" if r.lanes == every else f"P[K{r.name}]"  # (every parameter, in order)
            forward += [f"Q{r.name} = {gather}", *arrays.forward_lines(lane(r)),
                        f"{r.total} = total(V{r.name})"]
        elif pos not in member:
            forward += scalar.forward_lines(ins)
        else:
            continue
        checked.append(ins.target)
    contributions: dict[str, list[str]] = {listing.result: ["1.0"]} \
        if listing.result in needs else {}
    backward: list[str] = []
    pieces: list[str] = []
    index: list[int] = []
    for pos in range(len(listing.instructions) - 1, -1, -1):
        r = by_sum.get(pos)
        if r is None:
            if pos not in member:
                backward += _backward_step(listing.instructions[pos], scalar, needs,
                                           contributions)
            continue
        terms = contributions.pop(r.total, None)
        if terms is None:
            continue
        g = f"d{r.total}"
        backward += left_sum(g, terms)
        total = Instruction(r.total, listing.instructions[pos].op, (f"V{r.name}",))
        (partial,) = scalar.partials(total, [0])  # ∂Σ/∂ each lane
        backward.append(f"dV{r.name} = {times(g, partial)}")
        node = lane(r)
        wanted = [i for i, c in enumerate(r.pattern) if c is None]
        parts = [times(f"dV{r.name}", d) for d in arrays.partials(node, wanted)]
        backward.append(f"dQ{r.name} = lanes({' + '.join(parts)}, {len(r.lanes)})")
        pieces.append(f"dQ{r.name}")
        index.extend(r.lanes)
    head = []
    if any(re.search(r"\bp\d+\b", code) for code in [*forward, *backward]):
        head.append(f"{''.join(f'{p}, ' for p in listing.params)}= P.tolist()")
    whole = len(pieces) == 1 and tuple(index) == every  # Σ p·p over every parameter, in order
    tail, frozen = _gradient_tail(listing, pieces, contributions, needs,
                                  first=f"G = {pieces[0]}" if whole else None)
    check = [*left_sum("_c", [*checked, "total(G)"]), "if _c - _c != 0.0:",
             "    raise FloatingPointError"]
    body = [*head, *forward, *backward, *tail, *check, f"return {listing.result} + 0.0, G"]
    text = "\n".join(body)
    local = sorted({n for n in [*namespace("numpy"), "where"] if f"{n}(" in text}
                   | {"total", "lanes", "zeros", "bincount", "concatenate"})
    names: dict[str, Any] = {"NP": len(listing.params), "INDEX": np.array(index, dtype=np.intp),
                             "FROZEN": np.array(frozen, dtype=np.intp)}
    for r in reductions:
        names[f"K{r.name}"] = np.array(r.lanes, dtype=np.intp)
    return _define(f"penalty(P, *, {', '.join(f'{n}={n}' for n in local)})", body), names
