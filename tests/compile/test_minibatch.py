"""Mini-batches and cross-entropy on the compiled engine, against EAGER (never against itself): the
per-step and per-epoch losses, every parameter's .data and .grad, the optimiser's state and what a
callback sees, on the shuffled batches of plan_batches (the last one shorter)."""

from __future__ import annotations

import inspect
import io
import random

import pytest

from micrograd_mlp.compile import minibatch, training
from micrograd_mlp.compile.training import choose_engine, train
from micrograd_mlp.core import no_grad
from micrograd_mlp.nn import MLP, evaluate
from micrograd_mlp.nn import training as eager_training
from micrograd_mlp.nn.losses import binary_cross_entropy, cross_entropy, hinge, mse
from micrograd_mlp.nn.optim import SGD, Adam, StepLR

from .support import all_close, close

pytest.importorskip("numpy")
if "epochs" not in inspect.signature(eager_training.train).parameters:  # pragma: no cover
    pytest.skip("the eager loop has no mini-batches yet", allow_module_level=True)

_rng = random.Random(5)
X = [[_rng.uniform(-1.0, 1.0) for _ in range(4)] for _ in range(23)]
CLASSES = [_rng.randrange(3) for _ in X]
INDEX = list(zip(X, CLASSES))
ONE_HOT = [(x, [1.0 if k == t else 0.0 for k in range(3)]) for x, t in INDEX]
SOFT = [(x, [0.2, 0.5, 0.3] if t else [0.0, 0.25, 0.75]) for x, t in INDEX]
PLAN = dict(epochs=3, batch_size=5, seed=4)  # 5 batches an epoch, the last of 3

