"""DOT text: the ``graphviz`` package, escaping, numbers, and the HTML-like labels of the nodes.

Safety: every user-supplied text (Value labels, neuron names) goes into HTML-like labels after
escaping ``& < > " '``, doubling backslashes (Graphviz expands ``\\N``, ``\\G`` ... even inside
HTML labels), turning newlines into ``<BR/>`` and replacing characters XML cannot carry
(:func:`html_text`). Labels longer than :data:`MAX_LABEL_CHARS` are shortened (:func:`short`).

The ``graphviz`` Python package is imported when a graph is first drawn (:func:`graphviz_module`),
so the rest of the library works without it.

>>> html_text("a<b & c"), short("x" * 70, 10)
('a&lt;b &amp; c', 'xxxxxx…xxx')
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..core import Primitive, Value

if TYPE_CHECKING:
    from .clusters import NeuronGroup

# Colours (kept in one place so the picture is consistent).
HIGHLIGHT = "#d62728"
DELTA_BG = "#fff2cc"
LEAF_BG = "#eaf2fb"
NEURON_BG = "#f4f4f4"

#: Longest label drawn (characters); a longer one is shortened to its start, "…" and its end.
#: Graphviz fails on labels of some 16 KB, and a picture cannot show more anyway.
MAX_LABEL_CHARS = 60


def graphviz_module() -> Any:
    """The ``graphviz`` package, imported on first use."""
    try:
        import graphviz
    except ImportError as exc:  # a declared dependency, so only a broken install gets here
        raise ImportError("drawing graphs needs the graphviz Python package "
                          "(pip install graphviz)") from exc
    return graphviz


# --- text -----------------------------------------------------------------------------------------
def _xml_safe_char(ch: str) -> str:
    """Replace one character XML 1.0 cannot hold (C0 controls, surrogates, U+FFFE/U+FFFF)."""
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # the visible "control picture": ␀ ␁ ... ␟
    if code == 0x7F:
        return "\u2421"  # ␡
    if 0x80 <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
        return "\ufffd"
    return ch


def html_text(text: str) -> str:
    """``text`` as the content of a Graphviz HTML-like label: no markup, no escapes, no breaks.

    ``& < > " ' ]`` become entities; backslashes are doubled (Graphviz applies its ``\\N``/``\\G``
    escapes after reading the HTML); CR/LF line breaks become ``<BR/>`` and tabs a space; other
    characters XML cannot carry become visible stand-ins.
    """
    text = short(str(text)).replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    lines = []
    for line in text.split("\n"):
        clean = "".join(_xml_safe_char(c) for c in line)
        # "]" as an entity: Graphviz 2.43 rejects a text run made only of "]" characters
        lines.append(html.escape(clean, quote=True).replace("\\", "\\\\").replace("]", "&#93;"))
    return "<BR/>".join(lines)


def plain_label(text: str) -> str:
    """An HTML-like label of plain text (a cluster title, an op symbol)."""
    return f"<{html_text(text)}>"


def number(x: float, precision: int) -> str:
    """``x`` with ``precision`` significant digits (no ``-0``)."""
    if x == 0:
        x = 0.0
    return f"{x:.{precision}g}"


def short(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    """``text`` cut to at most ``limit`` characters: its start, "…", its end."""
    if len(text) <= limit:
        return text
    head = (limit - 1) * 2 // 3
    return text[:head] + "…" + text[len(text) - (limit - 1 - head):]


def _bold(html_text: str) -> str:
    """Bold markup around escaped text (Graphviz rejects an empty ``<B></B>``)."""
    return f"<B>{html_text}</B>" if html_text else " "


def display_names(order: Sequence[Value]) -> dict[Value, str]:
    """Names for unlabeled nodes a learner needs to tell apart, from the graph's shape:

    * the constant ``t`` in ``t − out_o1`` is the target ``t_o1``;
    * the difference itself reads ``t_o1 − out_o1``, its square ``(t_o1 − out_o1)²``;
    * a constant 0.5 that multiplies is ``½``.

    Labelled nodes keep their labels (they are not in the result)."""
    names: dict[Value, str] = {}

    def name(v: Value) -> str | None:
        return v.label if v.label is not None else names.get(v)

    for node in order:
        op = node.op
        if op is None:
            continue
        operands = node.operands
        if op.name == "sub" and len(operands) == 2:
            t, o = operands
            olab = o.label
            if (t.op is None and t.label is None and t not in names and olab is not None
                    and olab[:4] in ("out_", "net_") and len(olab) > 4):
                names[t] = f"t_{olab[4:]}"
            a, b = name(t), name(o)
            if node.label is None and a is not None and b is not None:
                names[node] = short(f"{a} − {b}", 40)
        elif op.name == "powc" and node.label is None and node.attribute == 2:
            a = name(operands[0])
            if a is not None:
                names[node] = short(f"({a})²" if " " in a else f"{a}²", 40)
        elif op.name == "mul":
            for v in operands:
                if v.op is None and v.label is None and v.data == 0.5:
                    names[v] = "½"
    return names


# --- op nodes -------------------------------------------------------------------------------------
def _primitive(node: Value) -> Primitive:
    """The primitive of an op node (drawn only for nodes that have one)."""
    assert node.op is not None, "a leaf has no op node"
    return node.op


def op_text(node: Value, precision: int) -> str:
    """The op node's text: the primitive's symbol, with its constant where it has one."""
    op = _primitive(node)
    k = node.attribute
    if k is not None and op.name == "powc":
        return f"**{number(k, precision)}"
    if k is not None and op.name == "leaky_relu":
        return f"{op.symbol}({number(k, precision)})"
    return op.symbol


def op_tooltip(node: Value) -> str:
    """The op node's tooltip: what the op computes and its partials, as the table writes them."""
    op = _primitive(node)
    return f"out = {op.formula}; " + "; ".join(op.math)


