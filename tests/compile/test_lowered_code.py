"""What the lowered code is made of: relu as NumPy's maximum, the checks a later check makes
unnecessary, and the gradient vector as one concatenation - each equal to the eager engine."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from micrograd_mlp import MLP, Value, compile_batch, compile_graph
from micrograd_mlp.compile.rules import Rules, carries_nonfinite
from micrograd_mlp.compile.trace import Instruction
from micrograd_mlp.core import PRIMITIVES
from micrograd_mlp.core.functions import namespace
from micrograd_mlp.nn import mse

from .support import all_close, close, eager_loss_and_grads

np = pytest.importorskip("numpy")


def _run(rules: Rules, ins: Instruction, **values: object) -> object:
    scope = {**namespace(rules.backend), "where": np.where, **values}
    for line in rules.forward_lines(ins):
        exec(line, scope)
    return scope[ins.target]


@pytest.mark.parametrize("x", [-0.0, 0.0, -1.5, 2.5, 5e-324, -5e-324])
def test_relu_on_arrays_is_the_tables_rule_bit_for_bit(x):
    """relu's ``a if a > 0 else 0.0`` becomes ``max(a, 0.0)``: the same floats, signed zeros too
    (NumPy's maximum returns its second operand on a tie: 0.0 for (−0.0, 0.0), as the rule)."""
    ins = Instruction("v1", PRIMITIVES["relu"], ("v0",))
    expected = x if x > 0 else 0.0
    for given in (x, np.float64(x), np.full(5, x), np.full((3, 17), x), np.full((40, 33), x)):
        got = np.asarray(_run(Rules("numpy"), ins, v0=given))
        assert all(math.copysign(1.0, g) == math.copysign(1.0, expected) and g == expected
                   for g in got.ravel())


def rules_line(ins: Instruction) -> str:
    (line,) = Rules("numpy").forward_lines(ins)
    return line


def test_relu_on_arrays_is_a_maximum():
    assert rules_line(Instruction("v1", PRIMITIVES["relu"], ("v0",))) == \
        "v1 = max(v0, 0.0)"


def test_other_selections_stay_where():
    """``x if x > 0 else k·x`` (leaky relu) is no maximum: it stays ``where``."""
    ins = Instruction("v1", PRIMITIVES["leaky_relu"], ("v0",), 0.01)
    assert rules_line(ins).startswith("v1 = where(")
    got = _run(Rules("numpy"), ins, v0=np.array([-2.0, 3.0]))
    assert list(got) == [-0.02, 3.0]


FINITE = (0.0, -0.0, 1.0, -2.5, 1e300, -1e-300)


def _operands(op) -> int:
    return 3 if op.arity < 0 else op.arity  # sum: 3 terms; affine: one term w·x and its b


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_carries_nonfinite_is_sound(name):
    """Whenever the rule says a node carries a non-finite operand, the float rule gives a value
    that is not finite (or raises) for that operand at ±inf and nan, whatever the other operands."""
    op = PRIMITIVES[name]
    n = _operands(op)
    constant = {"affine": 1.0, "powc": 2.0, "leaky_relu": 0.5}.get(name)  # affine: width 1
    ins = Instruction("out", op, tuple(f"a{j}" for j in range(n)), constant)
    rules = Rules("float")
    for i in range(n):
        if not carries_nonfinite(ins, i):
            continue
        for bad in (math.inf, -math.inf, math.nan):
            for other in FINITE:
                values = {f"a{j}": bad if j == i else other for j in range(n)}
                try:
                    out = _run(rules, ins, **values)
                except (ArithmeticError, ValueError):
                    continue
                assert not math.isfinite(out), (name, i, values, out)  # type: ignore[arg-type]


def test_carries_nonfinite_reads_the_rules():
    add, mul, div = PRIMITIVES["add"], PRIMITIVES["mul"], PRIMITIVES["div"]
    assert carries_nonfinite(Instruction("o", add, ("a", "b")), 1)
    assert carries_nonfinite(Instruction("o", mul, ("a", "b")), 0)
    assert carries_nonfinite(Instruction("o", div, ("a", "b")), 0)
    assert not carries_nonfinite(Instruction("o", div, ("a", "b")), 1)  # x / inf = 0
    for hides in ("tanh", "sigmoid", "exp", "relu"):  # tanh(inf) = 1, exp(−inf) = 0 ...
        assert not carries_nonfinite(Instruction("o", PRIMITIVES[hides], ("a",)), 0)
    affine = Instruction("o", PRIMITIVES["affine"], ("w0", "w1", "x0", "x1", "b"), 2.0)
    assert all(carries_nonfinite(affine, i) for i in range(5))



@pytest.mark.parametrize("name, k, carries", [
    ("powc", 2.0, True), ("powc", 3.0, True), ("powc", 0.5, True),  # inf**k = inf, nan**k = nan
    ("powc", 0.0, False), ("powc", -1.0, False),  # nan**0 = 1, inf**-1 = 0
    ("powc", None, False),  # no constant: the rule cannot be tried, nothing is assumed
    ("leaky_relu", 0.0, True),  # 0·(−inf) = nan
    ("abs", None, True), ("log", None, True), ("sqrt", None, True), ("neg", None, True),
    ("softplus", None, False),  # softplus(−inf) = 0
])
def test_a_unary_node_carries_what_its_rule_gives_at_inf_and_nan(name, k, carries):
    """A unary rule is tried at inf, −inf and nan with the node's constant: it carries a
    non-finite operand when it gives no finite float there (a refusal counts: log(−inf))."""
    assert carries_nonfinite(Instruction("o", PRIMITIVES[name], ("a",), k), 0) is carries


def _checked(source: str) -> set[str]:
    """The names summed into the finiteness checks of ``forward`` (``_c = a + b ...``)."""
    forward = source.split("def forward_backward")[0]
    return {name for line in forward.splitlines() if line.strip().startswith("_c = ")
            for name in line.strip().removeprefix("_c = ").split(" + ")}


@pytest.mark.parametrize("k", [2.0, 3.0, 0.5, 0.0, -1.0])
def test_a_power_checks_its_base_only_when_it_would_hide_it(k):
    """y = w·10³⁰⁰ (1 at first) overflows at w = 10¹⁰. For k > 0, y**k is inf too and the loss's check sees it,
    so y gets no check of its own; for k ≤ 0 (inf**0 = 1, inf**-1 = 0) y is checked. Either way
    the compiled step is refused with eager's error."""
    w = Value(1e-300, label="w")

    def build():
        return (w * 1e300) ** k + w

    program = compile_graph(build(), [w])
    (y,) = [ins.target for ins in program.listing.instructions if ins.op.name == "mul"]
    assert (y in _checked(program.source)) is (k <= 0)
    loss, grads = program.forward_backward()
    expected, eager_grads = eager_loss_and_grads(build, [w])
    assert close(loss, expected) and all_close(grads, eager_grads)
    with pytest.raises(ArithmeticError) as compiled:
        program.forward_backward([1e10])
    w.data = 1e10
    with pytest.raises(ArithmeticError) as eager:
        build()
    assert type(compiled.value) is type(eager.value) and str(compiled.value) == str(eager.value)

def _tail_model():
    """A tanh network whose output feeds y = out·c, z = y·c and then tanh(z): z may overflow while
    the loss, tanh(z), stays finite - only z's own check sees it; y needs none (z carries it)."""
    model = MLP(1, [2, 1], hidden_activation="tanh", output_activation="linear", seed=3)
    data = [[0.5], [-1.0], [2.0]]
    c = Value(1e150, label="c")

    def losses():
        return [((model(x)[0] * c) * c).tanh() for x in data]

    return model, losses


def test_only_the_checks_no_later_check_covers_are_made():
    model, losses = _tail_model()
    low = compile_batch(losses(), model).lowered()
    forward = low.source.split("def forward_backward")[0]
    check = [line.strip() for line in forward.splitlines() if line.strip().startswith("_c =")]
    assert check[0].count("v") == 1  # one scalar value checked: z (y is carried by it)
    loss, grads = low.forward_backward()
    expected, eager_grads = eager_loss_and_grads(lambda: Value.sum(losses()) * (1 / 3),
                                                 model.parameters())
    assert close(loss, expected) and all_close(grads, eager_grads)


def test_an_overflow_only_a_later_node_would_hide_is_eagers_error():
    model, losses = _tail_model()
    low = compile_batch(losses(), model).lowered()
    params = model.parameters()
    big = [p.data * 1e10 if k >= len(params) - 3 else p.data for k, p in enumerate(params)]
    for p, x in zip(params, big):
        p.data = x
    with pytest.raises(ArithmeticError) as eager:
        Value.sum(losses())
    with pytest.raises(ArithmeticError) as lowered:
        low.forward_backward(big)
    assert type(lowered.value) is type(eager.value) and str(lowered.value) == str(eager.value)


def test_the_gradient_is_one_concatenation_when_the_layers_tile_the_parameters():
    model = MLP(2, [3, 1], hidden_activation="relu", output_activation="linear", seed=1)
    data = [([0.5, -1.0], [1.0]), ([2.0, 0.25], [0.0])]
    low = compile_batch([mse(model(x), t) for x, t in data], model).lowered()
    backward = low.source.split("def forward_backward")[1]
    assert "G = concatenate(" in backward and "zeros(" not in backward
    loss, grads = low.forward_backward()
    expected, eager_grads = eager_loss_and_grads(
        lambda: Value.sum([mse(model(x), t) for x, t in data]) * 0.5, model.parameters())
    assert close(loss, expected) and all_close(grads, eager_grads)
    # a shared bias is no slice of its own: the gradient is gathered and summed instead
    shared = MLP(2, [3, 1], hidden_activation="relu", output_activation="linear", seed=1,
                 bias="shared")
    low = compile_batch([mse(shared(x), t) for x, t in data], shared).lowered()
    assert "G = concatenate(" not in low.source.split("def forward_backward")[1]
    loss, grads = low.forward_backward()
    expected, eager_grads = eager_loss_and_grads(
        lambda: Value.sum([mse(shared(x), t) for x, t in data]) * 0.5, shared.parameters())
    assert close(loss, expected) and all_close(grads, eager_grads)


def test_a_concatenated_gradient_has_no_negative_zero():
    """A dead relu neuron under a negative upstream gradient: its dZ is −0.0; the engine's
    gradient is 0.0 + (−0.0) = 0.0, and so must G's entry be. (NumPy's sums and products start
    from 0.0 today, so the + 0.0 after the concatenation is a guard this test keeps honest
    should they start from −0.0.)"""
    model = MLP(1, [1, 1], hidden_activation="relu", output_activation="linear", seed=0,
                weights=[[[1.0]], [[1.0]]], biases=[[-5.0], [0.0]])
    data = [([1.0], [3.0])]
    low = compile_batch([mse(model(x), t) for x, t in data], model).lowered()
    with low.quiet():
        _, G = low.gradient_array(np.array([p.data for p in model.parameters()]))
    _, eager = eager_loss_and_grads(lambda: mse(model([1.0]), [3.0]), model.parameters())
    assert [math.copysign(1.0, g) for g in G] == [math.copysign(1.0, g) for g in eager]


def test_every_target_checks_what_no_later_check_covers():
    """The batch's per-sample code and one graph leave out the same checks, and
    still refuse the overflow that only z's own check sees, with eager's error."""
    model, losses = _tail_model()
    params = model.parameters()
    one = compile_graph(losses()[0], params)
    batch = compile_batch(losses(), model)
    big = [p.data * 1e10 if k >= len(params) - 3 else p.data for k, p in enumerate(params)]
    for program in (one, batch):
        forward = program.source.split("def forward_backward")[0]
        checked = {name for line in forward.splitlines() if line.strip().startswith("_c = ")
                   for name in line.strip().removeprefix("_c = ").split(" + ")}
        y, z = [ins.target for ins in program.listing.instructions if ins.op.name == "mul"]
        assert z in checked and y not in checked  # y is carried by z
        assert program.listing.result not in checked  # the loss's check sees the result
        with pytest.raises(ArithmeticError) as lowered:
            program.forward_backward(big)
        saved = [p.data for p in params]
        for p, x in zip(params, big):
            p.data = x
        with pytest.raises(ArithmeticError) as eager:
            losses()
        for p, x in zip(params, saved):
            p.data = x
        assert type(lowered.value) is type(eager.value) and str(lowered.value) == str(eager.value)


# --- the scratch arrays: a layer's Z, A, dZ and dH are written into arrays made once -------------

def _two_layer(activation: str, bias: str = "neuron", n: int = 7, block_rows=None):
    """A 3-4-4-1 network of ``activation`` over ``n`` rows: its two hidden layers have the same
    width, so arrays mixed up between them give wrong numbers rather than a shape error."""
    model = MLP(3, [4, 4, 1], hidden_activation=activation, output_activation="linear",
                seed=5, bias=bias)
    data = [([0.3 * k - 1.0, 0.5 - 0.1 * k, (-1.0) ** k], [0.2 * k]) for k in range(n)]

    def total():
        return Value.sum([mse(model(x), t) for x, t in data]) * (1.0 / n)

    low = compile_batch([mse(model(x), t) for x, t in data], model).lowered(block_rows)
    return model, total, low


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "linear"])
def test_a_layers_arrays_are_written_into_scratch(activation):
    model, total, low = _two_layer(activation)
    backward = low.source.split("def forward_backward")[1]
    for array in ("ZL0", "ZL1", "dZL0", "dZL1", "dHL1"):
        if array.startswith("dZ") and activation == "linear":
            continue  # dZ = dA: nothing to compute
        if array.startswith("dZ") and activation == "tanh":  # (its rule's helper, two arrays)
            layer = array[2:]
            assert (f"{array} = tanh_partial(Z{layer}, A{layer}, dA{layer}, scratch.{array}, "
                    f"scratch.work{layer})") in backward
            continue
        assert f"{array} = " in backward and f"out=scratch.{array})" in backward, array
    if activation == "relu":  # one ufunc call: written in place too
        assert "out=scratch.AL0)" in backward
    if activation == "tanh":  # (its helper: e^(−2|z|) kept in work for tanh′)
        assert "AL0 = tanh_layer(ZL0, scratch.AL0, scratch.workL0)" in backward
    (arrays,) = low.scratch()  # 7 rows: one block
    assert arrays.ZL0.shape == (7, 4) and arrays.dHL1.shape == (7, 4)
    loss, grads = low.forward_backward()
    expected, eager_grads = eager_loss_and_grads(total, model.parameters())
    assert close(loss, expected) and all_close(grads, eager_grads)


