"""The δ reference for softmax cross-entropy (δ_out = p − y, then the hidden δs) against the
engine's autograd, PyTorch float64 (where installed) and mpmath at 50 digits: random networks of
several sizes, class-index and probability targets, one sample and batches, extreme logits."""

import math
import random

import mpmath
import pytest

from micrograd_mlp.core import Value, grad
from micrograd_mlp.nn import MLP
from micrograd_mlp.nn.losses import cross_entropy
from micrograd_mlp.reference import compare_gradients, manual

SHAPES = [  # (nin, layer sizes, hidden activation, bias mode)
    (2, [3], "sigmoid", "neuron"),
    (3, [4, 3], "tanh", "neuron"),
    (4, [5, 4, 5], "sigmoid", "shared"),
    (3, [4, 2], "relu", "none"),
]


def _target(rng, k, kind):
    if kind == "index":
        return rng.randrange(k)
    raw = [rng.random() + 0.05 for _ in range(k)]
    return [r / math.fsum(raw) for r in raw]


def _case(seed, shape, kind, batch):
    nin, sizes, hidden, bias = shape
    rng = random.Random(seed)
    model = MLP(nin, sizes, hidden_activation=hidden, output_activation="linear", bias=bias,
                seed=seed)
    k = sizes[-1]
    if batch:
        xs = [[rng.uniform(-2, 2) for _ in range(nin)] for _ in range(batch)]
        kinds = [kind if kind != "mixed" else ("index", "prob")[s % 2] for s in range(batch)]
        return model, xs, [_target(rng, k, kd) for kd in kinds]
    return model, [rng.uniform(-2, 2) for _ in range(nin)], _target(rng, k, kind)


def _engine_loss(model, inputs, targets, reduction="mean"):
    if isinstance(inputs[0], list):
        losses = [cross_entropy(model(x), t) for x, t in zip(inputs, targets)]
        total = Value.sum(losses)
        return total / float(len(losses)) if reduction == "mean" else total
    return cross_entropy(model(inputs), targets)


def _autograd(model, inputs, targets, reduction="mean"):
    named = model.named_parameters()
    loss = _engine_loss(model, inputs, targets, reduction)
    return {n: g.data for (n, _), g in zip(named, grad(loss, [v for _, v in named]))}


CASES = [(seed, shape, kind, batch)
         for seed, shape in enumerate(SHAPES)
         for kind, batch in (("index", 0), ("prob", 0), ("index", 3), ("mixed", 4))]


@pytest.mark.parametrize("seed, shape, kind, batch", CASES)
def test_reference_delta_matches_autograd(seed, shape, kind, batch):
    model, x, t = _case(seed, shape, kind, batch)
    ours = manual.gradients(model, x, t, loss=cross_entropy)
    auto = _autograd(model, x, t)
    assert ours.keys() == auto.keys()
    for name, g in auto.items():
        assert ours[name] == pytest.approx(g, rel=1e-10, abs=1e-13), name
    value = manual.loss_value(model, x, t, loss="cross_entropy")
    assert value == pytest.approx(_engine_loss(model, x, t).data, rel=1e-13)


def test_reference_delta_with_the_sum_reduction_is_n_times_the_mean():
    model, x, t = _case(7, SHAPES[1], "index", 3)
    mean = manual.gradients(model, x, t, loss=cross_entropy)
    total = manual.gradients(model, x, t, loss=cross_entropy, reduction="sum")
    auto = _autograd(model, x, t, reduction="sum")
    for name in mean:
        assert total[name] == pytest.approx(3 * mean[name], rel=1e-12, abs=1e-15)
        assert total[name] == pytest.approx(auto[name], rel=1e-10, abs=1e-13)


def _torch_gradients(torch, model, inputs, targets):
    """PyTorch float64 autograd of F.cross_entropy on the same weights (built here, by hand)."""
    F = torch.nn.functional
    batch = isinstance(inputs[0], list)
    xs, ts = (inputs, targets) if batch else ([inputs], [targets])
    leaves, layers = {}, []
    for layer in model.layers:
        ws, bs = [], []
        for n in layer.neurons:
            row = []
            for w in n.weights:
                leaves[w.label] = torch.tensor(w.data, dtype=torch.float64, requires_grad=True)
                row.append(leaves[w.label])
            ws.append(torch.stack(row))
            if n.bias is None:
                bs.append(torch.zeros((), dtype=torch.float64))
            else:
                if n.bias.label not in leaves:  # a shared bias is one leaf
                    leaves[n.bias.label] = torch.tensor(n.bias.data, dtype=torch.float64,
                                                        requires_grad=True)
                bs.append(leaves[n.bias.label])
        act = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}.get(
            layer.activation, lambda v: v)
        layers.append((torch.stack(ws), torch.stack(bs), act))
    a = torch.tensor(xs, dtype=torch.float64)
    for W, b, act in layers:
        a = act(a @ W.T + b)
    if all(isinstance(t, int) for t in ts):
        target = torch.tensor(ts, dtype=torch.long)
    else:  # probability targets (a class index among them as its one-hot row)
        k = a.shape[1]
        target = torch.tensor([t if isinstance(t, list) else [float(j == t) for j in range(k)]
                               for t in ts], dtype=torch.float64)
    loss = F.cross_entropy(a, target)
    names = list(leaves)
    grads = torch.autograd.grad(loss, [leaves[n] for n in names])
    return float(loss.detach()), {n: float(g) for n, g in zip(names, grads)}


