"""A learner's softmax backprop, written out by hand on floats (no library code), with at most one
classic multi-class mistake switched on. Used by test_multiclass_diagnosis.py as the ``manual``
callable of ``compare_gradients``: ``(model, inputs, targets) -> {name: gradient}``.

The network is read off an MLP (``model.layers[l].neurons[j].weights/.bias``) whose output layer
is linear (logits); hidden layers sigmoid, tanh or ReLU. The loss is softmax cross-entropy,
averaged over a batch.
"""

from __future__ import annotations

import math

#: The mistakes this learner can make (``"none"``: the right backprop).
MISTAKES = ("none", "elementwise", "twice", "sign", "no_mean", "one_hot_shift", "no_target",
            "class_mean")


def _f(activation, z):
    if activation == "sigmoid":
        return 1.0 / (1.0 + math.exp(-z))
    if activation == "tanh":
        return math.tanh(z)
    if activation == "relu":
        return max(0.0, z)
    return z


def _f_prime(activation, net, out):
    """The derivative as a learner writes it, from out (or net for ReLU)."""
    if activation == "sigmoid":
        return out * (1.0 - out)
    if activation == "tanh":
        return 1.0 - out * out
    if activation == "relu":
        return 1.0 if net > 0.0 else 0.0
    return 1.0


def _one_sample(model, x, target, mistake, grads, scale):
    # forward: every layer's inputs, nets and outs
    layer_inputs, nets, outs = [], [], []
    a = [float(v) for v in x]
    for layer in model.layers:
        layer_inputs.append(a)
        net = []
        for n in layer.neurons:
            s = sum(w.data * xi for w, xi in zip(n.weights, a))
            net.append(s + (n.bias.data if n.bias is not None else 0.0))
        nets.append(net)
        a = [_f(layer.activation, s) for s in net]
        outs.append(a)
    z = outs[-1]
    k = len(z)
    big = max(z)
    e = [math.exp(zi - big) for zi in z]
    p = [ei / sum(e) for ei in e]
    if isinstance(target, (list, tuple)):
        y = [float(t) for t in target]
    else:
        c = (target + 1) % k if mistake == "one_hot_shift" else target
        y = [1.0 if i == c else 0.0 for i in range(k)]
    if mistake == "no_target":
        y = [0.0] * k
    if mistake == "elementwise":  # dE/dp_i = -y_i / p_i, times the diagonal p_i (1 - p_i) only
        delta = [(-y[i] / p[i]) * p[i] * (1.0 - p[i]) for i in range(k)]
    elif mistake == "twice":
        delta = [(p[i] - y[i]) * p[i] * (1.0 - p[i]) for i in range(k)]
    elif mistake == "sign":
        delta = [y[i] - p[i] for i in range(k)]
    else:
        delta = [p[i] - y[i] for i in range(k)]
    if mistake == "class_mean":
        delta = [d / k for d in delta]
    delta = [d * _f_prime(model.layers[-1].activation, s, o)
             for d, s, o in zip(delta, nets[-1], outs[-1])]
    for li in range(len(model.layers) - 1, -1, -1):
        layer = model.layers[li]
        for j, n in enumerate(layer.neurons):
            for w, xi in zip(n.weights, layer_inputs[li]):
                grads[w.label] = grads.get(w.label, 0.0) + scale * delta[j] * xi
            if n.bias is not None:
                grads[n.bias.label] = grads.get(n.bias.label, 0.0) + scale * delta[j]
        if li == 0:
            break
        below = model.layers[li - 1]
        delta = [_f_prime(below.activation, nets[li - 1][i], outs[li - 1][i])
                 * sum(delta[j] * n.weights[i].data for j, n in enumerate(layer.neurons))
                 for i in range(len(below.neurons))]


def learner_gradients(model, inputs, targets, mistake="none"):
    """``{name: ∂E/∂p}`` by the learner's softmax backprop, making ``mistake``."""
    assert mistake in MISTAKES, mistake
    batch = isinstance(inputs[0], (list, tuple))
    xs, ts = (inputs, targets) if batch else ([inputs], [targets])
    scale = 1.0 if mistake == "no_mean" or not batch else 1.0 / len(xs)
    grads: dict[str, float] = {}
    for x, t in zip(xs, ts):
        _one_sample(model, x, t, mistake, grads, scale)
    return grads


def learner(mistake):
    """The ``manual`` callable for ``compare_gradients``."""
    return lambda model, inputs, targets: learner_gradients(model, inputs, targets, mistake)
