"""The eager loop's mini-batch form: ``train(model, data, epochs=, batch_size=, shuffle=, seed=)``.

Oracles: a two-step SGD update written out in plain floats, the full-batch ``steps`` form, and
PyTorch float64 training on the same batches (from ``plan_batches``) from the same weights.
"""

from __future__ import annotations

import io
import math
import pickle
import random

import pytest

from micrograd_mlp import nn
from micrograd_mlp.core import Value, no_grad
from micrograd_mlp.nn.batching import plan_batches
from micrograd_mlp.nn.training import History, plan_training

XOR = [([0.0, 0.0], 0.0), ([0.0, 1.0], 1.0), ([1.0, 0.0], 1.0), ([1.0, 1.0], 0.0),
       ([0.5, 0.2], 1.0)]


def weights_of(model: nn.Module) -> list[float]:
    return [p.data for p in model.parameters()]


def small_model(seed: int = 1) -> nn.MLP:
    return nn.MLP(2, [3, 1], hidden_activation="tanh", seed=seed)


def digits_sample(n: int) -> list[tuple[list[float], int]]:
    X, y = nn.digits("train")
    return list(zip(X[:n], y[:n]))


# --- the plan -------------------------------------------------------------------------------------
def test_each_epoch_is_a_fresh_permutation_cut_into_consecutive_batches():
    plan = plan_batches(10, 4, 3, seed=5)
    for epoch in plan:
        assert [len(b) for b in epoch] == [4, 4, 2]                  # drop_last=False
        assert sorted(i for b in epoch for i in b) == list(range(10))
    assert plan[0] != plan[1] != plan[2]
    orders = [[i for b in epoch for i in b] for epoch in plan]
    rng = random.Random(5)                           # one generator for the whole run
    for order in orders:
        expected = list(range(10))
        rng.shuffle(expected)
        assert order == expected
    assert plan_batches(10, 4, 2, shuffle=False) == [[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]] * 2
    assert all(len(epoch) == 1 and sorted(epoch[0]) == [0, 1, 2]      # batch_size=None: all
               for epoch in plan_batches(3, None, 2))
    assert len(plan_batches(6, 2, 1, seed=None)[0]) == 3            # fresh entropy: still a plan


def test_planning_leaves_the_global_random_state_alone():
    state = random.getstate()
    plan_batches(50, 7, 3, seed=1)
    nn.train(small_model(), XOR, epochs=2, batch_size=2, seed=3)
    assert random.getstate() == state


# --- determinism ----------------------------------------------------------------------------------
def test_same_seed_gives_identical_histories_and_weights():
    runs = []
    for _ in range(2):
        model = small_model()
        history = nn.train(model, XOR, epochs=3, batch_size=2, seed=7, lr=0.3)
        runs.append((list(history), history.epoch_losses, weights_of(model)))
    assert runs[0] == runs[1]


def test_a_different_seed_trains_in_another_order():
    histories = []
    for seed in (7, 8):
        model = small_model()
        histories.append(list(nn.train(model, XOR, epochs=3, batch_size=2, seed=seed, lr=0.3)))
    assert plan_batches(len(XOR), 2, 3, seed=7) != plan_batches(len(XOR), 2, 3, seed=8)
    assert histories[0] != histories[1]


def test_shuffled_training_is_training_on_the_plans_batches():
    """The loop trains batch after batch of ``plan_batches``: the same as full-batch steps on
    each of those batches in turn."""
    model, replay = small_model(), small_model()
    history = nn.train(model, XOR, epochs=2, batch_size=2, seed=3, lr=0.3)
    opt = nn.SGD(replay, lr=0.3)
    expected = []
    for epoch in plan_batches(len(XOR), 2, 2, seed=3):
        for batch in epoch:
            expected += nn.train(replay, [XOR[i] for i in batch], 1, optimizer=opt)
    assert list(history) == expected and weights_of(model) == weights_of(replay)


