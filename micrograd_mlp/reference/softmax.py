"""Softmax cross-entropy read off a recorded loss graph, and the classic multi-class mistakes.

The library's ``cross_entropy`` (and ``log_softmax``) records, per sample, a log-sum-exp:
``log(sum(exp(s_1), …, exp(s_K)))`` with s_o = z_o − m (the logit less the largest one, a
constant). :func:`find_softmax` finds each such node and reads, from the values and the adjoints
of one backward pass, what the δ formulas work with:

* p_o = exp(s_o) / Σ_j exp(s_j)  (the softmax);
* the weight c of the sample's loss in E (c = ∂E/∂lse: 1, or 1/N for a batch mean), and
* the target y_o = p_o − (∂E/∂s_o) / c, since ∂E/∂z_o = c · (p_o − y_o) for cross-entropy.

A log-sum-exp whose numbers do not give a probability vector y (it is not a cross-entropy) is left
out. :func:`mistakes` then forms, per mistake, the output δ′ a learner gets - every δ′ enters the
network below exactly where the true c · (p − y) does, so :func:`pull_back` (one adjoint pass from
the logits down, linear in δ′) gives the gradient of every parameter with that mistake:

* the softmax treated elementwise: ∂p_o/∂z_o = p_o (1 − p_o) alone (the off-diagonal −p_j p_o of
  the coupled Jacobian dropped), so δ′_o = (−y_o / p_o) · p_o (1 − p_o) = −y_o (1 − p_o);
* the softmax's derivative applied twice: δ′_o = (p_o − y_o) · p_o (1 − p_o) (p − y already is
  ∂E/∂z: the Jacobian is in it);
* the target left out (δ′ = p), or the one-hot target wrong: its 1 one class off (c ± 1 for every
  sample: labels counted from 1) or at another class (one sample).

The wrong sign (δ = y − p), the batch mean forgotten (N·g) and a mean over the classes (g/K) are
plain multiples of the true gradient g; :mod:`.diagnosis` words them for a softmax graph.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

from ..core import Value

#: How far a read target may be from a probability vector (rounding of p and the adjoints).
TARGET_TOLERANCE = 1e-7


@dataclass(frozen=True)
class SoftmaxSample:
    """One sample's softmax cross-entropy in a recorded graph."""

    lse: Value  # the log(sum(exp(s))) node
    shifted: tuple[Value, ...]  # s_o, the operands of the exps (where δ enters the network)
    logits: tuple[Value, ...]  # z_o: s_o's operand when s_o = z_o − (a constant), else s_o
    p: tuple[float, ...]
    y: tuple[float, ...]
    weight: float  # c = ∂E/∂lse: this sample's share of E (1/N for a batch mean)

    @property
    def target_class(self) -> int | None:
        """The class c of a one-hot target y (``None`` for any other probability vector)."""
        hot = [k for k, y in enumerate(self.y) if abs(y - 1.0) <= TARGET_TOLERANCE]
        cold = all(abs(y) <= TARGET_TOLERANCE for k, y in enumerate(self.y) if k not in hot)
        return hot[0] if len(hot) == 1 and cold else None


def _op(node: Value) -> str | None:
    return None if node.op is None else node.op.name


def _logit(s: Value) -> Value:
    """z for s = z − m (m an unlabelled leaf: the constant max); else s itself."""
    if _op(s) == "sub" and len(s.operands) == 2:
        z, m = s.operands
        if m.op is None and m.label is None:
            return z
    return s


def find_softmax(order: Sequence[Value], adjoint: Mapping[Value, float]) -> list[SoftmaxSample]:
    """Every softmax cross-entropy of the graph (``order`` topological, ``adjoint`` ∂E/∂node),
    in graph order; empty when there is none."""
    found = []
    for node in order:
        if _op(node) != "log" or len(node.operands) != 1:
            continue
        total = node.operands[0]
        exps = total.operands
        if _op(total) != "sum" or len(exps) < 2 or not all(_op(e) == "exp" for e in exps):
            continue
        weight = adjoint.get(node, 0.0)
        if not 0.0 < weight < math.inf or total.data <= 0.0:  # a loss weighs its samples > 0
            continue
        shifted = tuple(e.operands[0] for e in exps)
        if len(set(shifted)) != len(shifted):
            continue
        p = tuple(e.data / total.data for e in exps)
        y = tuple(pk - adjoint.get(s, 0.0) / weight for pk, s in zip(p, shifted))
        if not all(-TARGET_TOLERANCE <= yk <= 1.0 + TARGET_TOLERANCE for yk in y) \
                or abs(math.fsum(y) - 1.0) > TARGET_TOLERANCE:
            continue  # not a cross-entropy of this log-sum-exp
        found.append(SoftmaxSample(node, shifted, tuple(_logit(s) for s in shifted), p, y,
                                   weight))
    return found


