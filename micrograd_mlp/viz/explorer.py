"""Watch backpropagation happen: a step-through explorer of any recorded graph.

:func:`explore` returns an :class:`Explorer`. It writes ONE self-contained HTML file (the Graphviz
SVG embedded, hand-written JavaScript and CSS from this package, no network access) that first
shows the graph after the forward pass, then steps through the backward pass in the engine's own
order: the op nodes of ``topological_order(root)`` taken last to first, as ``Value.backward``
does. Step ``s`` pushes ∂L/∂node to each operand::

    contribution = ∂L/∂node × ∂node/∂operand     (∂node/∂operand: core.value.local_partials)

so the numbers are the engine's own, and the contributions reaching a node add up to its final
gradient. A frozen leaf (``requires_grad=False``, the article's biases) receives none, as in the
engine: what would have reached it is listed under the step's ``"frozen"``. Each step shows the
table's math for the rule (``Primitive.math``, never the code that computes it). The page embeds
its data as JSON in ``<script type="application/json" id="backprop-steps">`` (``nodes`` and
``steps``, see ``Explorer.data``). Steps are numbered 1..N everywhere (``steps[k]["number"]`` is
``k + 1``): ``#step=N`` opens step N and ``#step=0`` (or no fragment) the forward pass, before
step 1. A contribution whose node still has contributions to come has ``"final": false`` (its
gradient is shown "so far"); each node's ``"final_step"`` is the step after which its gradient is
final (0 for the root, ``None`` for a node no step reaches, a frozen one included).

The page opens the graph at a readable zoom (its smallest text 10.5 CSS px, or the page's width
when that is larger) in a pane that pans (scroll or drag) and scrolls to each step's node;
``−``/``+``/``whole graph`` zoom. In Jupyter (``_repr_html_``) it sits in an iframe sized to its
content (the page reports its height to a small script beside the iframe).
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import uuid
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

from ..core import Value
from ..core.checks import finite_real, one_of, type_name
from ..core.value import local_partials, topological_order
from ..nn.files import atomic_write_bytes
from ..reference.explain import explain as explain_parameter
from .dot import gradient_text, short
from .draw import Drawing, State, draw
from .render import pipe
from .size import DEFAULT_MAX_NODES, GraphTooLargeError

#: Bound on the recorded graph behind one page (every node is in the page's data), as a multiple
#: of ``max_nodes`` (a collapsed picture draws far fewer nodes than the graph holds).
GRAPH_FACTOR = 25

#: The most the graph's pane takes in a notebook's iframe (CSS px); taller graphs scroll in it.
EMBEDDED_PANE = 520

#: The page's default zoom when the graph is wider than the page: its smallest text (9 pt edge
#: labels) at 10.5 CSS px (explorer.js's READABLE_PX / (9 × 4/3)).
READABLE_SCALE = 10.5 / 12

#: Chain-rule explanations (``reference.explain``) are included for at most this many parameters.
MAX_EXPLAINED = 64


def _num(x: float) -> float | None:
    """A JSON number (``None`` for the non-finite, which JSON cannot hold)."""
    return x if math.isfinite(x) else None


def _fmt(x: float) -> str:
    return f"{x:.6g}"


class Explorer:
    """A recorded graph with its backward pass laid out step by step (see :func:`explore`).

    ``data`` is the page's JSON object; :meth:`html` the page; :meth:`write` writes it;
    :meth:`frames` writes one picture per step; Jupyter shows it inline (``_repr_html_``).
    """

    def __init__(self, data: dict[str, Any], svg: str, frame_options: dict[str, Any],
                 root: Value, states: list[State], title: str) -> None:
        self.data = data
        self.svg = svg
        self.title = title
        self._frame_options = frame_options
        self._root = root
        self._states = states

    def __repr__(self) -> str:
        return (f"<Explorer {self.title!r}: {len(self.data['nodes'])} nodes, "
                f"{len(self.data['steps'])} steps>")

    def html(self, embedded: bool = False) -> str:
        """The whole page: one self-contained HTML document. ``embedded``: the page for an iframe
        in a notebook (the graph's pane as tall as the graph, up to a fixed height, not a share
        of the window; the page tells the notebook its height, to size the iframe to it)."""
        payload = json.dumps(self.data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        assets = resources.files(__package__)
        css = (assets / "explorer.css").read_text(encoding="utf-8")
        js = (assets / "explorer.js").read_text(encoding="utf-8")
        title = html.escape(self.title)
        return _PAGE.format(title=title, css=css, js=js, svg=self.svg, data=payload,
                            body_class=' class="embedded"' if embedded else "")

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the page to ``path`` (atomically) and return the path."""
        path = Path(path)
        atomic_write_bytes(path, self.html().encode("utf-8"))
        return path

    def _repr_html_(self) -> str:
        """Jupyter: the page in an iframe (so several explorers in one notebook do not clash),
        as tall as its content: first as estimated here, then as the page reports (a message
        the small script beside the iframe listens for; after the first, it only grows)."""
        doc = html.escape(self.html(embedded=True), quote=True)
        frame_id = f"micrograd-explorer-{uuid.uuid4().hex[:12]}"
        return (f'<iframe id="{frame_id}" srcdoc="{doc}" style="width:100%;'
                f'height:{self.embedded_height()}px;border:1px solid #ccc" '
                f'sandbox="allow-scripts" title="{html.escape(self.title)}"></iframe>'
                + _FRAME_SIZER.replace("FRAME_ID", frame_id))

    def embedded_height(self, width: int = 900) -> int:
        """The iframe's first height (CSS px) for a notebook column ``width`` px wide: the
        header, the graph's pane at the page's readable zoom (up to :data:`EMBEDDED_PANE` px)
        and room for a step's table."""
        size = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', self.svg)
        if size is None:
            return 720
        w_px, h_px = (float(v) * 4 / 3 for v in size.groups())
        scale = min(1.0, max(width / w_px, READABLE_SCALE))
        return int(min(h_px * scale + 20, EMBEDDED_PANE) + 70 + 240)

    def frames(self, directory: str | os.PathLike[str], format: str = "svg") -> list[Path]:
        """One picture per state, for slides: ``frame-000`` the forward pass, then
        ``frame-{N:03d}`` after step N (steps count from 1; the node pushed is outlined in red,
        the operands it reached are shaded). Each gradient cell says what the page says: ``grad
        ?`` before a step reaches the node, ``grad … so far`` while more contributions are to
        come, ``frozen`` for a frozen leaf. Returns the paths written."""
        fmt = one_of(format, "frames: format", ("svg", "png"))
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        width = max(3, len(str(len(self._states))))
        paths = []
        for k, state in enumerate(self._states):
            drawing = draw(self._root, state=state, **self._frame_options)
            path = folder / f"frame-{k:0{width}d}.{fmt}"
            atomic_write_bytes(path, pipe(drawing.dot, fmt))
            paths.append(path)
        return paths


