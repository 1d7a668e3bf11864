"""A learner's own backpropagation (written for the test corpus): a sigmoid MLP of any depth, the
half squared error ½ Σ (t − out)², a batch's loss the mean over its samples."""

import math


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def forward(weights, biases, x):
    """Every layer's outputs, the inputs first."""
    outs = [list(x)]
    for W, b in zip(weights, biases):
        prev = outs[-1]
        outs.append([sigmoid(sum(w * a for w, a in zip(row, prev)) + bj)
                     for row, bj in zip(W, b)])
    return outs


def backprop(weights, biases, inputs, targets):
    n = len(inputs)
    weight_grads = [[[0.0] * len(row) for row in W] for W in weights]
    bias_grads = [[0.0] * len(b) for b in biases]
    for x, t in zip(inputs, targets):
        outs = forward(weights, biases, x)
        # δ of the output layer: ∂E/∂out × σ′(net) = (out − t) × out (1 − out)
        delta = [(o - tk) * o * (1 - o) for o, tk in zip(outs[-1], t)]
        for layer in range(len(weights) - 1, -1, -1):
            prev = outs[layer]
            for j, d in enumerate(delta):
                bias_grads[layer][j] += d / n
                for i, a in enumerate(prev):
                    weight_grads[layer][j][i] += d * a / n
            if layer > 0:
                # δ of the layer below: σ′ × Σ_k δ_k w_kj
                delta = [sum(delta[k] * weights[layer][k][j] for k in range(len(delta)))
                         * prev[j] * (1 - prev[j]) for j in range(len(prev))]
    return weight_grads, bias_grads