def test_one_full_unshuffled_batch_an_epoch_is_the_steps_form_step_for_step():
    for batch_size in (len(XOR), None, 100):
        by_epochs, by_steps = small_model(), small_model()
        history = nn.train(by_epochs, XOR, epochs=6, batch_size=batch_size, shuffle=False,
                           lr=0.4)
        assert list(history) == list(nn.train(by_steps, XOR, 6, lr=0.4))
        assert weights_of(by_epochs) == weights_of(by_steps)
        assert history.epoch_losses == list(history) and history.steps_per_epoch == 1


# --- an independent oracle: two SGD steps by hand ----------------------------------------------------
def test_two_minibatch_sgd_steps_by_hand():
    """y = w·x + b (one linear neuron), L = ½(t − y)² per sample, batch mean; batches [s0, s1, s2]
    then [s3] (batch_size 3, no shuffle): ∂L/∂w = mean((y − t)·x), ∂L/∂b = mean(y − t)."""
    data = [([1.0], 2.0), ([2.0], 1.0), ([-1.0], 0.5), ([3.0], -1.0)]
    w, b, lr = 0.5, -0.25, 0.1
    model = nn.MLP(1, [1], output_activation="linear", weights=[[[w]]], biases=[[b]])
    history = nn.train(model, data, epochs=1, batch_size=3, shuffle=False, lr=lr)

    expected = []
    for batch in (data[:3], data[3:]):
        errors = [(w * x[0] + b - t, x[0]) for x, t in batch]
        expected.append(sum(0.5 * e * e for e, _ in errors) / len(batch))
        grad_w = sum(e * x for e, x in errors) / len(batch)
        grad_b = sum(e for e, _ in errors) / len(batch)
        w, b = w - lr * grad_w, b - lr * grad_b
    assert list(history) == pytest.approx(expected, rel=1e-14)
    assert weights_of(model) == pytest.approx([w, b], rel=1e-14)
    # the epoch's loss weights each batch by its size: (3·L₀ + 1·L₁)/4, not (L₀ + L₁)/2
    assert history.epoch_losses == pytest.approx([(3 * expected[0] + expected[1]) / 4], rel=1e-14)
    assert history.steps_per_epoch == 2


def test_sum_reduction_epoch_loss_is_the_plain_sum():
    history = nn.train(small_model(), XOR, epochs=2, batch_size=2, reduction="sum", lr=0.1)
    assert history.steps_per_epoch == 3
    assert history.epoch_losses == pytest.approx([sum(history[:3]), sum(history[3:])],
                                                 rel=1e-15)


def test_zero_epochs_train_nothing():
    model = small_model()
    before = weights_of(model)
    history = nn.train(model, XOR, epochs=0, batch_size=2)
    assert (list(history), history.epoch_losses, weights_of(model)) == ([], [], before)


def test_training_inside_no_grad_still_trains():
    model, same = small_model(), small_model()
    with no_grad():
        inside = nn.train(model, XOR, epochs=2, batch_size=2, lr=0.3)
    assert list(inside) == list(nn.train(same, XOR, epochs=2, batch_size=2, lr=0.3))


# --- refusals change nothing ----------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, error, words", [
    ({"batch_size": 2}, ValueError, "batch_size=2 needs epochs"),
    ({"seed": 3}, ValueError, "seed=3 needs epochs"),
    ({"shuffle": False, "seed": None}, ValueError, "shuffle=False, seed=None need epochs"),
    ({"steps": 5, "epochs": 2}, ValueError, "not both"),
    ({"epochs": 2, "batch_size": 0}, ValueError, "batch_size must be at least 1, got 0"),
    ({"epochs": -1}, ValueError, "epochs must be at least 0, got -1"),
    ({"epochs": 2.0}, TypeError, "epochs must be an integer"),
    ({"epochs": 2, "batch_size": 1.5}, TypeError, "batch_size must be an integer"),
    ({"epochs": 2, "shuffle": 1}, TypeError, "shuffle must be a bool"),
    ({"epochs": 2, "seed": "a"}, TypeError, "seed must be an int or None"),
    ({"epochs": 2, "every": -1}, ValueError, "every must be at least 0"),
    ({"epochs": 2, "reduction": "max"}, ValueError, "reduction"),
    ({"epochs": 10**12}, ValueError, "5,000,000,000,000 sample visits, more than "
                                     "nn.batching.MAX_PLANNED"),   # (refused before planning)
])
def test_a_refused_argument_changes_nothing(kwargs, error, words):
    model = small_model()
    opt = nn.Adam(model, lr=0.1)
    before = weights_of(model)
    with pytest.raises(error, match=words):
        nn.train(model, XOR, optimizer=opt, **kwargs)
    assert weights_of(model) == before and opt.steps == 0
    assert all(p.grad == 0.0 for p in model.parameters())


