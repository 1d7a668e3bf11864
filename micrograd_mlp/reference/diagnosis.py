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
* hidden δs formed with the already-updated weights of the layer above, at every depth: each
  layer updated (w − η·∂E/∂w) as soon as its gradients are found, and the δs of the layer below
  then formed with those new weights - so δ of layer l uses the updated weights of layer l+1, whose
  gradients were themselves formed from δs of layer l+1 that used the updated weights of layer l+2
  (the article's own erratum, generalised).

With a softmax cross-entropy in the graph (the library's ``cross_entropy``; :mod:`.softmax` reads
p, y and each sample's weight off it), the multi-class mistakes come first: δ = y − p (the sign),
the batch mean forgotten (N·g), the softmax treated elementwise (pᵢ(1 − pᵢ) in place of the
coupled Jacobian: δᵢ = −yᵢ(1 − pᵢ)), its derivative applied twice ((p − y)·p(1 − p)), the one-hot
target wrong (one class off for every sample, another class, or left out: δ = p) and a mean over
the K classes (g/K). Each is one adjoint pass from the logits down with the mistaken δ′ there.

The neurons come from the recorded graph's structure, not from labels: a neuron is an ``affine``
node (Σ wᵢ·xᵢ + b), its activation the one-operand node that is that node's only use (labelled
``out_…`` by the MLP, or any activation the MLP offers, or any one-operand op feeding the next
layer), and a layer is a set of neurons at the same height above the loss. Labels (``net_o1``)
only name the neurons in the sentences; an unlabelled neuron is named by its first weight, or
numbered.

A candidate is claimed only when it equals the user's number to the comparison's tolerance and
differs from g by more than that tolerance, so a right answer never gets a diagnosis. Cost: one
adjoint pass over the graph, one more (on first use) for the updated-weights δs, then per diagnosed
parameter its consumers times their fan-out, and at most 2⁸ subset sums (leave-one-out beyond 8
paths).
"""

from __future__ import annotations

from itertools import combinations
from typing import Callable

from ..core import Value, topological_order
from ..core.value import local_partials
from .reading import activation_of, heights, is_net, neuron_key, neuron_names, node_name
from .softmax import Mistake, SoftmaxSample, find_softmax, mistakes, pull_back

#: Paths beyond which only leave-one-out subsets are tried (2^MAX_SUBSET_PATHS sums otherwise).
MAX_SUBSET_PATHS = 8

Close = Callable[[float, float], bool]  # close(user_or_candidate, reference) -> within tolerance


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
        self._names: dict[Value, str] | None = None
        self._height: dict[Value, int] | None = None
        self._deltas: dict[str, dict[Value, float]] = {}  # δ' of every net, per mistake
        self._softmax: list[SoftmaxSample] | None = None
        self._pulled: dict[str, dict[Value, float]] = {}  # adjoints with a multi-class mistake

    # -- graph helpers ----------------------------------------------------------------------------
    def _nets(self, p: Value) -> list[tuple[Value, int]]:
        users = self.consumers.get(p, [])
        return users if users and all(is_net(u) for u, _ in users) else []

    def _neuron_name(self, net: Value) -> str:
        """``o1`` for ``net_o1``; an unlabelled neuron by its place (``neuron 2 of layer 1``)."""
        if self._names is None:
            self._names = neuron_names(self.order, self._heights())
        return self._names.get(neuron_key(net), node_name(net))

    # -- δs formed layer by layer with one mistake at every layer --------------------------------
    def _heights(self) -> dict[Value, int]:
        if self._height is None:
            self._height = heights(self.order, self.consumers)
        return self._height

    def _layered(self, mistake: str) -> dict[Value, float]:
        """δ' of every net when backprop goes down layer by layer making ``mistake`` at every
        hidden layer: the top layer's δ as it is, then δ'_j = f′(net_j) · Σ_k δ'_k · w_jk with

        * ``'updated'`` - w′_jk = w − η · Σ (δ' · x) over w's uses in place of w_jk (each layer
          updated as soon as its gradients are found; a frozen weight is not updated);
        * ``'no_f'`` - f′(net_j) left out.

        Empty when the graph is not layered that way (a weight used at two heights)."""
        if mistake in self._deltas:
            return self._deltas[mistake]
        height = self._heights()
        nets = sorted(height, key=height.__getitem__)
        delta: dict[Value, float] = {}
        new_weight: dict[Value, float] = {}
        self._deltas[mistake] = {}

        def weight(u: Value, i: int) -> float | None:
            """The weight the learner multiplies δ'_u by for u's input ``i``."""
            w = u.operands[i - int(u.attribute or 0)]
            if mistake != "updated":
                return w.data
            if w not in new_weight:
                uses = self.consumers.get(w, [])
                if not all(v in delta for v, _ in uses):
                    return None  # used by a net not yet done: not layered
                g = sum(delta[v] * self.partials[v][j] for v, j in uses)
                new_weight[w] = w.data - self.lr * g if w.requires_grad else w.data
            return new_weight[w]

        for net in nets:
            if height[net] == 0:
                delta[net] = self.adj.get(net, 0.0)
                continue
            act = activation_of(self.consumers, net) or net
            d_out = 0.0
            for u, i in self.consumers.get(act, []):
                width = int(u.attribute or 0) if is_net(u) else 0
                if width <= i < 2 * width:  # act is u's input x_i: times its weight
                    w = weight(u, i)
                    if w is None:
                        return self._deltas[mistake]
                    d_out += delta[u] * w
                else:
                    d_out += self.adj.get(u, 0.0) * self.partials[u][i]
            keep_f = act is not net and mistake != "no_f"
            delta[net] = d_out * (self.partials[act][0] if keep_f else 1.0)
        self._deltas[mistake] = delta
        return delta

    def _layered_gradient(self, mistake: str, nets: list[tuple[Value, int]]) -> float | None:
        """Σ δ' · ∂net/∂p over p's uses, or ``None`` where the graph is not layered."""
        deltas = self._layered(mistake)
        if not all(net in deltas for net, _ in nets):
            return None
        return sum(deltas[net] * self.partials[net][i] for net, i in nets)

    # -- multi-class: softmax cross-entropy -------------------------------------------------------
    def softmax_samples(self) -> list[SoftmaxSample]:
        """The softmax cross-entropies of the graph (read once)."""
        if self._softmax is None:
            self._softmax = find_softmax(self.order, self.adj)
        return self._softmax

    def _with_mistake(self, mistake: Mistake) -> dict[Value, float]:
        """Every node's adjoint when the output δ carries ``mistake`` (one pass, cached)."""
        if mistake.key not in self._pulled:
            self._pulled[mistake.key] = pull_back(self.order, self.partials, mistake.seeds)
        return self._pulled[mistake.key]

    @staticmethod
    def _mean_over(samples: list[SoftmaxSample]) -> int:
        """N when the samples are the N ≥ 2 of a batch mean (each weighted 1/N), else 0."""
        n = len(samples)
        return n if n > 1 and all(abs(s.weight * n - 1.0) <= 1e-12 for s in samples) else 0

    def _multiclass(self, p: Value, name: str, samples: list[SoftmaxSample]
                    ) -> list[tuple[float, str]]:
        """The multi-class mistakes on ``p``, the likeliest first."""
        g = self.adj.get(p, 0.0)
        n = self._mean_over(samples)
        out = [(-g, f"the wrong sign: δ = y − p where δ = p − y belongs (softmax + "
                    f"cross-entropy): −∂E/∂{name} = {-g:.9g}")]
        if n:
            out.append((n * g, f"the batch mean forgotten: the {n} samples' gradients summed, "
                               f"not divided by {n}: {n} × {g:.9g} = {n * g:.9g}"))
        for mistake in mistakes(samples):
            value = self._with_mistake(mistake).get(p, 0.0)
            out.append((value, mistake.sentence.format(name=name, value=f"{value:.9g}")))
        k = len(samples[0].p)
        out.append((g / k, f"divided by the number of classes K = {k}: the cross-entropy sums "
                           f"−yᵢ ln pᵢ over the classes, it is not their mean: {g / k:.9g}"))
        return out

    # -- candidates -------------------------------------------------------------------------------
    def candidates(self, p: Value, name: str) -> list[tuple[float, str]]:
        """``(value, sentence)`` for every candidate mistake on ``p``, simplest first (the
        multi-class ones first when the loss is a softmax cross-entropy)."""
        g = self.adj.get(p, 0.0)
        lr, n = self.lr, self.batch
        softmax = self.softmax_samples()
        out: list[tuple[float, str]] = self._multiclass(p, name, softmax) if softmax else [
            (-g, f"the wrong sign: −∂E/∂{name} = {-g:.9g} (check (out − t) against (t − out))")]
        out += [
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
        if n > 1 and not (softmax and self._mean_over(softmax) == n):
            out.append((n * g, f"the sum over the {n} samples where their mean belongs: "
                               f"{n} × {g:.9g} = {n * g:.9g}"))
            out.append((g / n, f"the mean over the {n} samples where their sum belongs: "
                               f"{g:.9g} / {n} = {g / n:.9g}"))
        nets = self._nets(p)
        if nets:
            out.extend(self._structural(p, name, nets))
        return out

    def _structural(self, p: Value, name: str, nets: list[tuple[Value, int]]
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
        by_neuron: dict[Value, float] = {}
        for net, i in nets:
            key = neuron_key(net)
            by_neuron[key] = (by_neuron.get(key, 0.0)
                              + self.adj.get(net, 0.0) * self.partials[net][i])
        out.extend(self._subsets(self._named(by_neuron, nets), f"∂E/∂{name}", "through"))
        # level 2: the neurons k each out_j feeds, in δ_j = f′ · Σ_k δ_k w_jk
        paths: dict[Value, float] = {}
        below: list[tuple[Value, int]] = []
        for net, i, act in acts:
            if act is None:
                continue
            down = self.consumers.get(act, [])
            if not down or not all(is_net(u) for u, _ in down):
                continue
            chain = self.partials[act][0] * self.partials[net][i]  # f′ · x
            for nk, k in down:
                key = neuron_key(nk)
                paths[key] = paths.get(key, 0.0) + self.adj.get(nk, 0.0) * self.partials[nk][k] \
                    * chain
                below.append((nk, k))
        if len(paths) > 1:
            out.extend(self._subsets(self._named(paths, below), f"δ of {name}'s neuron",
                                     "through"))
        # the activation's derivative left out of every hidden δ, from the top down to here
        deep = any(self._heights().get(net, 0) >= 2 for net, _ in nets)
        no_f = self._layered_gradient("no_f", nets) if deep else None
        if no_f is not None:
            out.append((no_f, f"the activation's derivative is missing from every hidden δ "
                              f"(f′ left out at each layer from the top down to {name}'s): "
                              f"{no_f:.9g}"))
        # the δs formed with the already-updated weights of the layer above (at every depth)
        updated = self._layered_gradient("updated", nets) if below else None
        if updated is not None:
            out.append((updated, f"the hidden δs formed with the already-updated weights of the "
                                 f"layer above (each layer updated, w − η·∂E/∂w with η = "
                                 f"{self.lr:g}, before the δs below it): {updated:.9g} (the "
                                 "article's own erratum; form every δ with the old weights)"))
        return out

    def _named(self, parts: dict[Value, float], nets: list[tuple[Value, int]]
               ) -> dict[str, float]:
        """``parts`` keyed by each neuron's name (distinct names, in the order given)."""
        names: dict[Value, str] = {}
        for net, _ in nets:
            names.setdefault(neuron_key(net), self._neuron_name(net))
        out: dict[str, float] = {}
        for key, value in parts.items():
            label = names[key]
            while label in out:  # two neurons of one name: keep them apart
                label += "′"
            out[label] = value
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