@pytest.mark.parametrize("activation, bias", [("relu", "neuron"), ("tanh", "shared"),
                                              ("sigmoid", "none")])
def test_a_later_step_changes_no_earlier_result(activation, bias):
    model, total, low = _two_layer(activation, bias)
    params = model.parameters()
    first = np.array([p.data for p in params])
    second = first * -1.5 + 0.25
    with low.quiet():
        loss1, G1 = low.gradient_array(first)
        kept = G1.copy()
        loss2, G2 = low.gradient_array(second)
        again, G3 = low.gradient_array(first)
    assert G1 is not G2 and np.array_equal(G1, kept)  # G is the caller's, never a scratch array
    assert again == loss1 and np.array_equal(G3, kept)  # reused arrays: the same bits
    for P, loss, G in ((first, loss1, G1), (second, loss2, G2)):
        for p, x in zip(params, P):
            p.data = float(x)
        expected, eager_grads = eager_loss_and_grads(total, params)
        assert close(loss, expected) and all_close(G, eager_grads)


@pytest.mark.parametrize("block_rows", [None, 64])
def test_threads_have_their_own_scratch(block_rows):
    """NumPy lets go of the GIL in a matrix product: two threads stepping one program at once
    would overwrite each other's arrays if they shared them (one block of 400 rows, or 7)."""
    import threading

    model, _, low = _two_layer("tanh", n=400, block_rows=block_rows)
    base = np.array([p.data for p in model.parameters()])
    points = [base * (1.0 + 0.1 * k) for k in range(2)]
    with low.quiet():
        alone = [low.gradient_array(P) for P in points]
    wrong: list[int] = []

    def work(k: int) -> None:
        with low.quiet():
            for _ in range(200):
                loss, G = low.gradient_array(points[k])
                if loss != alone[k][0] or not np.array_equal(G, alone[k][1]):
                    wrong.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
    assert low.scratch() is low.scratch()  # one thread: the same arrays each step



