"""SGD, Adam and the training loop."""

from __future__ import annotations

import io
import itertools
import math

import pytest

from micrograd_mlp import MLP, SGD, Adam, Value, article, train
from micrograd_mlp.nn.losses import mse
from micrograd_mlp.nn.training import evaluate


def test_sgd_is_w_minus_eta_g():
    p = [Value(1.0, label="a"), Value(-2.0, label="b")]
    p[0].grad, p[1].grad = 0.5, -4.0
    opt = SGD(p, lr=0.1)
    opt.step()
    assert [v.data for v in p] == [1.0 - 0.1 * 0.5, -2.0 - 0.1 * -4.0]
    opt.zero_grad()
    assert [v.grad for v in p] == [0.0, 0.0]


def test_sgd_momentum_two_steps():
    p = Value(0.0)
    opt = SGD([p], lr=0.5, momentum=0.9)
    p.grad = 1.0
    opt.step()  # v = 1
    p.grad = 2.0
    opt.step()  # v = 0.9 + 2 = 2.9
    assert p.data == pytest.approx(-0.5 * 1.0 - 0.5 * 2.9, abs=1e-15)


def test_adam_first_steps_against_the_formulas():
    p = Value(1.0)
    opt = Adam([p], lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    p.grad = 3.0
    opt.step()
    # bias-corrected m̂ = g, v̂ = g², so the first step is lr · g/(|g| + ε)
    assert p.data == pytest.approx(1.0 - 0.01 * 3.0 / (3.0 + 1e-8), abs=1e-15)
    p.grad = -1.0
    opt.step()
    m = 0.9 * (0.1 * 3.0) + 0.1 * -1.0
    v = 0.999 * (0.001 * 9.0) + 0.001 * 1.0
    mhat, vhat = m / (1 - 0.9 ** 2), v / (1 - 0.999 ** 2)
    expected = 1.0 - 0.01 * 3.0 / (3.0 + 1e-8) - 0.01 * mhat / (math.sqrt(vhat) + 1e-8)
    assert p.data == pytest.approx(expected, abs=1e-15)


def test_adam_minimises_a_quadratic():
    x = Value(5.0, label="x")
    opt = Adam([x], lr=0.1)
    for _ in range(500):
        loss = (x - 2.0) ** 2
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert x.data == pytest.approx(2.0, abs=1e-3)


def test_non_finite_gradient_is_refused_and_nothing_moves():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    for opt in (SGD([a, b], lr=0.1), Adam([a, b])):
        a.grad, b.grad = 1.0, float("nan")
        with pytest.raises(ValueError, match="gradient of parameter b is not finite"):
            opt.step()
        assert (a.data, b.data) == (1.0, 2.0)


@pytest.mark.parametrize("make, message", [
    (lambda p: SGD(p, lr=0), "lr must be positive, got 0.0"),
    (lambda p: SGD(p, lr=float("inf")), "lr must be finite, got inf"),
    (lambda p: SGD(p, lr=0.1, momentum=1.0), "momentum must be < 1"),
    (lambda p: SGD(p, lr=0.1, momentum=-0.1), "momentum must be at least 0"),
    (lambda p: Adam(p, betas=(0.9, 1.0)), r"betas\[1\] must be < 1"),
    (lambda p: Adam(p, eps=0), "eps must be positive"),
    (lambda p: SGD([], lr=0.1), "empty parameter list"),
])
def test_bad_optimizer_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make([Value(1.0)])
    with pytest.raises(TypeError, match="parameter 0 must be a Value"):
        SGD([1.0])


def test_optimizer_takes_a_module_and_skips_frozen_biases():
    m = article.network()
    opt = SGD(m, lr=0.5)
    assert len(opt.params) == 8 and all(v.label.startswith("w") for v in opt.params)


def test_train_history_and_progress():
    m = article.network()
    stream = io.StringIO()
    h = train(m, [(article.INPUTS, article.TARGETS)], steps=40, lr=0.5, progress=True,
              every=10, stream=stream)
    assert len(h) == 40 and round(h[0], 9) == 0.298371109
    assert all(b < a for a, b in itertools.pairwise(h))
    assert evaluate(m, [(article.INPUTS, article.TARGETS)]) < h[-1]  # after the 40th update
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4 and lines[-1].startswith("step 40/40  loss")
    seen = []
    train(m, [(article.INPUTS, article.TARGETS)], steps=3, progress=lambda k, loss: seen.append(k))
    assert seen == [1, 2, 3]


def test_train_learns_xor_with_adam():
    data = [([0.0, 0.0], [0.0]), ([0.0, 1.0], [1.0]), ([1.0, 0.0], [1.0]), ([1.0, 1.0], [0.0])]
    m = MLP(2, [4, 1], hidden_activation="tanh", output_activation="sigmoid", seed=0)
    h = train(m, data, steps=300, optimizer=Adam(m, lr=0.05), loss_fn=mse)
    assert h[-1] < 0.02 < h[0]
    assert evaluate(m, data, loss_fn=mse) < 0.02


def test_train_bad_arguments():
    m = article.network()
    with pytest.raises(ValueError, match="data is empty"):
        train(m, [], steps=1)
    with pytest.raises(ValueError, match="train: steps must be at least 0, got -1"):
        train(m, [(article.INPUTS, article.TARGETS)], steps=-1)
    with pytest.raises(ValueError, match="train: reduction must be one of 'mean', 'sum'; got str: 'max'"):
        train(m, [(article.INPUTS, article.TARGETS)], reduction="max")


def test_adam_refuses_a_gradient_whose_square_overflows_and_changes_nothing():
    from micrograd_mlp import Value
    from micrograd_mlp.nn.optim import Adam

    w, u = Value(1.0, label="w"), Value(2.0, label="u")
    opt = Adam([w, u], lr=0.1)
    w.grad, u.grad = 1e200, 1.0  # finite, but g·g overflows
    with pytest.raises(ValueError, match=r"Adam: second-moment estimate of parameter w overflowed"):
        opt.step()
    assert (w.data, u.data, opt.steps) == (1.0, 2.0, 0)
    w.grad = 1.0
    opt.step()  # the optimiser's state was not touched by the refused step
    assert opt.steps == 1 and w.data < 1.0 and u.data < 2.0


# --- weight decay, frozen parameters and schedules: hand-derived and against torch.optim ------
from micrograd_mlp.nn.optim import ExponentialLR, LambdaLR, LinearLR, StepLR  # noqa: E402


def test_sgd_weight_decay_and_momentum_by_hand():
    p = Value(1.0)
    opt = SGD([p], lr=0.5, momentum=0.9, weight_decay=0.1)
    p.grad = 1.0
    opt.step()  # g = 1 + 0.1·1 = 1.1, v = 1.1, p = 1 − 0.55 = 0.45
    assert p.data == 1.0 - 0.5 * 1.1
    p.grad = 2.0
    opt.step()  # g = 2 + 0.045, v = 0.9·1.1 + 2.045
    assert p.data == 0.45 - 0.5 * (0.9 * 1.1 + (2.0 + 0.1 * 0.45))


def test_adam_weight_decay_by_hand():
    p = Value(2.0)
    opt = Adam([p], lr=0.1, betas=(0.5, 0.75), eps=1e-8, weight_decay=0.5)
    p.grad = 1.0
    opt.step()  # g = 1 + 0.5·2 = 2; m̂ = 2, v̂ = 4: p = 2 − 0.1·2/(2 + 1e-8)
    assert p.data == pytest.approx(2.0 - 0.1 * 2.0 / (2.0 + 1e-8), abs=1e-15)


def test_frozen_parameters_are_skipped_by_every_optimizer():
    for make in (lambda ps: SGD(ps, lr=0.1), lambda ps: SGD(ps, lr=0.1, momentum=0.5),
                 lambda ps: SGD(ps, lr=0.1, weight_decay=0.1), lambda ps: Adam(ps, lr=0.1)):
        a, b = Value(1.0, label="a"), Value(2.0, label="b", requires_grad=False)
        a.grad, b.grad = 1.0, float("nan")  # a frozen parameter's gradient is not even read
        opt = make([a, b])
        opt.step()
        assert b.data == 2.0 and a.data < 1.0
        b.requires_grad = True  # unfrozen: it moves from now on
        b.grad = 1.0
        opt.step()
        assert b.data < 2.0


def test_adam_counts_each_parameters_own_steps():
    a, b = Value(1.0), Value(1.0, requires_grad=False)
    opt = Adam([a, b], lr=0.1)
    a.grad = 1.0
    opt.step()
    b.requires_grad, b.grad = True, 1.0
    opt.step()  # b's first step: bias-corrected m̂ = g, v̂ = g², a step of exactly lr·g/(|g| + ε)
    assert b.data == pytest.approx(1.0 - 0.1 / (1.0 + 1e-8), abs=1e-15)


def test_schedules_by_hand():
    def opt():
        return SGD([Value(0.0)], lr=2.0)

    def rates(sched, n=7):
        out = []
        for _ in range(n):
            out.append(sched.get_last_lr()[0])
            sched.optimizer.step()
            sched.step()
        return out

    assert rates(StepLR(opt(), step_size=3, gamma=0.5)) == [2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 0.5]
    assert rates(ExponentialLR(opt(), gamma=0.5), 4) == [2.0, 1.0, 0.5, 0.25]
    assert rates(LambdaLR(opt(), lambda k: 1 / (k + 1)), 3) == [2.0, 1.0, 2.0 / 3]
    assert rates(LinearLR(opt(), start_factor=0.5, end_factor=1.0, total_iters=2), 4) == [
        1.0, 1.5, 2.0, 2.0]


def test_micrograd_demo_decay_is_linear_lr_bit_for_bit():
    sched = LinearLR(SGD([Value(0.0)], lr=1.0), start_factor=1.0, end_factor=0.1, total_iters=100)
    for k in range(100):
        assert sched.optimizer.lr == 1.0 - 0.9 * k / 100
        sched.step()


def test_schedule_refusals_change_nothing():
    o = SGD([Value(0.0)], lr=1.0)
    sched = LambdaLR(o, lambda k: 1.0 if k < 2 else -1.0)
    sched.step()
    with pytest.raises(ValueError, match="learning rate -1.0 at step 2"):
        sched.step()
    assert (o.lr, sched.last_epoch) == (1.0, 1)
    with pytest.raises(TypeError, match="optimizer must be an Optimizer"):
        StepLR(object(), 1)
    with pytest.raises(ValueError, match="step_size must be at least 1"):
        StepLR(o, 0)
    with pytest.raises(ValueError, match="start_factor and end_factor must be at most 1"):
        LinearLR(o, start_factor=2.0)
    with pytest.raises(ValueError, match="weight_decay must be at least 0"):
        SGD([Value(0.0)], weight_decay=-1.0)


def _torch_trajectory(torch, make_opt, make_sched, grads_of, steps, start):
    w = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = make_opt([w])
    sched = make_sched(opt) if make_sched else None
    out = []
    for k in range(steps):
        opt.zero_grad()
        w.grad = torch.tensor(grads_of(k, w.detach().tolist()), dtype=torch.float64)
        opt.step()
        if sched:
            sched.step()
        out.append(w.detach().tolist())
    return out


def _our_trajectory(make_opt, make_sched, grads_of, steps, start):
    ps = [Value(x) for x in start]
    opt = make_opt(ps)
    sched = make_sched(opt) if make_sched else None
    out = []
    for k in range(steps):
        for p, g in zip(ps, grads_of(k, [p.data for p in ps])):
            p.grad = g
        opt.step()
        if sched:
            sched.step()
        out.append([p.data for p in ps])
    return out


def _grads(k, w):  # a gradient that depends on the point and the step (a non-trivial path)
    return [math.sin(3 * x + k) + 0.5 * x for x in w]


@pytest.mark.parametrize("case", ["sgd", "sgd_momentum_wd", "adam", "adam_wd", "step", "exp",
                                  "linear", "lambda"])
def test_optimizers_and_schedules_match_torch(case):
    torch = pytest.importorskip("torch")
    T, S = torch.optim, torch.optim.lr_scheduler
    ours = {
        "sgd": (lambda p: SGD(p, lr=0.1), None),
        "sgd_momentum_wd": (lambda p: SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01), None),
        "adam": (lambda p: Adam(p, lr=0.01), None),
        "adam_wd": (lambda p: Adam(p, lr=0.02, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1),
                    None),
        "step": (lambda p: SGD(p, lr=0.1, momentum=0.5), lambda o: StepLR(o, 4, gamma=0.5)),
        "exp": (lambda p: Adam(p, lr=0.05), lambda o: ExponentialLR(o, 0.9)),
        "linear": (lambda p: SGD(p, lr=1.0), lambda o: LinearLR(o, 1.0, 0.1, 20)),
        "lambda": (lambda p: SGD(p, lr=0.3), lambda o: LambdaLR(o, lambda k: 1 / (1 + k))),
    }[case]
    theirs = {
        "sgd": (lambda p: T.SGD(p, lr=0.1), None),
        "sgd_momentum_wd": (lambda p: T.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01), None),
        "adam": (lambda p: T.Adam(p, lr=0.01), None),
        "adam_wd": (lambda p: T.Adam(p, lr=0.02, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1),
                    None),
        "step": (lambda p: T.SGD(p, lr=0.1, momentum=0.5), lambda o: S.StepLR(o, 4, gamma=0.5)),
        "exp": (lambda p: T.Adam(p, lr=0.05), lambda o: S.ExponentialLR(o, 0.9)),
        "linear": (lambda p: T.SGD(p, lr=1.0), lambda o: S.LinearLR(o, 1.0, 0.1, 20)),
        "lambda": (lambda p: T.SGD(p, lr=0.3), lambda o: S.LambdaLR(o, lambda k: 1 / (1 + k))),
    }[case]
    start = [0.7, -1.3, 2.1]
    a = _our_trajectory(*ours, _grads, 30, start)
    b = _torch_trajectory(torch, *theirs, _grads, 30, start)
    for k, (x, y) in enumerate(zip(a, b)):
        assert x == pytest.approx(y, rel=1e-12, abs=1e-14), f"step {k}"


