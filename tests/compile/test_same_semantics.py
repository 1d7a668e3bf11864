"""engine="compiled" is an accelerator, not a second meaning: every fast path against EAGER (never
against itself) - the history, every parameter's .data and .grad (also those the optimiser does
not own), the optimiser's state, what a callback sees after each step, training inside no_grad(),
and user ops (compiled when the compiler can write their rules, else run eagerly, with a warning)."""

from __future__ import annotations

import math
import warnings

import pytest

from micrograd_mlp import MLP, Value
from micrograd_mlp.compile import compile_batch, compile_graph, training
from micrograd_mlp.compile.training import train
from micrograd_mlp.core import define_op, no_grad
from micrograd_mlp.nn import evaluate, hinge, mse
from micrograd_mlp.nn.datasets import moons
from micrograd_mlp.nn.optim import SGD, Adam, StepLR

from .support import all_close, close

X, Y = moons(24, noise=0.1, seed=7, labels=(-1.0, 1.0))
DATA = [(x, [y]) for x, y in zip(X, Y)]

square = define_op("square_for_compile_tests", lambda a: a * a, lambda a, out: (2.0 * a,),
                   math="∂(a²)/∂a = 2a")
hypot = define_op("hypot_for_compile_tests", lambda a: math.hypot(a, 1.0),
                  lambda a, out: (a / out,))


def snapshot(model, opt, history):
    params = model.parameters()
    state = {k: v for k, v in vars(opt).items() if k.startswith("_") or k in ("lr", "steps")}
    return list(history), [p.data for p in params], [p.grad for p in params], state


def assert_same(a, b, tol=1e-12):
    (ha, pa, ga, sa), (hb, pb, gb, sb) = a, b
    assert all_close(ha, hb, tol) and all_close(pa, pb, tol) and all_close(ga, gb, tol)
    assert sa.keys() == sb.keys()
    for key in sa:
        if isinstance(sa[key], list):
            assert all_close(sa[key], sb[key], tol), key
        else:
            assert sa[key] == sb[key], key


def both(make_opt, *, steps=12, loss_fn=hinge, before=None, **kw):
    """Train the same model on each engine; each engine's snapshot and what its callback saw."""
    out = []
    for engine in ("eager", "compiled"):
        model = MLP(2, [5, 1], hidden_activation="tanh", output_activation="linear", seed=3)
        opt = make_opt(model)
        if before is not None:
            before(model)
        seen = []

        def callback(k, loss, model=model, opt=opt, seen=seen):
            seen.append((k, loss, evaluate(model, DATA, loss_fn),
                         [p.data for p in model.parameters()],
                         [p.grad for p in model.parameters()], opt.steps))

        history = train(model, DATA, steps, loss_fn=loss_fn, optimizer=opt, progress=callback,
                        engine=engine, **kw)
        out.append((snapshot(model, opt, history), seen))
    return out


@pytest.mark.parametrize("make_opt", [lambda m: SGD(m, lr=0.1, momentum=0.9),
                                      lambda m: Adam(m, lr=0.02, weight_decay=1e-3)])
def test_a_callback_sees_the_model_as_trained_so_far(make_opt):
    (eager, eager_seen), (fast, fast_seen) = both(make_opt)
    assert_same(eager, fast)
    assert len(eager_seen) == len(fast_seen) == 12
    for e, f in zip(eager_seen, fast_seen):
        assert e[0] == f[0] and e[5] == f[5]
        assert close(e[1], f[1]) and close(e[2], f[2])  # evaluating the model in the callback
        assert all_close(e[3], f[3]) and all_close(e[4], f[4])
    # the callback saw trained weights, not the starting ones
    assert eager_seen[0][3] != eager_seen[-1][3]


