"""train(engine=...): the compiled loop follows the eager loop's trajectory, for every optimiser."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import micrograd_mlp
from micrograd_mlp import MLP
from micrograd_mlp.compile import training
from micrograd_mlp.compile.training import choose_engine, train
from micrograd_mlp.nn import binary_cross_entropy, hinge, mse
from micrograd_mlp.nn.datasets import moons
from micrograd_mlp.nn.optim import SGD, Adam, ExponentialLR, StepLR

from .support import all_close

X, Y = moons(40, noise=0.1, seed=3, labels=(-1.0, 1.0))
DATA = [(x, [y]) for x, y in zip(X, Y)]

OPTIMISERS = {
    "sgd": lambda m: SGD(m, lr=0.05),
    "momentum": lambda m: SGD(m, lr=0.05, momentum=0.9),
    "weight decay": lambda m: SGD(m, lr=0.05, weight_decay=1e-2),
    "momentum + weight decay": lambda m: SGD(m, lr=0.02, momentum=0.5, weight_decay=1e-3),
    "adam": lambda m: Adam(m, lr=0.01),
    "adam + weight decay": lambda m: Adam(m, lr=0.01, betas=(0.8, 0.99), weight_decay=1e-3),
}


def run(engine, make_opt, *, schedule=None, layers=(8, 8, 1), activation="relu",
        loss_fn=hinge, steps=30, data=DATA, freeze=None):
    model = MLP(2, list(layers), hidden_activation=activation, output_activation="linear",
                seed=4)
    frozen = model.parameters()[freeze] if freeze is not None else None
    if frozen is not None:
        frozen.requires_grad = False
        start = frozen.data
    opt = make_opt(model)
    scheduler = schedule(opt) if schedule else None
    history = train(model, data, steps, loss_fn=loss_fn, optimizer=opt, scheduler=scheduler,
                    engine=engine)
    params = model.parameters()
    state = {k: v for k, v in vars(opt).items() if k.startswith("_") or k in ("lr", "steps")}
    if frozen is not None:
        assert frozen.data == start and frozen.grad == 0.0  # not moved, no gradient
    return history, [p.data for p in params], [p.grad for p in params], state


def same(a, b, tol=1e-12):
    """The same history (1e-12), parameters, gradients and optimiser state (``tol``)."""
    (ha, pa, ga, sa), (hb, pb, gb, sb) = a, b
    assert all_close(ha, hb) and all_close(pa, pb, tol) and all_close(ga, gb, tol)
    assert sa.keys() == sb.keys()
    for key in sa:
        va, vb = sa[key], sb[key]
        if isinstance(va, list):
            assert all_close(va, vb, tol), key
        else:
            assert va == vb, key


@pytest.mark.parametrize("name", OPTIMISERS)
def test_every_optimiser_follows_the_eager_trajectory(name):
    same(run("eager", OPTIMISERS[name]), run("compiled", OPTIMISERS[name]))


@pytest.mark.parametrize("schedule", [lambda o: ExponentialLR(o, 0.95),
                                      lambda o: StepLR(o, step_size=7, gamma=0.5)])
def test_learning_rate_schedules(schedule):
    make = OPTIMISERS["momentum"]
    same(run("eager", make, schedule=schedule), run("compiled", make, schedule=schedule))


def test_the_demo_recipe_with_a_decaying_rate():
    """micrograd's demo: 2-16-16-1 ReLU, SVM max-margin loss, lr 1.0 − 0.9·k/100 (a LambdaLR)."""
    from micrograd_mlp.nn.optim import LambdaLR

    X100, Y100 = moons(100, noise=0.1, seed=1, labels=(-1.0, 1.0))
    data = [(x, [y]) for x, y in zip(X100, Y100)]

    def schedule(opt):
        return LambdaLR(opt, lambda k: 1.0 - 0.9 * k / 100)

    kw = dict(schedule=schedule, layers=(16, 16, 1), steps=100, data=data)
    same(run("eager", lambda m: SGD(m, lr=1.0, weight_decay=2e-4), **kw),
         run("compiled", lambda m: SGD(m, lr=1.0, weight_decay=2e-4), **kw))


def test_frozen_parameters_stay_put_in_both_engines():
    for make in (OPTIMISERS["momentum + weight decay"], OPTIMISERS["adam + weight decay"]):
        same(run("eager", make, freeze=3), run("compiled", make, freeze=3))
        same(run("eager", make, freeze=0), run("compiled", make, freeze=0))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["sigmoid", "tanh", "relu"]), st.lists(st.integers(1, 5), min_size=1,
                                                                max_size=2),
       st.sampled_from(list(OPTIMISERS)), st.sampled_from([mse, hinge]))
