"""Pictures: Graphviz drawings of a recorded graph (and ``Value``'s inline display in Jupyter).
Imports the layers below; importing this package registers the Jupyter display."""

from ..core import Value
from .explore import Explorer, explore
from .graph import GraphTooLargeError, GraphvizNotFoundError, _jupyter_svg, draw_graph, render_graph

# Jupyter shows a Value as its graph (text repr without Graphviz or for a huge graph)
Value._repr_svg_ = _jupyter_svg  # type: ignore[attr-defined]

__all__ = ["Explorer", "GraphTooLargeError", "GraphvizNotFoundError", "draw_graph", "explore",
           "render_graph"]