@pytest.mark.parametrize("seed, shape, kind, batch", CASES)
def test_reference_delta_matches_torch_float64(seed, shape, kind, batch):
    torch = pytest.importorskip("torch")
    model, x, t = _case(seed, shape, kind, batch)
    value, expected = _torch_gradients(torch, model, x, t)
    ours = manual.gradients(model, x, t, loss=cross_entropy)
    for name, g in expected.items():
        assert ours[name] == pytest.approx(g, rel=1e-10, abs=1e-13), name
    assert manual.loss_value(model, x, t, loss=cross_entropy) == pytest.approx(value, rel=1e-12)


def _mp_loss(net, state, xs, ts):
    """Mean softmax cross-entropy at mpmath's precision, the parameters read from ``state``
    (name -> mpf) by the names of a manual.Network."""
    acts = {"sigmoid": lambda v: 1 / (1 + mpmath.exp(-v)), "tanh": mpmath.tanh,
            "relu": lambda v: v if v > 0 else mpmath.mpf(0), "linear": lambda v: v}
    total = mpmath.mpf(0)
    for x, y in zip(xs, ts):
        a = [mpmath.mpf(v) for v in x]
        for W, B, act in zip(net.weight_names, net.bias_names, net.activations):
            a = [acts[act](mpmath.fsum(state[w] * v for w, v in zip(row, a))
                           + (0 if b is None else state[b]))
                 for row, b in zip(W, B)]
        lse = mpmath.log(mpmath.fsum(mpmath.exp(z) for z in a))
        total += mpmath.fsum(yk * (lse - z) for yk, z in zip(y, a))
    return total / len(xs)


@pytest.mark.parametrize("seed, shape, kind, batch", [CASES[1], CASES[7], CASES[11]])
def test_reference_delta_matches_mpmath_derivatives(seed, shape, kind, batch):
    """∂E/∂p by mpmath.diff at 50 digits, every parameter (shared biases moved as one)."""
    model, x, t = _case(seed, shape, kind, batch)
    net = manual.from_model(model)
    xs, ts = (x, t) if batch else ([x], [t])
    ys = [manual.class_target(y, len(net.weights[-1])) for y in ts]
    ours = manual.gradients(model, x, t, loss=cross_entropy)
    with mpmath.workdps(50):
        state = {n: mpmath.mpf(v) for n, v in net.state().items()}
        for name, g in ours.items():
            def loss_at(v, name=name):
                return _mp_loss(net, {**state, name: v}, xs, ys)
            exact = mpmath.diff(loss_at, state[name])
            assert g == pytest.approx(float(exact), rel=1e-11, abs=1e-14), name


def _extreme_model():
    """2 inputs, 3 classes, linear output: logits (1000, −1000, 0) at x = (1, 0)."""
    return MLP(2, [3], output_activation="linear",
               weights=[[[1000.0, 1.0], [-1000.0, 2.0], [0.0, -3.0]]], biases=[[0.0, 0.0, 0.0]])


@pytest.mark.parametrize("target, loss, delta", [
    (0, 0.0, [0.0, 0.0, 0.0]),
    (1, 2000.0, [1.0, -1.0, 0.0]),
    (2, 1000.0, [1.0, 0.0, -1.0]),
    ([0.5, 0.5, 0.0], 1000.0, [0.5, -0.5, 0.0]),
])
def test_extreme_logits_give_exact_finite_deltas(target, loss, delta):
    model = _extreme_model()
    bp = manual.backprop(model, [1.0, 0.0], target, loss=cross_entropy)
    assert bp.total_error == loss
    assert [bp.neurons[f"o{k}"].delta for k in (1, 2, 3)] == delta
    report = compare_gradients(model, [1.0, 0.0], target, loss=cross_entropy)
    assert report.ok and report.manual_note == ""
    assert report.max_manual_diff() == 0.0


