"""The static picture draws neurons and leaves in the article's order - checked on real renders.

Oracle: the node coordinates Graphviz itself computes (``dot -Tplain``). For every two named
nodes that land in the same rank (the same column left to right, the same row top to bottom),
the one earlier in the article's order (i1, i2, w1, w2, ..., h1 before h2, o1 before o2, t_o1
before t_o2) must be above it (``rankdir="LR"``) or left of it (``"TB"``). Each case also names
pairs that must share a rank, so that the check cannot pass by comparing nothing.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from micrograd_mlp import MLP, Value
from micrograd_mlp.nn.losses import half_squared_error
from micrograd_mlp.reference.picture import article_loss
from micrograd_mlp.viz.draw import Drawing, draw

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")


def positions(drawing: Drawing) -> dict[str, tuple[float, float]]:
    """{name shown on the node: (x, y)} from ``dot -Tplain`` (y grows upwards)."""
    plain = subprocess.run(["dot", "-Tplain"], input=drawing.dot.source.encode(),
                           capture_output=True, check=True).stdout.decode()
    by_id = {}
    for line in plain.splitlines():
        fields = line.split()
        if fields[0] == "node":
            by_id[fields[1]] = (float(fields[2]), float(fields[3]))
    out: dict[str, tuple[float, float]] = {}
    twice = set()  # names drawn more than once (the two ½) take no part
    for node, i in drawing.index.items():
        name = node.label if node.label is not None else drawing.names.get(node)
        if name is not None and f"v{i}" in by_id:
            if name in out:
                twice.add(name)
            out[name] = by_id[f"v{i}"]
    for name in twice:
        del out[name]
    for g in drawing.groups:
        if f"n{g.layer}_{g.index}" in by_id:
            out[g.name] = by_id[f"n{g.layer}_{g.index}"]
    return out


def misordered(pos: dict[str, tuple[float, float]], order: list[list[str]], rankdir: str
               ) -> tuple[list[tuple[str, str]], set[frozenset[str]]]:
    """(pairs drawn against ``order``, every pair compared) among nodes sharing a rank; only
    names in one list of ``order`` are compared (i1 with i2, out_o1 with out_o2, not out_o1 with
    t_o1)."""
    across = rankdir in ("LR", "RL")  # ranks are columns
    rank_axis, cross = (0, 1) if across else (1, 0)
    sign = -1 if across else 1  # LR, RL: earlier = higher y; TB, BT: earlier = smaller x
    pairs = [(a, b) for family in order for k, a in enumerate(family) for b in family[k + 1:]
             if a in pos and b in pos]
    bad, compared = [], set()
    for a, b in pairs:
        if abs(pos[a][rank_axis] - pos[b][rank_axis]) > 1e-3:
            continue
        compared.add(frozenset((a, b)))
        if sign * (pos[a][cross] - pos[b][cross]) >= 0:
            bad.append((a, b))
    return bad, compared


LEAVES = ["i1", "i2", "w1", "w2", "b1", "w3", "w4", "w5", "w6", "b2", "w7", "w8", "t_o1", "t_o2"]
TAIL = [["t_o1 − out_o1", "t_o2 − out_o2"], ["(t_o1 − out_o1)²", "(t_o2 − out_o2)²"],
        ["E_o1", "E_o2"]]


def by_kind(leaves: list[str]) -> list[list[str]]:
    """With ``model=`` inputs, weights and biases are compared among themselves (inputs sit
    outside the clusters, weights inside their neuron's, shared biases in their layer's)."""
    return [[n for n in leaves if n[0] == kind] for kind in "iwbt"]


ARTICLE = [LEAVES, ["h1", "h2"], ["o1", "o2"], ["net_h1", "net_h2"], ["out_h1", "out_h2"],
           ["net_o1", "net_o2"], ["out_o1", "out_o2"], *TAIL]


def check(drawing: Drawing, order: list[list[str]], rankdir: str, must: list[tuple[str, str]]
          ) -> None:
    pos = positions(drawing)
    bad, compared = misordered(pos, order, rankdir)
    assert not bad, f"drawn out of order ({rankdir}): {bad}"
    missing = [p for p in must if frozenset(p) not in compared]
    assert not missing, f"expected in one rank, but are not: {missing}"


@pytest.mark.parametrize("rankdir", ["LR", "TB", "RL", "BT"])
@pytest.mark.parametrize("mode", ["plain", "model", "collapse"])
def test_worked_example_in_article_order(mode: str, rankdir: str) -> None:
    loss, net = article_loss()
    options = {"plain": {}, "model": {"model": net},
               "collapse": {"model": net, "collapse": True}}[mode]
    drawing = draw(loss, rankdir=rankdir, **options)  # type: ignore[arg-type]
    order = ARTICLE if mode == "plain" else [*by_kind(LEAVES), *ARTICLE[1:]]
    if mode == "collapse":
        must = [("h1", "h2"), ("o1", "o2"), ("i1", "i2")]
    else:
        must = [("w1", "w2"), ("w3", "w4"), ("out_h1", "out_h2"), ("out_o1", "out_o2"),
                ("i1", "i2")]
    check(drawing, order, rankdir, must)


def mlp_232() -> tuple[Value, MLP, list[list[str]]]:
    net = MLP(2, [3, 2], seed=1)
    inputs = [Value(0.3, label="i1"), Value(-0.6, label="i2")]
    loss = half_squared_error(net(inputs), [0.2, 0.7])
    loss.backward()
    leaves = ["i1", "i2", "w1", "w2", "b_h1", "w3", "w4", "b_h2", "w5", "w6", "b_h3", "w7", "w8",
              "w9", "b_o1", "w10", "w11", "w12", "b_o2", "t_o1", "t_o2"]
    order = [leaves, ["h1", "h2", "h3"], ["net_h1", "net_h2", "net_h3"],
             ["out_h1", "out_h2", "out_h3"], ["o1", "o2"], ["net_o1", "net_o2"],
             ["out_o1", "out_o2"], *TAIL]
    return loss, net, order


@pytest.mark.parametrize("rankdir", ["LR", "TB", "RL", "BT"])
@pytest.mark.parametrize("mode", ["plain", "model", "collapse"])
def test_mlp_232_in_order(mode: str, rankdir: str) -> None:
    loss, net, order = mlp_232()
    options = {"plain": {}, "model": {"model": net},
               "collapse": {"model": net, "collapse": True}}[mode]
    drawing = draw(loss, rankdir=rankdir, **options)  # type: ignore[arg-type]
    if mode != "plain":
        order = [*by_kind(order[0]), *order[1:]]
    must = ([("h1", "h2"), ("h2", "h3"), ("o1", "o2")] if mode == "collapse" else
            [("out_h1", "out_h2"), ("out_h2", "out_h3"), ("out_o1", "out_o2")])
    check(drawing, order, rankdir, must)
