"""Check a learner's own micrograd-style engine: :func:`check_engine` runs a battery of small
graphs on the learner's ``Value`` class and on the library's :class:`~micrograd_mlp.core.Value`,
compares forward values and every leaf gradient, and names each mistake once, at its cause.

Mistake identifiers (``Finding.mistake``): ``wrong-forward`` and ``wrong-derivative`` (with
``.op``), ``overwrites-grad``, ``topological-order``, ``constant-operand``, ``seed-not-one``,
``raises`` (the learner's code raised on a graph it should handle), ``hangs`` (a probe ran
past its time limit) and ``wrong-gradient`` (a random graph - drawn from ``seed`` over the ops
found right - disagrees though every op alone and every structural probe agreed). What the engine
lacks or cannot do is a note, which never fails it.

Random graphs are programs (:class:`Graph`): leaf values, then steps ``(op, operands)`` whose
operands are earlier nodes (an int index, the leaves first) or plain-number constants; every step
stays inside the ops' safe domain (:func:`graph_step`), so the library's engine is exact on them.
:func:`random_graph` draws one from a ``random.Random``; the tests draw them with hypothesis.
"""

from __future__ import annotations

import functools
import html
import math
import os
import random
import sys
import textwrap
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from ..core import Value
from ..core.checks import nonnegative_int

#: One probe: ``build(V) -> (output, {leaf name: leaf})`` for a Value class ``V``.
Build = Callable[[Any], "tuple[Any, dict[str, Any]]"]

RTOL, ATOL = 1e-6, 1e-9
DEEP = 1500  # a chain deeper than Python's default recursion limit

SENTENCES = {
    "wrong-forward": "The value {op} computes is wrong: check the formula in its forward pass.",
    "wrong-derivative": "The gradient {op} passes back is wrong: check the local derivative in "
                        "its _backward.",
    "overwrites-grad": "A node used twice gets only one path's gradient: use `+=` in "
                       "_backward, not `=`.",
    "topological-order": "Gradients reach a node before all its consumers are done: run "
                         "_backward in reverse topological order, once per node.",
    "constant-operand": "A plain number beside a Value fails or is treated wrong: wrap it, "
                        "`other = other if isinstance(other, Value) else Value(other)`.",
    "seed-not-one": "backward() must start with the output's gradient set to 1 (dL/dL = 1).",
    "raises": "Your code raised an error on a graph it should handle.",
    "hangs": "Your code did not finish within the time limit (an endless loop?).",
    "wrong-gradient": "Each op alone is right, but a larger graph gets wrong gradients: check "
                      "how backward() visits the nodes (a node's identity, not its value).",
}


class NotValueLikeError(TypeError):
    """The class cannot be checked: it does not build from a float with ``data``, ``grad`` and
    ``backward()``."""


@dataclass(frozen=True)
class Finding:
    """One mistake: its identifier, the op, a minimal expression, the numbers, a sentence."""

    mistake: str
    op: str | None
    expression: str
    expected: dict[str, float] = field(default_factory=dict)
    got: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    line: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"mistake": self.mistake, "op": self.op, "expression": self.expression,
                "expected": self.expected, "got": self.got, "message": self.message,
                "line": self.line}


def wrapped(text: str, indent: str, width: int) -> list[str]:
    """``text`` as lines of at most ``width`` columns starting with ``indent`` (the lines after the
    first two columns further in): how the check reports fit a terminal."""
    return textwrap.wrap(text, width, initial_indent=indent,
                         subsequent_indent=indent + "  ") or [indent]