@pytest.mark.parametrize("bad, error, words", [
    (([0.0, 1.0], 2), ValueError, r"train: data\[6\]: cross_entropy: target must be at most 1"),
    (([0.0, 1.0], [0.5, 0.2]), ValueError, r"data\[6\]: cross_entropy: .*sum"),
    (([0.0, 1.0, 2.0], 1), ValueError, r"data\[6\]: MLP expects 2 inputs, got 3"),
    (([0.0, "x"], 1), TypeError, r"data\[6\]: MLP: input 2 must be a real number"),
])
def test_a_bad_sample_in_a_later_batch_is_refused_before_any_update(bad, error, words):
    """Without the up-front check, batches 0-2 would train before batch 3 met the sample."""
    model = nn.MLP(2, [3, 2], output_activation="linear", seed=0)
    opt = nn.Adam(model, lr=0.1)
    before = weights_of(model)
    data = [([0.0, 1.0], 0), ([1.0, 0.0], 1)] * 3 + [bad]
    with pytest.raises(error, match=words):
        nn.train(model, data, epochs=1, batch_size=2, shuffle=False, optimizer=opt,
                 loss_fn=nn.cross_entropy)
    assert weights_of(model) == before and opt.steps == 0


def test_empty_data_is_refused_in_the_epochs_form():
    with pytest.raises(ValueError, match="data is empty"):
        nn.train(small_model(), [], epochs=1, batch_size=2)


# --- progress -------------------------------------------------------------------------------------
def test_a_progress_callable_sees_every_step_and_the_model_as_trained_so_far():
    model = small_model()
    seen = []

    def progress(step: int, loss: float) -> None:
        seen.append((step, loss, weights_of(model)))

    history = nn.train(model, XOR, epochs=2, batch_size=2, lr=0.3, progress=progress)
    assert [s for s, _, _ in seen] == list(range(1, 7))
    assert [loss for _, loss, _ in seen] == list(history)
    assert seen[-1][2] == weights_of(model) and seen[0][2] != seen[-1][2]


