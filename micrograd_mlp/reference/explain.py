"""The chain rule for one parameter, read off the recorded graph: the article's derivation,
generated.

:func:`explain` walks the graph of a loss (``topological_order``), computes ∂loss/∂node for every
node from each node's local partials - the very numbers backward uses
(:func:`~micrograd_mlp.core.generated.local_partials`, generated from the primitive table) - and
then groups the result the way the article writes it. Each factor is shown with the table's math
for its rule (``Primitive.math``: ``σ′(a) = out·(1 − out)``, ``∂/∂wᵢ = xᵢ``), never with the
numerically careful expression that computes it. For an output weight (w5 of the article)::

    ∂E/∂w5 = ∂E/∂out_o1 × ∂out_o1/∂net_o1 × ∂net_o1/∂w5

and for a hidden weight (w1) the first factor is itself a sum over the neurons out_h1 feeds::

    ∂E/∂out_h1 = Σ_o ∂E/∂out_o × ∂out_o/∂net_o × ∂net_o/∂out_h1     (paths through o1 and o2)

followed by the update w⁺ = w − η·∂E/∂w. Nothing about the article is hard-coded: the grouping
uses the node labels the library gives (``net_{neuron}``, ``out_{neuron}``) and the graph
structure, so it works for any parameter of any MLP built by :mod:`micrograd_mlp.nn` (a shared
bias gets one term per neuron of its layer).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..core import Primitive, Value, topological_order
from ..core.checks import nonnegative_int, positive_real
from ..core.generated import local_partials
from ..nn.losses import half_squared_error
from . import article
from .compare import _batch_loss
from .reading import activation_of, node_name

__all__ = ["Explanation", "Factor", "Term", "adjoints", "explain", "local_partial"]

#: Paths listed per sum (the rest are summarised with their total); for the parameter's own uses,
#: MAX_TOP.
MAX_LISTED = 8
MAX_TOP = 32
#: Paths expanded in one explanation in all, whatever the depth (bounds time and output).
MAX_PATHS = 64


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


def _partner(node: Value, op: Primitive, index: int, width: int) -> Value | None:
    """The operand the table's partial for operand ``index`` simply is (``b`` for ∂(a·b)/∂a), if
    any. The table says so by naming an operand as the whole rule (``partials = ("b", "a")``)."""
    names = op.operand_names
    if op.arity > 0:
        expr = op.partials[index]
        return node.operands[names.index(expr)] if expr in names else None
    group = index // width if width else len(op.terms)
    expr = op.partials[min(group, len(op.partials) - 1)]
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
class Factor:
    """One factor of a chain-rule product: ``symbol`` = ``value``, by ``rule``.

    When the factor is a sum over the neurons a hidden output feeds, ``terms`` holds one
    :class:`Term` per such neuron (their values add up to ``value``).
    """

    symbol: str
    value: float
    rule: str
    terms: list[Term] = field(default_factory=list)
    more: int = 0  # further paths, not listed (output cap), adding up to more_value
    more_value: float = 0.0


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
class Explanation:
    """∂loss/∂parameter as the article writes it, plus the gradient-descent update."""

    parameter: str
    value: float
    gradient: float
    loss_symbol: str
    loss_value: float
    terms: list[Term]
    learning_rate: float
    updated: float
    frozen: bool = False  # a frozen parameter is not updated
    more: int = 0  # further neurons/samples the parameter feeds, not listed (output cap)
    more_value: float = 0.0

    @property
    def factors(self) -> list[Factor]:
        """The factors of the single path (a weight feeds one neuron)."""
        if len(self.terms) != 1:
            raise ValueError(
                f"{self.parameter} feeds {len(self.terms)} neurons; use .terms (one per neuron)"
            )
        return self.terms[0].factors

    def factor(self, symbol: str) -> Factor:
        """The factor with this symbol, searched through every term and sub-term."""
        stack = [f for t in self.terms for f in t.factors]
        while stack:
            f = stack.pop(0)
            if f.symbol == symbol:
                return f
            stack.extend(g for t in f.terms for g in t.factors)
        raise KeyError(f"no factor {symbol!r}")

    def __str__(self) -> str:
        E, p = self.loss_symbol, self.parameter
        lines = [f"∂{E}/∂{p} = {self.gradient:.12g}      ({E} = {self.loss_value:.12g}, "
                 f"{p} = {self.value:.12g})"]
        count = len(self.terms) + self.more
        if count > 1:
            lines.append(f"  = Σ over the {count} {_plural(count, 'path')} {p} feeds: "
                         + " + ".join(f"[via {t.via}]" for t in self.terms)
                         + (f" + [{self.more} more]" if self.more else ""))
        for t in self.terms:
            indent = "  " if count == 1 else "    "
            if count > 1:
                lines.append(f"  via {t.via}: {t.value:.12g}")
            lines.extend(_term_lines(t, indent))
        if self.more:
            lines.append(f"  ... and {self.more} more {_plural(self.more, 'path')} "
                         f"(not listed: output cap), together {self.more_value:.12g}")
        if self.frozen:
            lines.append(f"{p} is frozen (requires_grad is false): no update, it stays "
                         f"{self.value:.12g}")
        else:
            lines.append(
                f"update (η = {self.learning_rate:g}): {p}⁺ = {p} − η·∂{E}/∂{p} = "
                f"{self.value:.12g} − {self.learning_rate:g} × {self.gradient:.12g} = "
                f"{self.updated:.12g}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The explanation for a notebook cell, as preformatted text."""
        return f"<pre>{html.escape(str(self))}</pre>"


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def _term_lines(term: Term, indent: str) -> list[str]:
    lines = [indent + "= " + " × ".join(f.symbol for f in term.factors),
             indent + "= " + " × ".join(f"{f.value:.9g}" for f in term.factors)]
    width = max(len(f.symbol) for f in term.factors)
    vwidth = max(len(f"{f.value:.12g}") for f in term.factors)
    for f in term.factors:
        lines.append(f"{indent}    {f.symbol.ljust(width)} = {f'{f.value:.12g}'.rjust(vwidth)}"
                     f"    {f.rule}")
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


