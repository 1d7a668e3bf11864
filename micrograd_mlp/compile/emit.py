"""The scalar emitter: a :class:`~.trace.Listing` → straight-line Python, built as a tree.

:func:`emit` writes three functions for one graph (or, with ``seed="seed"``, one sample of a
batch)::

    forward(P, X, seed)                          -> loss
    forward_backward(P, X, seed)                 -> (loss, [∂loss/∂p for p in P])
    train(P, X, seed, lr, steps, history)        SGD in place on the list P; appends each loss

from three pieces: the *forward* lines (one per instruction, the table's forward rule), a *check*
that the values are finite (one addition per value: ``_c - _c != 0.0`` only for a finite ``_c``;
a value that a later checked one carries is left out, see :func:`_covered`), and the *backward*
lines - the reverse sweep of :meth:`Value.backward`, node by node, last to first::

    ∂L/∂operand += ∂L/∂node · ∂node/∂operand          (the table's partial for that operand)

with each node's contributions summed in the order the engine adds them. A failed check raises
``FloatingPointError``; the caller then replays the step with the eager engine. The forward values
are checked together with the loss and the gradients, once at the end of the step (the gradients
:func:`_gradients_to_check` keeps).

Every line is a :class:`~.expr.Line` over expression trees (:mod:`.expr`: the table's rules as
templates, :mod:`.rules`); a value assigned once and read once is written into the line that reads
it (:func:`.expr.written_into_use`: the same float operations, fewer loads and stores), and the
tree is printed once. :class:`GeneratedCode` compiles the text and registers it with
:mod:`linecache`, so tracebacks show the generated lines. The lowered (NumPy) emitter is
:mod:`.lowered`.
"""

from __future__ import annotations

import itertools
import linecache
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..core.functions import namespace
from .expr import (
    Expr,
    Line,
    Statement,
    calls,
    is_simple,
    left_sum,
    line_text,
    times,
    written_into_use,
)
from .rules import Rules, carries_nonfinite, keeps_finite
from .trace import Instruction, Listing, is_constant

CHECK = ["if _c - _c != 0.0:", "    raise FloatingPointError"]


def _block(lines: Sequence[str], depth: int) -> list[str]:
    return ["    " * depth + line for line in lines]


def _check(names: Sequence[Expr]) -> list[Statement]:
    """Lines raising ``FloatingPointError`` unless every named value is finite."""
    return [*left_sum("_c", names), *CHECK] if names else []


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


def to_check(listing: Listing, member: dict[int, Any]) -> list[str]:
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


def backward_step(ins: Instruction, rules: Rules, needs: frozenset[str],
                  contributions: dict[str, list[Expr]],
                  factors: dict[int, tuple[Expr, Expr]] | None = None) -> list[Line]:
    """One node of the reverse sweep: the lines summing its gradient ``d<node>`` from the terms
    collected in ``contributions`` (popped), and - added to ``contributions`` - its terms
    ``d<node> · ∂node/∂operand`` for each operand that depends on a parameter (``needs``);
    ``factors`` records each term made, by its ``id``, as ``(d<node>, partial)``."""
    terms = contributions.pop(ins.target, None)
    if terms is None:  # depends on no parameter
        return []
    lines: list[Line] = []
    g: Expr
    if len(terms) == 1 and is_simple(terms[0]):
        g = terms[0]  # a bare name or a number: used as it is
    else:
        g = f"d{ins.target}"
        lines = left_sum(g, terms)
    wanted = [i for i, operand in enumerate(ins.operands) if operand in needs]
    for i, partial in zip(wanted, rules.partials(ins, wanted)):
        term = times(g, partial)
        contributions.setdefault(ins.operands[i], []).append(term)
        if factors is not None:
            factors[id(term)] = (g, partial)
    return lines


@dataclass
class _Pieces:
    forward: list[Line]  # the forward lines
    checked: list[str]  # the forward values that need a check of their own (see to_check)
    backward: list[Line]  # the reverse sweep
    gradients: list[str]  # per parameter: its gradient's name, or "0.0" if it does not reach
    gradients_checked: list[str]  # the gradients that need a check of their own


def _pieces(listing: Listing, seed: str) -> _Pieces:
    rules = Rules("float")
    forward = [line for ins in listing.instructions for line in rules.forward(ins)]
    needs = listing.differentiable
    # contributions[name]: the terms ∂L/∂node · ∂node/∂name, in the order the engine adds them
    contributions: dict[str, list[Expr]] = {listing.result: [seed]} \
        if listing.result in needs else {}
    backward: list[Line] = []
    factors: dict[int, tuple[Expr, Expr]] = {}
    for ins in reversed(listing.instructions):
        backward += backward_step(ins, rules, needs, contributions, factors)
    gradients = []
    for p in listing.params:
        if p in contributions:
            backward += left_sum(f"d{p}", contributions[p])
            gradients.append(f"d{p}")
        else:
            gradients.append("0.0")
    factor = {f"d{p}": _factor(factors.get(id(terms[0]))) if len(terms) == 1 else None
              for p, terms in contributions.items() if p in listing.params}
    return _Pieces(forward, to_check(listing, {}), backward, gradients,
                   _gradients_to_check(listing, factor))


