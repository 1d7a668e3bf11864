"""micrograd_mlp.micrograd against micrograd 0.1.0 itself (a test-only dependency) and torch.

Forward values are compared bit for bit. Gradients are compared to 1e-13 relative: micrograd adds a
node's gradient contributions in an order that depends on memory addresses (``_prev`` is a set), so
its own last digit varies from run to run (observed: b.grad of its README example is
645.5772594752186 or ...187); the printed digits are compared exactly.
"""

from __future__ import annotations

import contextlib
import io
import random

import pytest

import micrograd_mlp
from micrograd_mlp import micrograd as mine
from micrograd_mlp.nn import micrograd as mine_nn

micrograd = pytest.importorskip("micrograd", reason="micrograd 0.1.0 is a test-only dependency")
from micrograd import engine as mg_engine  # noqa: E402
from micrograd import nn as mg_nn  # noqa: E402


def test_the_alias_is_the_module():
    assert mine is mine_nn and micrograd_mlp.micrograd is mine_nn


def readme_example(Value):
    """micrograd's README example, unchanged but for where Value comes from."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        a = Value(-4.0)
        b = Value(2.0)
        c = a + b
        d = a * b + b**3
        c += c + 1
        c += 1 + c + (-a)
        d += d * 2 + (b + a).relu()
        d += 3 * d + (b - a).relu()
        e = c - d
        f = e**2
        g = f / 2.0
        g += 10.0 / f
        print(f'{g.data:.4f}')  # prints 24.7041, the outcome of this forward pass
        g.backward()
        print(f'{a.grad:.4f}')  # prints 138.8338, i.e. the numerical value of dg/da
        print(f'{b.grad:.4f}')  # prints 645.5773, i.e. the numerical value of dg/db
    return out.getvalue(), g, a, b


def test_readme_example_prints_micrograds_numbers():
    text, g, a, b = readme_example(mine.Value)
    text_mg, g_mg, a_mg, b_mg = readme_example(mg_engine.Value)
    assert text == text_mg == "24.7041\n138.8338\n645.5773\n"
    assert g.data == g_mg.data  # the forward pass: the same float operations in the same order
    assert a.grad == pytest.approx(a_mg.grad, rel=1e-13)
    assert b.grad == pytest.approx(b_mg.grad, rel=1e-13)


def test_graph_fields_are_micrograds_so_draw_dot_runs():
    V = mine.Value
    x, y = V(2.0), V(-3.0)
    z = (x * y + 1).relu() - x ** 2 / y
    assert isinstance(z._prev, set) and z._op == "+" and (x * y)._op == "*"
    assert (x ** 2)._op == "**2" and x.relu()._op == "ReLU" and x.tanh()._op == "tanh"
    assert x.exp()._op == "exp" and x._op == "" and x._prev == set()
    assert {v._op for v in (x * y + 1)._prev} == {"*", ""}
    # the lecture's trace / draw_dot, as written there (graphviz only builds the source here)
    graphviz = pytest.importorskip("graphviz")

    def trace(root):
        nodes, edges = set(), set()

        def build(v):
            if v not in nodes:
                nodes.add(v)
                for child in v._prev:
                    edges.add((child, v))
                    build(child)
        build(root)
        return nodes, edges

    def draw_dot(root):
        dot = graphviz.Digraph(format='svg', graph_attr={'rankdir': 'LR'})
        nodes, edges = trace(root)
        for n in nodes:
            uid = str(id(n))
            dot.node(name=uid, label="{ %s | data %.4f | grad %.4f }" % (n.label, n.data, n.grad),  # noqa: UP031 - the lecture's code
                     shape='record')
            if n._op:
                dot.node(name=uid + n._op, label=n._op)
                dot.edge(uid + n._op, uid)
        for n1, n2 in edges:
            dot.edge(str(id(n1)), str(id(n2)) + n2._op)
        return dot

    z.backward()
    x.label = "x"
    source = draw_dot(z).source
    assert "{ x | data 2.0000 | grad " in source and "ReLU" in source


def test_tanh_and_exp_and_their_gradients():
    import math
    V = mine.Value
    x = V(0.7)
    y = x.tanh() * x.exp()
    y.backward()
    t, e = math.tanh(0.7), math.exp(0.7)
    assert y.data == pytest.approx(t * e, rel=1e-15)
    assert x.grad == pytest.approx((1 - t * t) * e + t * e, rel=1e-14)
    assert repr(V(1.5)) == "Value(data=1.5, grad=0.0)"
    with pytest.raises(TypeError, match="only supporting int/float powers"):
        V(2.0) ** V(3.0)


# --- micrograd's own test file, the two checks against torch, with the import changed ---------
def test_sanity_check():
    torch = pytest.importorskip("torch")
    Value = mine.Value

    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xmg, ymg = x, y

    x = torch.Tensor([-4.0]).double()
    x.requires_grad = True
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xpt, ypt = x, y

    # forward pass went well
    assert ymg.data == ypt.data.item()
    # backward pass went well
    assert xmg.grad == xpt.grad.item()


def test_more_ops():
    torch = pytest.importorskip("torch")
    Value = mine.Value

    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    amg, bmg, gmg = a, b, g

    a = torch.Tensor([-4.0]).double()
    b = torch.Tensor([2.0]).double()
    a.requires_grad = True
    b.requires_grad = True
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    apt, bpt, gpt = a, b, g

    tol = 1e-6
    # forward pass went well
    assert abs(gmg.data - gpt.data.item()) < tol
    # backward pass went well
    assert abs(amg.grad - apt.grad.item()) < tol
    assert abs(bmg.grad - bpt.grad.item()) < tol


# --- the nn part: seeded weights and the demo notebook's training loop --------------------------
def test_seeded_mlp_draws_micrograds_initial_weights():
    random.seed(1337)
    ours = mine.MLP(2, [16, 16, 1])
    random.seed(1337)
    theirs = mg_nn.MLP(2, [16, 16, 1])
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]
    assert len(ours.parameters()) == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1 == 337
    assert repr(ours) == repr(theirs)
    assert repr(mine.Layer(3, 1)) == "Layer of [ReLUNeuron(3)]"
    n = mine.Neuron(2, nonlin=False)
    assert repr(n) == "LinearNeuron(2)" and n.b.data == 0.0


def _moons(n, seed):
    """Two interleaved half circles with noise (the shape of sklearn's make_moons), numpy arrays
    like the notebook's X, y in {-1, 1}."""
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    upper = np.arange(n) % 2 == 0
    X = np.where(upper[:, None], np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    X = X + rng.normal(0, 0.1, X.shape)
    return X, np.where(upper, 1, -1)


def notebook_training(lib, Value, X, y, steps):
    """The demo notebook's loop (moons, SVM max-margin loss, L2, decaying rate), as printed lines."""
    random.seed(1337)
    model = lib.MLP(2, [16, 16, 1])  # 2-layer neural network
    lines = []

    def loss():
        Xb, yb = X, y
        inputs = [list(map(Value, xrow)) for xrow in Xb]
        # forward the model to get scores
        scores = list(map(model, inputs))
        # svm "max-margin" loss
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(yb, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        # L2 regularization
        alpha = 1e-4
        reg_loss = alpha * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        # also get accuracy
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
        return total_loss, sum(accuracy) / len(accuracy)

    for k in range(steps):
        # forward
        total_loss, acc = loss()
        # backward
        model.zero_grad()
        total_loss.backward()
        # update (sgd)
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        lines.append((k, total_loss.data, acc))
    return lines, [p.data for p in model.parameters()]


def test_demo_notebook_training_loop_gives_micrograds_numbers():
    X, y = _moons(30, seed=3)
    ours, ours_w = notebook_training(mine, mine.Value, X, y, steps=4)
    theirs, theirs_w = notebook_training(mg_nn, mg_engine.Value, X, y, steps=4)
    assert ours[0] == theirs[0]  # the untrained loss and accuracy: bit for bit
    for (k, loss, acc), (k2, loss2, acc2) in zip(ours, theirs):
        assert (k, acc) == (k2, acc2)
        assert loss == pytest.approx(loss2, rel=1e-12)
        assert f"step {k} loss {loss:.10f}" == f"step {k2} loss {loss2:.10f}"
    assert ours_w == pytest.approx(theirs_w, rel=1e-10, abs=1e-13)


def test_forward_pass_with_any_weights_is_micrograds_bit_for_bit():
    # micrograd's forward pass has no order freedom: equal weights must give equal bits
    # (this pins the summation order b + w1·x1 + w2·x2 + ... and the ReLU/linear layers)
    rng = random.Random(7)
    random.seed(5)
    ours = mine.MLP(3, [4, 4, 2])
    random.seed(5)
    theirs = mg_nn.MLP(3, [4, 4, 2])
    for p, q in zip(ours.parameters(), theirs.parameters()):
        p.data = q.data = rng.uniform(-2, 2)  # biases too: no longer 0
    for _ in range(20):
        x = [rng.uniform(-3, 3) for _ in range(3)]
        assert [o.data for o in ours(x)] == [o.data for o in theirs(x)]
        xs = [mine.Value(v) for v in x]
        out = sum(o * o for o in ours(xs)) / 2.0 - 1
        ref = sum(o * o for o in theirs([mg_engine.Value(v) for v in x])) / 2.0 - 1
        assert out.data == ref.data


# --- the drop-in modules are library Modules too ------------------------------------------------
def test_the_modules_are_library_modules_with_named_engine_parameters():
    from micrograd_mlp.nn import Module

    random.seed(1337)
    model = mine.MLP(2, [16, 16, 1])
    assert isinstance(model, Module) and isinstance(model.layers[0].neurons[0], Module)
    named = model.named_parameters()
    # the engine Values under micrograd's parameters(), in micrograd's order, each once
    assert [v for _, v in named] == [p.value for p in model.parameters()]
    assert len(named) == 337 and len({id(v) for _, v in named}) == 337
    assert [n for n, _ in named[:3]] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1",
                                         "layers.0.neurons.0.b"]
    assert named[-1][0] == "layers.2.neurons.0.b"
    assert [n for n, _ in model.named_children()] == ["layers.0", "layers.1", "layers.2"]
    assert len(model.modules()) == 1 + 3 + 16 + 16 + 1
    # parameters() is still micrograd's: drop-in Values, what `p.data -= lr * p.grad` updates
    assert all(type(p) is mine.Value for p in model.parameters())


def test_state_dict_save_and_load_round_trip_a_trained_drop_in_model(tmp_path):
    X, y = _moons(12, seed=1)
    _, trained = notebook_training(mine, mine.Value, X, y, steps=3)
    random.seed(1337)
    model = mine.MLP(2, [16, 16, 1])
    for p, w in zip(model.parameters(), trained):
        p.data = w
    state = model.state_dict()
    assert list(state.values()) == trained
    random.seed(0)
    other = mine.MLP(2, [16, 16, 1])
    other.load_state_dict(state)
    assert [p.data for p in other.parameters()] == trained
    path = tmp_path / "model.json"
    model.save(path)
    random.seed(0)
    again = mine.MLP(2, [16, 16, 1]).load(path)
    x = [0.3, -0.7]
    assert again(x).data == model(x).data and again.state_dict() == state
    with pytest.raises(ValueError, match=r"different architecture \(nouts: file \[16, 16, 1\], "
                                         r"model \[8, 1\]\)"):
        mine.MLP(2, [8, 1]).load(path)


def test_the_librarys_optimiser_on_named_parameters_takes_micrograds_step():
    from micrograd_mlp.nn import SGD

    def step(use_library):
        random.seed(4)
        model = mine.MLP(3, [4, 1])
        loss = (model([0.5, -1.0, 2.0]) - 1.0) ** 2
        model.zero_grad()
        loss.backward()
        if use_library:
            SGD([v for _, v in model.named_parameters()], lr=0.05).step()
        else:
            for p in model.parameters():
                p.data -= 0.05 * p.grad
        return [p.data for p in model.parameters()]

    assert step(True) == step(False)


def test_a_layer_and_an_empty_mlp_still_have_a_config():
    assert mine.Layer(3, 2, nonlin=False).config() == {"nin": 3, "nonlin": False, "nout": 2}
    assert mine.MLP(2, []).config() == {"nin": None, "nouts": []}


def test_a_drop_in_value_where_the_librarys_value_goes_is_named_in_full():
    """Both classes are called Value: the refusal gives the full path, not "a Value, got Value"."""
    from micrograd_mlp.nn.optim import SGD

    with pytest.raises(TypeError, match=r"must be a Value, got micrograd_mlp\.nn\.micrograd\.Value"):
        SGD([mine.Value(1.0)], lr=0.1)
    with pytest.raises(TypeError, match=r"got str\b"):
        SGD(["w"], lr=0.1)


# --- micrograd's own extension points: _backward closures, by hand and in new ops ------------------
def _lecture_graph(V):
    a, b, c, f = V(2.0), V(-3.0), V(10.0), V(-2.0)
    e = a * b
    d = e + c
    return (a, b, c, f, e, d), d * f


def test_backward_by_hand_node_by_node_gives_micrographs_numbers():
    from micrograd.engine import Value as MG

    ours, L = _lecture_graph(mine.Value)
    theirs, L2 = _lecture_graph(MG)
    for out in (L, L2):
        out.grad = 1.0
    for node in ((L, L2), (ours[5], theirs[5]), (ours[4], theirs[4])):  # L, d, e
        node[0]._backward()
        node[1]._backward()
    assert [v.grad for v in ours] == [float(v.grad) for v in theirs]


def _cube(V):
    def cube(self):
        out = V(self.data ** 3, (self,), "**3")

        def _backward():
            self.grad += 3 * self.data ** 2 * out.grad
        out._backward = _backward
        return out
    return cube


def test_an_op_of_your_own_is_a_real_node_as_in_micrograd():
    from micrograd.engine import Value as MG

    results = []
    for V in (mine.Value, MG):
        x = V(1.5)
        y = _cube(V)(x * 2) * x + x  # 8x⁴ + x: dy/dx = 32x³ + 1
        assert y._prev and "**3" in {v._op for v in y._prev for v in v._prev}
        y.backward()
        results.append((y.data, x.grad))
    assert results[0] == pytest.approx(results[1], rel=1e-15)
    assert results[0][1] == pytest.approx(32 * 1.5 ** 3 + 1, rel=1e-15)


def test_gradients_accumulate_across_passes_interior_nodes_too_as_in_micrograd():
    from micrograd.engine import Value as MG

    grads = []
    for V in (mine.Value, MG):
        x = V(0.5)
        h = x * x
        y = h.relu() * h + h
        y.backward()
        y.backward()
        grads.append((x.grad, h.grad))
    assert grads[0] == pytest.approx(grads[1], rel=1e-14)


def test_dividing_by_zero_is_a_zero_division_error_as_in_micrograd():
    from micrograd.engine import Value as MG

    for V in (mine.Value, MG):
        for divide in (lambda: V(1.0) / V(0.0), lambda: V(1.0) / 0, lambda: 1.0 / V(0.0)):
            with pytest.raises(ZeroDivisionError):
                divide()