def operand_roles(node: Value) -> list[str] | None:
    """Edge labels for operands whose order matters (a − b, a / b, a ** b)."""
    if _primitive(node).name in ("sub", "div", "pow"):
        return ["a", "b"]
    return None


def is_net(node: Value) -> bool:
    """A neuron's net input: an ``affine`` node, or a node labelled ``net_...``."""
    return (node.op is not None and node.op.name == "affine") or (
        node.label is not None and node.label.startswith("net_")
    )


# --- value and neuron nodes -----------------------------------------------------------------------
#: What a picture shows in place of a frozen leaf's gradient (``requires_grad=False``: backward
#: leaves its ``.grad`` alone, so a number there - usually 0 - would be a wrong gradient).
FROZEN = "frozen"

#: Appended to a gradient that is still accumulating (the explorer's frames and page).
SO_FAR = " so far"


def gradient_text(node: Value, grad: float | None, precision: int, partial: bool = False) -> str:
    """What a picture shows for ``node``'s gradient: :data:`FROZEN` for a frozen leaf, ``?`` for
    ``grad=None`` (not reached yet), else the number - followed by " so far" when ``partial``
    (more contributions are still to come: ∂L/∂node = Σ over its uses, only some added yet)."""
    if not node.requires_grad:
        return FROZEN
    if grad is None:
        return "?"
    return number(grad, precision) + (SO_FAR if partial else "")


