"""Thread safety: grad mode and anomaly mode are per thread (contextvars), and training two models
in two threads at once gives bit-identical results to training each alone."""

from __future__ import annotations

import sys
import threading

import pytest

from micrograd_mlp import (
    MLP,
    AnomalyError,
    Value,
    detect_anomaly,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
)
from micrograd_mlp.nn.losses import half_squared_error, mse
from micrograd_mlp.nn.optim import SGD, Adam


@pytest.fixture(autouse=True)
def fast_switching():
    """Make the interpreter switch threads every few bytecodes, so interleaving really happens."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def run_threads(*targets):
    errors: list[BaseException] = []

    def wrap(fn):
        def run():
            try:
                fn()
            except BaseException as exc:
                errors.append(exc)
        return run

    threads = [threading.Thread(target=wrap(t)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "thread hung"
    if errors:
        raise errors[0]


def test_no_grad_in_one_thread_does_not_affect_another():
    inside = threading.Event()
    other_done = threading.Event()
    seen: dict[str, object] = {}

    def quiet():
        with no_grad():
            inside.set()
            assert other_done.wait(10)
            x = Value(2.0)
            y = x * 3.0
            seen["quiet_enabled"] = is_grad_enabled()
            seen["quiet_is_leaf"] = y.is_leaf
        seen["quiet_after"] = is_grad_enabled()

    def recording():
        assert inside.wait(10)  # the other thread is inside no_grad right now
        seen["main_like_enabled"] = is_grad_enabled()
        x = Value(2.0)
        y = (x * 3.0).tanh()
        y.backward()
        seen["recording_is_leaf"] = y.is_leaf
        seen["recording_grad"] = x.grad
        other_done.set()

    run_threads(quiet, recording)
    assert seen["quiet_enabled"] is False and seen["quiet_is_leaf"] is True
    assert seen["quiet_after"] is True
    assert seen["main_like_enabled"] is True and seen["recording_is_leaf"] is False
    assert seen["recording_grad"] != 0.0
    assert is_grad_enabled()


def test_no_grad_in_the_main_thread_does_not_leak_into_new_threads():
    seen = {}
    with no_grad():
        def worker():
            seen["enabled"] = is_grad_enabled()
            seen["leaf"] = (Value(1.0) + 1.0).is_leaf
        run_threads(worker)
        assert not is_grad_enabled()
    assert seen == {"enabled": True, "leaf": False}


def test_anomaly_mode_is_per_thread():
    inside = threading.Event()
    other_done = threading.Event()
    seen = {}

    def overflowing_chain():
        x = Value(1e-300, label="x")
        return x, (x * 1e200) * 1e200

    def checked():
        with detect_anomaly():
            inside.set()
            assert other_done.wait(10)
            _, y = overflowing_chain()
            try:
                y.backward()
            except AnomalyError:
                seen["checked_raised"] = True

    def unchecked():
        assert inside.wait(10)
        seen["unchecked_enabled"] = is_anomaly_enabled()
        x, y = overflowing_chain()
        y.backward()  # no anomaly mode here: the overflow passes silently
        seen["unchecked_grad"] = x.grad
        other_done.set()

    run_threads(checked, unchecked)
    assert seen == {"checked_raised": True, "unchecked_enabled": False,
                    "unchecked_grad": float("inf")}


XOR = [([0.0, 0.0], [0.0]), ([0.0, 1.0], [1.0]), ([1.0, 0.0], [1.0]), ([1.0, 1.0], [0.0])]


def train_job(kind: str, steps: int = 60, barrier: threading.Barrier | None = None):
    """Build, train and report one model; everything it touches is its own. With ``barrier`` the
    threads meet before every step, so both are mid-training at the same time throughout."""
    if kind == "sgd":
        model = MLP(2, [4, 1], hidden_activation="tanh", seed=11)
        opt, loss_fn = SGD(model, lr=0.3, momentum=0.5), half_squared_error
    else:
        model = MLP(2, [3, 3, 1], hidden_activation="relu", output_activation="sigmoid",
                    bias="shared", seed=12)
        opt, loss_fn = Adam(model, lr=0.05), mse
    history = []
    for _ in range(steps):
        if barrier is not None:
            barrier.wait(10)
        opt.zero_grad()
        loss = Value.sum([loss_fn(model(x), t) for x, t in XOR])
        history.append(loss.data)
        loss.backward()
        opt.step()
        with no_grad():  # an evaluation pass in no_grad, interleaved with the other thread
            probe = [o.data for x, _ in XOR for o in model(x)]
    return history, model.state_dict(), probe


def test_two_models_trained_in_two_threads_match_training_alone():
    alone = {kind: train_job(kind) for kind in ("sgd", "adam")}
    together: dict[str, tuple] = {}
    barrier = threading.Barrier(2)

    def job(kind):
        return lambda: together.__setitem__(kind, train_job(kind, barrier=barrier))

    run_threads(job("sgd"), job("adam"))
    for kind in ("sgd", "adam"):
        history, state, probe = together[kind]
        assert history == alone[kind][0]  # == on floats: bit-identical
        assert state == alone[kind][1]
        assert probe == alone[kind][2]
        assert history[-1] < history[0]  # and they did train


def test_same_architecture_in_many_threads_is_bit_identical():
    results: list = [None] * 4
    barrier = threading.Barrier(4)

    def job(i):
        def run():
            results[i] = train_job("sgd", steps=25, barrier=barrier)
        return run

    run_threads(*(job(i) for i in range(4)))
    reference = train_job("sgd", steps=25)
    assert all(r == reference for r in results)


def test_compiling_in_several_threads_gives_the_same_code_as_alone():
    """Regression: the generator's walrus-temporary counter was one module global, reset by every
    expression, so concurrent compiles produced different (and possibly colliding) names."""
    from micrograd_mlp.compile import compile_graph
    from micrograd_mlp.nn.losses import binary_cross_entropy

    def build(seed: int):
        model = MLP(2, [6, 6, 1], hidden_activation="tanh", seed=seed)
        loss = binary_cross_entropy(model([0.3, -0.7]), [1.0])  # inlines σ with temporaries
        return compile_graph(loss, params=model.parameters())

    alone = {s: build(s).source for s in range(4)}
    for _ in range(4):
        together: dict[int, str] = {}
        barrier = threading.Barrier(4)

        def job(s):
            def run():
                barrier.wait(10)
                together[s] = build(s).source
            return run

        run_threads(*(job(s) for s in range(4)))
        assert together == alone


def test_compiled_training_in_two_threads_matches_training_alone():
    from micrograd_mlp.compile import compile_graph

    def job(seed: int) -> tuple[list[float], list[float]]:
        model = MLP(2, [3, 1], hidden_activation="tanh", seed=seed)
        loss = Value.sum([half_squared_error(model(x), t) for x, t in XOR])
        fast = compile_graph(loss, params=model.parameters())
        history = fast.train(steps=200, lr=0.3)
        return history, [p.data for p in model.parameters()]

    alone = [job(1), job(2)]
    together: list = [None, None]
    run_threads(lambda: together.__setitem__(0, job(1)), lambda: together.__setitem__(1, job(2)))
    assert together == alone


def test_concurrent_saves_to_one_path_leave_one_complete_file(tmp_path):
    path = tmp_path / "model.json"
    models = [MLP(2, [3, 1], seed=s) for s in (1, 2)]
    barrier = threading.Barrier(2)

    def saver(model):
        def run():
            barrier.wait(10)
            for _ in range(40):
                model.save(path)
        return run

    run_threads(saver(models[0]), saver(models[1]))
    loaded = MLP(2, [3, 1], seed=9).load(path).state_dict()
    assert loaded in (models[0].state_dict(), models[1].state_dict())  # whole, never mixed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]  # no temp files


def test_decorated_functions_are_safe_in_several_threads():
    """Regression: one @detect_anomaly() instance shared its token stack between threads."""
    from micrograd_mlp import detect_anomaly as anomaly_mode

    @anomaly_mode()
    def checked() -> bool:
        total = 0
        for i in range(500):
            total += i
        return is_anomaly_enabled()

    @no_grad()
    def quiet() -> bool:
        total = 0
        for i in range(500):
            total += i
        return is_grad_enabled()

    seen: list = []

    def loop():
        for _ in range(200):
            seen.append((checked(), quiet()))

    run_threads(loop, loop, loop, loop)
    assert seen == [(True, False)] * 800
    assert not is_anomaly_enabled() and is_grad_enabled()


# --- issue 11: ONE shared instance entered from two threads ---------------------------------------
@pytest.mark.parametrize("make, read, inside", [
    (lambda: __import__("micrograd_mlp").no_grad(), "is_grad_enabled", False),
    (lambda: __import__("micrograd_mlp").detect_anomaly(), "is_anomaly_enabled", True),
], ids=["no_grad", "detect_anomaly"])
def test_one_shared_mode_instance_works_per_thread_in_interleaved_order(make, read, inside):
    import micrograd_mlp

    probe = getattr(micrograd_mlp, read)
    shared = make()
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def thread_a() -> None:  # A enters, B enters, A exits, B exits
        try:
            with shared:
                a_in.set()
                b_in.wait(10)
                seen["A inside"] = probe()
            seen["A after"] = probe()
        except Exception as exc:  # reported below
            seen["A error"] = exc
        finally:
            a_out.set()

    def thread_b() -> None:
        try:
            a_in.wait(10)
            with shared:
                b_in.set()
                a_out.wait(10)
                seen["B inside"] = probe()
            seen["B after"] = probe()
        except Exception as exc:  # reported below
            seen["B error"] = exc
            b_in.set()

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert seen == {"A inside": inside, "A after": not inside,
                    "B inside": inside, "B after": not inside}
    assert probe() is (not inside)  # and the main thread never changed


# -- concurrent passes on shared graphs (issue 24, #1 and #2) -------------------------------------
# grad() must return exactly the single-threaded gradients and leave .grad as it was; backward()
# passes run one at a time, so N of them from several threads add up to exactly N sequential ones.

ROUNDS = 150


def _grads(nodes):
    return [n.grad for n in nodes]


def _race(graphs, rounds=ROUNDS):
    """For each ``(root, leaves)`` in ``graphs`` one thread calling ``grad(root, leaves)`` and one
    calling ``root.backward()``, every round released together by a barrier (forced interleaving).
    Returns the grad() results that differed from the single-threaded ones."""
    from micrograd_mlp import grad, topological_order

    expected = [[g.data for g in grad(root, leaves)] for root, leaves in graphs]
    barrier = threading.Barrier(2 * len(graphs))
    wrong: list[tuple[int, list[float]]] = []

    def grad_thread(k):
        root, leaves = graphs[k]
        for _ in range(rounds):
            barrier.wait()
            got = [g.data for g in grad(root, leaves)]
            if got != expected[k]:
                wrong.append((k, got))

    def backward_thread(k):
        root, _ = graphs[k]
        for _ in range(rounds):
            barrier.wait()
            root.backward()

    nodes = {id(n): n for root, _ in graphs for n in topological_order(root)}
    for n in nodes.values():
        n.grad = 0.0
    run_threads(*(lambda k=k: grad_thread(k) for k in range(len(graphs))),
                *(lambda k=k: backward_thread(k) for k in range(len(graphs))))
    return wrong, list(nodes.values())


def _sequential(graphs, nodes, rounds=ROUNDS):
    for n in nodes:
        n.grad = 0.0
    for _ in range(rounds):
        for root, _ in graphs:
            root.backward()
    return _grads(nodes)


def test_concurrent_grad_and_backward_on_one_mlp_graph_are_exact():
    model = MLP(2, [4, 3, 1], seed=11)
    loss = half_squared_error(model([0.3, -0.7]), [0.25])
    graphs = [(loss, model.parameters())]
    wrong, nodes = _race(graphs)
    assert wrong == []  # every grad() call returned the single-threaded gradients, bit for bit
    concurrent = _grads(nodes)
    assert concurrent == _sequential(graphs, nodes)  # N serialised passes = N sequential ones
    assert any(g != 0.0 for g in concurrent)


def test_concurrent_passes_on_graphs_sharing_leaves_are_exact():
    """Two roots over the same leaves (dyadic numbers, so every sum is exact in any order): the
    issue's example, where grad() gave 0.0, 12.5 or 8308.5 for 30.0."""
    x, y = Value(3.0, label="x"), Value(2.0, label="y")
    f = x * x * y + x * y * y  # ∂f/∂x = 2xy + y² = 16, ∂f/∂y = x² + 2xy = 21
    g = (x * y) * (x + y) + x * 0.5
    wrong, nodes = _race([(f, [x, y]), (g, [x, y])])
    assert wrong == []
    concurrent = _grads(nodes)
    assert concurrent == _sequential([(f, [x, y]), (g, [x, y])], nodes)
    assert (x.grad, y.grad) == (ROUNDS * (16.0 + 16.5), ROUNDS * (21.0 + 21.0))


def test_many_grad_threads_on_one_graph_agree_and_leave_grad_alone():
    from micrograd_mlp import grad

    x, y = Value(3.0), Value(2.0)
    f = x * x * y + x * y * y + (x * y) * 0.5
    x.grad, y.grad = 1.25, -4.0
    expected = [g.data for g in grad(f, [x, y])]
    start = threading.Event()
    results: list[list[float]] = []

    def worker():
        start.wait()
        for _ in range(ROUNDS):
            results.append([g.data for g in grad(f, [x, y])])

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join()
    assert len(results) == 6 * ROUNDS and all(r == expected for r in results)
    assert (x.grad, y.grad) == (1.25, -4.0)