def test_lowered_code_runs_in_a_process_where_it_calls_ndarray_sum_first():
    """NumPy imports the Python half of ``ndarray.sum`` on its first call, through the caller's
    builtins, and the generated code has none. The article's lowered step checks its arrays with
    ``.sum()`` only (no scalar value needs a check), so in a fresh process it is the first."""
    program = ("from micrograd_mlp import article, compile_batch\n"
               "from micrograd_mlp.nn import half_squared_error\n"
               "m = article.network()\n"
               "x, t = list(article.INPUTS), list(article.TARGETS)\n"
               "print(compile_batch([half_squared_error(m(x), t)], m).lowered().forward_backward()[0])")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert close(float(done.stdout), 0.2983711087600027)



# --- blocks of rows: a big batch runs the code once per block, its arrays staying in the caches --
@pytest.mark.parametrize("activation, bias, rows", [
    ("relu", "neuron", 3), ("tanh", "shared", 2), ("sigmoid", "none", 4), ("linear", "neuron", 1)])
def test_blocks_of_rows_give_the_batchs_loss_and_gradient(activation, bias, rows):
    """11 samples in blocks of ``rows`` (sizes as equal as can be): the summed losses and
    gradients are the whole batch's (eager's to 1e-12), steps and training included."""
    model, total, _ = _two_layer(activation, bias, n=11)
    data = [([0.3 * k - 1.0, 0.5 - 0.1 * k, (-1.0) ** k], [0.2 * k]) for k in range(11)]
    losses = [mse(model(x), t) for x, t in data]
    whole = compile_batch(losses, model).lowered(block_rows=11)
    low = compile_batch(losses, model).lowered(block_rows=rows)
    sizes = [b - a for a, b in low.blocks]
    assert len(low.blocks) == -(-11 // rows) and sum(sizes) == 11 and max(sizes) - min(sizes) <= 1
    assert [a for a, _ in low.blocks][1:] == [b for _, b in low.blocks][:-1]  # they tile the rows
    assert len(whole.blocks) == 1
    loss, grads = low.forward_backward()
    expected, eager_grads = eager_loss_and_grads(total, model.parameters())
    assert close(loss, expected) and all_close(grads, eager_grads)
    assert close(low.forward(), expected)
    assert all_close(low.train(5, 0.1, params=[p.data for p in model.parameters()]),
                     whole.train(5, 0.1, params=[p.data for p in model.parameters()]))
    assert [arrays.ZL0.shape[0] for arrays in low.scratch()] == sizes


def test_a_refused_block_refuses_the_step_with_eagers_error():
    """An overflow in the last block's rows only: the step is eager's, with eager's error."""
    model, losses = _tail_model()
    params = model.parameters()
    low = compile_batch(losses(), model).lowered(block_rows=1)
    assert len(low.blocks) == 3
    big = [p.data * 1e10 if k >= len(params) - 3 else p.data for k, p in enumerate(params)]
    with pytest.raises(ArithmeticError) as lowered:
        low.forward_backward(big)
    for p, x in zip(params, big):
        p.data = x
    with pytest.raises(ArithmeticError) as eager:
        losses()
    assert type(lowered.value) is type(eager.value) and str(lowered.value) == str(eager.value)


def test_the_default_blocks_keep_a_blocks_arrays_near_256_kb():
    from micrograd_mlp.compile.graph import BLOCK_FLOATS

    model = MLP(2, [128, 1], hidden_activation="relu", output_activation="linear", seed=1)
    data = [([math.sin(k), math.cos(k)], [0.1 * k]) for k in range(1100)]
    low = compile_batch([mse(model(x), t) for x, t in data], model).lowered()
    assert BLOCK_FLOATS // 128 == 256 and [b - a for a, b in low.blocks] == [220] * 5
    one = compile_batch([mse(model(x), t) for x, t in data[:1024]], model).lowered()
    assert one.blocks == [(0, 1024)]  # 1024 × 128 floats: 1 MB, one block
    batch = compile_batch([mse(model(x), t) for x, t in data[:3]], model)
    before = [(p.data, p.grad) for p in model.parameters()]
    with pytest.raises(ValueError, match=r"^lowered: block_rows must be at least 1, got 0$"):
        batch.lowered(block_rows=0)
    with pytest.raises(TypeError, match=r"^lowered: block_rows must be an integer, got float"):
        batch.lowered(block_rows=1.5)
    assert [(p.data, p.grad) for p in model.parameters()] == before  # refused: nothing changed
    assert batch.lowered(block_rows=2).forward() == pytest.approx(batch.forward(), rel=1e-12)
