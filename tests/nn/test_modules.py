"""micrograd_mlp.nn: the naming contract, construction, forward pass, state and files."""

from __future__ import annotations

import json
import math
import os

import pytest

from micrograd_mlp import MLP, Value, article
from micrograd_mlp.core import topological_order
from micrograd_mlp.nn import Layer, Neuron


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# --- naming contract ---------------------------------------------------------------------------
def test_article_network_names_and_structure():
    m = article.network()
    assert [n for n, _ in m.named_parameters(include_frozen=True)] == [
        "w1", "w2", "w3", "w4", "b1", "w5", "w6", "w7", "w8", "b2"]
    assert [[n.name for n in layer.neurons] for layer in m.layers] == [["h1", "h2"], ["o1", "o2"]]
    for name, v in m.named_parameters(include_frozen=True):
        assert v.label == name
    # w3 is i1 -> h2, w6 is h2 -> o1 (the article's numbering)
    h2 = m.layers[0].neurons[1]
    assert [w.label for w in h2.weights] == ["w3", "w4"]
    assert m.layers[1].neurons[0].weights[1].label == "w6"
    # the shared bias is ONE Value per layer
    for layer in m.layers:
        assert layer.bias_mode == "shared" and layer.activation == "sigmoid"
        assert layer.neurons[0].bias is layer.neurons[1].bias
    assert m.layers[0].neurons[0].bias.data == 0.35 and m.layers[1].neurons[1].bias.data == 0.6


def test_neuron_names_for_several_hidden_layers_and_per_neuron_bias_names():
    m = MLP(3, [2, 3, 2], bias="neuron", seed=0)
    assert [[n.name for n in layer.neurons] for layer in m.layers] == [
        ["h1_1", "h1_2"], ["h2_1", "h2_2", "h2_3"], ["o1", "o2"]]
    names = [n for n, _ in m.named_parameters()]
    weights = [n for n in names if n.startswith("w")]
    assert weights == [f"w{k}" for k in range(1, 3 * 2 + 2 * 3 + 3 * 2 + 1)]
    assert [n for n in names if n.startswith("b")] == [
        "b_h1_1", "b_h1_2", "b_h2_1", "b_h2_2", "b_h2_3", "b_o1", "b_o2"]
    assert len(set(id(v) for v in m.parameters())) == len(names)


def test_forward_graph_has_one_affine_net_and_one_out_node_per_neuron():
    m = article.network()
    outs = m(article.INPUTS)
    nodes = {v.label: v for v in topological_order(outs[0]) if v.label}
    for n in ("h1", "h2", "o1"):
        assert nodes[f"net_{n}"].op.name == "affine"
        assert nodes[f"out_{n}"].op.name == "sigmoid"
        assert nodes[f"out_{n}"].operands == (nodes[f"net_{n}"],)
    assert nodes["i1"].data == 0.05 and nodes["i2"].data == 0.10 and nodes["i1"].is_leaf
    net_o1 = nodes["net_o1"]
    assert [v.label for v in net_o1.operands] == ["w5", "w6", "out_h1", "out_h2", "b2"]
    assert [o.label for o in outs] == ["out_o1", "out_o2"]


def test_linear_output_keeps_the_net_label_and_activations_compute_the_right_function():
    x = [0.3, -0.7]
    for act, f in (("sigmoid", sigmoid), ("tanh", math.tanh), ("relu", lambda z: max(z, 0.0)),
                   ("linear", lambda z: z)):
        m = MLP(2, [3, 1], hidden_activation=act, output_activation="linear", seed=5)
        h = [f(sum(w.data * xi for w, xi in zip(n.weights, x)) + n.bias.data)
             for n in m.layers[0].neurons]
        o = m.layers[1].neurons[0]
        expected = sum(w.data * hi for w, hi in zip(o.weights, h)) + o.bias.data
        (out,) = m(x)
        assert out.label == "net_o1"
        assert out.data == pytest.approx(expected, rel=1e-14, abs=1e-15)


def test_bias_none_has_no_bias_operand():
    m = MLP(2, [2], bias="none", seed=1)
    (out, _) = m([1.0, 2.0])
    assert all(n.bias is None for n in m.layers[0].neurons)
    assert len(out.operands[0].operands) == 4  # w1, w2, i1, i2
    assert [n for n, _ in m.named_parameters(include_frozen=True)] == ["w1", "w2", "w3", "w4"]


