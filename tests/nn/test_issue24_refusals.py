"""Names that round-trip, back-references, and clear refusals (issue 24, #3, #7, #8 and the
smaller ones). Each test fails with its bug put back."""

from __future__ import annotations

import json

import pytest

from micrograd_mlp.core import Value, no_grad
from micrograd_mlp.nn import MLP, SGD, Adam, Module
from micrograd_mlp.nn.training import evaluate, train


class Sub(Module):
    def __init__(self) -> None:
        self.w = Value(1.0)


class Colliding(Module):
    def __init__(self) -> None:
        self.d = {"a": Sub(), "a.w": Value(7.0)}


def test_colliding_dotted_names_are_refused_naming_them(tmp_path):
    m = Colliding()
    for call in (m.named_parameters, m.state_dict, m.parameters):
        with pytest.raises(ValueError, match=r"a\.w"):
            call()
    path = tmp_path / "m.json"
    with pytest.raises(ValueError, match=r"a\.w"):
        m.save(path)
    assert not path.exists()  # nothing written
    with pytest.raises(ValueError, match=r"a\.w"):
        m.load_state_dict({"d.a.w": 3.0})
    assert m.d["a"].w.data == 1.0 and m.d["a.w"].data == 7.0  # nothing changed


def test_a_dotted_attribute_name_is_refused():
    m = Module()
    setattr(m, "x.y", Value(2.0))
    with pytest.raises(ValueError, match=r"x\.y"):
        m.state_dict()


def test_duplicate_names_from_labels_are_refused():
    class Two(Module):
        def __init__(self) -> None:
            self.net = MLP(1, [1], seed=0)

    m = Two()
    m.net.layers[0].neurons[0].bias.label = "w1"  # now two parameters are "net.w1"
    with pytest.raises(ValueError, match=r"net\.w1"):
        m.state_dict()


def test_dotless_names_still_round_trip(tmp_path):
    class Fine(Module):
        def __init__(self) -> None:
            self.d = {"a": Sub(), "b": Value(7.0)}
            self.ws = [Value(1.5), Value(2.5)]

    m = Fine()
    assert list(m.state_dict()) == ["d.a.w", "d.b", "ws.0", "ws.1"]
    m.save(tmp_path / "f.json")
    other = Fine()
    other.ws[1].data = 0.0
    other.load(tmp_path / "f.json")
    assert other.state_dict() == m.state_dict()


class Parent(Module):
    def __init__(self) -> None:
        self.child = Sub()
        self.child.owner = self  # a back-reference
        self.b = Value(3.0)


def test_a_back_reference_is_visited_once(tmp_path):
    m = Parent()
    assert m.named_parameters() == [("child.w", m.child.w), ("b", m.b)]
    assert m.state_dict() == {"child.w": 1.0, "b": 3.0}
    m.save(tmp_path / "p.json")
    assert json.loads((tmp_path / "p.json").read_text())["state"] == {"child.w": 1.0, "b": 3.0}
    other = Parent()
    other.b.data = 0.0
    other.load(tmp_path / "p.json")
    assert other.b.data == 3.0
    m.zero_grad()
    assert [name for name, _ in m.named_modules()] == ["", "child"]


def test_a_dict_with_non_string_keys_is_refused():
    m = Module()
    with pytest.raises(TypeError, match="dict key 1 is not a string"):
        m.d = {1: Value(1.0)}
    assert not hasattr(m, "d")  # nothing set
    with pytest.raises(TypeError, match=r"\(2, 3\)"):
        m.nested = [{(2, 3): Sub()}]
    m.data = {1: 2.0}  # plain data stays plain data
    assert m.state_dict() == {}


def test_a_non_string_key_added_later_is_refused_when_named():
    m = Module()
    m.d = {}
    m.d[5] = Value(1.0)
    with pytest.raises(TypeError, match="dict key 5"):
        m.named_parameters()


def test_load_state_dict_strict_must_be_a_bool():
    m = MLP(1, [1], seed=0)
    before = m.state_dict()
    with pytest.raises(TypeError, match="strict must be a bool"):
        m.load_state_dict({"w1": 5.0}, strict="no")  # type: ignore[arg-type]
    assert m.state_dict() == before


@pytest.mark.parametrize("betas", [(0.9,), (0.9, 0.99, 0.5), 0.9, "ab"])
def test_adam_betas_must_be_a_pair(betas):
    with pytest.raises(TypeError, match="betas must be a pair"):
        Adam(MLP(1, [1], seed=0), betas=betas)


@pytest.mark.parametrize("bad", [[0.1, 0.2, 0.3], 5.0, ([0.1, 0.2],)])
def test_a_sample_that_is_not_a_pair_is_named(bad):
    data = [([0.1, 0.2], [1.0]), bad]
    with pytest.raises(TypeError, match=r"data\[1\] must be an \(inputs, targets\) pair"):
        train(MLP(2, [1], seed=0), data, 1)
    with pytest.raises(TypeError, match=r"data\[1\]"):
        evaluate(MLP(2, [1], seed=0), data)


def test_eager_train_inside_no_grad_trains_as_outside():
    data = [([0.1, 0.2], [1.0]), ([0.5, -0.1], [0.0])]
    runs = []
    for quiet in (False, True):
        model = MLP(2, [3, 1], seed=4)
        opt = SGD(model, lr=0.3)
        if quiet:
            with no_grad():
                history = train(model, data, 5, optimizer=opt)
        else:
            history = train(model, data, 5, optimizer=opt)
        runs.append((list(history), model.state_dict()))
    assert runs[0] == runs[1]
    assert runs[1][0][0] != runs[1][0][-1]


def test_every_zero_means_the_first_and_last_step_in_the_api_as_in_the_cli():
    """Issue 24: the CLI took --every 0 (first and last step only) where train refused every=0."""
    import io

    from micrograd_mlp.nn import MLP, train

    model = MLP(2, [2, 1], seed=0)
    out = io.StringIO()
    train(model, [([0.1, 0.2], [1.0])], 5, progress=True, every=0, stream=out)
    steps = [line.split()[1] for line in out.getvalue().splitlines()]
    assert steps == ["1/5", "5/5"]
