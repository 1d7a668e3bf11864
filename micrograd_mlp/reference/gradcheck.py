"""``gradcheck(f, inputs)``: autograd against central differences for any function of Values, as
``torch.autograd.gradcheck`` does for tensors.

``f(*inputs)`` must return a Value. For each input x (a Value; a number becomes a leaf), the
reverse-mode derivative ∂f/∂x (:func:`~micrograd_mlp.core.grad`, one backward pass for all
inputs) is compared with (f(x + h) − f(x − h)) / 2h, h = eps · max(1, |x|), each input restored.
A row is ok when ``|numeric − autograd| ≤ atol + rtol·|autograd|`` (defaults 1e-7 and 1e-6: the
central difference's truncation error O(h²) plus rounding O(ε·|f|/h)). Cost: one backward pass and
two calls of ``f`` per input.

Higher order: ``f`` may itself return a gradient built with ``grad(..., create_graph=True)``,
so ``gradcheck(lambda x: grad(x**3, x, create_graph=True)[0], [2.0])`` checks the second derivative.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..core import Value, enable_grad, grad
from ..core.checks import finite_real, nonnegative_real, positive_real, type_name


@dataclass(frozen=True)
class GradcheckRow:
    """One input: its value, ∂f/∂x by autograd and by central differences, and the verdict."""

    name: str
    value: float
    autograd: float
    numeric: float
    diff: float
    ok: bool


@dataclass(frozen=True)
class GradcheckReport:
    """Every input's row, ``ok`` when all agree, f's value and the tolerances used."""

    rows: list[GradcheckRow]
    ok: bool
    output: float
    atol: float
    rtol: float
    eps: float

    def __str__(self) -> str:
        head = ["input", "value", "autograd", "central diff", "|numeric−auto|", "verdict"]
        body = [[r.name, f"{r.value:.12g}", f"{r.autograd:.12g}", f"{r.numeric:.12g}",
                 f"{r.diff:.1e}", "ok" if r.ok else "MISMATCH"] for r in self.rows]
        widths = [max(len(row[c]) for row in [head, *body]) for c in range(len(head))]
        lines = ["  ".join(c.ljust(w) if k in (0, 5) else c.rjust(w)
                           for k, (c, w) in enumerate(zip(row, widths))).rstrip()
                 for row in [head, *body]]
        lines.append(f"tolerance: |numeric−auto| ≤ {self.atol:g} + {self.rtol:g}·|g| "
                     f"(h = {self.eps:g}·max(1, |x|));  overall: {'ok' if self.ok else 'MISMATCH'}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><td>{html.escape(r.name)}</td><td>{r.value:.12g}</td><td>{r.autograd:.12g}</td>"
            f"<td>{r.numeric:.12g}</td><td>{r.diff:.1e}</td><td>{'ok' if r.ok else 'MISMATCH'}"
            "</td></tr>" for r in self.rows)
        return ("<table><thead><tr><th>input</th><th>value</th><th>autograd</th>"
                "<th>central diff</th><th>|numeric−auto|</th><th>verdict</th></tr></thead>"
                f"<tbody>{cells}</tbody></table><p>overall: {'ok' if self.ok else 'MISMATCH'}</p>")


def gradcheck(f: Callable[..., Value], inputs: Sequence[Value | float], *, eps: float = 1e-6,
              atol: float = 1e-7, rtol: float = 1e-6) -> GradcheckReport:
    """Check ``f``'s autograd gradient against central differences at ``inputs`` (see the module
    docstring). The inputs' ``.data`` and ``.grad`` are left as they were."""
    eps = positive_real(eps, "eps")
    atol = nonnegative_real(atol, "atol")
    rtol = nonnegative_real(rtol, "rtol")
    if not callable(f):
        raise TypeError(f"gradcheck: f must be callable, got {type_name(f)}")
    if isinstance(inputs, Value):
        inputs = [inputs]
    xs = [x if isinstance(x, Value) else Value(finite_real(x, f"gradcheck: inputs[{k}]"))
          for k, x in enumerate(inputs)]
    if not xs:
        raise ValueError("gradcheck: needs at least one input")

    def call() -> Value:
        out: Any = f(*xs)
        if not isinstance(out, Value):
            raise TypeError(f"gradcheck: f must return a Value, got {type_name(out)}")
        return out

    with enable_grad():  # f's graph is recorded even inside no_grad(): same report
        y = call()
        auto = [g.data for g in grad(y, xs)]
    rows = []
    for k, (x, a) in enumerate(zip(xs, auto)):
        saved = x.data
        h = eps * max(1.0, abs(saved))
        try:
            x.data = saved + h
            up = call().data
            x.data = saved - h
            down = call().data
        finally:
            x.data = saved
        n = (up - down) / (2.0 * h)
        d = abs(n - a)
        ok = math.isfinite(n) and d <= atol + rtol * abs(a)
        rows.append(GradcheckRow(x.label or f"x{k + 1}", saved, a, n, d, ok))
    return GradcheckReport(rows, all(r.ok for r in rows), y.data, atol, rtol, eps)
