"""Pictures: Graphviz drawings of a recorded graph (and ``Value``'s inline display in Jupyter).

The public surface: :func:`draw_graph` returns a ``graphviz.Digraph``; :func:`render_graph` writes
it as SVG/PNG/PDF or DOT text; :func:`explore` returns an :class:`Explorer`, a step-through page
of the backward pass; :class:`GraphTooLargeError` and :class:`GraphvizNotFoundError` are what they
raise. ``micrograd_mlp.viz.graph`` gathers the drawing's names (its bounds, formats, and the worked
example's picture); the modules beside it are internal. Imports the layers below; importing this
package registers the Jupyter display.
"""

from ..core import Value
from .draw import draw_graph
from .explorer import Explorer, explore
from .render import GraphvizNotFoundError, render_graph
from .render import jupyter_mimebundle as _jupyter_mimebundle
from .render import jupyter_svg as _jupyter_svg
from .size import GraphTooLargeError

# Jupyter shows a Value as its graph (text repr without Graphviz; for a huge graph, with how to
# draw it: collapse=True)
Value._repr_svg_ = _jupyter_svg  # type: ignore[attr-defined]
Value._repr_mimebundle_ = _jupyter_mimebundle  # type: ignore[attr-defined]

__all__ = ["Explorer", "GraphTooLargeError", "GraphvizNotFoundError", "draw_graph", "explore",
           "render_graph"]