def test_a_scheduler_and_a_callback_together():
    (eager, _), (fast, _) = both(lambda m: SGD(m, lr=0.2),
                                 scheduler=None)
    assert_same(eager, fast)
    outs = []
    for engine in ("eager", "compiled"):
        model = MLP(2, [4, 1], seed=1)
        opt = SGD(model, lr=0.1)
        history = train(model, DATA, 9, loss_fn=mse, optimizer=opt,
                        scheduler=StepLR(opt, step_size=3, gamma=0.5), engine=engine)
        outs.append(snapshot(model, opt, history))
    assert_same(*outs)


def test_an_optimiser_over_some_parameters_leaves_the_others_gradients_as_eager():
    """The parameters the optimiser does not own are not moved, and their .grad accumulates every
    step's gradient (nothing zeroes them), from whatever it held before - as eager leaves it."""
    def start(model):
        for k, p in enumerate(model.parameters()):
            p.grad = 0.25 * k  # stale gradients: the owned ones are zeroed, the others add up

    # (Adam divides by √v: a rounding-level difference of the matrix products' sums moves its
    # parameters by up to lr·δg/ε, so it agrees to 1e-10, as in test_training)
    for make, tol in ((lambda m: SGD(m.parameters()[:7], lr=0.1, momentum=0.5), 1e-12),
                      (lambda m: Adam(m.parameters()[4:], lr=0.05), 1e-10)):
        (eager, _), (fast, _) = both(make, before=start, loss_fn=mse)
        assert_same(eager, fast, tol)
        grads = eager[2]
        assert any(abs(g) > 1.0 for g in grads)  # the accumulated ones


def test_a_frozen_parameter_outside_the_optimiser_keeps_its_grad():
    frozen = []

    def start(model):
        p = model.parameters()[-1]  # (then no longer among parameters(): it is frozen)
        p.requires_grad = False
        p.grad = 0.5
        frozen.append(p)

    (eager, _), (fast, _) = both(lambda m: SGD(m.parameters()[:-1], lr=0.1), before=start)
    assert_same(eager, fast)
    assert [p.grad for p in frozen] == [0.5, 0.5]


@pytest.mark.parametrize("engine", ["eager", "compiled"])
def test_train_inside_no_grad_trains(engine):
    """train records its graph whatever the grad mode: inside no_grad() it trains, on either
    engine, exactly as outside."""
    histories = []
    for quiet in (False, True):
        model = MLP(2, [4, 1], seed=5)
        opt = SGD(model, lr=0.1)
        if quiet:
            with no_grad():
                history = train(model, DATA, 6, loss_fn=mse, optimizer=opt, engine=engine)
        else:
            history = train(model, DATA, 6, loss_fn=mse, optimizer=opt, engine=engine)
        histories.append(snapshot(model, opt, history))
    assert_same(*histories, tol=0.0)
    assert histories[1][0][0] != histories[1][0][-1]  # it did train


def test_without_numpy_the_callback_and_subset_semantics_hold(monkeypatch):
    eager_side = both(lambda m: SGD(m.parameters()[:5], lr=0.1))[0]
    monkeypatch.setattr(training, "_have_numpy", lambda: False)
    fast_side = both(lambda m: SGD(m.parameters()[:5], lr=0.1))[1]
    assert_same(eager_side[0], fast_side[0])
    for e, f in zip(eager_side[1], fast_side[1]):
        assert close(e[2], f[2]) and all_close(e[3], f[3]) and all_close(e[4], f[4])


# --- user ops -------------------------------------------------------------------------------------
def test_a_user_op_with_readable_rules_compiles():
    w = Value(0.5, label="w")
    root = square(w * 3.0) + w
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning
        fast = compile_graph(root, [w])
    assert fast.eager_reason is None
    assert "square_for_compile_tests" in str(fast.listing)
    assert "square_for_compile_tests" not in fast.source  # its rules written out
    root.backward()
    loss, (g,) = fast.forward_backward()
    assert (loss, g) == (root.data, w.grad)


