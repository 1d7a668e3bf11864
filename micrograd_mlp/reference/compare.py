"""Three gradients side by side: the hand-derived δ formulas, reverse-mode autograd, and a central
difference - one row per parameter, with a verdict per row and overall.

* manual δ  - :func:`micrograd_mlp.reference.manual.gradients` (sigmoid MLP + half squared error
  only; otherwise the column is empty and the verdict rests on the other two);
* autograd  - :func:`micrograd_mlp.core.grad` on the loss graph (no ``.grad`` is touched);
* numeric   - (E(p + h) − E(p − h)) / 2h with h = eps · max(1, |p|), every parameter restored.

Tolerances (stated in the report): a row is ok when
``|manual − autograd| ≤ manual_atol + manual_rtol·|autograd|`` and
``|numeric − autograd| ≤ numeric_atol + numeric_rtol·|autograd|``.
Defaults: 1e-12 + 1e-10·|g| (the two exact methods differ only by rounding) and 1e-7 + 1e-6·|g|
(the central difference has truncation error O(h²) and rounding error O(ε·E/h) ≈ 1e-10).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..core import Value, grad, no_grad
from ..core.checks import nonnegative_real, positive_real
from ..nn.losses import half_squared_error
from . import manual as _manual

__all__ = ["GradientReport", "GradientRow", "compare_gradients"]


@dataclass(frozen=True)
class GradientRow:
    """One parameter: its value and its gradient three ways."""

    name: str
    value: float
    manual: float | None
    autograd: float
    numeric: float
    manual_diff: float | None  # |manual − autograd|
    numeric_diff: float  # |numeric − autograd|
    ok: bool


@dataclass(frozen=True)
class GradientReport:
    """All rows, the overall verdict ``ok``, the loss value and the tolerances used."""

    rows: list[GradientRow]
    ok: bool
    loss: float
    tolerances: dict[str, float] = field(default_factory=dict)
    manual_note: str = ""

    def __getitem__(self, name: str) -> GradientRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no row for parameter {name!r}")

    def max_manual_diff(self) -> float | None:
        diffs = [r.manual_diff for r in self.rows if r.manual_diff is not None]
        return max(diffs) if diffs else None

    def max_numeric_diff(self) -> float:
        return max(r.numeric_diff for r in self.rows)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (for the CLI)."""
        return {
            "ok": self.ok,
            "loss": self.loss,
            "tolerances": dict(self.tolerances),
            "manual_note": self.manual_note,
            "rows": [r.__dict__.copy() for r in self.rows],
        }

    def __str__(self) -> str:
        def num(x: float | None) -> str:
            return "n/a" if x is None else f"{x:.12g}"

        def diff(x: float | None) -> str:
            return "n/a" if x is None else f"{x:.1e}"

        head = ["parameter", "value", "manual δ", "autograd", "central diff",
                "|manual−auto|", "|numeric−auto|", "verdict"]
        body = [[r.name, num(r.value), num(r.manual), num(r.autograd), num(r.numeric),
                 diff(r.manual_diff), diff(r.numeric_diff), "ok" if r.ok else "MISMATCH"]
                for r in self.rows]
        widths = [max(len(row[c]) for row in [head, *body]) for c in range(len(head))]
        left = {0, 7}

        def fmt(row: list[str]) -> str:
            return "  ".join(cell.ljust(w) if c in left else cell.rjust(w)
                             for c, (cell, w) in enumerate(zip(row, widths))).rstrip()

        t = self.tolerances
        lines = [fmt(head), fmt(["-" * w for w in widths]), *(fmt(r) for r in body), ""]
        lines.append(f"loss = {self.loss:.12g}")
        lines.append(
            f"tolerances: |manual−auto| ≤ {t['manual_atol']:g} + {t['manual_rtol']:g}·|g|;  "
            f"|numeric−auto| ≤ {t['numeric_atol']:g} + {t['numeric_rtol']:g}·|g|  "
            f"(central difference, h = {t['eps']:g}·max(1, |p|))"
        )
        if self.manual_note:
            lines.append(f"manual δ column: {self.manual_note}")
        lines.append(f"overall: {'ok' if self.ok else 'MISMATCH'} ({len(self.rows)} parameters)")
        return "\n".join(lines)


def compare_gradients(model: Any, inputs: Sequence[float], targets: Sequence[float], *,
                      loss: Callable[..., Value] = half_squared_error, eps: float = 1e-6,
                      include_frozen: bool = False, manual_atol: float = 1e-12,
                      manual_rtol: float = 1e-10, numeric_atol: float = 1e-7,
                      numeric_rtol: float = 1e-6) -> GradientReport:
    """Compare manual δ, autograd and central-difference gradients of ``loss(model(inputs),
    targets)`` for every parameter of ``model`` (frozen biases too with ``include_frozen``).
    The model's parameters and their ``.grad`` are left as they were."""
    eps = positive_real(eps, "eps")
    manual_atol = nonnegative_real(manual_atol, "manual_atol")
    manual_rtol = nonnegative_real(manual_rtol, "manual_rtol")
    numeric_atol = nonnegative_real(numeric_atol, "numeric_atol")
    numeric_rtol = nonnegative_real(numeric_rtol, "numeric_rtol")
    named = model.named_parameters(include_frozen=include_frozen)
    params = [v for _, v in named]

    # autograd
    L = loss(model(inputs), targets)
    auto = [g.data for g in grad(L, params)]

    # manual δ formulas (sigmoid + half squared error only)
    manual: dict[str, float] | None = None
    note = ""
    if loss is not half_squared_error:
        note = "n/a: the δ formulas are for the half squared error"
    else:
        try:
            manual = _manual.gradients(model, inputs, targets, include_frozen=include_frozen)
        except ValueError as exc:
            note = f"n/a: {exc}"

    # central differences, each parameter restored exactly
    numeric = []
    with no_grad():
        for p in params:
            saved = p.data
            h = eps * max(1.0, abs(saved))
            try:
                p.data = saved + h
                up = loss(model(inputs), targets).data
                p.data = saved - h
                down = loss(model(inputs), targets).data
            finally:
                p.data = saved
            numeric.append((up - down) / (2.0 * h))

    rows = []
    for (name, p), a, n in zip(named, auto, numeric):
        m = None if manual is None else manual.get(name)
        md = None if m is None else abs(m - a)
        nd = abs(n - a)
        ok = nd <= numeric_atol + numeric_rtol * abs(a)
        if md is not None:
            ok = ok and md <= manual_atol + manual_rtol * abs(a)
        rows.append(GradientRow(name, p.data, m, a, n, md, nd, ok))
    tolerances = {"manual_atol": manual_atol, "manual_rtol": manual_rtol,
                  "numeric_atol": numeric_atol, "numeric_rtol": numeric_rtol, "eps": eps}
    return GradientReport(rows, all(r.ok for r in rows), L.data, tolerances, note)
