"""What most likely went wrong in a hand-computed gradient: candidate mistakes, recomputed from the
recorded loss graph, and the one that matches the user's number.

For a parameter p with the true gradient g = ∂E/∂p (read off the graph's adjoints), each candidate
is the number a learner gets by making exactly one classic mistake:

* the wrong sign: −g  ((t − out) where (out − t) belongs);
* a constant factor: 2g or g/2 (MSE's 2 (out − t) against the ½ squared error's out − t), η·g or g/η
  (the learning rate), N·g or g/N (sum against mean over a batch of N);
* the update in place of the gradient: p − η·g;
* a missing factor: the weight's input (Σ δ_j instead of Σ δ_j · x), the activation's derivative
  (∂E/∂out_j · x instead of ∂E/∂out_j · f′ · x);
* a missing path: the sum over a strict subset of the paths ``explain`` lists - the neurons a
  shared bias feeds, or the neurons k a hidden output feeds in δ_j = f′ · Σ_k δ_k w_jk;
* hidden δs formed with the already-updated output weights w_jk − η·∂E/∂w_jk (the article's
  erratum).

A candidate is claimed only when it equals the user's number to the comparison's tolerance and
differs from g by more than that tolerance, so a right answer never gets a diagnosis. Cost: one
adjoint pass over the graph, then per diagnosed parameter its consumers times their fan-out, and at
most 2⁸ subset sums (leave-one-out beyond 8 paths).
"""

from __future__ import annotations

from itertools import combinations
from typing import Callable

from ..core import Value, topological_order
from ..core.generated import local_partials
from .reading import activation_of

__all__ = ["Diagnoser"]

#: Paths beyond which only leave-one-out subsets are tried (2^MAX_SUBSET_PATHS sums otherwise).
MAX_SUBSET_PATHS = 8

Close = Callable[[float, float], bool]  # close(user_or_candidate, reference) -> within tolerance


def _neuron(net: Value) -> str:
    label = net.label or ""
    return label[4:] if label.startswith("net_") else label


