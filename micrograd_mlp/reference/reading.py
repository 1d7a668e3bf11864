"""Reading a recorded loss graph the way the article writes it: names, and a net's activation.

Shared by :mod:`.explain` (the chain rule of one parameter) and :mod:`.diagnosis` (what a wrong
gradient most likely missed).
"""

from __future__ import annotations

from ..core import Value

__all__ = ["node_name", "activation_of"]

Consumers = dict[Value, list[tuple[Value, int]]]


def node_name(node: Value) -> str:
    """A node's label, else its op's name, else (a constant) its number."""
    return node.label or (node.op.name if node.op is not None else f"{node.data:.6g}")


def activation_of(consumers: Consumers, net: Value) -> Value | None:
    """The ``out_`` node made from ``net`` by a one-operand activation, if that is its only use."""
    users = consumers.get(net, [])
    if len(users) == 1:
        node, _ = users[0]
        if node.op is not None and node.op.arity == 1 and (node.label or "").startswith("out_"):
            return node
    return None
