"""How big a picture may get: :data:`DEFAULT_MAX_NODES`, :class:`GraphTooLargeError`, and the
early refusal (:func:`refuse_huge`) that stops counting a huge graph long before its end."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ..core import Value
from .clusters import model_layers, weight_key

#: Default bound on the number of drawn nodes (value nodes + op nodes, or neuron nodes when
#: collapsed). The article's 2-2-2 net with its loss draws 46; an expanded 2-16-16-1 net 476.
DEFAULT_MAX_NODES = 400


class GraphTooLargeError(ValueError):
    """The graph has more nodes than ``max_nodes``.

    ``node_count`` and ``max_nodes`` hold the two numbers. Pass ``model=..., collapse=True`` to
    draw each neuron as one node, or raise ``max_nodes`` (``None`` disables the bound).
    """

    def __init__(self, node_count: int, max_nodes: int, collapsed: bool, has_model: bool,
                 at_least: bool = False) -> None:
        self.node_count = node_count  # with at_least: counting stopped there (a lower bound)
        self.max_nodes = max_nodes
        self.at_least = at_least
        if collapsed:
            hint = "draw a smaller graph or raise max_nodes (max_nodes=None disables the bound)"
        elif has_model:
            hint = ("pass collapse=True to draw each neuron as one node, or raise max_nodes "
                    "(max_nodes=None disables the bound)")
        else:
            hint = ("pass model=<your MLP> and collapse=True to draw each neuron as one node, or "
                    "raise max_nodes (max_nodes=None disables the bound)")
        has = f"at least {node_count}" if at_least else f"{node_count}"
        super().__init__(
            f"draw_graph: the graph has {has} nodes, more than max_nodes={max_nodes}; {hint}"
        )
        self._args = (node_count, max_nodes, collapsed, has_model, at_least)

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:  # picklable despite the custom __init__
        return (type(self), self._args)


def refuse_huge(roots: Sequence[Value], max_nodes: int, has_model: bool,
                swallowed: Callable[[Value], bool] | None = None) -> None:
    """Count drawn nodes (a value node per Value, an op node per non-leaf) from the roots and stop
    at 4·max_nodes + 1000: a graph past that is refused in O(max_nodes) time and memory, however
    large it is. Smaller graphs fall through to the exact count of ``draw_graph``. Nodes for
    which ``swallowed`` is true (collapsed into a neuron) are walked through but not counted."""
    cap = 4 * max_nodes + 1000
    seen: set[Value] = set()
    stack = list(roots)
    count = 0
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(node.operands)
        if swallowed is not None and swallowed(node):
            continue
        count += 1 if node.op is None else 2
        if count > cap:
            raise GraphTooLargeError(count, max_nodes, swallowed is not None, has_model,
                                     at_least=True)


def refuse_huge_collapsed(roots: Sequence[Value], max_nodes: int, model: object) -> None:
    """:func:`refuse_huge` for ``collapse=True``: nodes a neuron swallows (its parameters, net
    and out nodes, known from the model by identity and label) are not counted. It undercounts
    (never refuses what the exact count accepts), and a batch loss - whose every sample adds
    drawn nodes - is refused after visiting O(max_nodes) samples, not all of them."""
    params: set[int] = set()
    weight_keys: set[tuple[int, ...]] = set()
    labels: set[str] = set()
    try:
        for _, neurons in model_layers(model)[0]:
            for neuron in neurons:
                weights = tuple(neuron.weights)
                weight_keys.add(tuple(id(w) for w in weights))
                params.update(id(w) for w in weights)
                if neuron.bias is not None:
                    params.add(id(neuron.bias))
                labels.update((f"net_{neuron.name}", f"out_{neuron.name}"))
    except (AttributeError, TypeError):
        return  # not a model: model_groups says what is wrong

    def swallowed(node: Value) -> bool:
        if id(node) in params or (type(node.label) is str and node.label in labels):
            return True
        op = node.op
        if op is not None and op.name == "affine":
            return weight_key(node) in weight_keys
        return False

    refuse_huge(roots, max_nodes, True, swallowed)