# --- the eager loop pauses the cyclic collector for each step (issue 15) --------------------------
def test_train_pauses_the_collector_per_step_and_restores_it_even_on_error():
    import gc

    from micrograd_mlp.nn import MLP, mse, train

    seen = []

    def loss_fn(out, t):
        seen.append(gc.isenabled())
        return mse(out, t)

    model = MLP(2, [2, 1], seed=0)
    data = [([0.1, 0.2], [0.3]), ([0.5, -0.5], [0.0])]
    assert gc.isenabled()
    train(model, data, 3, loss_fn=loss_fn)
    assert seen == [False] * 6 and gc.isenabled()  # off in every step, on again after

    def failing(out, t):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        train(model, data, 3, loss_fn=failing)
    assert gc.isenabled()
    gc.disable()  # a caller who turned it off keeps it off
    try:
        train(model, data, 1, loss_fn=loss_fn)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_steps_of_two_threads_keep_the_collector_paused_until_both_end():
    """A enters a step, B enters, A leaves, B leaves: B's step stays paused after A's ends, and
    the collector is on once both are done."""
    import gc
    import threading

    from micrograd_mlp.nn import MLP, mse, train

    a_inside, b_inside = threading.Event(), threading.Event()
    after_a = []

    def a_loss(out, t):
        a_inside.set()
        b_inside.wait(5)
        return mse(out, t)

    data = [([0.1, 0.2], [0.3])]
    a = threading.Thread(target=train, args=(MLP(2, [1], seed=0), data, 1),
                         kwargs={"loss_fn": a_loss})

    def b_loss(out, t):
        b_inside.set()
        a.join(5)  # A's step (and its train) ends while B's step is running
        after_a.append(gc.isenabled())
        return mse(out, t)

    a.start()
    a_inside.wait(5)
    train(MLP(2, [1], seed=1), data, 1, loss_fn=b_loss)
    assert after_a == [False] and gc.isenabled()