def explore(root: Value, *, model: object | None = None, collapse: bool = False,
            highlight: Value | str | None = None,
            max_nodes: int | None = DEFAULT_MAX_NODES, learning_rate: float = 0.5,
            rankdir: str = "LR", precision: int = 4, title: str | None = None) -> Explorer:
    """A step-through explorer of ``root``'s backward pass (``root``: the loss, one Value).

    ``model``, ``collapse``, ``highlight``, ``max_nodes``, ``rankdir`` and ``precision`` are
    :func:`~micrograd_mlp.viz.draw_graph`'s; ``learning_rate`` η is the one the update
    w⁺ = w − η·∂L/∂w of a clicked parameter uses. The gradients are computed here from the local
    partials, in the engine's order; ``root``'s graph and its ``.grad`` fields are not changed.
    The picture needs Graphviz's ``dot`` (:class:`~micrograd_mlp.viz.GraphvizNotFoundError`).
    """
    if not isinstance(root, Value):
        raise TypeError(f"explore: root must be a Value (the loss), got {type_name(root)}")
    lr = finite_real(learning_rate, "explore: learning_rate")
    options: dict[str, Any] = {"model": model, "collapse": collapse, "highlight": highlight,
                               "max_nodes": max_nodes, "rankdir": rankdir,
                               "precision": precision}
    # δ cells: a collapsed neuron's δ row shows its net's gradient; an expanded net node shows
    # its gradient as every node does (the δ is that gradient), so that each step updates it
    drawing = draw(root, show_delta=collapse, **options)
    if max_nodes is not None and len(drawing.order) > GRAPH_FACTOR * max_nodes:
        raise GraphTooLargeError(len(drawing.order), GRAPH_FACTOR * max_nodes, collapse,
                                 model is not None)
    backward = _backward_pass(root, drawing.index)
    # the page's picture: each gradient cell drawn for the widest text a step puts there, so
    # that "grad 0.0554 so far" fits its cell at the page's font size (the script fills it in)
    widest = State(backward.grads, set(), set(), texts=_widest_texts(drawing.order, root,
                                                                     backward, precision))
    drawing = draw(root, show_delta=collapse, state=widest, **options)
    svg = pipe(drawing.dot, "svg").decode("utf-8")
    svg = svg[svg.find("<svg"):]
    params = _parameters(model)
    explained = _explanations(root, drawing.order, params, lr)
    nodes = [_node_entry(node, i, drawing, backward, params, explained.get(node))
             for i, node in enumerate(drawing.order)]
    name = short(str(title if title is not None else (root.label or "loss")))
    data = {"root": drawing.index[root], "learning_rate": lr, "precision": precision,
            "title": name, "nodes": nodes, "steps": backward.steps}
    frame_options = dict(options, show_delta=collapse)
    return Explorer(data, svg, frame_options, root, backward.states, name)


