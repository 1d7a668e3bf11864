"""``micrograd-mlp demo``: the worked example end to end, every number computed and the published
figure printed beside it.

1. the forward pass (net and out of every neuron, the errors);
2. the δ of every neuron by the hand-derived formulas, beside autograd's ∂E/∂net;
3. each weight's gradient and its update w⁺ = w − η·∂E/∂w, then E_total after that one update;
4. the three-way table: manual δ, autograd, central differences;
5. the computation graph written to a file (or, without Graphviz, its DOT source).
"""

from __future__ import annotations

import argparse
import os
import textwrap
from typing import Callable, Sequence, TextIO

from ..core import Value, topological_order
from ..nn import MLP, SGD, half_squared_error
from ..reference import article, compare_gradients, manual
from ..viz import graph
from .command import Command, option, width_options
from .parsing import EXIT_FAILURE, EXIT_OK, output_path, output_width, reason

COMMAND = Command(
    "demo",
    help="the worked example end to end",
    description="The article's 2-2-2 sigmoid network (inputs 0.05/0.10, targets 0.01/0.99): "
                "forward values, the δ of every neuron, all gradients and the updated weights "
                "after one step of η = 0.5, the manual-vs-autograd-vs-numeric table, and the "
                "computation graph written to a file (needs Graphviz's `dot`; without it the "
                "demo says how to install it and carries on).",
    options=(
        option("--graph", metavar="PATH", default="worked-example.svg",
               help="where to write the graph (.svg, .png, .pdf, or .dot/.gv for the DOT "
                    "source; default: %(default)s)"),
        option("--no-graph", action="store_true", help="do not render the graph"),
        width_options(),
    ),
)

#: What ``--graph`` writes, by file suffix (the graph renderer's formats).
GRAPH_SUFFIXES = tuple(graph.RENDER_FORMATS)

Say = Callable[..., None]


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The five parts in order; exit status 1 if the three-way comparison disagrees."""

    width = output_width(args, out)

    def say(text: str = "") -> None:
        """Print ``text``: a table as it is, a sentence wrapped to ``width`` (``None``: as is)."""
        for line in text.splitlines() or [""]:
            if width is None or len(line) <= width:
                print(line, file=out)
                continue
            indent = " " * (len(line) - len(line.lstrip(" ")) + 2)
            print(textwrap.fill(line, width, subsequent_indent=indent,
                                break_on_hyphens=False, break_long_words=False), file=out)

    if not args.no_graph:  # refused now, not after the whole demo
        output_path(args, "--graph", args.graph, GRAPH_SUFFIXES)
    model = article.network()
    x, t = list(article.INPUTS), list(article.TARGETS)
    say("The worked example: a 2-2-2 sigmoid network, one shared bias per layer (frozen).")
    say(f"inputs i1 = {x[0]}, i2 = {x[1]};  targets {t[0]}, {t[1]};  learning rate η = "
        f"{article.LEARNING_RATE}")
    say("weights  " + "  ".join(f"{k} = {v}" for k, v in article.WEIGHTS.items()))
    say("biases   " + "  ".join(f"{k} = {v}" for k, v in article.BIASES.items()))

    loss = half_squared_error(model(x), t)
    loss.backward()  # every node's .grad = ∂E/∂node; at a net node that is its δ
    nodes = {v.label: v for v in topological_order(loss) if v.label}
    _forward(say, nodes, loss)
    _deltas(say, model, nodes, x, t)
    _update(say, model, x, t)
    ok = _three_ways(say, x, t, width)
    say()
    if args.no_graph:
        say("5. Graph: skipped (--no-graph).")
    else:
        _graph(say, args.graph)
    say()
    say("Next: `micrograd-mlp explain w5`, `micrograd-mlp explain w1`, `micrograd-mlp train`.")
    return EXIT_OK if ok else EXIT_FAILURE


# --- the five parts -------------------------------------------------------------------------------
def _forward(say: Say, nodes: dict[str, Value], loss: Value) -> None:
    pub = article.PUBLISHED
    say()
    say("1. Forward pass   net = Σ w·x + b,   out = σ(net) = 1 / (1 + e^(−net))")
    rows = [[neuron, _fmt(nodes[f"net_{neuron}"].data), pub.get(f"net_{neuron}", ""),
             _fmt(nodes[f"out_{neuron}"].data), pub.get(f"out_{neuron}", "")]
            for neuron in ("h1", "h2", "o1", "o2")]
    say(_table(["neuron", "net", "published", "out", "published"], rows,
               [False, True, True, True, True]))
    rows = [[name, _fmt(nodes[name].data), pub.get(name, "")] for name in ("E_o1", "E_o2")]
    rows.append(["E_total", _fmt(loss.data), pub["E_total"]])
    say("error    E = Σ ½ (target − out)²")
    say(_table(["term", "value", "published"], rows, [False, True, True]))


def _deltas(say: Say, model: MLP, nodes: dict[str, Value], x: list[float],
            t: list[float]) -> None:
    """The δs by the hand-derived formulas (plain floats), autograd's ∂E/∂net beside them."""
    bp = manual.backprop(model, x, t)
    net = manual.from_model(model)
    last = len(net.weights) - 1
    say()
    say("2. Backward pass: δ = ∂E/∂net of every neuron, by the hand-derived formulas")
    say("   output: δ_o = (out_o − target_o) · out_o (1 − out_o)")
    say("   hidden: δ_h = (Σ_o δ_o · w_ho) · out_h (1 − out_h)")
    rows = []
    for layer in range(last, -1, -1):
        for j, name in enumerate(net.neuron_names[layer]):
            record = bp.neurons[name]
            if layer == last:
                how = f"({_fmt(record.out)} − {t[j]}) · σ'"
            else:
                terms = " + ".join(
                    f"δ_{net.neuron_names[layer + 1][k]}·{net.weight_names[layer + 1][k][j]}"
                    for k in range(len(net.weights[layer + 1])))
                how = f"({terms}) · σ'"
            rows.append([f"δ_{name}", _fmt(record.delta), how, _fmt(nodes[f"net_{name}"].grad)])
    say(_table(["δ", "value", "formula (σ' = out (1 − out))", "autograd ∂E/∂net"], rows,
               [False, True, False, True]))