class _Walker:
    """Groups the adjoints of one graph into the article's factors."""

    def __init__(self, loss: Value, depth: int) -> None:
        self.loss = loss
        self.E = loss.label or "E"
        self.order, self.adj = adjoints(loss)
        self.consumers: dict[Value, list[tuple[Value, int]]] = {}
        for node in self.order:
            for i, child in enumerate(node.operands):
                self.consumers.setdefault(child, []).append((node, i))
        self.depth = depth
        self.budget = MAX_PATHS  # paths expanded in all (bounds time and output)

    name = staticmethod(node_name)

    @staticmethod
    def neuron(net: Value) -> str:
        label = net.label or ""
        return label[4:] if label.startswith("net_") else (label or _primitive(net).name)

    def activation_of(self, net: Value) -> Value | None:
        """The out_ node made from ``net`` by a one-operand activation, if that is its only use."""
        return activation_of(self.consumers, net)

    def sorted_users(self, users: list[tuple[Value, int]]) -> list[tuple[Value, int]]:
        """Consumers in reading order (o1 before o2), not graph-walk order."""
        return sorted(users, key=lambda u: (_natural_key(self.name(u[0])), u[1]))

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

    def loss_rule(self, node: Value) -> str:
        """How ∂E/∂node comes about when ``node`` feeds the loss part of the graph."""
        steps = []
        cur = node
        while cur is not self.loss:
            users = self.consumers.get(cur, [])
            if len(users) != 1:
                return f"Σ over {len(users)} paths through the loss graph"
            nxt, i = users[0]
            where = _primitive(nxt).name + (f" {nxt.label}" if nxt.label else "")
            steps.append(f"{local_partial(nxt, i):.6g} [{where}]")
            cur = nxt
        return "loss graph: " + " × ".join(steps) if steps else "the loss itself"

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
        return Factor(symbol, value, self.loss_rule(node))

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


