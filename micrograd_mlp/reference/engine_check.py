"""Check a learner's own micrograd-style engine: :func:`check_engine` runs a battery of small
graphs on the learner's ``Value`` class and on the library's :class:`~micrograd_mlp.core.Value`,
compares forward values and every leaf gradient, and names each mistake once, at its cause.

Mistake identifiers (``Finding.mistake``): ``wrong-forward`` and ``wrong-derivative`` (with
``.op``), ``overwrites-grad``, ``topological-order``, ``constant-operand``, ``seed-not-one``,
``raises`` (the learner's code raised on a graph it should handle) and ``hangs`` (a probe ran
past its time limit). What the engine lacks or cannot do is a note, which never fails it.
"""

from __future__ import annotations

import math
import os
import random
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from ..core import Value

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


@dataclass(frozen=True)
class EngineReport:
    """The outcome of :func:`check_engine`: ``findings`` (mistakes) and ``notes`` (what the
    engine lacks or cannot do; they never fail it)."""

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
        import textwrap

        def wrap(text: str, indent: str) -> list[str]:
            return textwrap.wrap(text, width, initial_indent=indent,
                                 subsequent_indent=indent + "  ") or [indent]

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


def check_engine(ValueClass: type, *, seed: int = 0, timeout: float = 2.0) -> EngineReport:
    """Check a learner's micrograd-style ``Value`` class against the library's engine.

    Each op alone at several points first (``wrong-forward``/``wrong-derivative``), then the
    gradient seed, constants beside Values, a node used twice, a diamond, a deep chain and
    ``backward()`` twice, attributed only when the ops they use are right. Raises
    :class:`NotValueLikeError` when the class does not build from a float with ``data``,
    ``grad`` and ``backward()``.
    """
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


def _structure(c: _Checker, good: set[str]) -> None:
    if not {"+", "*"} <= good:
        c.notes.append("graph structure not checked: + or * is missing or wrong")
        return
    structural = False
    for mistake, build, text in (
            ("overwrites-grad", _twice, "(a + a).backward() at a=1.5"),
            ("topological-order", _diamond, "b = x*y; (b * (b + z)).backward()"),
            ("topological-order", _deep_diamond, "b = x*y; c = b + x; (c*b*c + b).backward()")):
        out, got = c.run(build)
        if c.failure(out, None, text):
            structural = True
            break
        exp = c.expected(build)
        if c.grads_differ(exp, got):
            keep = [k for k in exp if k.startswith("d")]
            c.add(mistake, None, text, {k: exp[k] for k in keep}, {k: got.get(k) for k in keep})
            structural = True
            break
    if structural:
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
