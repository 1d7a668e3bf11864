"""no_grad / enable_grad / is_grad_enabled (including across threads and as decorators), detach."""

from __future__ import annotations

import asyncio
import threading

import pytest

from micrograd_mlp import Value, enable_grad, grad, is_grad_enabled, no_grad
from micrograd_mlp.core import PRIMITIVES
from micrograd_mlp.core.value import apply


def _is_unrecorded(v: Value) -> bool:
    return v.is_leaf and v.op is None and v.operands == () and v.attribute is None


def test_no_grad_results_are_leaves_and_values_are_right():
    a, b = Value(2.0), Value(3.0)
    with no_grad():
        assert not is_grad_enabled()
        results = [a + b, a * b, a - 1, 2 / a, a ** 2, a ** b, -a, a.tanh(), a.leaky_relu(0.2),
                   Value.sum([a, b]), Value.affine([a], [b], 1.0)]
    assert is_grad_enabled()
    assert [r.data for r in results[:3]] == [5.0, 6.0, 1.0]
    assert results[-1].data == 7.0
    assert all(_is_unrecorded(r) for r in results)
    y = results[1] * a  # used afterwards: the no_grad result is a constant
    y.backward()
    assert a.grad == 6.0 and b.grad == 0.0


def _every_op(a: Value, b: Value) -> dict[str, Value]:
    """One result of every primitive of the table, through ``apply`` (what every operator calls)."""
    out = {}
    for prim in PRIMITIVES.values():
        if prim.name == "sum":
            out[prim.name] = Value.sum([a, b])
        elif prim.name == "affine":
            out[prim.name] = Value.affine([a], [b], 1.0)
        elif prim.constant:
            out[prim.name] = apply(prim, (a,), 0.5)
        elif prim.arity == 1:
            out[prim.name] = apply(prim, (a,))
        elif prim.arity == 2:
            out[prim.name] = apply(prim, (a, b))
        else:  # bce: a probability, a target, the logit
            out[prim.name] = apply(prim, (b.sigmoid(), 0.5, b))
    return out


def test_every_op_under_no_grad_makes_a_complete_leaf():
    a, b = Value(0.5), Value(0.25)
    with no_grad():
        results = _every_op(a, b)
    assert set(results) == set(PRIMITIVES)
    for name, r in results.items():  # every field a leaf has, readable
        assert _is_unrecorded(r) and r.requires_grad and r.label is None and r.grad == 0.0, name
    total = Value.sum(list(results.values())) * 2.0  # used afterwards: constants of a new graph
    total.backward()
    assert [r.grad for r in results.values()] == [2.0] * len(results)
    assert a.grad == 0.0 and b.grad == 0.0


def test_no_grad_result_cuts_the_path():
    x = Value(1.5)
    with no_grad():
        c = x * x  # a constant 2.25
    y = c * x + x * x
    y.backward()
    assert x.grad == 2.25 + 2 * 1.5  # only the recorded paths


def test_enable_grad_inside_no_grad_and_nesting_restore():
    x = Value(1.0)
    with no_grad():
        with enable_grad():
            assert is_grad_enabled()
            y = x * 3.0
        assert not is_grad_enabled()
        with no_grad():
            assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()
    assert not y.is_leaf
    y.backward()
    assert x.grad == 3.0


def test_no_grad_restores_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            Value(1.0) / 0
    assert is_grad_enabled()


def test_one_instance_nested_and_reused():
    ctx = no_grad()
    with ctx:
        with ctx:
            assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()
    with ctx:
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_decorators():
    @no_grad()
    def f(x):
        return x * 2

    @enable_grad()
    def g(x):
        return x * 2

    x = Value(1.0)
    assert f(x).is_leaf
    with no_grad():
        assert not g(x).is_leaf
    assert is_grad_enabled()


def test_decorated_function_may_recurse():
    """Regression: one shared decorator instance lost its token on recursion (RuntimeError)."""
    @no_grad()
    def depth(n, x):
        assert not is_grad_enabled()
        return (x + 1) if n == 0 else depth(n - 1, x + 1)

    r = depth(5, Value(0.0))
    assert r.data == 6.0 and r.is_leaf
    assert is_grad_enabled()


def test_no_grad_in_one_thread_does_not_affect_another():
    barrier = threading.Barrier(2, timeout=10)
    results: dict[str, object] = {}

    def quiet():
        with no_grad():
            barrier.wait()  # 1: inside no_grad while the other thread computes
            results["quiet"] = Value(2.0) * 3.0
            barrier.wait()  # 2
        results["quiet_after"] = is_grad_enabled()

    def loud():
        barrier.wait()  # 1
        results["loud_enabled"] = is_grad_enabled()
        results["loud"] = Value(2.0) * 3.0
        barrier.wait()  # 2

    threads = [threading.Thread(target=quiet), threading.Thread(target=loud)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["loud_enabled"] is True
    assert not results["loud"].is_leaf
    assert results["quiet"].is_leaf
    assert results["quiet_after"] is True
    assert is_grad_enabled()


def test_main_thread_no_grad_does_not_leak_into_a_new_thread():
    seen = []
    with no_grad():
        t = threading.Thread(target=lambda: seen.append((is_grad_enabled(),
                                                         (Value(1.0) + 1).is_leaf)))
        t.start()
        t.join()
    assert seen == [(True, False)]


def test_decorated_function_called_from_two_threads_at_once():
    """Regression: one decorator instance shared by concurrent calls mixed up context tokens.

    Forced interleaving: A enters, B enters, A leaves while B is still inside, then B leaves.
    """
    a_inside, b_inside, a_left = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []
    results: dict[str, bool] = {}

    @no_grad()
    def work(mine: threading.Event, wait_for: threading.Event):
        mine.set()
        assert wait_for.wait(10)
        return Value(1.0) * 2

    def thread_a():
        try:
            results["a_leaf"] = work(a_inside, b_inside).is_leaf
            results["a_after"] = is_grad_enabled()
        except BaseException as exc:
            errors.append(exc)
        finally:
            a_left.set()

    def thread_b():
        try:
            assert a_inside.wait(10)
            results["b_leaf"] = work(b_inside, a_left).is_leaf
            results["b_after"] = is_grad_enabled()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert results == {"a_leaf": True, "a_after": True, "b_leaf": True, "b_after": True}


def test_no_grad_is_per_asyncio_task():
    async def main():
        gate = asyncio.Event()

        async def quiet():
            with no_grad():
                await gate.wait()
                return (Value(1.0) + 1).is_leaf

        async def loud():
            gate.set()
            return (Value(1.0) + 1).is_leaf

        return await asyncio.gather(quiet(), loud())

    assert asyncio.run(main()) == [True, False]


def test_detach():
    x = Value(1.5, label="x")
    y = x * x
    d = y.detach()
    assert d is not y and d.is_leaf and d.data == y.data and d.label == y.label
    assert d.grad == 0.0
    z = d * x  # ∂z/∂x through the detached factor only: d.data
    z.backward()
    assert x.grad == 2.25
    assert d.grad == 1.5
    assert y.grad == 0.0  # nothing flowed into the original graph
    assert grad(z, [x])[0].data == 2.25