class Diagnoser:
    """Adjoints and consumers of one loss graph, then :meth:`diagnose` per parameter."""

    def __init__(self, loss: Value, learning_rate: float, batch_size: int) -> None:
        self.order = topological_order(loss)
        self.adj: dict[Value, float] = {loss: 1.0}
        self.partials: dict[Value, tuple[float, ...]] = {}
        self.consumers: dict[Value, list[tuple[Value, int]]] = {}
        for node in reversed(self.order):
            if node.op is None:
                continue
            parts = tuple(float(x) for x in local_partials(node))
            self.partials[node] = parts
            g = self.adj.get(node, 0.0)
            for i, (child, partial) in enumerate(zip(node.operands, parts)):
                self.adj[child] = self.adj.get(child, 0.0) + g * partial
                self.consumers.setdefault(child, []).append((node, i))
        self.lr = learning_rate
        self.batch = batch_size

    # -- graph helpers ----------------------------------------------------------------------------
    @staticmethod
    def _is_net(node: Value) -> bool:
        return node.op is not None and node.op.name == "affine"

    def _nets(self, p: Value) -> list[tuple[Value, int]]:
        users = self.consumers.get(p, [])
        return users if users and all(self._is_net(u) for u, _ in users) else []

    # -- candidates -------------------------------------------------------------------------------
    def candidates(self, p: Value, name: str) -> list[tuple[float, str]]:
        """``(value, sentence)`` for every candidate mistake on ``p``, simplest first."""
        g = self.adj.get(p, 0.0)
        lr, n = self.lr, self.batch
        out: list[tuple[float, str]] = [
            (-g, f"the wrong sign: −∂E/∂{name} = {-g:.9g} (check (out − t) against (t − out))"),
            (2.0 * g, f"a factor 2: 2 × ∂E/∂{name} = {2 * g:.9g} (the MSE's 2·(out − t) where "
                      "the ½ squared error's out − t belongs?)"),
            (0.5 * g, f"a factor ½: ½ × ∂E/∂{name} = {0.5 * g:.9g} (the ½ squared error's "
                      "out − t where the MSE's 2·(out − t) belongs?)"),
            (lr * g, f"multiplied by the learning rate: η·∂E/∂{name} = {lr:g} × {g:.9g} = "
                     f"{lr * g:.9g}"),
            (g / lr, f"divided by the learning rate: ∂E/∂{name} / η = {g / lr:.9g}"),
            (p.data - lr * g, f"the update in place of the gradient: {name} − η·∂E/∂{name} = "
                              f"{p.data:.9g} − {lr:g} × {g:.9g} = {p.data - lr * g:.9g}"),
        ]
        if n > 1:
            out.append((n * g, f"the sum over the {n} samples where their mean belongs: "
                               f"{n} × {g:.9g} = {n * g:.9g}"))
            out.append((g / n, f"the mean over the {n} samples where their sum belongs: "
                               f"{g:.9g} / {n} = {g / n:.9g}"))
        nets = self._nets(p)
        if nets:
            out.extend(self._structural(p, name, nets, g))
        return out

    def _structural(self, p: Value, name: str, nets: list[tuple[Value, int]], g: float
                    ) -> list[tuple[float, str]]:
        out: list[tuple[float, str]] = []
        # the weight's input left out: Σ ∂E/∂net (δ) without × x
        no_input = sum(self.adj.get(net, 0.0) for net, _ in nets)
        is_weight = any(i < int(net.attribute or 0) for net, i in nets)
        if is_weight:
            out.append((no_input, f"the weight's input is missing: δ = {no_input:.9g} without the "
                                  f"factor ∂net/∂{name} (its input)"))
        # the activation's derivative left out: ∂E/∂out · ∂net/∂p
        acts = [(net, i, activation_of(self.consumers, net)) for net, i in nets]
        if all(a is not None for _, _, a in acts):
            no_df = 0.0
            for net, i, a in acts:
                if a is not None:
                    no_df += self.adj.get(a, 0.0) * self.partials[net][i]
            rule = acts[0][2].op.math[0] if acts[0][2] is not None and acts[0][2].op else "f′"
            out.append((no_df, f"the activation's derivative is missing: ∂E/∂out × ∂net/∂{name} "
                               f"= {no_df:.9g} without the factor {rule}"))
        # level 1: the neurons p feeds (a shared bias feeds its whole layer)
        by_neuron: dict[str, float] = {}
        for net, i in nets:
            key = _neuron(net)
            by_neuron[key] = (by_neuron.get(key, 0.0)
                              + self.adj.get(net, 0.0) * self.partials[net][i])
        out.extend(self._subsets(by_neuron, f"∂E/∂{name}", "through"))
        # level 2: the neurons k each out_j feeds, in δ_j = f′ · Σ_k δ_k w_jk
        paths: dict[str, float] = {}
        updated = 0.0
        have_updated = False
        for net, i, act in acts:
            if act is None:
                continue
            down = self.consumers.get(act, [])
            if not down or not all(self._is_net(u) for u, _ in down):
                continue
            chain = self.partials[act][0] * self.partials[net][i]  # f′ · x
            for nk, k in down:
                delta_k = self.adj.get(nk, 0.0)
                weight = nk.operands[k - int(nk.attribute or 0)]  # w_jk, paired with out_j
                key = _neuron(nk)
                paths[key] = paths.get(key, 0.0) + delta_k * self.partials[nk][k] * chain
                w_new = weight.data - self.lr * self.adj.get(weight, 0.0)
                updated += delta_k * w_new * chain
                have_updated = True
        if len(paths) > 1:
            out.extend(self._subsets(paths, f"δ of {name}'s neuron", "through"))
        if have_updated:
            out.append((updated, f"the hidden δ formed with the already-updated output weights "
                                 f"(w − η·∂E/∂w, η = {self.lr:g}): {updated:.9g} (the article's "
                                 "own erratum; use the old weights)"))
        return out

    @staticmethod
    def _subsets(parts: dict[str, float], what: str, word: str) -> list[tuple[float, str]]:
        keys = list(parts)
        if len(keys) < 2:
            return []
        if len(keys) <= MAX_SUBSET_PATHS:
            chosen = [c for r in range(1, len(keys)) for c in combinations(keys, r)]
        else:
            chosen = [tuple(k for k in keys if k != left) for left in keys]
        out = []
        for kept in chosen:
            missing = [k for k in keys if k not in kept]
            value = sum(parts[k] for k in kept)
            gone = " + ".join(f"{parts[k]:.9g} via {k}" for k in missing[:4])
            more = f" and {len(missing) - 4} more" if len(missing) > 4 else ""
            s = "" if len(missing) == 1 else "s"
            out.append((value, f"a missing path: {what} summed only {word} "
                               f"{', '.join(kept[:6])}{' ...' if len(kept) > 6 else ''}; "
                               f"the path{s} {gone}{more} {'is' if not s else 'are'} missing"))
        return out

    def diagnose(self, p: Value, name: str, user: float, close: Close) -> str | None:
        """The sentence of the first candidate that matches ``user`` (and is not the right
        answer), or ``None``."""
        g = self.adj.get(p, 0.0)
        if close(user, g):
            return None
        matches = [text for value, text in self.candidates(p, name)
                   if close(user, value) and not close(value, g)]
        if not matches:
            return None
        also = f" (also consistent with {len(matches) - 1} other mistake" \
               f"{'s' if len(matches) > 2 else ''})" if len(matches) > 1 else ""
        return matches[0] + also