OPTIMISERS = {
    "sgd": lambda params: SGD(params, lr=0.1),
    "momentum": lambda params: SGD(params, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "adam": lambda params: Adam(params, lr=0.02),
}


def make_model(activation="tanh", outputs=3, output_activation="linear"):
    return MLP(4, [5, outputs], hidden_activation=activation,
               output_activation=output_activation, seed=2)


def run(engine, data=INDEX, loss_fn=cross_entropy, make_opt=OPTIMISERS["adam"], *,
        model=None, subset=None, before=None, scheduler=None, wrap=None, **kw):
    """Train on ``engine``; the history, each parameter's data and grad, the optimiser's state
    and what a callback saw after each step (the loss, the model's loss on all the data, the
    weights)."""
    model = model if model is not None else make_model()
    if before is not None:
        before(model)
    params = model.parameters()
    opt = make_opt(params if subset is None else params[subset])
    sched = scheduler(opt) if scheduler is not None else None
    seen = []

    def callback(k, loss):
        seen.append((k, loss, evaluate(model, data, loss_fn), [p.data for p in params],
                     [p.grad for p in params], opt.steps, opt.lr))

    def go():
        return train(model, data, loss_fn=loss_fn, optimizer=opt, progress=callback,
                     scheduler=sched, engine=engine, **{**PLAN, **kw})

    if wrap is not None:
        with wrap():
            history = go()
    else:
        history = go()
    state = {k: v for k, v in vars(opt).items() if k.startswith("_") or k in ("lr", "steps")}
    return (list(history), history.epoch_losses, history.steps_per_epoch,
            [p.data for p in params], [p.grad for p in params], state, seen)


def assert_same(eager, fast, tol=1e-12):
    (he, ee, se, pe, ge, ste, seen_e), (hf, ef, sf, pf, gf, stf, seen_f) = eager, fast
    assert len(he) == len(hf) > 0 and se == sf
    assert all_close(he, hf, tol) and all_close(ee, ef, tol)
    assert all_close(pe, pf, tol) and all_close(ge, gf, tol)
    assert ste.keys() == stf.keys()
    for key in ste:
        if isinstance(ste[key], list):
            assert all_close(ste[key], stf[key], tol), key
        else:
            assert ste[key] == stf[key], key
    assert len(seen_e) == len(seen_f) == len(he)
    for a, b in zip(seen_e, seen_f):
        assert a[0] == b[0] and a[5] == b[5] and close(a[6], b[6])
        assert close(a[1], b[1], tol) and close(a[2], b[2], tol)
        assert all_close(a[3], b[3], tol) and all_close(a[4], b[4], tol)


@pytest.mark.parametrize("data", [INDEX, ONE_HOT, SOFT], ids=["index", "one-hot", "soft"])
@pytest.mark.parametrize("name", list(OPTIMISERS))
def test_cross_entropy_in_mini_batches_is_eagers(data, name):
    assert_same(run("eager", data, make_opt=OPTIMISERS[name]),
                run("compiled", data, make_opt=OPTIMISERS[name]))


@pytest.mark.parametrize("kw", [dict(batch_size=1), dict(batch_size=None), dict(shuffle=False),
                                dict(epochs=None, batch_size=None, seed=0, steps=6)],
                         ids=["batch 1", "full batch epochs", "in order", "steps"])
def test_the_other_forms_of_the_plan(kw):
    assert_same(run("eager", **kw), run("compiled", **kw))


@pytest.mark.parametrize("loss_fn,data,out", [
    (mse, [(x, [t / 2.0, 1.0 - t / 2.0]) for x, t in INDEX], "linear"),
    (hinge, [(x, [1.0 if t else -1.0]) for x, t in INDEX], "tanh"),
    (binary_cross_entropy, [(x, [float(t == 1)]) for x, t in INDEX], "sigmoid")])
def test_the_losses_of_LOSSES_in_mini_batches(loss_fn, data, out):
    outputs = len(data[0][1])

    def model():
        return make_model("relu", outputs, out)

    for name in ("momentum", "adam"):
        assert_same(run("eager", data, loss_fn, OPTIMISERS[name], model=model()),
                    run("compiled", data, loss_fn, OPTIMISERS[name], model=model()))


def test_logits_of_a_thousand(monkeypatch):
    """Logits of ±1000 (the output layer's weights scaled up): cross_entropy's shift by the
    largest logit, done per batch as the engine does it - the losses are ~2000, exact, and no
    step left to the eager engine."""
    def huge(model):
        for p in model.layers[-1].parameters():
            p.data *= 400.0

    def refused(self):
        raise AssertionError("a step was refused")

    eager = run("eager", before=huge, make_opt=OPTIMISERS["sgd"], epochs=1)
    monkeypatch.setattr(minibatch.Minibatches, "eager_step", refused)
    fast = run("compiled", before=huge, make_opt=OPTIMISERS["sgd"], epochs=1)
    assert max(eager[0]) > 500.0
    assert_same(eager, fast)


def test_a_frozen_parameter_and_an_optimiser_over_some_parameters():
    def freeze(model):
        model.parameters()[3].requires_grad = False
        model.layers[-1].neurons[1].bias.requires_grad = False

    for name in ("momentum", "adam"):
        assert_same(run("eager", make_opt=OPTIMISERS[name], before=freeze),
                    run("compiled", make_opt=OPTIMISERS[name], before=freeze))
        # the others' .grad accumulates over the steps, as after eager training
        eager = run("eager", make_opt=OPTIMISERS[name], subset=slice(10, None))
        assert any(g != 0.0 for g in eager[4][:10])
        assert_same(eager, run("compiled", make_opt=OPTIMISERS[name], subset=slice(10, None)))


def test_inside_no_grad_and_with_a_scheduler():
    def schedule(opt):
        return StepLR(opt, step_size=4, gamma=0.5)

    assert_same(run("eager", wrap=no_grad, scheduler=schedule),
                run("compiled", wrap=no_grad, scheduler=schedule))


def test_printed_progress_is_eagers():
    out = []
    for engine in ("eager", "compiled"):
        stream = io.StringIO()
        train(make_model(), INDEX, loss_fn=cross_entropy, progress=True, stream=stream,
              engine=engine, **PLAN)
        out.append([line.rsplit("(", 1)[0] for line in stream.getvalue().splitlines()])
    assert out[0] == out[1] and len(out[0]) == 3 and out[0][0].startswith("epoch 1/3")


def test_one_program_per_batch_size(monkeypatch):
    made = []
    real = minibatch.lowered_code

    def counting(np, functions, names, n):
        made.append(n)
        return real(np, functions, names, n)

    monkeypatch.setattr(minibatch, "lowered_code", counting)
    history = train(make_model(), INDEX, loss_fn=cross_entropy, engine="compiled", **PLAN)
    assert len(history) == 15 and sorted(made) == [3, 5]


def test_a_refused_step_is_eagers_own():
    """A step whose values overflow: the eager loop's step runs it - its error, the same state."""
    outcomes = []
    for engine in ("eager", "compiled"):
        model = make_model("relu")
        opt = SGD(model, lr=1e300)
        with pytest.raises((ValueError, ArithmeticError)) as info:
            train(model, INDEX, loss_fn=cross_entropy, optimizer=opt, engine=engine, **PLAN)
        outcomes.append((type(info.value), str(info.value), opt.steps,
                         [p.data for p in model.parameters()],
                         [p.grad for p in model.parameters()]))
    assert outcomes[0][:3] == outcomes[1][:3]
    assert all_close(outcomes[0][3], outcomes[1][3]) and all_close(outcomes[0][4], outcomes[1][4])


def test_auto_and_the_refusals():
    model = make_model()
    assert choose_engine(model, cross_entropy, None, 15, "auto", batched=True) == "compiled"
    assert choose_engine(model, cross_entropy, None, 2, "auto", batched=True) == "eager"

    def my_loss(outputs, target):
        return cross_entropy(outputs, target)

    assert choose_engine(model, my_loss, None, 15, "auto", batched=True) == "eager"
    with pytest.raises(ValueError, match="LOSSES and cross_entropy"):
        train(model, INDEX, loss_fn=my_loss, engine="compiled", **PLAN)
    with pytest.raises(ValueError, match="micrograd_mlp.nn"):
        train(lambda x: model(x), INDEX, loss_fn=cross_entropy, optimizer=SGD(model, lr=0.1),
              engine="compiled", **PLAN)
    before = [p.data for p in model.parameters()]
    # auto: what the compiled engine cannot run trains eagerly (the same numbers)
    assert_same(run("eager", loss_fn=my_loss), run("auto", loss_fn=my_loss))
    assert [p.data for p in model.parameters()] == before


@pytest.mark.parametrize("bad", [3, -1, [0.5, 0.6, 0.1], "two"])
def test_a_bad_target_is_refused_as_eager_refuses_it(bad):
    data = [*INDEX[:7], (X[7], bad), *INDEX[8:]]
    errors = []
    for engine in ("eager", "compiled"):
        model = make_model()
        before = [p.data for p in model.parameters()]
        with pytest.raises((TypeError, ValueError)) as info:
            train(model, data, loss_fn=cross_entropy, engine=engine, shuffle=False, epochs=1,
                  batch_size=23)
        assert [p.data for p in model.parameters()] == before
        errors.append(info.value)
    # both engines check every sample before the first update: the same error, naming the sample
    assert (type(errors[0]), str(errors[0])) == (type(errors[1]), str(errors[1]))
    assert str(errors[0]).startswith("train: data[7]: ")


def test_the_new_arguments_are_checked_as_eager_checks_them():
    for kw in (dict(steps=3, epochs=2), dict(batch_size=4), dict(epochs=1, batch_size=0)):
        errors = []
        for engine in ("eager", "compiled"):
            with pytest.raises((TypeError, ValueError)) as info:
                train(make_model(), INDEX, loss_fn=cross_entropy, engine=engine, **kw)
            errors.append((type(info.value), str(info.value)))
        assert errors[0] == errors[1]


def test_without_numpy_mini_batches_train_eagerly(monkeypatch):
    monkeypatch.setattr(training, "_have_numpy", lambda: False)
    assert choose_engine(make_model(), mse, None, 15, "auto", batched=True) == "eager"
    with pytest.raises(ValueError, match="NumPy"):
        train(make_model(), INDEX, loss_fn=cross_entropy, engine="compiled", **PLAN)
    assert_same(run("eager"), run("auto"))


def test_a_refused_step_that_eager_takes(monkeypatch):
    """An output's sum of 1.5e308 (tanh takes it to 1) over a batch overflows the code's quick
    check: the step is refused, and the eager loop's own step takes it - with an optimiser over
    some of the parameters, whose others' .grad goes on accumulating."""
    data = [(x, [0.5, t / 2.0]) for x, t in INDEX]
    refused = []
    real = minibatch.Minibatches.eager_step

    def counting(self):
        refused.append(self.step)
        return real(self)

    def huge(model):
        model.layers[-1].neurons[0].bias.data = 1.5e308

    def run_huge(engine):
        return run(engine, data, mse, OPTIMISERS["momentum"], model=make_model("relu", 2, "tanh"),
                   before=huge, subset=slice(0, 15))

    eager = run_huge("eager")
    monkeypatch.setattr(minibatch.Minibatches, "eager_step", counting)
    fast = run_huge("compiled")
    assert_same(eager, fast)
    assert len(refused) == 15 and any(g != 0.0 for g in fast[4][15:])


@pytest.mark.parametrize("n", [5, 100])
def test_the_row_helpers_of_the_head(n):
    """rowmax (by columns past 64 rows) is each row's max exactly; rowsum each row's sum."""
    np = pytest.importorskip("numpy")
    from micrograd_mlp.compile.graph import array_helpers

    helpers = array_helpers(np, n)
    rowmax, rowsum = helpers["rowmax"], helpers["rowsum"]
    a = np.random.default_rng(n).normal(0.0, 1e3, (n, 7))
    assert rowmax(a).tobytes() == a.max(1, keepdims=True).tobytes()
    assert np.allclose(rowsum(a), a.sum(1), rtol=1e-13, atol=1e-9)