@dataclass
class _BackwardPass:
    """The backward pass laid out: the page's steps, one picture state per step (and one for the
    forward pass), each node's final gradient and the contributions it received."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    states: list[State] = field(default_factory=list)
    grads: dict[Value, float] = field(default_factory=dict)
    received: dict[Value, list[dict[str, Any]]] = field(default_factory=dict)
    final_step: dict[int, int] = field(default_factory=dict)


def _backward_pass(root: Value, index: dict[Value, int]) -> _BackwardPass:
    """The backward pass, as Value.backward runs it: op nodes of topological_order, last to
    first, each pushing ∂L/∂node × ∂node/∂operand to its operands."""
    done = _BackwardPass(grads={root: 1.0})
    grads = done.grads
    done.states.append(State(dict(grads), set(), {root}))
    for node in reversed([n for n in topological_order(root) if n.op is not None]):
        op = node.op
        assert op is not None
        g = grads.get(node, 0.0)
        partials = local_partials(node)
        operands = node.operands
        width = int(node.attribute or 0) if op.name == "affine" else len(operands)
        positions: Sequence[int] = range(len(operands))
        if op.name == "affine":  # the engine's order: w₁, x₁, w₂, x₂, ..., then the bias
            positions = [p for i in range(width) for p in (i, width + i)]
            positions = [*positions, *range(2 * width, len(operands))]
        contributions = []
        held: list[dict[str, Any]] = []
        for pos in positions:
            child = operands[pos]
            value = g * partials[pos]
            entry = {"to": index[child], "value": _num(value), "partial": _num(partials[pos]),
                     "rule": op.rule_for(pos, width)}
            if not child.requires_grad:  # a frozen leaf: the engine leaves its .grad as it was
                held.append(entry)
                continue
            grads[child] = grads.get(child, 0.0) + value
            entry["so_far"] = _num(grads[child])
            contributions.append(entry)
            done.received.setdefault(child, []).append({"from": index[node], **entry})
        done.steps.append({"number": len(done.steps) + 1, "node": index[node], "grad": _num(g),
                           "rule": "; ".join(op.math),
                           "op": op.name, "symbol": op.symbol, "formula": op.formula,
                           "contributions": contributions, "frozen": held})
        done.states.append(State(dict(grads), {node}, set(operands)))
    # which contribution completes each gradient: the last one to reach its node
    last: dict[int, tuple[int, int]] = {}
    for k, step in enumerate(done.steps):
        for j, c in enumerate(step["contributions"]):
            last[c["to"]] = (k, j)
    for k, step in enumerate(done.steps):
        for j, c in enumerate(step["contributions"]):
            c["final"] = last[c["to"]] == (k, j)
    done.final_step = {to: k + 1 for to, (k, _) in last.items()}
    done.final_step[index[root]] = 0
    for k, state in enumerate(done.states):  # after step k: reached, but more still to come
        state.partial = {v for v in state.grads if done.final_step.get(index[v], 0) > k}
    return done


def _widest_texts(order: list[Value], root: Value, backward: _BackwardPass, precision: int
                  ) -> dict[Value, str]:
    """For each node, the longest gradient text any state shows (``?``, each sum so far - with
    "so far" until the last contribution -, ``frozen``): the text its cell is drawn for."""
    texts = {}
    for node in order:
        shown = ["1" if node is root else gradient_text(node, None, precision)]
        received = backward.received.get(node, [])
        shown += [gradient_text(node, r["so_far"] if r["so_far"] is not None else math.nan,
                                precision, partial=k < len(received) - 1)
                  for k, r in enumerate(received)]
        texts[node] = max(shown, key=len)
    return texts


def _parameters(model: object | None) -> set[Value]:
    """The model's parameters (none without a model, or for one that cannot list them)."""
    if model is None or not hasattr(model, "parameters"):
        return set()
    try:
        return {p for p in model.parameters() if isinstance(p, Value)}
    except TypeError:
        return set()