def _factor(term: tuple[Expr, Expr] | None) -> tuple[str, str | None] | None:
    """A term ``g · m`` as ``(g, m)`` - ``m`` None for ±1 - when ``g`` is a name and ``m`` a name
    or a number (where the term is the partial alone, seed 1.0: ``(partial, None)``)."""
    if term is None:
        return None
    g, m = term
    if not isinstance(g, str) or not isinstance(m, str):
        return None
    if g == "1.0":  # (times gives the partial itself)
        return (m, None) if m.isidentifier() else None
    if not g.isidentifier():
        return None
    return (g, None) if m in ("1.0", "-1.0") else (g, m) if is_simple(m) else None


def _gradients_to_check(listing: Listing, terms: dict[str, tuple[str, str | None] | None]
                        ) -> list[str]:
    """The parameter gradients that need a check of their own. Not those of one term ``g · m``
    (``terms``: gradient -> ``(g, m)``, or None) with ``|m| ≤ 1`` - a number, or a node whose op has
    ``bound`` 1 (σ, tanh) - whose ``g`` another checked gradient of one term ``g · m′`` carries: a
    non-finite ``g`` makes ``g · m′`` non-finite whatever finite ``m′`` (inf · 0 is nan; the
    forward values are checked in the same check), and a finite ``g`` keeps ``|g · m| ≤ |g|``
    finite. The article's ``∂L/∂w2 = δ_h1 · 0.1`` needs no check once ``∂L/∂w1 = δ_h1 · 0.05``
    has one."""
    bounded = {ins.target for ins in listing.instructions
               if ins.op.bound is not None and ins.op.bound <= 1.0}
    factors: dict[str, tuple[str, bool]] = {}  # gradient -> (g, |m| ≤ 1)
    for name, factor in terms.items():
        if factor is not None:
            g, m = factor
            factors[name] = (g, m is None or m in bounded
                             or (is_constant(m) and abs(float(m)) <= 1.0))
    carried = {g for g, small in factors.values() if not small}  # by a gradient checked below
    wanted = []
    for name in terms:
        found = factors.get(name)
        if found is not None and found[1]:
            if found[0] in carried:
                continue
            carried.add(found[0])
        wanted.append(name)
    return wanted


def emit(listing: Listing, seed: str = "1.0") -> dict[str, str]:
    """The sources of ``forward``, ``forward_backward`` and ``train`` for ``listing``; ``seed``:
    ∂loss/∂result, the number 1.0 (one graph) or the code's argument ``seed`` (a batch's 1/n)."""
    pc = _pieces(listing, seed)
    movable = {*(ins.target for ins in listing.instructions),
               *(f"d{ins.target}" for ins in listing.instructions),
               *(g for g in pc.gradients if g != "0.0")}
    forward = written_into_use([*pc.forward, Line("loss", listing.result),
                                *_check(["loss", *pc.checked])], movable)
    step: list[Statement] = [*pc.forward, *pc.backward, Line("loss", listing.result),
                             *_check(["loss", *pc.gradients_checked, *pc.checked])]
    grads = pc.gradients
    updates = [Line(p, times("lr", g), "-=") for p, g in zip(listing.params, grads) if g != "0.0"]
    # + 0.0: a gradient is 0.0 + Σ terms in the engine (a leaf starts at 0.0), so never -0.0
    returned = ", ".join(g if g == "0.0" else f"{g} + 0.0" for g in grads)
    loop = written_into_use([*step, "record(loss)", *updates], movable)
    local = sorted(calls([*forward, *loop]) & set(namespace("float")))
    tail = "".join(f", {n}={n}" for n in local)  # the functions as locals (a fast look-up)
    tail = f", *{tail}" if tail else ""
    params = "".join(f"{p}, " for p in listing.params)
    head = [f"{params}= P"] if params else []
    if listing.inputs:
        head.append(f"{''.join(f'{x}, ' for x in listing.inputs)}= X")
    return {
        "forward": _define(f"forward(P, X, seed{tail})", [*head, *forward, "return loss"]),
        "forward_backward": _define(f"forward_backward(P, X, seed{tail})", [  # (returned:
            *head, *written_into_use(step, movable - set(grads)),  # the gradients stay)
            f"return loss, [{returned}]"]),
        "train": _define(f"train(P, X, seed, lr, steps, history{tail})", [
            *head, "record = history.append", "try:", "    for _step in range(steps):",
            *_block(list(map(line_text, loop)), 2),
            "finally:",  # the steps done are kept, even if one raised
            f"    P[:] = ({params})"]),
    }


def _define(signature: str, body: Sequence[Statement]) -> str:
    return "\n".join([f"def {signature}:", *_block([line_text(s) for s in body], 1)])


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