def explain(parameter: str | Value, loss: Value | None = None, *, model: Any = None,
            inputs: Sequence[float] | None = None, targets: Sequence[float] | None = None,
            loss_fn: Callable[..., Value] = half_squared_error, learning_rate: float = 0.5,
            depth: int = 1, reduction: str = "mean") -> Explanation:
    """Explain ∂loss/∂parameter by the chain rule, from the recorded graph.

    * ``explain("w5")`` - the article's network, sample and η (nothing else given);
    * ``explain("w1", model=m, inputs=x, targets=t)`` - builds ``loss_fn(m(x), t)``;
    * ``explain(p, loss)`` - ``p`` a parameter Value (or its label) in ``loss``'s graph.

    ``inputs``/``targets`` may be a batch (lists of vectors; the loss is the sum over samples,
    divided by N with ``reduction='mean'``): each sample is one more path. ``depth`` is how many
    layers of "sum over the neurons it feeds" are expanded (1 = the article's w1 breakdown); at
    most :data:`MAX_LISTED` paths are listed per sum and :data:`MAX_PATHS` expanded in all, the
    rest summarised with their total, so time and output stay bounded at any depth. A frozen
    parameter gets no update line. Raises ``KeyError`` for an unknown parameter name, ``ValueError``
    if the parameter is not a leaf of the loss graph.
    """
    lr = positive_real(learning_rate, "learning_rate")
    depth = nonnegative_int(depth, "depth")
    if loss is None:
        if model is None:
            if inputs is not None or targets is not None:
                raise ValueError("inputs/targets given without a model")
            model, inputs, targets = article.network(), article.INPUTS, article.TARGETS
        elif inputs is None or targets is None:
            raise ValueError("explain needs inputs and targets together with a model")
        if isinstance(parameter, str):
            parameter = model.parameter(parameter)
        loss = _batch_loss(model, inputs, targets, loss_fn, reduction)[0]
    if not isinstance(loss, Value):
        raise TypeError(f"loss must be a Value, got {type(loss).__name__}")

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
        raise TypeError(f"parameter must be a name or a Value, got {type(parameter).__name__}")
    if parameter not in walker.consumers:
        raise ValueError(f"parameter {walker.name(parameter)} does not take part in this loss")
    if not parameter.is_leaf:
        raise ValueError(f"{walker.name(parameter)} is not a leaf (a parameter) of the graph")

    terms = []
    listed, rest = walker.listed(walker.consumers[parameter], MAX_TOP)
    more = sum(walker.adj.get(u, 0.0) * local_partial(u, i) for u, i in rest)
    for user, i in listed:
        if walker.is_net(user):
            terms.append(walker.term(user, i, depth))
        else:  # a parameter used outside a neuron: one generic factor
            f = Factor(f"∂{walker.E}/∂{walker.name(user)}", walker.adj.get(user, 0.0),
                       walker.loss_rule(user))
            loc = walker.local_factor(user, i)
            terms.append(Term(walker.name(user), [f, loc], f.value * loc.value))
    seen: dict[str, int] = {}
    for t in terms:  # a batch: the same neuron once per sample
        seen[t.via] = seen.get(t.via, 0) + 1
    counts: dict[str, int] = {}
    for t in terms:
        if seen[t.via] > 1:
            counts[t.via] = counts.get(t.via, 0) + 1
            t.via = f"{t.via} (sample {counts[t.via]})"
    g = walker.adj.get(parameter, 0.0)
    frozen = not parameter.requires_grad or (
        model is not None and hasattr(model, "named_parameters")
        and all(v is not parameter for _, v in model.named_parameters()))
    return Explanation(walker.name(parameter), parameter.data, g, walker.E, loss.data, terms,
                       lr, parameter.data if frozen else parameter.data - lr * g, frozen,
                       len(rest), more)