def _node_entry(node: Value, i: int, drawing: Drawing, backward: _BackwardPass,
                params: set[Value], explanation: str | None) -> dict[str, Any]:
    """The page's record of one node: its numbers, where it is drawn, what it received."""
    label = node.label if node.label is not None else drawing.names.get(node)
    entry: dict[str, Any] = {
        "id": i, "label": short(label) if label is not None else None,
        "op": node.op.name if node.op is not None else None,
        "data": node.data, "grad": _num(backward.grads.get(node, 0.0)),
        "svg": _svg_ids(node, i, drawing),
        "operands": [drawing.index[c] for c in node.operands],
        "received": backward.received.get(node, []), "frozen": not node.requires_grad,
        "final_step": backward.final_step.get(i),
        "parameter": node in params or (not params and node.is_leaf and node.label is not None),
    }
    if explanation is not None:
        entry["explain"] = explanation
    return entry


def _svg_ids(node: Value, i: int, drawing: Drawing) -> list[str]:
    """The drawn node ids that stand for ``node``: its value (and op) node, or the collapsed
    neuron that swallowed it (none for a shared bias listed inside its neurons)."""
    gid = drawing.hidden.get(node)
    if gid is not None:
        return [gid] if gid else []
    return [f"v{i}", f"op{i}"] if node.op is not None else [f"v{i}"]


def _explanations(root: Value, order: list[Value], params: set[Value], lr: float
                  ) -> dict[Value, str]:
    """``explain``'s text for each parameter (the article's chain-rule breakdown), when the graph
    is small enough that doing it for each costs little (each walks the whole graph once)."""
    if not params or len(params) > MAX_EXPLAINED or len(order) * len(params) > 200_000:
        return {}
    in_graph = set(order)
    out = {}
    for p in params:
        if p not in in_graph or not p.is_leaf:
            continue
        try:
            out[p] = str(explain_parameter(p, root, learning_rate=lr))
        except (ValueError, KeyError):
            continue
    return out


# Beside the iframe: grows it to the height its page reports (the page cannot reach out: the
# sandbox gives it no access to the notebook, only messages).
_FRAME_SIZER = """<script>(function () {
  var frame = document.getElementById("FRAME_ID");
  if (!frame) { return; }
  window.addEventListener("message", function (ev) {
    var h = ev.data && ev.data.micrograd_explorer_height;
    if (ev.source !== frame.contentWindow || typeof h !== "number") { return; }
    // the first report sets the height; later ones only grow it (no jumps from step to step)
    if (!frame.getAttribute("data-sized") || h + 2 > frame.offsetHeight) {
      frame.style.height = Math.ceil(h + 2) + "px";
      frame.setAttribute("data-sized", "1");
    }
  });
}());</script>"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Backpropagation: {title}</title>
<style>
{css}
</style>
</head>
<body{body_class}>
<header>
<h1>Backpropagation through <span class="title">{title}</span></h1>
<nav id="controls" aria-label="steps">
<button id="first" title="before step 1: the forward pass (Home)">|◀ first</button>
<button id="back" title="back (←)">◀ back</button>
<button id="play" title="play / pause (space)">play</button>
<button id="next" title="next (→)">next ▶</button>
<button id="last" title="last (End)">last ▶|</button>
<span class="zoom" role="group" aria-label="zoom">
<button id="zoom-out" title="zoom out (-)">−</button>
<span id="zoom" title="the graph's size (drag it, or scroll, to pan)">100%</span>
<button id="zoom-in" title="zoom in (+)">+</button>
<button id="fit" title="the whole graph in the pane, or the readable size (0)">whole graph</button>
</span>
<span id="position"></span>
</nav>
</header>
<main>
<section id="graph">
{svg}
</section>
<aside>
<div id="current-step" aria-live="polite"></div>
<div id="details"><p class="hint">Click a node for its chain-rule breakdown.</p></div>
</aside>
</main>
<script type="application/json" id="backprop-steps">{data}</script>
<script>
{js}
</script>
</body>
</html>
"""
