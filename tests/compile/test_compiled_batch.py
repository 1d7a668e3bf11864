"""compile_batch: one sample's scalar code run on each row of the batch (the path without NumPy)
follows the eager batch loss and training.train's trajectory."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from micrograd_mlp.compile import BatchGraph, compile_batch
from micrograd_mlp.core import Value
from micrograd_mlp.nn import MLP, moons, mse
from micrograd_mlp.nn import train as eager_train

from .support import all_close, close, eager_loss_and_grads, networks


# --- compile_batch: one sample's code looped over the batch ---------------------------------------
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.sampled_from(["mean", "sum"]), st.integers(1, 4))
def test_batch_matches_the_eager_batch_loss_and_training(case, reduction, steps):
    model, xs, ts, loss_fn, _ = case
    params = model.parameters()
    start = model.state_dict()
    fast = compile_batch([loss_fn(model(x), t) for x, t in zip(xs, ts)], params, reduction)
    assert isinstance(fast, BatchGraph) and len(fast.rows) == len(xs)

    def eager_batch():  # exactly as training.train forms it
        total = Value.sum([loss_fn(model(x), t) for x, t in zip(xs, ts)])
        return total * (1.0 / len(xs)) if reduction == "mean" and len(xs) > 1 else total

    loss, grads = fast.forward_backward()
    e_loss, e_grads = eager_loss_and_grads(eager_batch, params)
    assert close(loss, e_loss) and all_close(grads, e_grads)

    history = fast.train(steps, 0.1)
    trained = [p.data for p in params]
    model.load_state_dict(start)
    eager_history = eager_train(model, list(zip(xs, ts)), steps, loss_fn=loss_fn, lr=0.1,
                                reduction=reduction)
    assert all_close(history, eager_history)
    assert all_close(trained, [p.data for p in params])


def test_batch_on_moons_follows_training_train():
    X, y = moons(20, noise=0.1, seed=3, labels=(-1.0, 1.0))
    data = [(x, [t]) for x, t in zip(X, y)]
    model = MLP(2, [4, 4, 1], hidden_activation="relu", output_activation="linear", seed=2)
    start = model.state_dict()
    fast = compile_batch([mse(model(x), t) for x, t in data], model)
    P = [p.data for p in model.parameters()]
    history = fast.train(15, 0.05, params=P)
    eager_history = eager_train(model, data, 15, loss_fn=mse, lr=0.05)
    assert all_close(history, eager_history)
    assert all_close(P, [p.data for p in model.parameters()])
    model.load_state_dict(start)
    assert "    x0, x1, x2, x3, = X\n" in fast.source  # one sample's leaves, from its row
    assert "BatchGraph" in repr(fast)


def test_forward_and_backward_of_a_batch():
    model = MLP(2, [3, 1], hidden_activation="tanh", seed=1)
    data = [([0.0, 1.0], [1.0]), ([1.0, 0.0], [1.0]), ([1.0, 1.0], [0.0])]
    fast = compile_batch([mse(model(x), t) for x, t in data], model, reduction="sum")
    e_loss, e_grads = eager_loss_and_grads(
        lambda: Value.sum([mse(model(x), t) for x, t in data]), model.parameters())
    assert close(fast.forward(), e_loss)
    assert fast.eager_forward_backward() == (e_loss, e_grads)  # the oracle is the engine
    assert close(fast.replay().data, e_loss)
    model.zero_grad()
    assert close(fast.backward(), e_loss)
    fast.backward()  # leaves accumulate
    assert all_close([p.grad for p in model.parameters()], [2 * g for g in e_grads])

