"""The chain rule for one parameter, read off the recorded graph: the article's derivation,
generated.

:func:`explain` walks the graph of a loss (``topological_order``), computes ∂loss/∂node for every
node from each node's local partials - the very numbers backward uses
(:func:`~micrograd_mlp.core.value.local_partials`: the primitive table's ``partials``) - and
then groups the result the way the article writes it. Each factor is shown with the table's math
for its rule (``Primitive.math``: ``σ′(a) = out·(1 − out)``, ``∂/∂wᵢ = xᵢ``), never with the
numerically careful expression that computes it. For an output weight (w5 of the article)::

    ∂E/∂w5 = ∂E/∂out_o1 × ∂out_o1/∂net_o1 × ∂net_o1/∂w5

and for a hidden weight (w1) the first factor is itself a sum over the neurons out_h1 feeds::

    ∂E/∂out_h1 = Σ_o ∂E/∂out_o × ∂out_o/∂net_o × ∂net_o/∂out_h1     (paths through o1 and o2)

followed by the update w⁺ = w − η·∂E/∂w. Nothing about the article is hard-coded: the grouping
follows the graph's structure (a neuron is an ``affine`` node, its activation the one-operand
node made from it; :mod:`.reading`), and the labels the library gives (``net_{neuron}``,
``out_{neuron}``) only name things, so it works for any parameter of any MLP built by
:mod:`micrograd_mlp.nn` (a shared bias gets one term per neuron of its layer) and for a custom
module's unlabelled neurons (``neuron 2 of layer 1``).

For a batch, E = (1/N)·Σ_s E_s (or Σ_s E_s), and the explanation is that one sum:
∂E/∂w = (1/N)·Σ_s ∂E_s/∂w, the first sample's term factor by factor, the next
:data:`MAX_SAMPLES_LISTED` one line each, the rest as their total - the same size for any N.
"""

from __future__ import annotations

import html
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..core import Primitive, Value, enable_grad, topological_order
from ..core.checks import nonnegative_int, one_of, positive_real, type_name
from ..core.value import local_partials
from ..nn.losses import half_squared_error
from ..nn.optim import SGD
from ..nn.training import reduce_batch
from . import article
from .compare import _batch_loss
from .manual import check_batch_targets, is_batch
from .reading import activation_of, expression, heights, neuron_key, neuron_names, operand
from .softmax import find_softmax, logit_rule

#: Paths listed per sum (the rest are summarised with their total); for the parameter's own uses,
#: MAX_TOP.
MAX_LISTED = 8
MAX_TOP = 32
#: Paths expanded in one explanation in all, whatever the depth (bounds time and output).
MAX_PATHS = 64
#: Samples of a batch listed after the first (shown in full); the rest are summarised with their
#: total. Numbers written inline (a sum's terms, an input vector) are cut after MAX_INLINE.
MAX_SAMPLES_LISTED = 8
MAX_INLINE = 8
#: Columns the text fits by default (``Explanation.text(width=None)``: no limit).
DEFAULT_WIDTH = 100
#: A factor line's rule follows its value after this gap.
RULE_GAP = "    "
_RULE_MARK = "\t"  # where a two-part line may break (head, then rule), until it is fitted


