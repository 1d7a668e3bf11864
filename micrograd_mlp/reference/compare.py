"""Three gradients side by side: the hand-derived δ formulas (or the user's own), reverse-mode
autograd, and a central difference - one row per parameter, with a verdict per row and overall, and
for a disagreeing hand-computed gradient a diagnosis of the likely mistake.

* manual    - by default :func:`micrograd_mlp.reference.manual.gradients` (every activation and
  loss of the library, one sample or a batch); or the user's gradients: a mapping
  ``{name: gradient}`` or a callable ``(model, inputs, targets) -> mapping`` (their backprop);
* autograd  - :func:`micrograd_mlp.core.grad` on the loss graph (one backward pass; no ``.grad``
  is touched);
* numeric   - (E(p + h) − E(p − h)) / 2h with h = eps · max(1, |p|), every parameter restored, for
  at most ``numeric_limit`` parameters spread evenly over the model (two forward passes each, so
  the cost is bounded by ``numeric_limit`` forward passes: linear in the model's size).

Tolerances (stated in the report): a row is ok when
``|manual − autograd| ≤ manual_atol + manual_rtol·|autograd|`` and
``|numeric − autograd| ≤ numeric_atol + numeric_rtol·|autograd|``.
Defaults: 1e-12 + 1e-10·|g| (the two exact methods differ only by rounding) and 1e-7 + 1e-6·|g|
(the central difference has truncation error O(h²) and rounding error O(ε·E/h) ≈ 1e-10).
A mismatching manual gradient gets a ``diagnosis`` (:mod:`.diagnosis`) when one candidate mistake
reproduces it to the manual tolerance.
"""

from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..core import Value, enable_grad, grad, no_grad
from ..core.checks import (
    finite_real,
    nonnegative_real,
    one_of,
    positive_int,
    positive_real,
    type_name,
)
from ..nn.losses import half_squared_error
from ..nn.training import batch_loss
from . import manual as _manual
from .diagnosis import Diagnoser

#: Rows the printed table shows before it summarises (every mismatching row is always shown).
MAX_TABLE_ROWS = 40
#: Columns the printed table fits by default (``table(width=None)``: the full table).
DEFAULT_WIDTH = 100


def column(xs: list[float | None], digits: int = 12) -> list[str]:
    """One table column of numbers with its decimal points lined up: fixed-point with the decimals
    that ``digits`` significant digits need for its smallest entry, or, when some entry needs an
    exponent at that precision, every entry in scientific notation (``None`` is ``n/a``)."""
    short = [None if x is None else f"{x:.{digits}g}" for x in xs]
    if any(s is not None and "e" in s for s in short):
        return ["n/a" if x is None else f"{x:.{digits - 1}e}" for x in xs]
    decimals = max((len(s.partition(".")[2]) for s in short if s is not None), default=0)
    return ["n/a" if x is None else f"{x:.{decimals}f}" for x in xs]


@dataclass(frozen=True)
class GradientRow:
    """One parameter: its value and its gradient three ways (``numeric`` is ``None`` for a
    parameter beyond the numeric check's limit), and for a mismatch the likely mistake."""

    name: str
    value: float
    manual: float | None
    autograd: float
    numeric: float | None
    manual_diff: float | None  # |manual − autograd|
    numeric_diff: float | None  # |numeric − autograd|
    ok: bool
    diagnosis: str | None = None
    torch: float | None = None