def test_drawn_models_and_losses(activation, hidden, name, loss_fn):
    kw = dict(layers=(*hidden, 1), activation=activation, loss_fn=loss_fn, steps=8)
    # Adam divides by √v: where a gradient is a rounding-level residue (terms that cancel, summed
    # in another order by the matrix products) it takes a step of up to lr·δg/ε, so its parameters
    # and state agree to 1e-10, not 1e-12 (hypothesis found relu [1, 5], hinge: 5e-12)
    same(run("eager", OPTIMISERS[name], **kw), run("compiled", OPTIMISERS[name], **kw),
         tol=1e-10 if "adam" in name else 1e-12)


def test_without_numpy_the_scalar_code_runs(monkeypatch):
    monkeypatch.setattr(training, "_have_numpy", lambda: False)
    for name in ("momentum + weight decay", "adam"):
        same(run("eager", OPTIMISERS[name]), run("compiled", OPTIMISERS[name]))


def test_a_refused_step_raises_the_eager_error_and_changes_nothing():
    def huge(m):
        return SGD(m, lr=1e300)

    outcomes = []
    for engine in ("eager", "compiled"):
        model = MLP(2, [4, 1], hidden_activation="relu", output_activation="linear", seed=4)
        with pytest.raises((ValueError, ArithmeticError)) as info:
            train(model, DATA, 20, loss_fn=mse, optimizer=huge(model), engine=engine)
        outcomes.append((type(info.value), str(info.value), [p.data for p in model.parameters()]))
    assert outcomes[0][:2] == outcomes[1][:2] and all_close(outcomes[0][2], outcomes[1][2])


def test_auto_picks_compiled_only_where_it_is_exact():
    model = MLP(2, [4, 1], seed=0)
    assert choose_engine(model, mse, None, 100) == "eager"  # the default
    assert choose_engine(model, mse, None, 100, engine="auto") == "compiled"
    assert choose_engine(model, mse, SGD(model, lr=0.1), 2, "auto") == "eager"  # too few steps

    def my_loss(outputs, targets):
        return mse(outputs, targets)

    class Custom(SGD):
        pass

    assert choose_engine(model, my_loss, None, 100, "auto") == "eager"
    assert choose_engine(model, mse, Custom(model, lr=0.1), 100, "auto") == "eager"
    assert choose_engine(lambda x: model(x), mse, None, 100, "auto") == "eager"
    assert choose_engine(model, mse, None, 100, engine="eager") == "eager"
    with pytest.raises(ValueError, match="engine"):
        choose_engine(model, mse, None, 100, engine="fast")
    with pytest.raises(ValueError, match="SGD and Adam"):
        train(model, DATA, 5, loss_fn=mse, optimizer=Custom(model, lr=0.1), engine="compiled")


def test_eager_is_the_default(monkeypatch):
    """Nothing is compiled unless asked for: the default engine never reaches the compiler."""
    def refuse(*args, **kwargs):
        raise AssertionError("compiled without engine='compiled'")

    monkeypatch.setattr(training, "compile_model", refuse)
    model_a, model_b = (MLP(2, [4, 1], hidden_activation="tanh", seed=2) for _ in range(2))
    data = [(x, [(y + 1.0) / 2]) for x, (y,) in DATA]
    a = train(model_a, data, 10, loss_fn=binary_cross_entropy, optimizer=Adam(model_a, lr=0.05))
    b = micrograd_mlp.nn.train(model_b, data, 10, loss_fn=binary_cross_entropy,
                               optimizer=Adam(model_b, lr=0.05))
    assert a == b


def test_progress_lines_match():
    streams = []
    for engine in ("eager", "compiled"):
        model = MLP(2, [4, 1], seed=0)
        stream = io.StringIO()
        train(model, DATA, 10, loss_fn=mse, progress=True, every=5, stream=stream,
              engine=engine)
        streams.append([line.split("(")[0] for line in stream.getvalue().splitlines()])
    assert streams[0] == streams[1] and len(streams[0]) == 2


def test_the_cli_engine_option(capsys):
    from micrograd_mlp.cli.main import main

    outputs = []
    for engine in ("eager", "compiled"):
        assert main(["train", "--dataset", "moons", "--steps", "20", "--samples", "30",
                     "--engine", engine, "--no-progress"]) == 0
        out = capsys.readouterr().out
        outputs.append([line for line in out.splitlines() if "loss" in line and "s)" not in line])
    assert outputs[0] == outputs[1] and len(outputs[0]) > 2