def _update(say: Say, model: MLP, x: list[float], t: list[float]) -> None:
    """Gradients (autograd, from the backward pass done) and one step w⁺ = w − η ∂E/∂w."""
    pub, lr = article.PUBLISHED, article.LEARNING_RATE
    before = model.state_dict()
    grads = {name: p.grad for name, p in model.named_parameters()}
    SGD(model, lr=lr).step()
    after = model.state_dict()
    say()
    say(f"3. Gradients ∂E/∂w = δ · (input of the weight), and the update w⁺ = w − η·∂E/∂w "
        f"(η = {lr})")
    rows = [[name, f"{before[name]:g}", _fmt(g), _fmt(after[name]), pub.get(f"{name}+", "")]
            for name, g in grads.items()]
    say(_table(["param", "w", "∂E/∂w (autograd)", "w⁺", "published w⁺"], rows,
               [False, True, True, True, True]))
    frozen = [name for name in before if name not in grads]
    if frozen:
        say(f"({', '.join(frozen)}: shared biases, frozen as in the article)")
    new_loss = half_squared_error(model(x), t).data
    say(f"E_total after this one update: {_fmt(new_loss)}  "
        f"(published {pub['E_total after 1 update']}, which only hidden δs formed with the "
        f"already updated w5..w8 reproduce: docs/derivation.md, erratum 1)")


def _three_ways(say: Say, x: list[float], t: list[float], width: int | None) -> bool:
    """manual vs autograd vs numeric, at the initial weights; True when every row agrees."""
    say()
    say("4. The same gradients three ways: hand-derived δ formulas, autograd, central differences")
    report = compare_gradients(article.network(), x, t)
    say(report.table(width=width))
    return bool(report.ok)


def _graph(say: Say, path: str) -> None:
    """Render the graph; without Graphviz write its DOT source and say how to get a picture."""
    try:
        written = graph.render_article_graph(path)
    except graph.GraphvizNotFoundError:
        dot_path = os.path.splitext(path)[0] + ".dot"
        try:
            graph.render_article_graph(dot_path)
        except (ValueError, OSError) as exc:
            say(f"5. Graph: Graphviz's `dot` program was not found, so no picture was drawn "
                f"({graph.INSTALL_HINT}), and its DOT source could not be written to {dot_path}: "
                f"{reason(exc, dot_path)}.")
            return
        fmt = os.path.splitext(path)[1][1:].lower()
        say(f"5. Graph: Graphviz's `dot` program was not found, so no picture was drawn; the "
            f"graph's DOT source was written instead. To get the picture, {graph.INSTALL_HINT}, "
            f"then run `dot -T{fmt} {dot_path} -o {path}`.")
        return
    except (ValueError, OSError) as exc:
        say(f"5. Graph: not written to {path}: {reason(exc, path)}.")
        return
    say(f"5. Graph: the computation graph of E_total (values, gradients and δs) was written to "
        f"{written}. To step through the backward pass in a browser: "
        f"micrograd-mlp graph -o backprop.html")


# --- formatting -----------------------------------------------------------------------------------
def _fmt(x: float, digits: int = 9) -> str:
    """Fixed point for ordinary magnitudes, scientific otherwise."""
    return f"{x:.{digits}f}" if 1e-4 <= abs(x) < 1e4 or x == 0 else f"{x:.{digits}e}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """A plain-text table: a header, a rule, the rows; ``right[i]`` right-aligns column i."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if r else c.ljust(w)
                         for c, w, r in zip(cells, widths, right)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])
