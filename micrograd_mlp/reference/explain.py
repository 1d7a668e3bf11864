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
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..core import Primitive, Value, enable_grad, topological_order
from ..core.checks import nonnegative_int, one_of, positive_real, type_name
from ..core.value import local_partials
from ..nn.losses import half_squared_error
from ..nn.training import reduce_batch
from . import article
from .compare import _batch_loss
from .manual import check_batch_targets, is_batch
from .reading import activation_of, heights, neuron_key, neuron_names, node_name

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
    more: int = 0  # further neurons the parameter feeds, not listed (output cap)
    more_value: float = 0.0
    # a batch: E = scale · Σ_s E_s (scale = 1/N for the mean, 1 for the sum); ``samples`` are
    # the ones listed, ``samples_more`` further ones add ``samples_more_value`` to Σ_s ∂E_s/∂p
    batch_size: int = 0
    scale: float = 1.0
    samples: list[Sample] = field(default_factory=list)
    samples_more: int = 0
    samples_more_value: float = 0.0

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

    def __str__(self) -> str:
        E, p = self.loss_symbol, self.parameter
        if self.samples:
            lines = self._batch_lines()
        else:
            lines = [f"∂{E}/∂{p} = {self.gradient:.12g}      ({E} = {self.loss_value:.12g}, "
                     f"{p} = {self.value:.12g})"]
            lines.extend(_paths_lines(self.terms, self.more, self.more_value, p, "  "))
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
        lines = [f"∂{E}/∂{p} = {self.gradient:.12g}      ({E} = {pre}Σ_s {E}_s = "
                 f"{self.loss_value:.12g}, {how}; {p} = {self.value:.12g})",
                 f"  = {pre}Σ_s ∂{E}_s/∂{p} = {pre_x}({listed})"]
        for k, s in enumerate(self.samples):
            head = f"  sample {s.index}: ∂{E}_{s.index}/∂{p} = {s.gradient:.12g}"
            if k == 0:
                lines.append(f"{head}      (x = {_vector(s.inputs)}; t = {_vector(s.targets)}; "
                             f"{E}_{s.index} = {s.loss_value:.12g})")
                lines.extend(_paths_lines(s.terms, s.more, s.more_value, p, "    "))
            else:
                lines.append(head + "  = " + _one_line(s))
        if self.samples_more:
            lines.append(f"  ... and {self.samples_more} more "
                         f"{_plural(self.samples_more, 'sample')} (not listed: output cap), "
                         f"Σ ∂{E}_s/∂{p} = {self.samples_more_value:.12g}")
        return lines

    def _repr_html_(self) -> str:
        """The explanation for a notebook cell, as preformatted text."""
        return f"<pre>{html.escape(str(self))}</pre>"


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

    name = staticmethod(node_name)

    def neuron(self, net: Value) -> str:
        """``o1`` for ``net_o1``; an unlabelled neuron by its place (``neuron 1 of layer 2``)."""
        if self.names is None:
            self.names = neuron_names(self.order, heights(self.order, self.consumers))
        return self.names.get(neuron_key(net)) or net.label or _primitive(net).name

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

    def loss_rule(self, node: Value) -> str:
        """How ∂E/∂node comes about when ``node`` feeds the loss part of the graph."""
        steps: list[str] = []
        cur, hidden, rest = node, 0, 1.0
        while cur is not self.loss:
            users = self.consumers.get(cur, [])
            if len(users) != 1:
                return f"Σ over {len(users)} paths through the loss graph"
            nxt, i = users[0]
            if len(steps) < MAX_INLINE:
                where = _primitive(nxt).name + (f" {nxt.label}" if nxt.label else "")
                steps.append(f"{local_partial(nxt, i):.6g} [{where}]")
            else:  # a long chain: the rest as one number
                hidden, rest = hidden + 1, rest * local_partial(nxt, i)
            cur = nxt
        if hidden:
            steps.append(f"{rest:.6g} [{hidden} more steps]")
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
            f = Factor(f"∂{walker.E}/∂{walker.name(user)}", walker.adj.get(user, 0.0),
                       walker.loss_rule(user))
            loc = walker.local_factor(user, i)
            terms.append(Term(walker.name(user), [f, loc], f.value * loc.value))
    return terms, len(rest), more


def _is_frozen(parameter: Value, model: Any) -> bool:
    return not parameter.requires_grad or (
        model is not None and hasattr(model, "named_parameters")
        and all(v is not parameter for _, v in model.named_parameters()))


def _batch(parameter: str | Value, model: Any, inputs: Any, targets: Any,
           loss_fn: Callable[..., Value], reduction: str, lr: float, depth: int) -> Explanation:
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
        samples.append(Sample(k + 1, [float(v) for v in x], [float(v) for v in t], L.data,
                              walker.adj.get(parameter, 0.0), terms, more, more_value))
    if not used:
        raise ValueError(f"parameter {node_name(parameter)} does not take part in this loss")
    g = adjoints(total)[1].get(parameter, 0.0)
    frozen = _is_frozen(parameter, model)
    return Explanation(node_name(parameter), parameter.data, g, E, total.data, [], lr,
                       parameter.data if frozen else parameter.data - lr * g, frozen,
                       batch_size=n, scale=scale, samples=samples, samples_more=rest_count,
                       samples_more_value=rest_total)


def explain(parameter: str | Value, loss: Value | None = None, *, model: Any = None,
            inputs: Sequence[float] | None = None, targets: Sequence[float] | None = None,
            loss_fn: Callable[..., Value] = half_squared_error, learning_rate: float = 0.5,
            depth: int = 1, reduction: str = "mean") -> Explanation:
    """Explain ∂loss/∂parameter by the chain rule, from the recorded graph.

    * ``explain("w5")`` - the article's network, sample and η (nothing else given);
    * ``explain("w1", model=m, inputs=x, targets=t)`` - builds ``loss_fn(m(x), t)``;
    * ``explain(p, loss)`` - ``p`` a parameter Value (or its label) in ``loss``'s graph.

    ``inputs``/``targets`` may be a batch (lists of vectors; the loss is the sum over samples,
    divided by N with ``reduction='mean'``): the explanation is then one Σ over the samples,
    ∂E/∂p = 1/N · Σ_s ∂E_s/∂p, each E_s the loss of sample s alone (``.samples``: the first in
    full, the next :data:`MAX_SAMPLES_LISTED` one line each, the rest summarised with their
    total). ``depth`` is how many
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
        # the loss graph is recorded even inside no_grad(): the same explanation in either mode
        with enable_grad():
            if is_batch(inputs):
                return _batch(parameter, model, inputs, targets, loss_fn, reduction, lr, depth)
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
    return Explanation(walker.name(parameter), parameter.data, g, walker.E, loss.data, terms,
                       lr, parameter.data if frozen else parameter.data - lr * g, frozen,
                       more, more_value)
