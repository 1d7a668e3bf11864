"""Rendering a drawn graph: :func:`render_graph` writes SVG/PNG/PDF (Graphviz's ``dot`` program)
or the DOT text (no Graphviz needed); :func:`jupyter_svg` is a Value's inline display in Jupyter.
A missing ``dot`` is a :class:`GraphvizNotFoundError` that carries the DOT text."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import Value
from ..core.checks import one_of
from ..nn.files import atomic_write_bytes
from .dot import graphviz_module
from .draw import Root, draw_graph
from .size import GraphTooLargeError

if TYPE_CHECKING:
    import graphviz

#: File formats :func:`render_graph` writes, by file suffix. ``dot``/``gv`` write the DOT source
#: itself and need no Graphviz binary.
RENDER_FORMATS: dict[str, str] = {
    ".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot",
}

#: How to get the ``dot`` binary (the ``graphviz`` Python package only wraps it).
INSTALL_HINT = (
    "install the Graphviz system package so that `dot` is on PATH: "
    "`sudo apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS), "
    "`conda install -c conda-forge graphviz` (conda), or https://graphviz.org/download/ (Windows: "
    "add its bin folder to PATH)"
)


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz ``dot`` binary is not on PATH.

    A :class:`RuntimeError` (raised from graphviz's own ``ExecutableNotFound``). The DOT text that
    could not be rendered is in ``.source`` (write it to a ``.dot`` file, or paste it into any
    Graphviz viewer); ``.format`` is the format that was asked for.
    """

    def __init__(self, source: str, format: str) -> None:
        self.source = source
        self.format = format
        super().__init__(
            f"cannot render the graph to {format}: the Graphviz `dot` executable was not found. "
            f"{INSTALL_HINT}. The DOT source is still available as the exception's .source "
            f"(or draw_graph(...).source), and render_graph(root, 'graph.dot') writes it "
            f"without Graphviz.",
        )

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        return (type(self), (self.source, self.format))


def pipe(graph: graphviz.Digraph, fmt: str) -> bytes:
    """Run ``dot -T{fmt}`` on ``graph``; a missing binary becomes :class:`GraphvizNotFoundError`."""
    try:
        data: bytes = graph.pipe(format=fmt, quiet=True)
    except graphviz_module().ExecutableNotFound as exc:
        raise GraphvizNotFoundError(graph.source, fmt) from exc
    return data


def render_graph(root: Root | graphviz.Digraph, path: str | os.PathLike[str],
                 format: str | None = None, **options: object) -> Path:
    """Draw ``root`` (or take an already drawn ``graphviz.Digraph``) and write it to ``path``.

    ``format`` is ``"svg"``, ``"png"``, ``"pdf"`` or ``"dot"`` (the DOT text, no Graphviz needed);
    by default it comes from the file suffix (``.svg .png .pdf .dot .gv``). ``options`` go to
    :func:`~micrograd_mlp.viz.draw_graph`. The file is written only after rendering succeeded.
    Raises :class:`GraphvizNotFoundError` (with ``.source``) when the ``dot`` binary is missing.
    Returns the path written.
    """
    path = Path(path)
    if format is None:
        fmt = RENDER_FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise ValueError(
                f"render_graph: cannot tell the format from the file name {str(path)!r}; use a "
                f"suffix in {sorted(RENDER_FORMATS)} or pass format='svg'|'png'|'pdf'|'dot'"
            )
    else:
        fmt = {"gv": "dot"}.get(str(format).lower(), str(format).lower())
        one_of(fmt, "render_graph: format", ("svg", "png", "pdf", "dot"))
    if isinstance(root, graphviz_module().Digraph):
        if options:
            raise TypeError(
                "render_graph: drawing options need a Value, not an already drawn graph"
            )
        graph = root
    else:
        graph = draw_graph(root, **options)  # type: ignore[arg-type]
    data = graph.source.encode("utf-8") if fmt == "dot" else pipe(graph, fmt)
    atomic_write_bytes(path, data)  # a crash mid-write never leaves a torn picture
    return path


def jupyter_svg(value: Value) -> str | None:
    """SVG text for Jupyter's inline display of a Value, or ``None`` (IPython then falls back to
    the text repr) when Graphviz is missing or fails, the graph is over the default size bound,
    or a label cannot be drawn: a display never raises."""
    return _jupyter_display(value)[0]


def jupyter_mimebundle(value: Value, include: Any = None, exclude: Any = None
                       ) -> dict[str, str]:
    """Jupyter's display of a Value: its graph as SVG; where it cannot be drawn, the text repr
    with the reason - for a graph over the size bound, how to draw it anyway (``collapse=True``
    draws each neuron as one node, ``max_nodes=None`` lifts the bound)."""
    svg, why = _jupyter_display(value)
    if svg is not None:
        return {"image/svg+xml": svg}
    text = repr(value) if why is None else f"{value!r}\n({why})"
    return {"text/plain": text}


def too_large_hint(exc: GraphTooLargeError) -> str:
    """What to do about a graph over the size bound, in the words of a notebook call."""
    has = f"at least {exc.node_count}" if exc.at_least else f"{exc.node_count}"
    return (f"graph not drawn: {has} nodes, more than max_nodes={exc.max_nodes};\n"
            f" draw_graph(loss, model=net, collapse=True) draws each neuron as one node,\n"
            f" draw_graph(loss, max_nodes=None) draws every node")


def _jupyter_display(value: Value) -> tuple[str | None, str | None]:
    """(SVG text, None), or (None, why it is not drawn: None when there is nothing to tell)."""
    try:
        return pipe(draw_graph(value), "svg").decode("utf-8"), None
    except GraphTooLargeError as exc:
        return None, too_large_hint(exc)
    except GraphvizNotFoundError:
        return None, "graph not drawn: the Graphviz `dot` program is not installed"
    except (TypeError, ValueError, OSError, graphviz_module().CalledProcessError):
        return None, None
