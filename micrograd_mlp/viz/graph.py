"""Graphviz pictures of computation graphs in one import (the old ``micrograd_mlp.graph``):
``draw_graph`` (:mod:`.draw`), ``render_graph`` (:mod:`.render`), their errors, bounds and formats,
and :func:`render_article_graph`, the worked example's picture. The public names are
``micrograd_mlp.viz``'s; this module keeps the old path's names importable.

The picture is built by the modules beside this one: :mod:`.draw` (the drawing), :mod:`.dot`
(escaping and labels), :mod:`.clusters` (``model=``'s layers and neurons), :mod:`.order` (the
article's reading order), :mod:`.size` (the node bound) and :mod:`.render` (Graphviz's ``dot``).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..reference.picture import article_picture
from .draw import RANKDIRS as RANKDIRS
from .draw import draw_graph as draw_graph
from .render import INSTALL_HINT as INSTALL_HINT
from .render import RENDER_FORMATS as RENDER_FORMATS
from .render import GraphvizNotFoundError as GraphvizNotFoundError
from .render import render_graph as render_graph
from .size import DEFAULT_MAX_NODES as DEFAULT_MAX_NODES
from .size import GraphTooLargeError as GraphTooLargeError


def render_article_graph(path: str | os.PathLike[str], format: str | None = None, *,
                         cluster: bool = True, **options: object) -> Path:
    """Render the worked example's graph (loss E_total of the article's 2-2-2 network, after
    backward, so every node shows its gradient) to ``path``: the picture ``micrograd-mlp demo``
    writes and ``micrograd-mlp graph`` draws by default.

    ``cluster=True`` groups the nodes by layer and neuron (``model=`` the article network);
    ``collapse=True`` draws one node per neuron; other ``options`` (``highlight="w5"``,
    ``show_grad``, ``show_delta``, ``rankdir``, ...) go to :func:`draw_graph`. The graph and
    these defaults are :func:`micrograd_mlp.reference.picture.article_picture`.
    """
    loss, drawing_options = article_picture(cluster=cluster, **options)
    return render_graph(loss, path, format=format, **drawing_options)
