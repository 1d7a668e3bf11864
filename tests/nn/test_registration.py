"""Module registration as torch.nn.Module does it, per-parameter freezing, load_state_dict(strict)."""

from __future__ import annotations

import pytest

from micrograd_mlp import MLP, SGD, Adam, Value, article, compare_gradients
from micrograd_mlp.nn import Layer, Module, Neuron
from micrograd_mlp.nn.losses import half_squared_error


class Scale(Module):
    """y = a·x + c, two parameters set as attributes."""

    def __init__(self) -> None:
        self.a = Value(2.0, label="a")
        self.c = Value(-1.0, label="c")
        self.note = "not a parameter"
        self.widths = [1, 2]  # plain data: a list of numbers is not registered

    def __call__(self, xs):
        return [self.a * x + self.c for x in xs]


class Custom(Module):
    """A model of one's own: a Value, a sub-module, a list, a dict and an MLP, in that order."""

    def __init__(self) -> None:
        self.w = Value(0.5)
        self.scale = Scale()
        self.extra = [Value(0.1), Value(0.2)]
        self.table = {"u": Value(0.3)}
        self.mlp = MLP(1, [2, 1], seed=0)

    def __call__(self, xs):
        (y,) = self.mlp(self.scale([x * self.w for x in xs]))
        return [y + self.extra[0] * self.extra[1] + self.table["u"]]


def test_attributes_are_registered_in_assignment_order_with_dotted_names():
    m = Custom()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["w", "scale.a", "scale.c", "extra.0", "extra.1", "table.u",
                     *(f"mlp.{n}" for n, _ in m.mlp.named_parameters())]
    assert m.parameters()[0] is m.w and m.parameters()[1] is m.scale.a
    assert list(m.state_dict()) == names
    assert [n for n, _ in m.named_children()] == ["scale", "mlp"]
    assert m.children() == [m.scale, m.mlp]
    assert [n for n, _ in m.named_modules()][:3] == ["", "scale", "mlp"]
    assert "mlp.layers.0.neurons.1" in dict(m.named_modules())
    assert m.modules()[0] is m and len(m.modules()) == 1 + 1 + 1 + 2 + 3  # layers and neurons


def test_reassigning_keeps_the_place_and_a_non_parameter_unregisters():
    s = Scale()
    s.a = Value(7.0)
    assert [n for n, _ in s.named_parameters()] == ["a", "c"] and s.parameters()[0].data == 7.0
    s.a = 3.0  # no longer a Value: no longer a parameter
    assert [n for n, _ in s.named_parameters()] == ["c"]
    del s.c
    assert s.parameters() == []
    s.later = []  # an empty list is registered and seen when filled
    s.later.append(Value(1.0))
    assert [n for n, _ in s.named_parameters()] == ["later.0"]


def test_a_shared_value_is_listed_once():
    class Tied(Module):
        def __init__(self):
            self.p = Value(1.0)
            self.again = [self.p]
    assert [n for n, _ in Tied().named_parameters()] == ["p"]


def test_a_custom_model_trains_saves_loads_and_is_checked(tmp_path):
    m = Custom()
    data = [([0.3], [0.2]), ([-0.4], [0.9])]

    def loss():
        return sum((half_squared_error(m(x), t) for x, t in data), Value(0.0))

    before = loss().data
    opt = Adam(m, lr=0.05)
    for _ in range(20):
        opt.zero_grad()
        L = loss()
        L.backward()
        opt.step()
    assert loss().data < before
    path = tmp_path / "custom.json"
    m.save(path)
    fresh = Custom()
    assert fresh.state_dict() != m.state_dict()
    fresh.load(path)
    assert fresh.state_dict() == m.state_dict()
    report = compare_gradients(m, [0.3], [0.2])  # autograd == central differences for every one
    assert report.ok and [r.name for r in report.rows] == [n for n, _ in m.named_parameters()]


def test_frozen_parameters_get_no_gradient_and_no_update():
    m = Custom()
    m.scale.a.requires_grad = False
    assert "scale.a" not in dict(m.named_parameters())
    assert "scale.a" in dict(m.named_parameters(include_frozen=True))
    assert "scale.a" in m.state_dict()
    m.scale.a.grad = 0.25  # stale: backward leaves it, the optimiser ignores it
    opt = SGD(list(dict(m.named_parameters(include_frozen=True)).values()), lr=0.1)
    half_squared_error(m([0.5]), [0.0]).backward()
    opt.step()
    assert m.scale.a.data == 2.0 and m.scale.a.grad == 0.25
    assert m.w.data != 0.5


def test_article_shared_biases_are_ordinary_frozen_parameters():
    net = article.network()
    b1 = net.parameter("b1")
    assert b1.requires_grad is False and b1 not in net.parameters()
    assert [n for n, _ in net.named_parameters(include_frozen=True)][4] == "b1"
    assert article.network(train_bias=True).parameter("b1").requires_grad
    # unfreezing one bias by hand makes it trainable like any other parameter
    b1.requires_grad = True
    assert "b1" in dict(net.named_parameters()) and "b2" not in dict(net.named_parameters())
    neuron = Neuron("n", [Value(1.0, label="w")], Value(0.0, label="b"), "linear", False)
    assert [n for n, _ in neuron.named_parameters()] == ["w"]
    layer = Layer([neuron], "linear", "neuron", 1, train_bias=False)
    assert [n for n, _ in layer.named_parameters(include_frozen=True)] == ["w", "b"]


def test_load_state_dict_strict_false_reports_missing_and_unexpected_keys():
    m = MLP(2, [1], seed=0)  # w1, w2, b_o1
    before = m.state_dict()
    result = m.load_state_dict({"w1": 0.5, "zz": 1.0}, strict=False)
    assert result.missing_keys == ["w2", "b_o1"] and result.unexpected_keys == ["zz"]
    assert m.state_dict() == {**before, "w1": 0.5}
    assert m.load_state_dict(m.state_dict()) == ([], [])
    with pytest.raises(KeyError, match=r"missing \['w2', 'b_o1'\]; unexpected \['zz'\]"):
        m.load_state_dict({"w1": 0.5, "zz": 1.0})
    # a bad value among the loaded ones: refused, nothing changes (strict or not)
    with pytest.raises(ValueError, match="state\\['w2'\\]"):
        m.load_state_dict({"w1": 9.0, "w2": float("nan")}, strict=False)
    assert m.state_dict() == {**before, "w1": 0.5}


def test_a_huge_key_list_in_the_strict_message_is_capped():
    m = MLP(1, [1], seed=0)
    with pytest.raises(KeyError) as info:
        m.load_state_dict({f"k{i}": 0.0 for i in range(100_000)})
    assert len(str(info.value)) < 2_000 and "and 99980 more" in str(info.value)