@dataclass(frozen=True)
class GradientReport:
    """All rows, the overall verdict ``ok``, the loss value and the tolerances used."""

    rows: list[GradientRow]
    ok: bool
    loss: float
    tolerances: dict[str, float] = field(default_factory=dict)
    manual_note: str = ""
    manual_source: str = "the δ formulas"
    numeric_checked: int = 0
    missing: list[str] = field(default_factory=list)  # (partial=True) names not filled in

    def __getitem__(self, name: str) -> GradientRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no row for parameter {name!r}")

    def max_manual_diff(self) -> float | None:
        diffs = [r.manual_diff for r in self.rows if r.manual_diff is not None]
        return max(diffs) if diffs else None

    def max_numeric_diff(self) -> float:
        return max((r.numeric_diff for r in self.rows if r.numeric_diff is not None), default=0.0)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (for the CLI)."""
        return {
            "ok": self.ok,
            "loss": self.loss,
            "tolerances": dict(self.tolerances),
            "manual_source": self.manual_source,
            "manual_note": self.manual_note,
            "numeric_checked": self.numeric_checked,
            "missing": list(self.missing),
            "rows": [r.__dict__.copy() for r in self.rows],
        }

    def _shown_rows(self, max_rows: int | None) -> tuple[list[GradientRow], int]:
        """The rows a table lists (every mismatching one, then agreeing ones up to
        ``max_rows``) and how many it leaves out."""
        rows = self.rows
        if max_rows is None or len(rows) <= max_rows:
            return rows, 0
        bad = [r for r in rows if not r.ok]
        good = [r for r in rows if r.ok][: max(0, max_rows - len(bad))]
        keep = {id(r) for r in [*bad, *good]}
        return [r for r in rows if id(r) in keep], len(rows) - len(keep)

    def _verdict(self, row: GradientRow, diagnosis: bool = True) -> str:
        if row.name in self.missing and row.ok:
            return "not filled in"
        if row.ok:
            return "ok"
        return "MISMATCH" + (f": {row.diagnosis}" if diagnosis and row.diagnosis else "")

    def _cells(self, rows: list[GradientRow], digits: int = 12, short: bool = False,
               value: bool = True, diagnosis: bool = True) -> tuple[list[str], list[list[str]]]:
        """The header and one row of cells per parameter: numbers with ``digits`` significant
        digits, ``short`` headers (``Δ manual`` for ``|manual−auto|``), the parameter's
        ``value`` or not, the verdict with its diagnosis or without."""
        def diff(x: float | None) -> str:
            return "n/a" if x is None else f"{x:.1e}"

        has_torch = any(r.torch is not None for r in self.rows)
        mine = "manual δ" if self.manual_source == "the δ formulas" else "yours"
        head = ["param" if short else "parameter", "value", mine, "autograd", "central diff",
                *(["torch"] if has_torch else []),
                *(["Δ manual", "Δ numeric"] if short else ["|manual−auto|", "|numeric−auto|"]),
                "verdict"]
        columns: list[list[float | None]] = [
            [r.value for r in rows], [r.manual for r in rows], [r.autograd for r in rows],
            [r.numeric for r in rows], *([[r.torch for r in rows]] if has_torch else [])]
        numbers = [column(xs, digits) for xs in columns]
        body = [[r.name, *(cells[k] for cells in numbers), diff(r.manual_diff),
                 diff(r.numeric_diff), self._verdict(r, diagnosis)] for k, r in enumerate(rows)]
        if not value:
            del head[1]
            for cells in body:
                del cells[1]
        return head, body

    def table(self, max_rows: int | None = MAX_TABLE_ROWS, width: int | None = DEFAULT_WIDTH
              ) -> str:
        """The report as text; beyond ``max_rows`` rows the agreeing ones are summarised.

        Every line fits ``width`` columns: the numbers lose digits (12 significant, down to 6)
        and the difference columns take short headers (``Δ manual``) until the row fits - then,
        if none does, the same without the parameters' values - and a diagnosis goes on the lines
        below its row; a width too narrow for any table lists each parameter as a wrapped
        paragraph. ``width=None``: the full table - 12 digits, each
        diagnosis beside its row, however wide."""
        rows, hidden = self._shown_rows(max_rows)
        layout = None if width is None else self._layout(rows, width)
        if width is None:
            lines = _aligned(*self._cells(rows))
        elif layout is None:
            lines = self._paragraphs(rows, width)
        else:
            head, body = self._cells(rows, *layout, diagnosis=False)
            lines = _aligned(head, body)[:2]
            for row, line in zip(rows, _aligned(head, body)[2:]):
                lines.append(line)
                if row.diagnosis and not row.ok:
                    lines.extend(textwrap.wrap(f"{row.name}: {row.diagnosis}", width,
                                               initial_indent="  ", subsequent_indent="    ",
                                               break_on_hyphens=False))
        short = layout is not None and layout[1]
        return "\n".join(lines + self._footer(hidden, short, width))

    def _layout(self, rows: list[GradientRow], width: int) -> tuple[int, bool, bool] | None:
        """The table that fits ``width`` with the values, the most digits and then the full
        headers (else without the values), as ``(digits, short, value)``; ``None``: none fits."""
        for value in (True, False):
            for digits in range(12, 5, -1):
                for short in (False, True):
                    head, body = self._cells(rows, digits, short, value, diagnosis=False)
                    if max(len(line) for line in _aligned(head, body)) <= width:
                        return digits, short, value
        return None

    def _paragraphs(self, rows: list[GradientRow], width: int) -> list[str]:
        """Each parameter as one wrapped paragraph (for a width no table fits)."""
        head, body = self._cells(rows)
        glue = "\0"  # a header and its number stay on one line: "central diff 0.0004"
        return [line.replace(glue, " ") for cells in body for line in textwrap.wrap(
            f"{cells[0]}: " + ", ".join(f"{h} {c}".replace(" ", glue)
                                        for h, c in zip(head[1:-1], cells[1:-1]))
            + f"; {cells[-1]}", width, subsequent_indent="    ", break_on_hyphens=False)]

    def _footer(self, hidden: int, short: bool, width: int | None) -> list[str]:
        """The lines below the table: rows left out, loss, tolerances, notes, the verdict."""
        t = self.tolerances
        manual, numeric = (("Δ manual = |manual − autograd|", "Δ numeric = |numeric − autograd|")
                           if short else ("|manual−auto|", "|numeric−auto|"))
        lines = [f"... {hidden} more rows, all ok (every row: as_dict() or --json)"] if hidden \
            else []
        lines += ["", f"loss = {self.loss:.12g}",
                  f"tolerances: {manual} ≤ {t['manual_atol']:g} + {t['manual_rtol']:g}·|g|;  "
                  f"{numeric} ≤ {t['numeric_atol']:g} + {t['numeric_rtol']:g}·|g|  "
                  f"(central difference, h = {t['eps']:g}·max(1, |p|))"]
        if self.numeric_checked < len(self.rows):
            lines.append(f"central differences: {self.numeric_checked} of {len(self.rows)} "
                         "parameters, spread over the model (numeric_limit)")
        if self.manual_note:
            lines.append(f"manual column: {self.manual_note}")
        if self.missing:
            lines.append(f"not filled in yet ({len(self.missing)}): {', '.join(self.missing[:20])}"
                         f"{' ...' if len(self.missing) > 20 else ''}")
        lines.append(f"overall: {'ok' if self.ok else 'MISMATCH'} ({len(self.rows)} parameters)")
        if width is None:
            return lines
        return [out for line in lines for out in (
            textwrap.wrap(line, width, subsequent_indent="    ", break_on_hyphens=False) or [""])]

    def __str__(self) -> str:
        return self.table()

    def _repr_html_(self) -> str:
        """The table for a notebook cell (agreeing rows beyond the cap summarised): numbers right
        aligned, each diagnosis in its row, then the loss, tolerances, notes and the verdict."""
        rows, hidden = self._shown_rows(MAX_TABLE_ROWS)
        head, body = self._cells(rows)
        esc = html.escape
        right = " style='text-align:right'"

        def row(cells: list[str], tag: str = "td") -> str:
            return "<tr>" + "".join(
                f"<{tag}{right if 0 < c < len(cells) - 1 else ''}>{esc(cell)}</{tag}>"
                for c, cell in enumerate(cells)) + "</tr>"

        more = f"<p>… {hidden} more rows, all ok</p>" if hidden else ""
        notes = "".join(f"<p>{esc(line)}</p>" for line in self._footer(0, False, None)
                        if line and not line.startswith("overall"))
        verdict = f"{'ok' if self.ok else 'MISMATCH'} ({len(self.rows)} parameters)"
        return (f"<table><thead>{row(head, 'th')}</thead>"
                f"<tbody>{''.join(row(cells) for cells in body)}</tbody></table>{more}{notes}"
                f"<p><b>overall: {esc(verdict)}</b></p>")


def _aligned(head: list[str], body: list[list[str]]) -> list[str]:
    """A header, a rule and the rows: the first column left-aligned, the numbers right-aligned,
    the last column (the verdict) as it is."""
    widths = [max(len(row[c]) for row in [head, *body]) for c in range(len(head) - 1)]
    last = len(head) - 1

    def fmt(row: list[str]) -> str:
        cells = [cell.ljust(w) if c == 0 else cell.rjust(w)
                 for c, (cell, w) in enumerate(zip(row, widths))]
        return "  ".join([*cells, row[last]]).rstrip()

    return [fmt(head), fmt(["-" * w for w in widths] + ["-------"]), *(fmt(r) for r in body)]


def _batch_loss(model: Any, inputs: Any, targets: Any, loss: Callable[..., Value],
                reduction: str) -> tuple[Value, int]:
    """``loss(model(x), t)``; for a batch Σ over samples, divided by N with ``'mean'`` (as
    ``train``)."""
    if not _manual.is_batch(inputs):
        return loss(model(inputs), targets), 1
    xs = list(inputs)
    _manual.check_batch_targets(xs, targets)
    return batch_loss(model, list(zip(xs, targets)), loss, reduction), len(xs)


def _user_gradients(given: Any, expected: list[str], frozen: list[str], partial: bool = False
                    ) -> dict[str, float]:
    """The user's ``{name: gradient}`` checked: every expected name present (with ``partial``,
    a name may be missing or ``None``: not filled in yet), no unknown name, each a finite
    number."""
    if not isinstance(given, Mapping):
        raise TypeError(f"manual gradients must be a mapping of parameter name -> number, got "
                        f"{type(given).__name__}")
    if partial:
        given = {n: g for n, g in given.items() if g is not None}
    missing = [] if partial else [n for n in expected if n not in given]
    unknown = [n for n in given if n not in expected and n not in frozen]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing {missing}")
        if unknown:
            parts.append(f"unknown {[str(n)[:40] for n in unknown[:20]]}")
        raise KeyError(f"manual gradients do not match the model's parameters: {'; '.join(parts)}"
                       f" (the model's are {expected[:20]}{' ...' if len(expected) > 20 else ''})")
    return {str(n): finite_real(g, f"manual gradient {str(n)[:40]!r}") for n, g in given.items()}


def _spread(count: int, limit: int) -> list[int]:
    """``min(count, limit)`` indices spread evenly over ``range(count)`` (first and last kept)."""
    if count <= limit:
        return list(range(count))
    if limit == 1:
        return [0]
    return sorted({round(k * (count - 1) / (limit - 1)) for k in range(limit)})


def compare_gradients(model: Any, inputs: Any, targets: Any, *,
                      loss: Callable[..., Value] = half_squared_error,
                      manual: Any = None, reduction: str = "mean", eps: float = 1e-6,
                      include_frozen: bool = False, manual_atol: float = 1e-12,
                      manual_rtol: float = 1e-10, numeric_atol: float = 1e-7,
                      numeric_rtol: float = 1e-6, numeric_limit: int = 64,
                      learning_rate: float = 0.5, torch: bool = False,
                      partial: bool = False) -> GradientReport:
    """Compare manual, autograd and central-difference gradients of ``loss(model(inputs),
    targets)`` for every parameter of ``model`` (frozen ones too with ``include_frozen``).

    ``inputs``/``targets``: one sample, or a batch (a list of input vectors and a list of target
    vectors; the loss is their sum, divided by N with ``reduction='mean'``, as ``train`` does).
    ``manual``: ``None`` for the δ formulas; a mapping ``{name: gradient}`` or a callable
    ``(model, inputs, targets) -> mapping`` for the user's own (a frozen parameter it names is
    compared too). ``learning_rate`` is the η the diagnosis tries (η·g, w − η·g). ``torch=True``
    adds PyTorch's gradients as a column (needs torch). The model's parameters and their
    ``.grad`` are left as they were. The loss graph is recorded even inside ``no_grad()``: the
    report is the same in either mode."""
    tolerances = {"manual_atol": nonnegative_real(manual_atol, "manual_atol"),
                  "manual_rtol": nonnegative_real(manual_rtol, "manual_rtol"),
                  "numeric_atol": nonnegative_real(numeric_atol, "numeric_atol"),
                  "numeric_rtol": nonnegative_real(numeric_rtol, "numeric_rtol"),
                  "eps": positive_real(eps, "eps")}
    numeric_limit = positive_int(numeric_limit, "numeric_limit")
    learning_rate = positive_real(learning_rate, "learning_rate")
    one_of(reduction, "reduction", ("mean", "sum"))
    if not callable(loss):
        raise TypeError(f"loss must be a loss function, got {type_name(loss)}")
    if manual is not None and not callable(manual) and not isinstance(manual, Mapping):
        raise TypeError("manual must be None (the δ formulas), a mapping name -> gradient or a "
                        "callable (model, inputs, targets) -> mapping, got "
                        f"{type(manual).__name__}")
    # the question is about the loss graph: record it whatever the caller's mode (no_grad too)
    with enable_grad():
        named, given, source = _yours(model, inputs, targets, manual, include_frozen, partial)
        params = [v for _, v in named]
        L, batch = _batch_loss(model, inputs, targets, loss, reduction)
        auto = [g.data for g in grad(L, params)]
        note = ""
        if given is None:
            try:
                given = _manual.gradients(model, inputs, targets, loss=loss,
                                          include_frozen=True, reduction=reduction)
            except (ValueError, TypeError) as exc:
                note = f"n/a: {exc}"
    run = (model, inputs, targets, loss, reduction)
    numeric = _central_differences(run, params, tolerances["eps"], numeric_limit)
    torch_grads: dict[str, float] = {}
    if torch:
        from .torch_bridge import torch_gradients
        torch_grads = torch_gradients(*run, [n for n, _ in named])
    diagnoser = _LazyDiagnoser(L, learning_rate, batch)
    rows = [_row(name, p, a, None if given is None else given.get(name), numeric.get(k),
                 torch_grads.get(name), tolerances, diagnoser)
            for k, ((name, p), a) in enumerate(zip(named, auto))]
    missing = [] if not partial or given is None else [n for n, _ in named if n not in given]
    return GradientReport(rows, all(r.ok for r in rows), L.data, tolerances, note, source,
                          len(numeric), missing)


def _yours(model: Any, inputs: Any, targets: Any, manual: Any, include_frozen: bool,
           partial: bool = False) -> tuple[list[tuple[str, Value]], dict[str, float] | None, str]:
    """The parameters to compare, the user's gradients (``None``: the δ formulas) and where they
    come from. A bad mapping is refused here, before any work; the user's callable may not
    change the model (its parameters and gradients are put back)."""
    every = model.named_parameters(include_frozen=True)
    named = model.named_parameters(include_frozen=include_frozen)
    if manual is None:
        return named, None, "the δ formulas"
    names = [n for n, _ in named]
    frozen = [n for n, _ in every if n not in names]
    if callable(manual) and not isinstance(manual, Mapping):
        saved = [(v, v.data, v.grad) for _, v in every]
        try:
            result = manual(model, inputs, targets)
        finally:
            for v, data, g in saved:
                v.data, v.grad = data, g
    else:
        result = manual
    given = _user_gradients(result, names, frozen, partial)
    extra = [n for n in given if n in frozen]
    if extra:
        named = [(n, v) for n, v in every if n in names or n in extra]
    return named, given, "yours"


def _central_differences(run: tuple[Any, ...], params: list[Value], eps: float, limit: int
                         ) -> dict[int, float]:
    """(L(p + h) − L(p − h)) / 2h on a bounded, evenly spread subset of the parameters, each
    restored exactly."""
    numeric: dict[int, float] = {}
    with no_grad():
        for k in _spread(len(params), limit):
            p = params[k]
            saved_data = p.data
            h = eps * max(1.0, abs(saved_data))
            try:
                p.data = saved_data + h
                up = _batch_loss(*run)[0].data
                p.data = saved_data - h
                down = _batch_loss(*run)[0].data
            finally:
                p.data = saved_data
            numeric[k] = (up - down) / (2.0 * h)
    return numeric


class _LazyDiagnoser:
    """A :class:`Diagnoser` made on the first wrong gradient only (it walks the graph)."""

    def __init__(self, loss: Value, learning_rate: float, batch: Any) -> None:
        self.args = (loss, learning_rate, batch)
        self.made: Diagnoser | None = None

    def diagnose(self, p: Value, name: str, m: float, close: Callable[[float, float], bool]
                 ) -> str | None:
        if self.made is None:
            self.made = Diagnoser(*self.args)
        diagnosis: str | None = self.made.diagnose(p, name, m, close)
        return diagnosis


def _row(name: str, p: Value, a: float, m: float | None, n: float | None, tg: float | None,
         tol: dict[str, float], diagnoser: _LazyDiagnoser) -> GradientRow:
    """One parameter's row: its gradients, their distances to autograd's, the verdict."""
    def close(x: float, ref: float) -> bool:
        return abs(x - ref) <= tol["manual_atol"] + tol["manual_rtol"] * abs(ref)

    md = None if m is None else abs(m - a)
    nd = None if n is None else abs(n - a)
    ok = nd is None or nd <= tol["numeric_atol"] + tol["numeric_rtol"] * abs(a)
    diagnosis = None
    if m is not None and not close(m, a):
        ok = False
        diagnosis = diagnoser.diagnose(p, name, m, close)
    if tg is not None and not close(tg, a):
        ok = False
    return GradientRow(name, p.data, m, a, n, md, nd, ok, diagnosis, tg)