@dataclass(frozen=True)
class Mistake:
    """A multi-class mistake: its sentence (``{name}``, ``{value}`` to fill in) and the δ′ it
    puts on each sample's shifted logits (the seeds of :func:`pull_back`)."""

    key: str
    sentence: str
    seeds: dict[Value, float]


def _seeds(samples: Sequence[SoftmaxSample], delta: list[list[float]]) -> dict[Value, float]:
    """c · δ′ on every sample's s_o (a node shared by two samples adds up)."""
    seeds: dict[Value, float] = {}
    for sample, ds in zip(samples, delta):
        for s, d in zip(sample.shifted, ds):
            seeds[s] = seeds.get(s, 0.0) + sample.weight * d
    return seeds


def _one_hot(k: int, n: int) -> list[float]:
    return [1.0 if j == k else 0.0 for j in range(n)]


def mistakes(samples: Sequence[SoftmaxSample]) -> list[Mistake]:
    """The multi-class mistakes that apply to these samples, the likeliest first."""
    if not samples:
        return []
    out = [
        Mistake("elementwise",
                "the softmax treated elementwise: ∂pᵢ/∂zᵢ = pᵢ(1 − pᵢ) alone, without the "
                "coupled Jacobian's ∂pⱼ/∂zᵢ = −pⱼpᵢ, gives δᵢ = −yᵢ(1 − pᵢ) where δᵢ = pᵢ − yᵢ "
                "belongs: ∂E/∂{name} = {value}",
                _seeds(samples, [[-y * (1.0 - p) for p, y in zip(s.p, s.y)] for s in samples])),
        Mistake("twice",
                "the softmax's derivative pᵢ(1 − pᵢ) multiplied onto δᵢ = pᵢ − yᵢ, which already "
                "holds the whole softmax Jacobian: ∂E/∂{name} = {value}",
                _seeds(samples, [[(p - y) * p * (1.0 - p) for p, y in zip(s.p, s.y)]
                                 for s in samples])),
        Mistake("no_target",
                "the target left out: δ = p where δ = p − y belongs (the one-hot y all "
                "zeros?): ∂E/∂{name} = {value}",
                _seeds(samples, [list(s.p) for s in samples])),
    ]
    classes = [s.target_class for s in samples]
    if any(c is None for c in classes):
        return out  # probability targets: no one-hot to get wrong
    hot = [c for c in classes if c is not None]
    n = len(samples[0].p)
    if len(samples) == 1:
        c = hot[0]
        for k in range(n):
            if k != c:
                out.append(Mistake(
                    f"class_{k}",
                    f"the one-hot target wrong: y has its 1 at class {k} where the target is "
                    f"class {c} (classes counted from 0): ∂E/∂{{name}} = {{value}}",
                    _seeds(samples, [[p - y for p, y in zip(samples[0].p, _one_hot(k, n))]])))
        return out
    for shift, how in ((1, "c + 1 (the labels counted from 1?)"),
                       (-1, "c − 1 (the labels counted from 0 where 1 was meant?)")):
        if shift == -1 and n == 2:
            break  # c − 1 is c + 1 with two classes
        deltas = [[p - y for p, y in zip(s.p, _one_hot((c + shift) % len(s.p), len(s.p)))]
                  for s, c in zip(samples, hot)]
        out.append(Mistake(f"shift_{shift:+d}",
                           f"the one-hot target one class off: y has its 1 at class {how} for "
                           f"every sample (modulo {n}): ∂E/∂{{name}} = {{value}}",
                           _seeds(samples, deltas)))
    return out


def pull_back(order: Sequence[Value], partials: Mapping[Value, Sequence[float]],
              seeds: Mapping[Value, float]) -> dict[Value, float]:
    """Adjoints of the graph below ``seeds`` (node → ∂E′/∂node put there), nothing else seeded:
    ``order`` topological, ``partials`` each node's local partials."""
    adj = dict(seeds)
    for node in reversed(order):
        g = adj.get(node, 0.0)
        if g == 0.0 or node.op is None:
            continue
        for child, partial in zip(node.operands, partials[node]):
            adj[child] = adj.get(child, 0.0) + g * partial
    return adj


def logit_rule(samples: Sequence[SoftmaxSample], node: Value) -> str | None:
    """How ∂E/∂z comes about for a logit ``node`` of a softmax cross-entropy, in math:
    ``softmax + CE: Σⱼ ∂E/∂pⱼ·∂pⱼ/∂zᵢ = pᵢ − yᵢ = 0.2 − 1`` (then ``× c`` for a sample weighted
    c in E, as 1/N in a batch mean); ``None`` for any other node."""
    for sample in samples:
        for k, z in enumerate(sample.logits):
            if z is node:
                scale = "" if sample.weight == 1.0 else f", × {sample.weight:.6g}"
                return (f"softmax + CE: Σⱼ ∂E/∂pⱼ·∂pⱼ/∂zᵢ = pᵢ − yᵢ = {sample.p[k]:.6g} − "
                        f"{sample.y[k]:.6g}{scale}")
    return None