@dataclass(frozen=True)
class EngineReport:
    """The outcome of :func:`check_engine`: ``findings`` (mistakes) and ``notes`` (what the
    engine lacks or cannot do; they never fail it). :meth:`text` for a terminal; in a notebook
    cell (``_repr_html_``) the verdict, a table of the findings and the notes, all escaped."""

    name: str
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def mistakes(self) -> list[str]:
        return [f.mistake for f in self.findings]

    def as_dict(self) -> dict[str, Any]:
        return {"engine": self.name, "ok": self.ok,
                "findings": [f.as_dict() for f in self.findings], "notes": list(self.notes)}

    def text(self, width: int = 100) -> str:
        wrap = functools.partial(wrapped, width=width)

        lines = [f"engine {self.name}: " + ("ok, no mistake found" if self.ok else
                                            f"{len(self.findings)} mistake(s)")]
        for f in self.findings:
            head = f.mistake + (f" ({f.op})" if f.op else "") + f": {f.expression}"
            lines += wrap(head, "  ")
            if f.expected or f.got:
                lines += wrap(f"expected {_fmt(f.expected)}, got {_fmt(f.got)}", "    ")
            if f.line:
                lines += wrap(f.line, "    ")
            lines += wrap(f.message, "    ")
        for n in self.notes:
            lines += wrap(f"note: {n}", "  ")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """A notebook cell's view: the verdict (ok, or the mistakes), one table row per finding
        (mistake, op, expression, expected, got, message, the learner's line), then the notes;
        every piece of text escaped."""
        esc = html.escape
        verdict = f"engine {self.name}: " + ("ok, no mistake found" if self.ok else
                                             f"{len(self.findings)} mistake(s): "
                                             + ", ".join(self.mistakes))
        parts = [f"<div class='micrograd-engine-check'><p><b>{esc(verdict)}</b></p>"]
        if self.findings:
            head = ("mistake", "op", "expression", "expected", "got", "message",
                    "your line")
            rows = "".join(
                f"<tr><td>{esc(f.mistake)}</td><td>{esc(f.op or '')}</td>"
                f"<td><code>{esc(f.expression)}</code></td><td>{esc(_fmt(f.expected))}</td>"
                f"<td>{esc(_fmt(f.got))}</td><td>{esc(f.message)}</td>"
                f"<td><code>{esc(f.line or '')}</code></td></tr>" for f in self.findings)
            parts.append(f"<table><thead><tr>{''.join(f'<th>{h}</th>' for h in head)}</tr>"
                         f"</thead><tbody>{rows}</tbody></table>")
        if self.notes:
            items = "".join(f"<li>{esc(n)}</li>" for n in self.notes)
            parts.append(f"<p>notes (they never fail the engine):</p><ul>{items}</ul>")
        return "".join(parts) + "</div>"


def _fmt(d: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in d.items())


# --- running the learner's code under a time limit ----------------------------------------------
class _ProbeTimeout(BaseException):
    pass


@dataclass
class _Outcome:
    value: Any = None
    error: BaseException | None = None
    hung: bool = False
    line: str | None = None


def run_limited(fn: Callable[[], Any], timeout: float, learner_file: str | None) -> _Outcome:
    """``fn()`` in a thread with a line-trace budget of ``timeout`` seconds."""
    outcome = _Outcome()
    deadline = time.monotonic() + timeout

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            raise _ProbeTimeout
        return tracer

    def target() -> None:
        sys.settrace(tracer)
        try:
            outcome.value = fn()
        except _ProbeTimeout:
            outcome.hung = True
        except BaseException as exc:  # the learner's code may raise anything
            outcome.error = exc
            outcome.line = _learner_line(exc, learner_file)
        finally:
            sys.settrace(None)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    if thread.is_alive():  # stuck outside traced Python code: abandon it
        outcome.hung = True
    return outcome


def _learner_line(exc: BaseException, learner_file: str | None) -> str | None:
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if learner_file and f.filename == learner_file]
    where = (f"{os.path.basename(f.filename)}, line {f.lineno}: {(f.line or '').strip()}"
             for f in mine[-1:])
    text = next(where, None)
    return f"{type(exc).__name__}: {exc} at {text}" if text else None


# --- the battery -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Op:
    name: str
    needs: str  # the attribute the class must have
    build: Callable[..., Any]
    points: tuple[tuple[float, ...], ...]
    text: str