def _natural_key(label: str) -> list[int | str]:
    """Sort o2 before o10 and h2_1 before h2_2."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", label)]


# --- graph calculus ----------------------------------------------------------------------------
def _primitive(node: Value) -> Primitive:
    if node.op is None:
        raise ValueError("a leaf has no operands")
    return node.op


def local_partial(node: Value, index: int) -> float:
    """∂node/∂(node.operands[index]): the number backward uses (the table's rule, generated)."""
    _primitive(node)
    return float(local_partials(node)[index])


def rule(node: Value, index: int, name: Callable[[Value], str] | None = None) -> str:
    """The table's math for ∂node/∂(operand ``index``), after the op's symbol:
    ``σ: σ′(a) = out·(1 − out)``. Where the rule's value is another operand
    (∂(a·b)/∂a = b, ∂/∂wᵢ = xᵢ) that operand's name follows (``= out_h1``)."""
    op = _primitive(node)
    width = int(node.attribute or 0) if op.name == "affine" else len(node.operands)
    text = f"{op.symbol}: {op.rule_for(index, width)}"
    other = _partner(node, op, index, width)
    if other is not None and name is not None:
        text += f" = {name(other)}"
    return text


def step_rule(node: Value, index: int) -> str:
    """The table's math for ∂node/∂(operand ``index``) inside the loss's own graph, with the
    operand the rule names (``∂(a·b)/∂b = a = 0.5``) and the node's constant (``k = 2``)."""
    op = _primitive(node)
    width = int(node.attribute or 0) if op.name == "affine" else len(node.operands)
    text = op.rule_for(index, width)
    other = _partner(node, op, index, width)
    if other is not None:
        text += f" = {expression(other)}"
    if op.constant and node.attribute is not None:
        text += f", {op.constant} = {node.attribute:g}"
    return text


def _partner(node: Value, op: Primitive, index: int, width: int) -> Value | None:
    """The operand the table's partial for operand ``index`` simply is (``b`` for ∂(a·b)/∂a), if
    any. The table says so by naming an operand as the whole rule (``partials = ("b", "a")``)."""
    names, rules = op.operand_names, op.partial_rules
    if rules is None:  # a user op whose source cannot be read
        return None
    if op.arity > 0:
        expr = rules[index]
        return node.operands[names.index(expr)] if expr in names else None
    group = index // width if width else len(op.terms)
    expr = rules[min(group, len(rules) - 1)]
    if expr in op.terms and group < len(op.terms):
        return node.operands[op.terms.index(expr) * width + index % width]
    return None


def adjoints(root: Value) -> tuple[list[Value], dict[Value, float]]:
    """Topological order of ``root``'s graph and ∂root/∂node for every node (``.grad`` is not
    touched)."""
    order = topological_order(root)
    adj: dict[Value, float] = {root: 1.0}
    for node in reversed(order):
        g = adj.get(node, 0.0)
        if node.op is None or g == 0.0:
            continue
        for child, partial in zip(node.operands, local_partials(node)):
            adj[child] = adj.get(child, 0.0) + g * partial
    return order, adj


# --- the structured explanation ----------------------------------------------------------------
@dataclass
class Step:
    """One step of the loss's own graph between a factor's node and the loss: the node it makes
    (``node``, as a learner writes it: ``(0.01 − out_o1)²``), the local derivative ``value`` and
    the table's math for it (``∂(aᵏ)/∂a = k·aᵏ⁻¹, k = 2``)."""

    node: str
    value: float
    rule: str


@dataclass
class Factor:
    """One factor of a chain-rule product: ``symbol`` = ``value``, by ``rule``.

    When the factor is a sum over the neurons a hidden output feeds, ``terms`` holds one
    :class:`Term` per such neuron (their values add up to ``value``). When it is reached through
    the loss's own graph (``∂E/∂out_o1`` through ``E_o1 = ½·(t − out)²``), ``steps`` are that
    chain's local derivatives, whose product is ``value``.
    """

    symbol: str
    value: float
    rule: str
    terms: list[Term] = field(default_factory=list)
    more: int = 0  # further paths, not listed (output cap), adding up to more_value
    more_value: float = 0.0
    steps: list[Step] = field(default_factory=list)


@dataclass
class Term:
    """One path: the product of ``factors`` (through neuron ``via``)."""

    via: str
    factors: list[Factor]
    value: float

    @property
    def product(self) -> float:
        p = 1.0
        for f in self.factors:
            p *= f.value
        return p


@dataclass
class Sample:
    """One sample of a batch: ∂E_s/∂parameter for the loss E_s of that sample alone, with its
    paths (``terms``; factor detail is printed for the first sample only, the others are shown
    as one line each)."""

    index: int  # 1-based, in the order the batch was given
    inputs: list[float]
    targets: list[float]
    loss_value: float
    gradient: float
    terms: list[Term]
    more: int = 0  # further paths of this sample, not listed (output cap)
    more_value: float = 0.0


@dataclass
class Explanation:
    """∂loss/∂parameter as the article writes it, plus the gradient-descent update.

    ``learning_rate`` is the η of the update shown, ``None`` when there is none (a model of
    your own explained without ``learning_rate=``: ``updated`` is then ``None`` too);
    ``rate_note`` says where η came from when it was not given as a number."""

    parameter: str
    value: float
    gradient: float
    loss_symbol: str
    loss_value: float
    terms: list[Term]
    learning_rate: float | None
    updated: float | None
    frozen: bool = False  # a frozen parameter is not updated
    more: int = 0  # further neurons the parameter feeds, not listed (output cap)
    more_value: float = 0.0
    # a batch: E = scale · Σ_s E_s (scale = 1/N for the mean, 1 for the sum); ``samples`` are
    # the ones listed, ``samples_more`` further ones add ``samples_more_value`` to Σ_s ∂E_s/∂p
    batch_size: int = 0
    scale: float = 1.0
    samples: list[Sample] = field(default_factory=list)
    samples_more: int = 0
    samples_more_value: float = 0.0
    rate_note: str = ""

    @property
    def factors(self) -> list[Factor]:
        """The factors of the single path (a weight feeds one neuron; for a batch, in the first
        sample)."""
        terms = self.samples[0].terms if self.samples else self.terms
        if len(terms) != 1:
            raise ValueError(
                f"{self.parameter} feeds {len(terms)} neurons; use .terms (one per neuron)"
            )
        return terms[0].factors

    def factor(self, symbol: str) -> Factor:
        """The factor with this symbol, searched through every term and sub-term."""
        terms = self.samples[0].terms if self.samples else self.terms
        stack = [f for t in terms for f in t.factors]
        while stack:
            f = stack.pop(0)
            if f.symbol == symbol:
                return f
            stack.extend(g for t in f.terms for g in t.factors)
        raise KeyError(f"no factor {symbol!r}")

    def text(self, width: int | None = DEFAULT_WIDTH) -> str:
        """The explanation as text, every line at most ``width`` columns (long formulas are
        broken before an ``=``, ``×`` or ``+``, the rest indented); ``None``: one line per
        formula, however long."""
        E, p = self.loss_symbol, self.parameter
        if self.samples:
            lines = self._batch_lines()
        else:
            lines = [f"∂{E}/∂{p} = {self.gradient:.12g}      {_RULE_MARK}({E} = "
                     f"{self.loss_value:.12g}, {p} = {self.value:.12g})"]
            lines.extend(_paths_lines(self.terms, self.more, self.more_value, p, "  "))
        lines.append(self.update_line())
        return "\n".join(out for line in lines for out in fit_line(line, width))

    def __str__(self) -> str:
        return self.text()

    def update_line(self) -> str:
        """``update (η = 0.5): w5⁺ = w5 − η·∂E/∂w5 = ...``, or why there is no update."""
        E, p, lr = self.loss_symbol, self.parameter, self.learning_rate
        if self.frozen:
            return (f"{p} is frozen (requires_grad is false): no update, it stays "
                    f"{self.value:.12g}")
        if lr is None or self.updated is None:
            return (f"update: no learning rate given - a model has none of its own "
                    f"(learning_rate=η, or --lr η, shows {p}⁺ = {p} − η·∂{E}/∂{p})")
        note = f", {self.rate_note}" if self.rate_note else ""
        return (f"update (η = {lr:g}{note}): {p}⁺ = {p} − η·∂{E}/∂{p} = {self.value:.12g} − "
                f"{lr:g} × {self.gradient:.12g} = {self.updated:.12g}")

    def _batch_lines(self) -> list[str]:
        """One Σ over the samples: the first in full, the next ones one line each, the rest
        summarised with their total (at most 1 + MAX_SAMPLES_LISTED samples are shown)."""
        E, p, n = self.loss_symbol, self.parameter, self.batch_size
        mean = self.scale != 1.0
        how = f"the mean over the {n} samples" if mean else \
            f"the sum over the {n} {_plural(n, 'sample')}"
        pre = f"1/{n} · " if mean else ""
        pre_x = f"1/{n} × " if mean else ""
        values = [s.gradient for s in self.samples[:MAX_INLINE]]
        rest = n - len(values)
        listed = _signed_sum(values) + (f" + … ({rest} more)" if rest else "")
        lines = [f"∂{E}/∂{p} = {self.gradient:.12g}      {_RULE_MARK}({E} = {pre}Σ_s {E}_s = "
                 f"{self.loss_value:.12g}, {how}; {p} = {self.value:.12g})",
                 f"  = {pre}Σ_s ∂{E}_s/∂{p} = {pre_x}({listed})"]
        for k, s in enumerate(self.samples):
            head = f"  sample {s.index}: ∂{E}_{s.index}/∂{p} = {s.gradient:.12g}"
            if k == 0:
                lines.append(f"{head}      {_RULE_MARK}(x = {_vector(s.inputs)}; "
                             f"t = {_vector(s.targets)}; {E}_{s.index} = {s.loss_value:.12g})")
                lines.extend(_paths_lines(s.terms, s.more, s.more_value, p, "    "))
            else:
                lines.append(head + "  = " + _one_line(s))
        if self.samples_more:
            lines.append(f"  ... and {self.samples_more} more "
                         f"{_plural(self.samples_more, 'sample')} (not listed: output cap), "
                         f"Σ ∂{E}_s/∂{p} = {self.samples_more_value:.12g}")
        return lines

    def _repr_html_(self) -> str:
        """The explanation for a notebook cell: the chain as a table of factors (symbol,
        value, the table's rule; a sum's paths and the loss's steps nested under their factor),
        then the update. A batch, or a sum over paths, shows the text in full below."""
        return explanation_html(self)


# --- text that fits a width -------------------------------------------------------------------


def _split_top(text: str, separators: tuple[str, ...]) -> list[str]:
    """``text`` cut before each separator (`` = ``, `` × `` ...) that is not inside brackets;
    every piece after the first starts with its separator."""
    pieces: list[str] = []
    depth = start = i = 0
    while i < len(text):
        ch = text[i]
        depth += 1 if ch in "([" else -1 if ch in ")]" else 0
        hit = next((sep for sep in separators if depth == 0 and text.startswith(sep, i)), None)
        if hit and text[start:i].strip():
            pieces.append(text[start:i].rstrip(" ") if pieces else text[start:i])
            start = i = i + len(hit) - len(hit.lstrip(" "))  # the piece starts at the separator
            continue
        i += 1
    pieces.append(text[start:])
    return [piece for piece in pieces if piece]


def wrap_math(line: str, width: int | None, hang: int = 4) -> list[str]:
    """``line`` broken into lines of at most ``width`` columns: before a top-level `` = `` where
    it can, else before `` × ``/`` + ``/`` − ``, else at spaces; the continuation lines are
    indented ``hang`` more than the line itself."""
    if width is None or len(line) <= width:
        return [line]
    indent = " " * (len(line) - len(line.lstrip(" ")) + hang)
    first, *rest = _split_top(line, (" = ",))
    pieces = [first]
    room = max(20, width - len(indent))
    for piece in rest:
        pieces.extend(_split_top(piece, (" × ", " + ", " − ")) if len(piece) > room else [piece])
    out: list[str] = []
    current = ""
    for piece in pieces:
        candidate = piece if not current else f"{current} {piece}"
        prefix = indent if out else ""
        if current and len(prefix + candidate) > width:
            out.append(prefix + current)
            current = piece
        else:
            current = candidate
    out.append((indent if out else "") + current)
    fitted: list[str] = []
    for text in out:  # a piece longer than the room: at spaces, then anywhere
        if len(text) <= width:
            fitted.append(text)
            continue
        lead = text[: len(text) - len(text.lstrip(" "))]
        fitted.extend(textwrap.wrap(text.lstrip(" "), width, initial_indent=lead,
                                    subsequent_indent=indent, break_on_hyphens=False))
    return fitted


def fit_line(line: str, width: int | None) -> list[str]:
    """One logical line as printed lines of at most ``width`` columns. A line in two parts
    (a factor and its rule, a step and its rule, a gradient and its context: ``head`` padded,
    _RULE_MARK, ``tail``) keeps them side by side when they fit, else the tail goes to the next
    lines, indented under the head."""
    if _RULE_MARK not in line:
        return wrap_math(line, width)
    head, tail = line.split(_RULE_MARK, 1)
    if width is None or len(head) + len(tail) <= width:
        return [head + tail]
    indent = " " * (len(head) - len(head.lstrip(" ")) + 4)
    return [*wrap_math(head.rstrip(" "), width), *wrap_math(indent + tail, width)]


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def _vector(xs: Sequence[float]) -> str:
    """``0.05, 0.1`` (at most MAX_INLINE numbers, then the count of the rest)."""
    shown = ", ".join(f"{x:.6g}" for x in xs[:MAX_INLINE])
    return shown + (f", … ({len(xs) - MAX_INLINE} more)" if len(xs) > MAX_INLINE else "")


def _signed_sum(values: Sequence[float]) -> str:
    """``0.1 − 0.02 + 0.3``."""
    text = f"{values[0]:.9g}" if values else "0"
    for v in values[1:]:
        text += f" − {-v:.9g}" if v < 0 else f" + {v:.9g}"
    return text


def _one_line(sample: Sample) -> str:
    """A sample's ∂E_s/∂p on one line: its factors' values for one path, else its paths'
    values (the symbols are those of the sample shown in full)."""
    terms = sample.terms
    if len(terms) == 1 and not sample.more:
        return " × ".join(f"{f.value:.9g}" for f in terms[0].factors)
    count = len(terms) + sample.more
    shown = _signed_sum([t.value for t in terms[:MAX_INLINE]])
    rest = count - min(len(terms), MAX_INLINE)
    return f"Σ over {count} paths = {shown}" + (f" + … ({rest} more)" if rest else "")


def _paths_lines(terms: list[Term], more: int, more_value: float, p: str, indent: str
                 ) -> list[str]:
    """The paths of one loss to ``p``: the Σ over them when more than one, each path's factors."""
    lines = []
    count = len(terms) + more
    if count > 1:
        lines.append(f"{indent}= Σ over the {count} {_plural(count, 'path')} {p} feeds: "
                     + " + ".join(f"[via {t.via}]" for t in terms)
                     + (f" + [{more} more]" if more else ""))
    for t in terms:
        if count > 1:
            lines.append(f"{indent}via {t.via}: {t.value:.12g}")
        lines.extend(_term_lines(t, indent if count == 1 else indent + "  "))
    if more:
        lines.append(f"{indent}... and {more} more {_plural(more, 'path')} "
                     f"(not listed: output cap), together {more_value:.12g}")
    return lines


def _step_lines(steps: list[Step], indent: str) -> list[str]:
    """A factor's steps through the loss's own graph, one line each: value, node, rule."""
    vwidth = max(len(f"{s.value:.6g}") for s in steps)
    nwidth = max(len(s.node) for s in steps)
    return [f"{indent}× {f'{s.value:.6g}'.ljust(vwidth)}  {(s.node + ':').ljust(nwidth + 1)}  "
            f"{_RULE_MARK}{s.rule}" for s in steps]


def _term_lines(term: Term, indent: str) -> list[str]:
    lines = [indent + "= " + " × ".join(f.symbol for f in term.factors),
             indent + "= " + " × ".join(f"{f.value:.9g}" for f in term.factors)]
    width = max(len(f.symbol) for f in term.factors)
    vwidth = max(len(f"{f.value:.12g}") for f in term.factors)
    for f in term.factors:
        lines.append(f"{indent}    {f.symbol.ljust(width)} = {f'{f.value:.12g}'.rjust(vwidth)}"
                     f"{RULE_GAP}{_RULE_MARK}{f.rule}")
        if f.steps:
            lines.extend(_step_lines(f.steps, indent + "      "))
        if f.terms:
            sub = indent + "      "
            for t in f.terms:
                syms = " × ".join(g.symbol for g in t.factors)
                vals = " × ".join(f"{g.value:.9g}" for g in t.factors)
                lines.append(f"{sub}via {t.via}: {syms} = {vals} = {t.value:.12g}")
                for g in t.factors:
                    if g.terms:  # deeper level: show its own sum compactly
                        lines.extend(_term_lines(Term(t.via, [g], g.value), sub + "  ")[2:])
            if f.more:
                lines.append(f"{sub}... and {f.more} more {_plural(f.more, 'path')} (not listed: "
                             f"output cap), together {f.more_value:.12g}")
            lines.append(f"{sub}sum = {f.value:.12g}")
    return lines


# --- a notebook cell --------------------------------------------------------------------------
def _cells(*cells: str, head: bool = False, indent: int = 0) -> str:
    tag = "th" if head else "td"
    pad = f" style='padding-left:{1.5 * indent:g}em'" if indent else ""
    first, *rest = (html.escape(c) for c in cells)
    return (f"<tr><{tag}{pad}>{first}</{tag}>"
            + "".join(f"<{tag}>{c}</{tag}>" for c in rest) + "</tr>")


def _factor_rows(term: Term, indent: int) -> list[str]:
    """A path's factors as table rows (symbol, value, rule), each with its steps through the
    loss and the paths of a sum nested under it."""
    rows = []
    for f in term.factors:
        rows.append(_cells(f.symbol, f"{f.value:.12g}", f.rule, indent=indent))
        rows.extend(_cells(f"× {s.node}", f"{s.value:.6g}", s.rule, indent=indent + 1)
                    for s in f.steps)
        for t in f.terms:
            rows.append(_cells(f"via {t.via}: " + " × ".join(g.symbol for g in t.factors),
                               f"{t.value:.12g}",
                               " × ".join(f"{g.value:.9g}" for g in t.factors), indent=indent + 1))
        if f.more:
            rows.append(_cells(f"… {f.more} more {_plural(f.more, 'path')}",
                               f"{f.more_value:.12g}", "not listed: output cap",
                               indent=indent + 1))
    return rows


def explanation_html(e: Explanation) -> str:
    """``e`` as HTML: the gradient, the chain as a table of factors (one block per path), the
    update, and the whole text (``e.text(None)``) in a collapsed ``<details>``."""
    E, p = e.loss_symbol, e.parameter
    terms = e.samples[0].terms if e.samples else e.terms
    rows = [_cells("factor", "value", "rule", head=True)]
    for t in terms:
        if len(terms) > 1:
            rows.append(_cells(f"via {t.via}: " + " × ".join(f.symbol for f in t.factors),
                               f"{t.value:.12g}", "one path"))
        rows.extend(_factor_rows(t, 1 if len(terms) > 1 else 0))
    where = f" (sample {e.samples[0].index} of {e.batch_size})" if e.samples else ""
    esc = html.escape
    return (f"<div class='micrograd-explain'>"
            f"<p><b>{esc(f'∂{E}/∂{p} = {e.gradient:.12g}')}</b> "
            f"{esc(f'({E} = {e.loss_value:.12g}, {p} = {e.value:.12g})')}</p>"
            f"<table><caption>{esc(f'the chain rule, factor by factor{where}')}</caption>"
            f"{''.join(rows)}</table>"
            f"<p>{esc(e.update_line())}</p>"
            f"<details><summary>as text</summary><pre>{esc(e.text(None))}</pre></details></div>")


class _Walker:
    """Groups the adjoints of one graph into the article's factors."""

    def __init__(self, loss: Value, depth: int, symbol: str | None = None) -> None:
        self.loss = loss
        self.E = symbol or loss.label or "E"
        self.order, self.adj = adjoints(loss)
        self.consumers: dict[Value, list[tuple[Value, int]]] = {}
        for node in self.order:
            for i, child in enumerate(node.operands):
                self.consumers.setdefault(child, []).append((node, i))
        self.depth = depth
        self.budget = MAX_PATHS  # paths expanded in all (bounds time and output)
        self.names: dict[Value, str] | None = None
        self.softmax = find_softmax(self.order, self.adj)  # ∂E/∂z = p − y through a softmax

    @staticmethod
    def name(node: Value) -> str:
        """A node in a symbol: ``out_o1``, ``(w·3)`` (``∂E/∂(w·3)``)."""
        return operand(expression(node))

    def neuron(self, net: Value) -> str:
        """``o1`` for ``net_o1``; an unlabelled neuron by its place (``neuron 1 of layer 2``)."""
        if self.names is None:
            self.names = neuron_names(self.order, heights(self.order, self.consumers))
        return self.names.get(neuron_key(net)) or expression(net)

    def activation_of(self, net: Value) -> Value | None:
        """The out_ node made from ``net`` by a one-operand activation, if that is its only use."""
        return activation_of(self.consumers, net)

    def sorted_users(self, users: list[tuple[Value, int]]) -> list[tuple[Value, int]]:
        """Consumers in reading order (o1 before o2), not graph-walk order."""
        return sorted(users, key=lambda u: (_natural_key(
            self.neuron(u[0]) if self.is_net(u[0]) else self.name(u[0])), u[1]))

    def listed(self, users: list[tuple[Value, int]], cap: int = 0
               ) -> tuple[list[tuple[Value, int]], list[tuple[Value, int]]]:
        """The users to expand (at most ``cap`` or MAX_LISTED, within the budget) and the
        rest."""
        ordered = self.sorted_users(users)
        k = max(0, min(cap or MAX_LISTED, self.budget, len(ordered)))
        self.budget -= k
        return ordered[:k], ordered[k:]

    def is_net(self, node: Value) -> bool:
        return node.op is not None and node.op.name == "affine"

    def loss_steps(self, node: Value) -> tuple[str, list[Step]]:
        """How ∂E/∂node comes about when ``node`` feeds the loss part of the graph: a summary
        (the product of the steps' values) and the steps, each with the table's math. A chain
        longer than MAX_INLINE steps ends with one step for the rest; a node used more than once
        is a sum over its paths (no steps). A softmax cross-entropy's logit: pᵢ − yᵢ."""
        softmax = logit_rule(self.softmax, node)
        if softmax is not None:
            return softmax, []
        steps: list[Step] = []
        cur, hidden, rest = node, 0, 1.0
        while cur is not self.loss:
            users = self.consumers.get(cur, [])
            if len(users) != 1:
                return f"Σ over {len(users)} paths through the loss graph", []
            nxt, i = users[0]
            if len(steps) < MAX_INLINE:
                steps.append(Step(expression(nxt), local_partial(nxt, i), step_rule(nxt, i)))
            else:  # a long chain: the rest as one number
                hidden, rest = hidden + 1, rest * local_partial(nxt, i)
            cur = nxt
        if hidden:
            steps.append(Step(f"{hidden} more steps", rest, "their product"))
        if not steps:
            return "the loss itself", []
        return "through the loss: " + " × ".join(f"{s.value:.6g}" for s in steps), steps

    def local_factor(self, node: Value, index: int) -> Factor:
        """∂node/∂(operand ``index``), with the table's rule."""
        operand = node.operands[index]
        return Factor(f"∂{self.name(node)}/∂{self.name(operand)}", local_partial(node, index),
                      rule(node, index, self.name))

    def grad_factor(self, node: Value, depth: int) -> Factor:
        """∂E/∂node, expanded over the neurons ``node`` feeds when they are all MLP neurons."""
        symbol = f"∂{self.E}/∂{self.name(node)}"
        value = self.adj.get(node, 0.0)
        users = self.consumers.get(node, [])
        if users and all(self.is_net(u) for u, _ in users):
            feeds = f"Σ over the {len(users)} {_plural(len(users), 'neuron')} it feeds"
            if depth <= 0 or self.budget <= 0:
                why = "raise depth to expand" if depth <= 0 else "not expanded: output cap"
                return Factor(symbol, value, f"{feeds} ({why})")
            listed, rest = self.listed(users)
            terms = [self.term(u, i, depth - 1) for u, i in listed]
            more = sum(self.adj.get(u, 0.0) * local_partial(u, i) for u, i in rest)
            return Factor(symbol, value, feeds, terms, len(rest), more)
        rule_text, steps = self.loss_steps(node)
        return Factor(symbol, value, rule_text, steps=steps)

    def term(self, net: Value, index: int, depth: int) -> Term:
        """The path ∂E/∂out × ∂out/∂net × ∂net/∂(operand ``index``) through neuron ``net``."""
        last = self.local_factor(net, index)
        act = self.activation_of(net)
        if act is None:  # linear neuron: its net feeds the rest directly
            factors = [self.grad_factor(net, depth), last]
        else:
            factors = [self.grad_factor(act, depth), self.local_factor(act, 0), last]
        value = self.adj.get(net, 0.0) * last.value
        return Term(self.neuron(net), factors, value)


def _paths(walker: _Walker, parameter: Value, depth: int, cap: int = MAX_TOP
           ) -> tuple[list[Term], int, float]:
    """The paths from ``walker``'s loss to ``parameter`` (at most ``cap`` listed), the count of the
    rest and their total."""
    terms = []
    listed, rest = walker.listed(walker.consumers[parameter], cap)
    more = sum(walker.adj.get(u, 0.0) * local_partial(u, i) for u, i in rest)
    for user, i in listed:
        if walker.is_net(user):
            terms.append(walker.term(user, i, depth))
        else:  # a parameter used outside a neuron: one generic factor
            rule_text, steps = walker.loss_steps(user)
            f = Factor(f"∂{walker.E}/∂{walker.name(user)}", walker.adj.get(user, 0.0), rule_text,
                       steps=steps)
            loc = walker.local_factor(user, i)
            terms.append(Term(walker.name(user), [f, loc], f.value * loc.value))
    return terms, len(rest), more


def _is_frozen(parameter: Value, model: Any) -> bool:
    return not parameter.requires_grad or (
        model is not None and hasattr(model, "named_parameters")
        and all(v is not parameter for _, v in model.named_parameters()))


def _is_article_network(model: Any) -> bool:
    """``model`` has the article's architecture (2-2-2 sigmoid, one shared bias per layer): the
    article's η applies to it, trained or not."""
    config = getattr(model, "config", None)
    if not callable(config):
        return False
    try:
        mine = dict(config())
    except (NotImplementedError, TypeError, ValueError):  # a module of one's own may have none
        return False
    theirs = article.network().config()
    return {**mine, "train_bias": None} == {**theirs, "train_bias": None}


def learning_rate_of(given: Any, model: Any, article_default: bool) -> tuple[float | None, str]:
    """The η of the update shown, and where it came from (``""``: given as a number).

    ``given`` a number is that η; an optimiser (anything with ``.lr``) gives its ``lr`` - the
    update w − η·g is its own step only for plain SGD, which the note says; ``None`` is the
    article's η = 0.5 for the article's network (:func:`_is_article_network`, or nothing given
    at all), else no η at all (``(None, "")``): a model carries no learning rate of its own."""
    if given is None:
        if article_default or (model is not None and _is_article_network(model)):
            return article.LEARNING_RATE, ""
        return None, ""
    if not isinstance(given, (int, float)) and hasattr(given, "lr"):
        lr = positive_real(given.lr, "the optimiser's lr")
        kind = type(given).__name__
        if isinstance(given, SGD) and not given.momentum and not given.weight_decay:
            return lr, f"the lr of its {kind}"
        return lr, (f"the lr of its {kind}, whose own step is not w − η·g: the plain "
                    "gradient step at that η")
    return positive_real(given, "learning_rate"), ""


def _batch(parameter: str | Value, model: Any, inputs: Any, targets: Any,
           loss_fn: Callable[..., Value], reduction: str, lr: float | None, depth: int
           ) -> Explanation:
    """A batch folded into one Σ over samples: E = scale · Σ_s E_s, each E_s the sample's own
    loss graph. The first sample is explained in full, the next MAX_SAMPLES_LISTED by their
    paths at depth 0, the rest only by their gradients (one adjoint pass each: linear cost)."""
    one_of(reduction, "reduction", ("mean", "sum"))
    xs = list(inputs)
    check_batch_targets(xs, targets)
    if isinstance(parameter, str):
        parameter = model.parameter(parameter)
    if not isinstance(parameter, Value):
        raise TypeError(f"parameter must be a name or a Value, got {type_name(parameter)}")
    losses = [loss_fn(model(x), t) for x, t in zip(xs, targets)]
    n = len(xs)
    scale = 1.0 / n if reduction == "mean" and n > 1 else 1.0
    total = reduce_batch(losses, reduction)
    E = total.label or "E"
    samples: list[Sample] = []
    rest_total, rest_count, used = 0.0, 0, False
    for k, (L, x, t) in enumerate(zip(losses, xs, targets)):
        if k > MAX_SAMPLES_LISTED:
            rest_total += adjoints(L)[1].get(parameter, 0.0)
            rest_count += 1
            continue
        walker = _Walker(L, depth, f"{E}_{k + 1}")
        if parameter not in walker.consumers:
            continue
        used = True
        if not parameter.is_leaf:
            raise ValueError(f"{walker.name(parameter)} is not a leaf (a parameter) of the graph")
        terms, more, more_value = _paths(walker, parameter, depth if k == 0 else 0,
                                         MAX_TOP if k == 0 else MAX_INLINE)
        shown_t = [float(v) for v in t] if isinstance(t, (list, tuple)) else [float(t)]
        samples.append(Sample(k + 1, [float(v) for v in x], shown_t, L.data,
                              walker.adj.get(parameter, 0.0), terms, more, more_value))
    if not used:
        raise ValueError(f"parameter {expression(parameter)} does not take part in this loss")
    g = adjoints(total)[1].get(parameter, 0.0)
    frozen = _is_frozen(parameter, model)
    updated = None if lr is None else parameter.data if frozen else parameter.data - lr * g
    return Explanation(expression(parameter), parameter.data, g, E, total.data, [], lr,
                       updated, frozen,
                       batch_size=n, scale=scale, samples=samples, samples_more=rest_count,
                       samples_more_value=rest_total)


def explain(parameter: str | Value, loss: Value | None = None, *, model: Any = None,
            inputs: Sequence[float] | None = None, targets: Sequence[float] | None = None,
            loss_fn: Callable[..., Value] = half_squared_error, learning_rate: Any = None,
            depth: int = 1, reduction: str = "mean") -> Explanation:
    """Explain ∂loss/∂parameter by the chain rule, from the recorded graph.

    * ``explain("w5")`` - the article's network, sample and η = 0.5 (nothing else given);
    * ``explain("w1", model=m, inputs=x, targets=t)`` - builds ``loss_fn(m(x), t)``;
    * ``explain(p, loss)`` - ``p`` a parameter Value (or its label) in ``loss``'s graph.

    ``inputs``/``targets`` may be a batch (lists of vectors; the loss is the sum over samples,
    divided by N with ``reduction='mean'``): the explanation is then one Σ over the samples,
    ∂E/∂p = 1/N · Σ_s ∂E_s/∂p, each E_s the loss of sample s alone (``.samples``: the first in
    full, the next :data:`MAX_SAMPLES_LISTED` one line each, the rest summarised with their
    total). ``depth`` is how many
    layers of "sum over the neurons it feeds" are expanded (1 = the article's w1 breakdown); at
    most :data:`MAX_LISTED` paths are listed per sum and :data:`MAX_PATHS` expanded in all, the
    rest summarised with their total, so time and output stay bounded at any depth.

    The update line w⁺ = w − η·∂E/∂w uses ``learning_rate``: a number, or an optimiser (its
    ``lr``); by default the article's η = 0.5 for the article's network, and for any other
    model none - the line then says so (a model carries no learning rate of its own). A frozen
    parameter gets no update. Raises ``KeyError`` for an unknown parameter name, ``ValueError``
    if the parameter is not a leaf of the loss graph.
    """
    lr, rate_note = learning_rate_of(learning_rate, model, loss is None and model is None)
    depth = nonnegative_int(depth, "depth")
    if loss is None:
        if model is None:
            if inputs is not None or targets is not None:
                raise ValueError("inputs/targets given without a model")
            model, inputs, targets = article.network(), article.INPUTS, article.TARGETS
        elif inputs is None or targets is None:
            raise ValueError("explain needs inputs and targets together with a model")
        # the loss graph is recorded even inside no_grad(): the same explanation in either mode
        with enable_grad():
            if is_batch(inputs):
                batch = _batch(parameter, model, inputs, targets, loss_fn, reduction, lr, depth)
                batch.rate_note = rate_note
                return batch
            if isinstance(parameter, str):
                parameter = model.parameter(parameter)
            loss = _batch_loss(model, inputs, targets, loss_fn, reduction)[0]
    if not isinstance(loss, Value):
        raise TypeError(f"loss must be a Value, got {type_name(loss)}")

    walker = _Walker(loss, depth)
    if isinstance(parameter, str):
        found = [v for v in walker.order if v.is_leaf and v.label == parameter]
        if not found:
            names = sorted({v.label for v in walker.order if v.is_leaf and v.label
                            and not v.label.startswith("i")})
            raise KeyError(f"no parameter labelled {parameter!r} in the loss graph; "
                           f"leaves: {names}")
        if len(found) > 1:
            raise ValueError(f"{len(found)} different leaves are labelled {parameter!r}")
        parameter = found[0]
    if not isinstance(parameter, Value):
        raise TypeError(f"parameter must be a name or a Value, got {type_name(parameter)}")
    if parameter not in walker.consumers:
        raise ValueError(f"parameter {walker.name(parameter)} does not take part in this loss")
    if not parameter.is_leaf:
        raise ValueError(f"{walker.name(parameter)} is not a leaf (a parameter) of the graph")

    terms, more, more_value = _paths(walker, parameter, depth)
    g = walker.adj.get(parameter, 0.0)
    frozen = _is_frozen(parameter, model)
    updated = None if lr is None else parameter.data if frozen else parameter.data - lr * g
    return Explanation(expression(parameter), parameter.data, g, walker.E, loss.data, terms,
                       lr, updated, frozen, more, more_value, rate_note=rate_note)