def test_printed_progress_is_one_line_per_epoch_with_the_epoch_loss():
    out = io.StringIO()
    history = nn.train(small_model(), XOR, epochs=3, batch_size=2, progress=True, stream=out)
    lines = out.getvalue().splitlines()
    assert [line.split("  loss")[0] for line in lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    for line, loss in zip(lines, history.epoch_losses):
        assert float(line.split("loss")[1].split("(")[0]) == pytest.approx(loss, rel=1e-9)


@pytest.mark.parametrize("every, shown", [(2, [2, 4, 5]), (0, [1, 5]), (None, [1, 2, 3, 4, 5])])
def test_every_counts_epochs(every, shown):
    out = io.StringIO()
    nn.train(small_model(), XOR, epochs=5, batch_size=2, progress=True, every=every, stream=out)
    assert [int(line.split()[1].split("/")[0]) for line in out.getvalue().splitlines()] == shown


def test_the_plan_counts_steps_and_epochs():
    plan = plan_training(XOR, epochs=4, batch_size=2, seed=1)
    assert (plan.steps, plan.epochs, plan.steps_per_epoch) == (12, 4, 3)
    assert [len(b) for b in plan.batches[:3]] == [2, 2, 1]
    full = plan_training(XOR)
    assert (full.steps, full.epochs, full.steps_per_epoch, full.batches) == (100, None, 0, None)


# --- History --------------------------------------------------------------------------------------
def test_history_shows_its_epochs_in_a_notebook():
    history = History([0.5, 0.25, 0.125, 0.0625], [0.375, 0.09375], 2)
    html = history._repr_html_()
    assert "loss per epoch" in html and "0.0937500000" in html
    assert ("epochs", "2 (2 steps each)") in history.summary()
    assert "loss per epoch" not in History([0.5, 0.25])._repr_html_()
    long = History([1.0] * 30, [1.0 / (e + 1) for e in range(30)], 1)
    rows = long._repr_html_().split("loss per epoch")[1].count("<tr>")
    assert rows == 1 + History.SHOWN_EPOCHS + 1  # header, 5 first, the gap, 5 last
    assert "0.0333333333" in long._repr_html_() and "…" in long._repr_html_()
    again = pickle.loads(pickle.dumps(history))
    assert (again, again.epoch_losses, again.steps_per_epoch) == (history, [0.375, 0.09375], 2)


# --- PyTorch float64 oracle -----------------------------------------------------------------------
def torch_twin(model: nn.MLP):  # type: ignore[no-untyped-def]
    """The same network in PyTorch float64, from the same weights."""
    torch = pytest.importorskip("torch")
    layers = []
    for layer in model.layers:
        linear = torch.nn.Linear(len(layer.neurons[0].weights), len(layer.neurons),
                                 dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor([[w.data for w in n.weights]
                                              for n in layer.neurons], dtype=torch.float64))
            linear.bias.copy_(torch.tensor([n.bias.data for n in layer.neurons],
                                           dtype=torch.float64))
        layers += [linear, torch.nn.Tanh()]
    return torch.nn.Sequential(*layers[:-1])  # the output layer is linear: logits


def torch_parameters(twin) -> list[float]:  # type: ignore[no-untyped-def]
    """Its parameters in :meth:`MLP.parameters` order: per layer the weights neuron by neuron,
    then the biases."""
    values: list[float] = []
    for linear in twin[::2]:
        values += linear.weight.detach().flatten().tolist() + linear.bias.detach().tolist()
    return values


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_softmax_minibatches_equal_pytorch_float64(optimizer):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    data = digits_sample(40)
    model = nn.MLP(64, [6, 10], hidden_activation="tanh", output_activation="linear", seed=5)
    twin = torch_twin(model)
    if optimizer == "sgd":
        ours, theirs = nn.SGD(model, lr=0.5), torch.optim.SGD(twin.parameters(), lr=0.5)
    else:
        ours, theirs = nn.Adam(model, lr=0.01), torch.optim.Adam(twin.parameters(), lr=0.01)
    history = nn.train(model, data, epochs=2, batch_size=16, seed=4, optimizer=ours,
                       loss_fn=nn.cross_entropy)

    expected = []
    for epoch in plan_batches(len(data), 16, 2, seed=4):
        for batch in epoch:  # 16, 16, 8
            x = torch.tensor([data[i][0] for i in batch], dtype=torch.float64)
            t = torch.tensor([data[i][1] for i in batch])
            loss = F.cross_entropy(twin(x), t)
            theirs.zero_grad()
            loss.backward()
            theirs.step()
            expected.append(loss.item())
    assert len(history) == 6 and history.steps_per_epoch == 3
    assert list(history) == pytest.approx(expected, rel=1e-12)
    assert weights_of(model) == pytest.approx(torch_parameters(twin), rel=1e-12, abs=1e-15)
    mean = [(16 * expected[0] + 16 * expected[1] + 8 * expected[2]) / 40,
            (16 * expected[3] + 16 * expected[4] + 8 * expected[5]) / 40]
    assert history.epoch_losses == pytest.approx(mean, rel=1e-12)
    assert math.isfinite(history[-1]) and isinstance(model.parameters()[0], Value)
