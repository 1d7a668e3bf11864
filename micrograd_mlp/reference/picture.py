"""The worked example's picture: the graph that ``micrograd-mlp graph`` and
``render_article_graph`` draw - the loss E_total of the article's network at its sample, after
``backward()`` so that every node carries its gradient - and how it is drawn: grouped by layer and
neuron (``model=`` the article network). The drawing itself is ``micrograd_mlp.viz``'s.

>>> loss, options = article_picture(highlight="w5")
>>> round(loss.data, 9), sorted(options)
(0.298371109, ['highlight', 'model'])
"""

from __future__ import annotations

from ..core import Value
from ..nn import MLP
from ..nn.losses import half_squared_error
from . import article


def article_loss() -> tuple[Value, MLP]:
    """The article's network, forward pass and loss E_total = Σₒ ½ (targetₒ − outₒ)², after
    ``backward()``. Returns ``(E_total, network)``; node labels follow the article (E_o1, E_o2)."""
    net = article.network()
    total = half_squared_error(net(list(article.INPUTS)), list(article.TARGETS))
    total.backward()
    return total, net


def article_picture(*, cluster: bool = True, **options: object) -> tuple[Value, dict[str, object]]:
    """The worked example's loss (:func:`article_loss`) and the ``draw_graph`` options that draw
    it: ``options`` with ``model=`` the article network when ``cluster`` (nodes grouped by layer
    and neuron) or ``collapse`` (one node per neuron) asks for it."""
    loss, net = article_loss()
    if cluster or options.get("collapse"):
        options.setdefault("model", net)
    return loss, options
