"""micrograd_mlp.manual: the δ formulas on floats agree with autograd (1e-12) and with central
differences, for the article net and for hypothesis-drawn sigmoid MLPs."""

from __future__ import annotations

import ast
import importlib.util
import math
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from micrograd_mlp import MLP, article, manual
from micrograd_mlp.core import grad
from micrograd_mlp.nn.losses import half_squared_error

MANUAL_PY = Path(manual.__file__)
NAMING_PY = MANUAL_PY.parents[1] / "nn" / "naming.py"
CHECKS_PY = MANUAL_PY.parents[1] / "core" / "checks.py"


#: What the δ reference may import: the standard library, and of the library only the two modules
#: of plain Python it shares (the naming scheme and the argument checks) - never the engine.
STDLIB = {"__future__", "math", "numbers", "operator", "dataclasses", "typing", "collections.abc"}
SHARED = {"nn.naming": NAMING_PY, "core.checks": CHECKS_PY}


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(absolute modules, relative modules as 'package.module') imported anywhere in ``path``."""
    absolute, relative = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            absolute.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            (relative if node.level else absolute).add(node.module)
    return absolute, relative


def test_manual_imports_only_the_standard_library_and_two_plain_modules():
    absolute, relative = _imports(MANUAL_PY)
    assert absolute <= STDLIB
    assert relative == set(SHARED)  # from ..nn.naming import ..., from ..core.checks import ...
    for path in SHARED.values():
        absolute, relative = _imports(path)
        assert absolute <= STDLIB and not relative, f"{path.name} must be plain Python"


def test_manual_runs_standalone_without_the_engine(monkeypatch):
    """Load manual.py and its two shared modules into a stand-in package that has no engine."""
    import types

    for name in ("standalone", "standalone.nn", "standalone.core", "standalone.reference"):
        package = types.ModuleType(name)
        package.__path__ = []
        monkeypatch.setitem(sys.modules, name, package)
    modules = {"standalone.nn.naming": NAMING_PY, "standalone.core.checks": CHECKS_PY,
               "standalone.reference.manual": MANUAL_PY}
    for name, path in modules.items():
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, name, mod)  # dataclasses look it up
        spec.loader.exec_module(mod)
    mod = sys.modules["standalone.reference.manual"]
    loaded = {m for m in sys.modules if m.startswith("standalone.")}
    assert loaded == {"standalone.nn", "standalone.core", "standalone.reference", *modules}
    w = article.WEIGHTS
    net = mod.Network.build(2, [[[w["w1"], w["w2"]], [w["w3"], w["w4"]]],
                                [[w["w5"], w["w6"]], [w["w7"], w["w8"]]]],
                            [0.35, 0.60], bias="shared", train_bias=False)
    g = mod.gradients(net, article.INPUTS, article.TARGETS)
    assert list(g) == [f"w{k}" for k in range(1, 9)]
    assert round(g["w5"], 9) == 0.082167041 and round(g["w1"], 9) == 0.000438568


def test_network_build_names_like_the_mlp():
    m = MLP(3, [4, 2, 2], bias="neuron", seed=4)
    from_model = manual.from_model(m)
    weights = [[[w.data for w in n.weights] for n in layer.neurons] for layer in m.layers]
    biases = [[n.bias.data for n in layer.neurons] for layer in m.layers]
    built = manual.Network.build(3, weights, biases, bias="neuron")
    assert built.state() == from_model.state() == m.state_dict()
    assert list(built.state()) == list(m.state_dict())
    assert built.neuron_names == from_model.neuron_names


def autograd_gradients(model, x, t, include_frozen):
    named = model.named_parameters(include_frozen=include_frozen)
    loss = half_squared_error(model(x), t)
    return {n: g.data for (n, _), g in zip(named, grad(loss, [v for _, v in named]))}, loss.data


def central_difference(model, x, t, name, h=1e-6):
    p = model.parameter(name)
    saved = p.data
    try:
        p.data = saved + h
        up = half_squared_error(model(x), t).data
        p.data = saved - h
        down = half_squared_error(model(x), t).data
    finally:
        p.data = saved
    return (up - down) / (2 * h)


def test_article_gradients_agree_with_autograd_and_central_differences():
    m = article.network()
    hand = manual.gradients(m, article.INPUTS, article.TARGETS, include_frozen=True)
    auto, _ = autograd_gradients(m, article.INPUTS, article.TARGETS, include_frozen=True)
    assert list(hand) == list(auto)
    for name in auto:
        assert abs(hand[name] - auto[name]) <= 1e-12
        assert abs(central_difference(m, article.INPUTS, article.TARGETS, name) - auto[name]) < 1e-8
    assert list(manual.gradients(m, article.INPUTS, article.TARGETS)) == [
        f"w{k}" for k in range(1, 9)]


def test_shared_bias_collects_the_sum_of_its_layers_deltas():
    r = manual.backprop(article.network(), article.INPUTS, article.TARGETS)
    assert r.gradients["b2"] == pytest.approx(r.neurons["o1"].delta + r.neurons["o2"].delta,
                                              abs=1e-17)
    assert r.gradients["b1"] == pytest.approx(r.neurons["h1"].delta + r.neurons["h2"].delta,
                                              abs=1e-17)
    # δ formulas themselves, checked against their definitions on the recorded numbers
    o1, h1 = r.neurons["o1"], r.neurons["h1"]
    assert o1.delta == (o1.out - 0.01) * o1.out * (1 - o1.out)
    assert h1.delta == pytest.approx(
        (r.neurons["o1"].delta * 0.40 + r.neurons["o2"].delta * 0.50) * h1.out * (1 - h1.out),
        abs=1e-17)
    assert r.gradients["w5"] == o1.delta * h1.out


@st.composite
def sigmoid_mlps(draw):
    depth = draw(st.integers(1, 4))
    nin = draw(st.integers(1, 6))
    nouts = draw(st.lists(st.integers(1, 6), min_size=depth, max_size=depth))
    bias = draw(st.sampled_from(["neuron", "shared", "none"]))
    train_bias = draw(st.booleans())
    seed = draw(st.integers(0, 2 ** 32))
    scale = draw(st.sampled_from([0.5, 1.0, 3.0]))
    m = MLP(nin, nouts, bias=bias, train_bias=train_bias, seed=seed)
    m.load_state_dict({k: v * scale for k, v in m.state_dict().items()})
    finite = st.floats(-3, 3, allow_nan=False)
    x = draw(st.lists(finite, min_size=nin, max_size=nin))
    t = draw(st.lists(st.floats(0, 1), min_size=nouts[-1], max_size=nouts[-1]))
    return m, x, t


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sigmoid_mlps())
def test_random_sigmoid_mlps_manual_equals_autograd_and_central_differences(case):
    m, x, t = case
    for include_frozen in (False, True):
        hand = manual.gradients(m, x, t, include_frozen=include_frozen)
        auto, _ = autograd_gradients(m, x, t, include_frozen)
        assert list(hand) == list(auto) == [n for n, _ in m.named_parameters(include_frozen)]
        for name, g in auto.items():
            assert abs(hand[name] - g) <= 1e-12, (name, hand[name], g)
    for name, g in auto.items():
        num = central_difference(m, x, t, name)
        assert abs(num - g) <= 1e-7 + 1e-6 * abs(g), (name, num, g)


def test_sgd_step_leaves_the_model_alone_and_updates_only_trainable_parameters():
    m = MLP(2, [3, 2], bias="shared", train_bias=False, seed=2)
    before = m.state_dict()
    net, err = manual.sgd_step(m, [0.3, 0.6], [0.2, 0.7], lr=0.1)
    assert m.state_dict() == before
    g = manual.gradients(m, [0.3, 0.6], [0.2, 0.7])
    after = net.state()
    for name, v in before.items():
        expected = v - 0.1 * g[name] if name in g else v
        assert after[name] == expected
    assert err == pytest.approx(half_squared_error(m([0.3, 0.6]), [0.2, 0.7]).data, abs=1e-15)


@pytest.mark.parametrize("call, error, message", [
    (lambda m: manual.gradients(m, [1.0], [0.5, 0.5]), ValueError,
     "inputs: expected 2 values, got 1"),
    (lambda m: manual.gradients(m, [1.0, 2.0], [0.5]), ValueError,
     "targets: expected 2 values, got 1"),
    (lambda m: manual.gradients(m, [1.0, float("nan")], [0.5, 0.5]), ValueError,
     "inputs: value 2 must be finite, got nan"),
    (lambda m: manual.gradients(m, [1.0, "a"], [0.5, 0.5]), TypeError,
     "inputs: value 2 must be a real number, got str"),
    (lambda m: manual.sgd_step(m, [1.0, 2.0], [0.5, 0.5], lr=0), ValueError,
     "lr must be positive, got 0.0"),
    (lambda m: manual.train(m, [1.0, 2.0], [0.5, 0.5], rounds=-1), ValueError,
     "rounds must be at least 0, got -1"),
    (lambda m: manual.Network.build(2, [[[1.0, float("inf")]]]), ValueError,
     "layer 1 neuron 1 weight 2 must be finite"),
    (lambda m: manual.Network.build(2, [[[1.0, 2.0]]], bias="both"), ValueError,
     "bias must be one of 'neuron', 'shared', 'none'"),
    (lambda m: manual.gradients(object(), [1.0], [1.0]), TypeError,
     "expected an MLP or a manual.Network"),
])
def test_bad_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call(article.network())


def test_an_unknown_activation_or_loss_is_refused():
    m = MLP(2, [2, 1], seed=0)
    m.layers[0].activation = "sigmoid"  # (the model's own check)
    with pytest.raises(ValueError, match="no rule for the activation 'softsign'"):
        manual.Network.build(1, [[[1.0]]], hidden_activation="sigmoid",
                             output_activation="softsign")
    with pytest.raises(ValueError, match="no rule for the loss .<lambda>."):
        manual.gradients(m, [0.1, 0.2], [0.3], loss=lambda o, t: o[0])


def test_forward_keeps_net_and_out_of_every_neuron():
    layers = manual.forward(article.network(), article.INPUTS)
    (net_h1, out_h1), _ = layers[0]
    assert net_h1 == pytest.approx(0.3775, abs=1e-15)
    assert out_h1 == 1 / (1 + math.exp(-net_h1))
    assert [len(layer) for layer in layers] == [2, 2]