def test_extreme_logits_through_a_hidden_layer_match_torch():
    torch = pytest.importorskip("torch")
    model = MLP(2, [3, 3], hidden_activation="tanh", output_activation="linear",
                weights=[[[5.0, 1.0], [-4.0, 2.0], [1.0, -3.0]],
                         [[600.0, 300.0, -200.0], [-700.0, 100.0, 400.0], [0.0, 1.0, 0.0]]],
                biases=[[0.1, 0.0, -0.2], [0.0, 0.0, 0.0]])
    xs, ts = [[1.0, 0.5], [-0.5, 1.0]], [1, [0.25, 0.25, 0.5]]
    logits = [[o.data for o in model(x)] for x in xs]
    assert max(abs(z) for row in logits for z in row) > 500
    value, expected = _torch_gradients(torch, model, xs, ts)
    ours = manual.gradients(model, xs, ts, loss=cross_entropy)
    for name, g in expected.items():
        assert ours[name] == pytest.approx(g, rel=1e-12, abs=1e-12), name
    assert manual.loss_value(model, xs, ts, loss=cross_entropy) == pytest.approx(value,
                                                                                   rel=1e-13)


def test_backprop_records_p_minus_y_at_the_output_and_the_hidden_deltas():
    model, x, _ = _case(3, SHAPES[1], "index", 0)
    bp = manual.backprop(model, x, 2, loss="cross_entropy")
    z = [bp.neurons[f"o{k}"].net for k in (1, 2, 3)]
    p = manual.softmax_probabilities(z)
    assert bp.targets == (0.0, 0.0, 1.0)
    assert [bp.neurons[f"o{k}"].delta for k in (1, 2, 3)] == pytest.approx(
        [p[0], p[1], p[2] - 1.0], abs=1e-15)
    assert bp.total_error == pytest.approx(-math.log(p[2]), rel=1e-13)
    w = {n: v.data for n, v in model.named_parameters()}
    out_rows = [[w[f"w{13 + 4 * k + j}"] for j in range(4)] for k in range(3)]
    for j in range(4):  # δ_hj = (1 − out²) Σ_k δ_k w_jk
        h = bp.neurons[f"h{j + 1}"]
        back = sum(bp.neurons[f"o{k + 1}"].delta * out_rows[k][j] for k in range(3))
        assert h.delta == pytest.approx((1 - h.out ** 2) * back, rel=1e-13, abs=1e-16)


def test_the_manual_column_of_compare_is_filled_for_cross_entropy():
    model, x, t = _case(5, SHAPES[2], "mixed", 4)
    report = compare_gradients(model, x, t, loss=cross_entropy)
    assert report.ok and report.manual_note == ""
    assert report.max_manual_diff() < 1e-12


def test_cross_entropy_is_a_loss_the_delta_formulas_know():
    assert manual.loss_name(cross_entropy) == "cross_entropy"
    assert "cross_entropy" in manual.LOSS_RULES
    value, dz = manual.LOSS_RULES["cross_entropy"]([1000.0, -1000.0], [0.0, 1.0])
    assert (value, dz) == (2000.0, [1.0, -1.0])


@pytest.mark.parametrize("target, error, words", [
    (3, ValueError, "targets (a class index) must be at most 2, got 3"),
    (-1, ValueError, "must be at least 0"),
    (True, TypeError, "must be an integer"),
    (1.0, TypeError, "class index (an int in [0, 3)) or a probability vector"),
    ("1", TypeError, "class index"),
    ([0.5, 0.6, 0.0], ValueError, "must sum to 1"),
    ([0.5, 0.5], ValueError, "one probability per class (3 classes), got 2"),
    ([1.5, -0.5, 0.0], ValueError, "targets[0] must be between 0 and 1"),
])
def test_a_bad_target_is_refused_with_its_name(target, error, words):
    model, x, _ = _case(1, SHAPES[1], "index", 0)
    before = [v.data for _, v in model.named_parameters()]
    with pytest.raises(error) as info:
        manual.gradients(model, x, target, loss=cross_entropy)
    assert words in str(info.value)
    assert [v.data for _, v in model.named_parameters()] == before


def test_a_bad_target_in_a_batch_names_the_sample():
    model, x, _ = _case(1, SHAPES[1], "index", 3)
    with pytest.raises(ValueError, match=r"targets\[1\] \(a class index\) must be at most 2"):
        manual.gradients(model, x, [0, 5, 1], loss=cross_entropy)
