"""Reading order: networks are drawn in the article's order (h1 above h2; i1, i2, w1, w2, b1, ...).

The picture lists its nodes in the order a forward pass meets them (:func:`reading_order`), each
node's operands in the order a reader takes them (:func:`forward_positions`), and pins each
layer's leaves in that order (:func:`leaf_chains`). ``tests/viz/test_order.py`` checks the
result on real renders.
"""

from __future__ import annotations

from typing import Sequence

from ..core import Value


def forward_positions(node: Value) -> Sequence[int]:
    """Positions of ``node``'s operands in the order a reader takes them: for an ``affine`` node
    (a neuron's Σ wᵢxᵢ + b, operands stored as w..., x..., b) the inputs first, then the weights,
    then b."""
    count = len(node.operands)
    op = node.op
    if op is not None and op.name == "affine":
        n = int(node.attribute or 0)
        return [*range(n, 2 * n), *range(n), *range(2 * n, count)]
    return range(count)


def reading_order(order: Sequence[Value]) -> list[Value]:
    """``order``'s nodes in the order the picture lists them: the order a forward pass meets
    them, depth first from the root, each node's operands in their own order
    (:func:`forward_positions`; the engine's ``topological_order`` takes the last operand
    first). Leaves come first, in the order they are first used (i1, i2, w1, w2, b1, w3, ... for
    the article), then the results (h1's nodes before h2's, o1's before o2's)."""
    seen: set[Value] = set()
    leaves: list[Value] = []
    results: list[Value] = []
    used = {c for n in order for c in n.operands}
    for top in (n for n in order if n not in used):  # the roots drawn, in order
        stack: list[tuple[Value, bool]] = [(top, False)]
        while stack:
            node, done = stack.pop()
            if done:
                results.append(node)
                continue
            if node in seen:
                continue
            seen.add(node)
            if node.op is None:
                leaves.append(node)
                continue
            stack.append((node, True))
            stack.extend((node.operands[k], False) for k in reversed(forward_positions(node)))
    return leaves + results


def leaf_chains(reading: Sequence[Value], hidden: dict[Value, str]) -> list[list[Value]]:
    """The leaves of each layer of neurons, in reading order: the leaf operands of the ``affine``
    nodes that share one tuple of inputs (i1, i2, w1, w2, b1, w3, w4 for the article's first
    layer). They end up in one rank; invisible edges between them (``constraint=false``, so
    the ranks do not change) become Graphviz "flat edges", which keep their order."""
    chains: dict[tuple[int, ...], list[Value]] = {}
    seen: set[Value] = set()
    for node in reading:
        op = node.op
        if op is None or op.name != "affine" or node in hidden:
            continue
        n = int(node.attribute or 0)
        chain = chains.setdefault(tuple(id(x) for x in node.operands[n:2 * n]), [])
        for pos in forward_positions(node):
            leaf = node.operands[pos]
            if leaf.op is None and leaf not in seen and leaf not in hidden:
                seen.add(leaf)
                chain.append(leaf)
    return [c for c in chains.values() if len(c) > 1]