def _ops(rng: random.Random) -> list[_Op]:
    r = [round(rng.uniform(0.3, 2.5), 3) for _ in range(3)]
    return [
        _Op("+", "__add__", lambda a, b: a + b, ((2.0, -3.0), (r[0], r[1])), "a + b"),
        _Op("*", "__mul__", lambda a, b: a * b, ((2.0, -3.0), (r[0], -r[1])), "a * b"),
        _Op("-", "__sub__", lambda a, b: a - b, ((2.0, -3.0), (r[0], r[1])), "a - b"),
        _Op("neg", "__neg__", lambda a: -a, ((2.0,), (-r[2],)), "-a"),
        _Op("/", "__truediv__", lambda a, b: a / b, ((2.0, -4.0), (r[0], r[1])), "a / b"),
        _Op("**", "__pow__", lambda a, k: a ** k, ((2.0, 3), (1.5, 2), (r[0], -1), (2.0, 0.5)),
            "a ** k"),
        _Op("exp", "exp", lambda a: a.exp(), ((0.0,), (1.0,), (-r[2],)), "a.exp()"),
        _Op("log", "log", lambda a: a.log(), ((0.5,), (2.0,), (r[2],)), "a.log()"),
        _Op("tanh", "tanh", lambda a: a.tanh(), ((0.5,), (-1.2,), (r[2],)), "a.tanh()"),
        _Op("sigmoid", "sigmoid", lambda a: a.sigmoid(), ((0.5,), (-1.2,), (r[2],)),
            "a.sigmoid()"),
        _Op("relu", "relu", lambda a: a.relu(), ((1.5,), (-0.7,), (r[2],)), "a.relu()"),
    ]


def _op_probe(op: _Op, point: tuple[float, ...]) -> tuple[Build, str]:
    names = "ab"
    if op.name == "**":
        def build(V: Any) -> Any:
            a = V(float(point[0]))
            return op.build(a, point[1]), {"a": a}
        return build, f"a ** {point[1]} at a={point[0]}"

    def build_n(V: Any) -> Any:
        leaves = {names[i]: V(float(p)) for i, p in enumerate(point)}
        return op.build(*leaves.values()), leaves
    at = ", ".join(f"{names[i]}={p}" for i, p in enumerate(point))
    return build_n, f"{op.text} at {at}"


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL) or (math.isnan(a) and math.isnan(b))