def test_frozen_biases_are_used_and_saved_but_not_trained():
    m = MLP(2, [2, 1], bias="neuron", train_bias=False, seed=3)
    assert [n for n, _ in m.named_parameters()] == ["w1", "w2", "w3", "w4", "w5", "w6"]
    assert len(m.parameters()) == 6
    assert set(m.state_dict()) == {"w1", "w2", "w3", "w4", "w5", "w6", "b_h1", "b_h2", "b_o1"}
    frozen = article.network()
    assert len(frozen.parameters()) == 8 and "b1" in frozen.state_dict()
    trainable = article.network(train_bias=True)
    assert [n for n, _ in trainable.named_parameters()][-1] == "b2"


# --- construction ------------------------------------------------------------------------------
def test_seed_reproducible_and_weights_in_range():
    a, b, c = MLP(3, [4, 2], seed=42), MLP(3, [4, 2], seed=42), MLP(3, [4, 2], seed=43)
    assert a.state_dict() == b.state_dict()
    assert a.state_dict() != c.state_dict()
    assert all(-1.0 <= x <= 1.0 for x in a.state_dict().values())


def test_construction_from_a_state_mapping():
    state = {f"w{k}": k / 10 for k in range(1, 7)} | {"b_h1": 0.1, "b_h2": 0.2, "b_o1": 0.3}
    m = MLP(2, [2, 1], weights=state)
    assert m.state_dict() == state


@pytest.mark.parametrize("kwargs, message", [
    (dict(nin=0, nouts=[2]), "nin must be at least 1, got 0"),
    (dict(nin=2, nouts=[]), "nouts must be a non-empty list"),
    (dict(nin=2, nouts=[2, 0]), r"nouts\[1\] must be at least 1, got 0"),
    (dict(nin=2, nouts=[2], hidden_activation="softmax"), "hidden_activation must be one of"),
    (dict(nin=2, nouts=[2], output_activation="gelu"), "output_activation must be one of"),
    (dict(nin=2, nouts=[2], bias="layer"), "bias must be one of"),
    (dict(nin=2, nouts=[2], weights=[[[1.0, 2.0]]]), "layer 1 expected 2 neurons, got 1"),
    (dict(nin=2, nouts=[1], weights=[[[1.0]]]), "layer 1 neuron 1 expected 2 weights, got 1"),
    (dict(nin=2, nouts=[1], weights=[[[1.0, float("nan")]]]), "weight 2 must be finite, got nan"),
    (dict(nin=2, nouts=[1], weights=[[[1.0, 2.0]]], biases=[[1.0, 2.0]]),
     "layer 1 expected 1 per-neuron biases, got 2"),
    (dict(nin=2, nouts=[1], bias="none", weights=[[[1.0, 2.0]]], biases=[1.0]),
     "biases given but bias='none'"),
])
def test_bad_construction_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        MLP(**kwargs)


def test_sizes_and_seed_accept_any_integral_type_but_not_a_string_or_float(tmp_path):
    numpy = pytest.importorskip("numpy")
    m = MLP(numpy.int64(2), [numpy.int32(3), 1], seed=numpy.uint8(7))
    assert m.config() == MLP(2, [3, 1], seed=7).config()
    assert type(m.nin) is int and all(type(k) is int for k in m.nouts)
    assert m.state_dict() == MLP(2, [3, 1], seed=7).state_dict()
    m.save(tmp_path / "m.json")  # the config stays JSON-able
    with pytest.raises(TypeError, match="nin must be an integer, got str"):
        MLP("2", [1])
    with pytest.raises(TypeError, match=r"nouts\[0\] must be an integer, got float"):
        MLP(2, [1.0])
    with pytest.raises(TypeError, match="seed must be an integer, got str"):
        MLP(2, [1], seed="1")