def test_a_user_op_the_compiler_cannot_write_runs_eagerly_and_says_so():
    w = Value(0.5, label="w")
    root = hypot(w * 3.0)
    with pytest.warns(UserWarning, match="hypot_for_compile_tests.*math.hypot.*eager engine"):
        fast = compile_graph(root, [w])
    assert "hypot_for_compile_tests" in fast.eager_reason
    root.backward()
    assert fast.forward_backward() == (root.data, [w.grad])
    history = fast.train(3, 0.1, params=[0.5])
    v = Value(0.5)
    expected = []
    for _ in range(3):
        loss = hypot(v * 3.0)
        v.grad = 0.0
        loss.backward()
        expected.append(loss.data)
        v.data -= 0.1 * v.grad
    assert history == expected


def test_a_user_op_whose_source_cannot_be_read_runs_eagerly():
    op = define_op("unreadable_for_compile_tests", eval("lambda a: a * 2.0"),
                   eval("lambda a, out: (2.0,)"))
    w = Value(0.5)
    with pytest.warns(UserWarning, match="unreadable_for_compile_tests.*cannot be read"):
        fast = compile_graph(op(w), [w])
    assert fast.forward_backward() == (1.0, [2.0])


def user_loss(outputs, targets):
    return square(outputs[0] - targets[0])


def hypot_loss(outputs, targets):
    return hypot(outputs[0] - targets[0])


@pytest.mark.parametrize("loss_fn, warns", [(user_loss, False), (hypot_loss, True)])
def test_train_with_a_user_op_in_the_loss(loss_fn, warns):
    outs = []
    for engine in ("eager", "compiled"):
        model = MLP(2, [4, 1], seed=2)
        opt = SGD(model, lr=0.05)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = train(model, DATA, 5, loss_fn=loss_fn, optimizer=opt, engine=engine)
        assert any("eager engine" in str(w.message) for w in caught) is (warns and
                                                                          engine == "compiled")
        outs.append(snapshot(model, opt, history))
    assert_same(*outs)


def test_a_lowered_batch_with_a_user_op_matches_eager():
    pytest.importorskip("numpy")
    w = [Value(0.5), Value(-0.25)]
    losses = [square(w[0] * x + w[1]) for x in (1.0, 2.0, 3.0)]
    low = compile_batch(losses, w).lowered()
    total = Value.sum(losses) * (1.0 / 3)
    total.backward()
    loss, grads = low.forward_backward()
    assert close(loss, total.data) and all_close(grads, [p.grad for p in w])


# --- the optimisers' update rules: written once, the same bits on floats and on arrays -------------
def test_the_update_rules_give_the_same_bits_on_floats_and_arrays():
    """The compiled loop runs nn.optim's own rules on NumPy arrays; step() runs them on floats."""
    np = pytest.importorskip("numpy")
    import random

    from micrograd_mlp.nn.optim import adam_rule, decayed, sgd_rule

    rng = random.Random(0)
    p, g, m = ([rng.uniform(-3.0, 3.0) for _ in range(200)] for _ in range(3))
    v = [rng.uniform(0.0, 2.0) for _ in range(200)]
    P, G, M, V = map(np.array, (p, g, m, v))
    d = [decayed(a, b, 1e-3) for a, b in zip(g, p)]
    assert decayed(G, P, 1e-3).tolist() == d
    D = np.array(d)
    for mu in (0.0, 0.9):
        floats = [sgd_rule(*args, 0.05, mu) for args in zip(p, d, m)]
        arrays = sgd_rule(P, D, M, 0.05, mu)
        for j, part in enumerate(arrays):
            assert part.tolist() == [f[j] for f in floats]
    for t in (1, 2, 37):
        floats = [adam_rule(*args, t, 0.01, (0.9, 0.999), 1e-8) for args in zip(p, d, m, v)]
        arrays = adam_rule(P, D, M, V, t, 0.01, (0.9, 0.999), 1e-8, np.sqrt)
        for j, part in enumerate(arrays):
            assert part.tolist() == [f[j] for f in floats]