def _num(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


class _Checker:
    def __init__(self, cls: type, timeout: float) -> None:
        self.cls = cls
        self.timeout = timeout
        module = sys.modules.get(getattr(cls, "__module__", ""), None)
        self.file = getattr(module, "__file__", None)
        self.findings: list[Finding] = []
        self.notes: list[str] = []

    def has(self, attr: str) -> bool:
        return callable(getattr(self.cls, attr, None))

    def run(self, build: Build, backward: int = 1) -> tuple[_Outcome, dict[str, float]]:
        """The learner's numbers (``out`` and each leaf's grad) for ``build``."""
        def go() -> dict[str, float]:
            out, leaves = build(self.cls)
            got = {"out": _num(getattr(out, "data", None))}
            for _ in range(backward):
                out.backward()
            got["out.grad"] = _num(getattr(out, "grad", None))
            got.update({f"d{k}": _num(getattr(v, "grad", None)) for k, v in leaves.items()})
            return got
        outcome = run_limited(go, self.timeout, self.file)
        return outcome, outcome.value if isinstance(outcome.value, dict) else {}

    @staticmethod
    def expected(build: Build, backward: int = 1) -> dict[str, float]:
        out, leaves = build(Value)
        exp = {"out": float(out.data)}
        for _ in range(backward):
            out.backward()
        exp["out.grad"] = 1.0
        exp.update({f"d{k}": float(v.grad) for k, v in leaves.items()})
        return exp

    def add(self, mistake: str, op: str | None, expression: str, expected: dict[str, float],
            got: dict[str, Any], outcome: _Outcome | None = None) -> None:
        if any(f.mistake == mistake and f.op == op for f in self.findings):
            return
        message = SENTENCES[mistake].format(op=f"`{op}`" if op else "the op")
        self.findings.append(Finding(mistake, op, expression, expected, got, message,
                                     outcome.line if outcome else None))

    def failure(self, outcome: _Outcome, op: str | None, expression: str) -> bool:
        """A hang or an exception becomes a finding; True when there was one."""
        if outcome.hung:
            self.add("hangs", op, expression, {}, {}, outcome)
        elif outcome.error is not None:
            self.add("raises", op, expression, {}, {"error": type(outcome.error).__name__},
                     outcome)
        else:
            return False
        return True

    @staticmethod
    def grads_differ(exp: dict[str, float], got: dict[str, float]) -> bool:
        return any(not _close(v, got.get(k, math.nan)) for k, v in exp.items()
                   if k.startswith("d"))


def check_engine(ValueClass: type, *, seed: int = 0, timeout: float = 2.0,
                 graphs: int = 20) -> EngineReport:
    """Check a learner's micrograd-style ``Value`` class against the library's engine.

    Each op alone at several points first (``wrong-forward``/``wrong-derivative``), then the
    gradient seed, constants beside Values, a node used twice, a diamond, a deep chain and
    ``backward()`` twice, attributed only when the ops they use are right; then, when all of
    that agreed, ``graphs`` random graphs drawn from ``seed`` over the ops found right. Raises
    :class:`NotValueLikeError` when the class does not build from a float with ``data``,
    ``grad`` and ``backward()``.
    """
    graphs = nonnegative_int(graphs, "graphs")
    c = _Checker(ValueClass, timeout)
    probe = run_limited(lambda: ValueClass(2.0), timeout, c.file)
    v = probe.value
    if (probe.error or probe.hung or v is None or not hasattr(v, "data")
            or not hasattr(v, "grad") or not callable(getattr(v, "backward", None))
            or _num(v.data) != 2.0):
        raise NotValueLikeError(f"{getattr(ValueClass, '__name__', ValueClass)!r} is not a "
                                "Value-like class: Value(2.0) with .data, .grad and .backward()")
    rng = random.Random(seed)
    good: set[str] = set()
    # 1. the seed, on the plainest graph
    seed_ok = True
    if c.has("__mul__"):
        build, text = _op_probe(_ops(rng)[1], (2.0, -3.0))
        out, got = c.run(build)
        exp = c.expected(build)
        if not out.error and not out.hung and not _close(got.get("out.grad", math.nan), 1.0):
            s = got.get("out.grad", math.nan)
            if all(_close(got.get(k, math.nan), s * e) for k, e in exp.items()
                   if k.startswith("d")):
                c.add("seed-not-one", None, "(a * b).backward() at a=2, b=-3",
                      {"out.grad": 1.0}, {"out.grad": s})
                seed_ok = False
                c.notes.append("gradients were not compared: the seed is wrong")
    # 2. each op alone
    for op in _ops(rng):
        if not c.has(op.needs):
            c.notes.append(f"no {op.name} ({op.needs}): not checked")
            continue
        bad = False
        for point in op.points:
            build, text = _op_probe(op, point)
            exp = c.expected(build)
            out, got = c.run(build)
            if c.failure(out, op.name, text):
                bad = True
                break
            if not _close(got["out"], exp["out"]):
                c.add("wrong-forward", op.name, text, {"out": exp["out"]}, {"out": got["out"]})
                bad = True
                break
            if seed_ok and c.grads_differ(exp, got):
                keep = [k for k in exp if k.startswith("d")]
                c.add("wrong-derivative", op.name, text, {k: exp[k] for k in keep},
                      {k: got.get(k) for k in keep})
                bad = True
                break
        if not bad:
            good.add(op.name)
    _composites(c, good)
    if not seed_ok:
        return EngineReport(ValueClass.__name__, tuple(c.findings), tuple(c.notes))
    _extremes(c, good)
    _constants(c, good)
    _structure(c, good)
    if not c.findings:
        _random_graphs(c, good, rng, graphs)
    return EngineReport(ValueClass.__name__, tuple(c.findings), tuple(c.notes))


#: Ops a learner often writes from others (micrograd's ``/`` is ``a * b**-1``): a wrong one is
#: reported at the part that is wrong when the learner's op gives the composite's very numbers.
_COMPOSITES: dict[str, tuple[Callable[..., Any], set[str]]] = {
    "/": (lambda a, b: a * b ** -1, {"*", "**"}),
    "-": (lambda a, b: a + (-b), {"+", "neg", "*"}),
    "neg": (lambda a: a * -1, {"*"}),
}


def _composites(c: _Checker, good: set[str]) -> None:
    for f in list(c.findings):
        if f.op not in _COMPOSITES:
            continue
        fn, parts = _COMPOSITES[f.op]
        if not parts - good - {f.op}:
            continue  # its parts are right: the op itself is wrong
        op = next(o for o in _ops(random.Random(0)) if o.name == f.op)
        point = op.points[0]
        mine, _ = _op_probe(op, point)
        def composite(V: Any, fn: Any = fn, point: Any = point) -> Any:
            leaves = {"ab"[i]: V(float(p)) for i, p in enumerate(point)}
            return fn(*leaves.values()), leaves
        one, got_op = c.run(mine)
        two, got_comp = c.run(composite)
        if (not one.error and not two.error and got_op
                and all(_close(got_op[k], got_comp.get(k, math.nan)) for k in got_op)):
            c.findings.remove(f)
            c.notes.append(f"{f.op} is built from {', '.join(sorted(parts - good))}: its "
                           "mistake is reported there")


def _extremes(c: _Checker, good: set[str]) -> None:
    for name, x in (("tanh", 400.0), ("tanh", -400.0), ("sigmoid", -800.0), ("exp", 50.0)):
        if name not in good:
            continue
        def build(V: Any, n: str = name, x: float = x) -> Any:
            a = V(x)
            return getattr(a, n)(), {"a": a}

        out, got = c.run(build)
        exp = c.expected(build)
        if out.error or out.hung or not _close(got.get("out", math.nan), exp["out"]):
            c.notes.append(f"a.{name}() at a={x:g} fails or is wrong (overflow?)")


_CONSTANTS = (
    ("+", "__add__", "a + 1", lambda a: a + 1, True),
    ("*", "__mul__", "a * 2", lambda a: a * 2, True),
    ("-", "__sub__", "a - 1", lambda a: a - 1, True),
    ("/", "__truediv__", "a / 2", lambda a: a / 2, True),
    ("+", "__radd__", "1 + a", lambda a: 1 + a, False),
    ("*", "__rmul__", "2 * a", lambda a: 2 * a, False),
    ("-", "__rsub__", "1 - a", lambda a: 1 - a, False),
    ("/", "__rtruediv__", "2 / a", lambda a: 2 / a, False),
)


def _constants(c: _Checker, good: set[str]) -> None:
    bad: list[str] = []
    first: tuple[str, str, dict[str, float], dict[str, Any], _Outcome] | None = None
    for op, needs, text, fn, right in _CONSTANTS:
        if op not in good:
            continue
        if not c.has(needs):
            c.notes.append(f"no {needs}, so `{text}` fails")
            continue
        def build(V: Any, fn: Callable[[Any], Any] = fn) -> Any:
            a = V(1.5)
            return fn(a), {"a": a}

        out, got = c.run(build)
        exp = c.expected(build)
        if out.hung or out.error is not None:
            missing = (isinstance(out.error, TypeError)
                       and "unsupported operand" in str(out.error))
            if out.error is not None and (out.line is None or missing) and not right:
                c.notes.append(f"`{text}` fails ({type(out.error).__name__})")
                continue
            failed = True
        else:
            failed = (not _close(got["out"], exp["out"])) or c.grads_differ(exp, got)
        if failed:
            bad.append(text)
            if first is None:
                shown = {"out": got.get("out"), "da": got.get("da")} if got else {
                    "error": type(out.error).__name__ if out.error else "timeout"}
                first = (op, text, {"out": exp["out"], "da": exp["da"]}, shown, out)
    if first is not None:
        op, text, exp, shown, out = first
        expr = f"{text} at a=1.5" + (f" (also {', '.join(bad[1:])})" if bad[1:] else "")
        c.add("constant-operand", op, expr, exp, shown, out)


def _twice(V: Any) -> Any:
    a = V(1.5)
    return a + a, {"a": a}


def _diamond(V: Any) -> Any:
    x, y, z = V(1.5), V(-2.0), V(0.5)
    b = x * y
    return b * (b + z), {"x": x, "y": y, "z": z}


def _deep_diamond(V: Any) -> Any:
    x, y = V(0.5), V(-1.25)
    b = x * y
    c = b + x
    d = c * b
    return d * c + b, {"x": x, "y": y}


def _chain(V: Any) -> Any:
    x = V(0.5)
    ones = [V(1.0) for _ in range(DEEP)]
    v = x
    for one in ones:
        v = v * one
    return v, {"x": x, "last": ones[-1]}


def _again(V: Any) -> Any:
    x, y = V(1.5), V(-2.0)
    return x * y + x, {"x": x, "y": y}


def _structural_mistake(c: _Checker, mistake: str, build: Build, text: str) -> bool:
    """Run one structural probe; a failure or a gradient that differs is a finding (True)."""
    out, got = c.run(build)
    if c.failure(out, None, text):
        return True
    exp = c.expected(build)
    if c.grads_differ(exp, got):
        keep = [k for k in exp if k.startswith("d")]
        c.add(mistake, None, text, {k: exp[k] for k in keep}, {k: got.get(k) for k in keep})
        return True
    return False


def _structure(c: _Checker, good: set[str]) -> None:
    if not {"+", "*"} <= good:
        c.notes.append("graph structure not checked: + or * is missing or wrong")
        return
    if _structural_mistake(c, "overwrites-grad", _twice, "(a + a).backward() at a=1.5"):
        return
    for op in (o for o in GRAPH_OPS if o in good and o != "+"):  # each op with a node reused
        probe = _reuse_probe(op)
        found = compare_graph(c, probe)
        if found is not None:
            c.findings.append(Finding("overwrites-grad", op, probe.text(), found.expected,
                                      found.got, SENTENCES["overwrites-grad"], found.line)
                              if found.mistake == "wrong-gradient" else found)
            return
    for build, text in ((_diamond, "b = x*y; (b * (b + z)).backward()"),
                        (_deep_diamond, "b = x*y; c = b + x; (c*b*c + b).backward()")):
        if _structural_mistake(c, "topological-order", build, text):
            return
    out, got = c.run(_chain)
    if isinstance(out.error, RecursionError):
        c.notes.append(f"backward() fails on a chain of {DEEP} nodes (a recursive topological "
                       "sort hits Python's recursion limit)")
    elif out.hung:
        c.notes.append(f"backward() on a chain of {DEEP} nodes ran past the time limit")
    elif not c.failure(out, None, f"a chain of {DEEP} multiplications"):
        exp = c.expected(_chain)
        if c.grads_differ(exp, got):
            c.add("topological-order", None, f"a chain of {DEEP} multiplications", exp, got)
    out, got = c.run(_again, backward=2)
    if not c.failure(out, None, "z = x*y + x; z.backward(); z.backward()"):
        # micrograd: the output's grad is set to 1 each time, every other node accumulates
        micrograd = {"dx": -4.0, "dy": 4.5}
        doubled = {k: 2 * v for k, v in c.expected(_again).items() if k.startswith("d")}
        if c.grads_differ(micrograd, got) and c.grads_differ(doubled, got):
            c.notes.append("gradients do not accumulate across two backward() calls "
                           "(micrograd's do; zero_grad is the caller's job)")


# --- random graphs ------------------------------------------------------------------------------
#: The ops a random graph may use: name -> (the attribute the class needs, operand count, build).
GRAPH_OPS: dict[str, tuple[str, int, Callable[..., Any]]] = {
    "+": ("__add__", 2, lambda a, b: a + b),
    "*": ("__mul__", 2, lambda a, b: a * b),
    "-": ("__sub__", 2, lambda a, b: a - b),
    "/": ("__truediv__", 2, lambda a, b: a / b),
    "neg": ("__neg__", 1, lambda a: -a),
    "**": ("__pow__", 2, lambda a, k: a ** k),
    "exp": ("exp", 1, lambda a: a.exp()),
    "log": ("log", 1, lambda a: a.log()),
    "tanh": ("tanh", 1, lambda a: a.tanh()),
    "sigmoid": ("sigmoid", 1, lambda a: a.sigmoid()),
    "relu": ("relu", 1, lambda a: a.relu()),
}
#: The exponents a random ``**`` step uses (whole numbers, as floats: constants are floats, node
#: indices ints; no complex powers of negative numbers).
EXPONENTS = (2.0, 3.0, -1.0)
BOUND = 50.0  # every node's value stays within ±BOUND


@dataclass(frozen=True)
class Graph:
    """A random expression graph as a program: ``leaves`` (their values), then ``steps``, each
    ``(op, operands)`` with operands an int (an earlier node; the leaves are 0..k−1) or a float
    constant (the right operand of a binary op, or the exponent of ``**``). The output is the
    last node."""

    leaves: tuple[float, ...]
    steps: tuple[tuple[str, tuple[int | float, ...]], ...]

    def build(self, V: Any) -> tuple[Any, dict[str, Any]]:
        """The graph on the Value class ``V``: ``(output, {leaf name: leaf})``."""
        leaves = {f"x{k}": V(float(x)) for k, x in enumerate(self.leaves)}
        nodes = list(leaves.values())
        for op, operands in self.steps:
            args = [nodes[a] if isinstance(a, int) else a for a in operands]
            nodes.append(GRAPH_OPS[op][2](*args))
        return nodes[-1], leaves

    def prefix(self, k: int) -> Graph:
        """The graph whose output is step ``k``'s node (0-based), without the steps it does not
        use (the nodes renumbered; the leaves kept)."""
        n = len(self.leaves)
        keep = {n + k}
        for j in range(n + k, n - 1, -1):
            if j in keep:
                keep.update(a for a in self.steps[j - n][1] if isinstance(a, int))
        index = {old: old for old in range(n)}
        steps: list[tuple[str, tuple[int | float, ...]]] = []
        for j, (op, operands) in enumerate(self.steps[:k + 1], n):
            if j in keep:
                index[j] = n + len(steps)
                steps.append((op, tuple(index[a] if isinstance(a, int) else a
                                        for a in operands)))
        return Graph(self.leaves, tuple(steps))

    def text(self) -> str:
        """The program as a learner reads it: ``x0 = 1.5; x1 = -2; n2 = x0 * x1; ...``."""
        names = [f"x{k}" for k in range(len(self.leaves))]
        parts = [f"{n} = {x:g}" for n, x in zip(names, self.leaves)]
        for op, operands in self.steps:
            args = [names[a] if isinstance(a, int) else f"{a:g}" for a in operands]
            name = f"n{len(names)}"
            names.append(name)
            if len(args) == 2:
                parts.append(f"{name} = {args[0]} {op} {args[1]}")
            else:
                parts.append(f"{name} = -{args[0]}" if op == "neg" else
                             f"{name} = {args[0]}.{op}()")
        return "; ".join(parts) + (f"; backward() from {names[-1]}" if self.steps else "")


def graph_step(values: list[float], op: str, operands: tuple[int | float, ...]) -> float | None:
    """The value of the node ``op(operands)`` over the nodes ``values`` (the library's engine),
    or ``None`` when the step leaves the safe domain: a log of less than 0.05, a divisor or a
    base of ``** -1`` nearer 0 than 0.1, relu nearer its kink than 0.001, a value beyond
    ±:data:`BOUND` - where float rounding would decide the answer, not the engine."""
    if op not in GRAPH_OPS or len(operands) != GRAPH_OPS[op][1]:
        return None
    xs = [values[a] if isinstance(a, int) else a for a in operands]
    if op == "**" and xs[1] not in EXPONENTS:
        return None
    if (op == "log" and xs[0] < 0.05) or (op == "/" and abs(xs[1]) < 0.1) \
            or (op == "**" and xs[1] < 0 and abs(xs[0]) < 0.1) \
            or (op == "relu" and abs(xs[0]) < 1e-3):
        return None
    try:
        x = float(GRAPH_OPS[op][2](*[Value(v) for v in xs]).data)
    except (ArithmeticError, ValueError):
        return None
    return x if math.isfinite(x) and abs(x) <= BOUND else None


def random_graph(rng: random.Random, ops: list[str], leaves: int = 3, steps: int = 8) -> Graph:
    """A graph over ``ops`` drawn from ``rng``: ``leaves`` leaves, up to ``steps`` steps (each
    operand most often one of the last three nodes, so nodes are reused and chains form)."""
    values = [round(rng.uniform(-2.0, 2.0), 3) for _ in range(leaves)]
    program: list[tuple[str, tuple[int | float, ...]]] = []
    for _ in range(steps * 4):
        if len(program) == steps or not ops:
            break
        op = rng.choice(ops)
        def pick() -> int:
            recent = max(0, len(values) - 3)
            return rng.randrange(recent, len(values)) if rng.random() < 0.7 \
                else rng.randrange(len(values))
        operands: tuple[int | float, ...]
        if GRAPH_OPS[op][1] == 1:
            operands = (pick(),)
        elif op == "**":
            operands = (pick(), rng.choice(EXPONENTS))
        else:
            operands = (pick(), pick() if rng.random() < 0.8 else round(rng.uniform(-2, 2), 2))
        x = graph_step(values, op, operands)
        if x is not None:
            values.append(x)
            program.append((op, operands))
    # every node counts: the nodes no step uses are summed into the output
    used = {a for _, operands in program for a in operands if isinstance(a, int)}
    sinks = [k for k in range(leaves, len(values)) if k not in used]
    out = sinks[-1] if sinks else len(values) - 1
    for k in reversed(sinks[:-1]):
        x = graph_step(values, "+", (out, k))
        if x is None:
            break
        values.append(x)
        program.append(("+", (out, k)))
        out = len(values) - 1
    return Graph(tuple(values[:leaves]), tuple(program))


def graph_ops(cls: type, good: set[str] | None = None) -> list[str]:
    """The ops of :data:`GRAPH_OPS` that ``cls`` has (and, given ``good``, that were found
    right)."""
    return [op for op, (needs, _, _) in GRAPH_OPS.items()
            if callable(getattr(cls, needs, None)) and (good is None or op in good)]


def compare_graph(c: _Checker, graph: Graph) -> Finding | None:
    """``graph`` on the learner's class and on the library's: a finding when they disagree."""
    text = graph.text()
    out, got = c.run(graph.build)
    if out.hung or out.error is not None:
        return Finding("hangs" if out.hung else "raises", None, text, {},
                       {} if out.hung else {"error": type(out.error).__name__},
                       SENTENCES["hangs" if out.hung else "raises"], out.line)
    exp = c.expected(graph.build)
    if not _close(got["out"], exp["out"]):
        return Finding("wrong-forward", None, text, {"out": exp["out"]}, {"out": got["out"]},
                       SENTENCES["wrong-forward"].format(op="the graph"))
    if c.grads_differ(exp, got):
        keep = [k for k in exp if k.startswith("d")]
        return Finding("wrong-gradient", None, text, {k: exp[k] for k in keep},
                       {k: got.get(k) for k in keep}, SENTENCES["wrong-gradient"])
    return None


def check_graph(ValueClass: type, graph: Graph, *, timeout: float = 2.0) -> Finding | None:
    """One random graph on a learner's class against the library's engine: ``None`` when the
    output and every leaf's gradient agree, else the finding."""
    return compare_graph(_Checker(ValueClass, timeout), graph)


def _reuse_probe(op: str) -> Graph:
    """The op with a node used twice: ``a op a`` (``a ** 2 + a``), or ``a.op() + a``."""
    if op == "**":
        return Graph((1.5,), (("**", (0, 2.0)), ("+", (1, 0))))
    if GRAPH_OPS[op][1] == 2:
        return Graph((1.5,), ((op, (0, 0)),))
    return Graph((1.5,), ((op, (0,)), ("+", (1, 0))))


def _random_graphs(c: _Checker, good: set[str], rng: random.Random, count: int) -> None:
    ops = graph_ops(c.cls, good)
    if count <= 0 or not {"+", "*"} <= set(ops):
        return
    for _ in range(count):
        graph = random_graph(rng, ops)
        finding = compare_graph(c, graph)
        if finding is not None:  # shown on the first node where it goes wrong
            for k in range(len(graph.steps)):
                smaller = graph.prefix(k)
                found = compare_graph(c, smaller)
                if found is not None:
                    finding = _at_op(c, smaller) or found
                    break
            c.findings.append(finding)
            return


def _at_op(c: _Checker, graph: Graph) -> Finding | None:
    """The last step's op alone at the values its operands had: a ``wrong-derivative`` or
    ``wrong-forward`` finding with that op when it goes wrong there (a point the per-op probes
    did not try), else ``None``."""
    values = list(graph.leaves)
    for op, operands in graph.steps:
        x = graph_step(values, op, operands)
        if x is None:
            return None
        values.append(x)
    op, operands = graph.steps[-1]
    nodes = [a for a in operands if isinstance(a, int)]
    alone = Graph(tuple(values[a] for a in nodes),
                  ((op, tuple(nodes.index(a) if isinstance(a, int) else a for a in operands)),))
    found = compare_graph(c, alone)
    if found is None or found.mistake not in ("wrong-gradient", "wrong-forward"):
        return None
    mistake = "wrong-derivative" if found.mistake == "wrong-gradient" else "wrong-forward"
    return Finding(mistake, op, alone.text(), found.expected, found.got,
                   SENTENCES[mistake].format(op=f"`{op}`"))