def test_wrong_input_count_names_expected_and_got():
    m = article.network()
    with pytest.raises(ValueError, match="MLP expects 2 inputs, got 3"):
        m([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="MLP expects 2 inputs, got 1"):
        m(1.0)
    with pytest.raises(TypeError, match="MLP: input 2 must be a real number, got str"):
        m([1.0, "x"])
    with pytest.raises(ValueError, match="must be finite"):
        m([1.0, float("inf")])
    with pytest.raises(ValueError, match="neuron h1 expects 2 inputs, got 1"):
        m.layers[0].neurons[0]([1.0])


def test_values_as_inputs_are_used_as_given():
    m = article.network()
    x = [Value(0.05, label="x1"), Value(0.10)]
    outs = m(x)
    half = 0.5 * (0.01 - outs[0]) ** 2
    half.backward()
    assert x[0].grad != 0.0 and x[0].label == "x1" and x[1].label is None


def test_repr_is_readable():
    text = repr(article.network())
    assert "MLP(2 -> 2 -> 2" in text and "8 trainable parameters, 2 frozen" in text
    assert "[h1..h2]" in text and "bias='shared', frozen" in text
    assert "w5=0.4" in repr(article.network().layers[1].neurons[0])
    assert isinstance(article.network().layers[0], Layer)
    assert isinstance(article.network().layers[0].neurons[0], Neuron)


def test_zero_grad_resets_every_parameter_including_frozen():
    m = article.network()
    (o1, o2) = m(article.INPUTS)
    m.parameter("b1").grad = 5.0  # a frozen bias: backward leaves its .grad as it was
    (o1 + o2).backward()
    assert m.parameter("b1").grad == 5.0 and m.parameter("w1").grad != 0.0
    m.zero_grad()
    assert all(v.grad == 0.0 for _, v in m.named_parameters(include_frozen=True))
    with pytest.raises(KeyError, match="no parameter named 'w9'"):
        m.parameter("w9")


# --- state -------------------------------------------------------------------------------------
def test_state_dict_round_trip():
    a, b = MLP(2, [3, 2], seed=1), MLP(2, [3, 2], seed=2)
    b.load_state_dict(a.state_dict())
    assert b.state_dict() == a.state_dict()
    x = [0.2, -0.4]
    assert [o.data for o in a(x)] == [o.data for o in b(x)]
    s = a.state_dict()
    s["w1"] = 123.0  # a plain dict: changing it does not change the model
    assert a.state_dict()["w1"] != 123.0
    assert all(type(v) is float for v in a.state_dict().values())


@pytest.mark.parametrize("mutate, error, message", [
    (lambda s: s.pop("w3"), KeyError, r"missing \['w3'\]"),
    (lambda s: s.update(w99=1.0), KeyError, r"unexpected \['w99'\]"),
    (lambda s: s.update(b1="0.3"), TypeError, r"state\['b1'\] must be a real number, got str"),
    (lambda s: s.update(w2=True), TypeError, r"state\['w2'\] must be a real number, got bool"),
    (lambda s: s.update(w8=None), TypeError, r"state\['w8'\] must be a real number"),
    (lambda s: s.update(w4=float("nan")), ValueError, r"state\['w4'\] must be finite"),
    (lambda s: s.update(w5=float("-inf")), ValueError, r"state\['w5'\] must be finite"),
])
def test_bad_state_is_rejected_and_nothing_changes(mutate, error, message):
    m = article.network()
    before = m.state_dict()
    state = {k: v + 1.0 for k, v in before.items()}
    mutate(state)
    with pytest.raises(error, match=message):
        m.load_state_dict(state)
    assert m.state_dict() == before
    with pytest.raises(TypeError, match="state must be a mapping"):
        m.load_state_dict([1.0, 2.0])


def test_save_and_load_json_round_trip(tmp_path):
    a = MLP(2, [3, 1], hidden_activation="tanh", output_activation="linear", bias="shared",
            train_bias=False, seed=9)
    path = tmp_path / "model.json"
    a.save(path)
    payload = json.loads(path.read_text())
    assert payload["format"] == "micrograd_mlp.state" and payload["state"] == a.state_dict()
    b = MLP(2, [3, 1], hidden_activation="tanh", output_activation="linear", bias="shared",
            train_bias=False, seed=10)
    assert b.load(path) is b and b.state_dict() == a.state_dict()
    c = MLP.from_file(path)
    assert c.config() == a.config() and c.state_dict() == a.state_dict()
    assert c.layers[0].activation == "tanh" and not c.train_bias
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]  # no temp file left


def test_load_rejects_a_wrong_file_and_changes_nothing(tmp_path):
    m = article.network()
    before = m.state_dict()
    other = MLP(2, [3, 2], seed=0)
    path = tmp_path / "other.json"
    other.save(path)
    with pytest.raises(ValueError, match="saved for a different architecture"):
        m.load(path)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not a JSON state file"):
        m.load(bad)
    bad.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match="not a micrograd_mlp.state file"):
        m.load(bad)
    assert m.state_dict() == before


def test_save_is_atomic_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    m = article.network()
    m.save(path)
    old = path.read_text()
    m.parameter("w1").data = 9.0

    def crash(src, dst):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        m.save(path)
    assert path.read_text() == old
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_save_fsyncs_before_rename(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1])
    article.network().save(tmp_path / "m.json")
    assert calls[:2] == ["fsync", "replace"]


def test_save_refuses_non_finite_state(tmp_path):
    m = article.network()
    m.parameter("w1").data = float("nan")  # forced in behind the API's back
    with pytest.raises(ValueError):
        m.save(tmp_path / "m.json")
    assert list(tmp_path.iterdir()) == []