def value_label(node: Value, *, grad: str, touched: bool, show_grad: bool, show_delta: bool,
                precision: int, highlighted: bool, bold: bool = False, name: str | None = None,
                stacked: bool = False) -> str:
    """A value node: ``label | data | grad`` (``grad``: the gradient's text, from
    :func:`gradient_text`; ``touched``: shaded, as the explorer marks the operands a step
    reached; a net node may show its δ instead). A frozen leaf's cell reads ``frozen``."""
    cells = []
    label = node.label if node.label is not None else name
    if label is not None:
        text = html_text(label)
        shown = _bold(text) if bold or node.is_leaf else (text or " ")
        cells.append(f"<TD>{shown}</TD>")
    cells.append(f"<TD>data {number(node.data, precision)}</TD>")
    cell = FROZEN if grad == FROZEN else f"grad {html_text(grad)}"
    if touched:
        cells.append(f'<TD BGCOLOR="{DELTA_BG}">{cell}</TD>')
    elif show_delta and is_net(node):  # δ = ∂root/∂net is this node's grad
        cells.append(f'<TD BGCOLOR="{DELTA_BG}">{_delta_text(node, grad)}</TD>')
    elif show_grad:
        cells.append(f"<TD>{cell}</TD>")
    return _table(cells, highlighted, LEAF_BG if node.is_leaf else None, stacked)


def _delta_text(node: Value, grad: str) -> str:
    name = ""
    if node.label is not None and node.label.startswith("net_") and len(node.label) > 4:
        name = f"<SUB>{html_text(node.label[4:])}</SUB>"
    return f"δ{name} = {html_text(grad)}"


def _table_attributes(highlighted: bool) -> str:
    if highlighted:
        return f'BORDER="2" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4" COLOR="{HIGHLIGHT}"'
    return 'BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4"'


def _table(cells: list[str], highlighted: bool, bgcolor: str | None, stacked: bool = False
           ) -> str:
    """The cells side by side (one row), or ``stacked`` one under the other (top-to-bottom
    layouts, where a narrow node keeps the picture narrow)."""
    attrs = _table_attributes(highlighted)
    if bgcolor:
        attrs += f' BGCOLOR="{bgcolor}"'
    rows = "</TR><TR>".join(cells) if stacked else "".join(cells)
    return f"<<TABLE {attrs}><TR>{rows}</TR></TABLE>>"


def _param_summary(labels: list[str]) -> str:
    """``w1, w2, b1``; a run of more than three consecutive weights as ``w35…w50``."""
    weights = [lab for lab in labels if re.fullmatch(r"w[1-9][0-9]*", lab)]
    rest = [lab for lab in labels if lab not in weights]
    nums = [int(w[1:]) for w in weights]
    if len(nums) > 3 and nums == list(range(nums[0], nums[0] + len(nums))):
        weights = [f"w{nums[0]}…w{nums[-1]}"]
    return ", ".join(weights + rest)


def neuron_label(g: NeuronGroup, grad: Callable[[Value], str], *, show_grad: bool,
                 show_delta: bool, precision: int, highlighted: bool) -> str:
    """A collapsed neuron: its name, its parameters, its output (and δ); ``grad`` gives the text
    of a node's gradient (:func:`gradient_text` of ``.grad``, or of the explorer's gradients so
    far)."""
    rows = [f"<TR><TD>{_bold(html_text(g.name))}"
            + (f" ({html_text(g.activation)})" if g.activation else "") + "</TD></TR>"]
    names = _param_summary([p.label for p in g.params if p.label])
    if names:
        rows.append(f"<TR><TD>{html_text(names)}</TD></TR>")
    single = len(g.out) <= 1 and len(g.net) <= 1
    if single:
        out = g.out[0] if g.out else (g.net[0] if g.net else None)
        if out is not None:
            text = f"out {number(out.data, precision)}"
            if show_grad:
                text += f", grad {html_text(grad(out))}"
            rows.append(f"<TR><TD>{text}</TD></TR>")
        if show_delta and g.net:
            rows.append(f'<TR><TD BGCOLOR="{DELTA_BG}">δ = {html_text(grad(g.net[0]))}'
                        "</TD></TR>")
    else:
        rows.append(f"<TR><TD>{len(g.net)} forward passes</TD></TR>")
    attrs = _table_attributes(highlighted)
    return f'<<TABLE {attrs} BGCOLOR="{NEURON_BG}">{"".join(rows)}</TABLE>>'
