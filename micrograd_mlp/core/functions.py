"""The functions the primitive table's expressions may call, declared once for every backend.

A rule in :mod:`.table` is a short expression such as ``out * (1.0 - out)`` or ``sech2(a)``. The
same expression is evaluated on three kinds of number:

* ``float``  - plain Python floats: the eager engine's forward and backward pass;
* ``value``  - :class:`~micrograd_mlp.core.value.Value` objects: ``grad(create_graph=True)``
  differentiates the rule itself (second derivatives);
* ``numpy``  - NumPy arrays: the vectorised batch code of :mod:`micrograd_mlp.compile`.

Each :class:`Function` below carries its three implementations side by side, so a helper such as
``sech2`` is declared in one place. NumPy is optional: its implementations import it on first use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable


def _numpy() -> ModuleType:
    import numpy  # optional: only the vectorised compile target needs it

    return numpy


# --- the float implementations (what the eager engine runs) ---------------------------------------
def sigmoid(x: float) -> float:
    """σ(x) = 1 / (1 + e^(−x)), evaluated without overflow for any finite x."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def sech2(x: float) -> float:
    """sech²x = 1 − tanh²x, as 4e/(1+e)² with e = e^(−2|x|): accurate where 1 − tanh² cancels."""
    e = math.exp(-2.0 * abs(x))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


def step(x: float) -> float:
    """The Heaviside step [x > 0]: 1.0 for x > 0, else 0.0."""
    return 1.0 if x > 0 else 0.0


def sign(x: float) -> float:
    """sign x: −1, 0 or 1."""
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


def pow_base_partial(a: float, b: float) -> float:
    """∂(a^b)/∂a = b·a^(b−1), taken as 0 when b = 0 (a⁰ is constant)."""
    return 0.0 if b == 0 else b * math.pow(a, b - 1.0)


def pow_exponent_partial(a: float, b: float, out: float) -> float:
    """∂(a^b)/∂b = a^b·ln a; defined for a > 0, and as its limit 0 at a = 0 with b > 0."""
    if a > 0:
        return out * math.log(a)
    if a == 0 and b > 0:
        return 0.0
    raise ValueError(
        f"pow: the derivative of a**b with respect to the exponent b needs a > 0 (ln a), "
        f"got a={a!r}, b={b!r}"
    )


def bce_p_partial(p: float, t: float, z: float) -> float:
    """∂/∂p of −[t ln p + (1−t) ln(1−p)] = −t/p + (1−t)/(1−p), read from the logit z (p = σ(z)).

    1/p = 1 + e^(−z) and 1/(1−p) = 1 + e^z, so no 1 − p is formed (it rounds to 0 for z > 37); a
    term whose factor t or 1 − t is 0 is skipped. Where the derivative is beyond the floats
    (|z| > ~709 with the other label: p rounds to exactly 0 or 1) an OverflowError says so.
    """
    try:
        up = 0.0 if t == 1.0 else (1.0 - t) * (1.0 + math.exp(z))
        down = 0.0 if t == 0.0 else t * (1.0 + math.exp(-z))
    except OverflowError:
        raise OverflowError(
            f"∂BCE/∂p = −t/p + (1−t)/(1−p) is beyond the floats at the logit z={z!r} with "
            f"target t={t!r} (p = σ(z) is {p!r}); compute the loss from the logit instead: "
            "binary_cross_entropy(..., from_logits=True) on a 'linear' output"
        ) from None
    return up - down


def bce_t_partial(p: float, z: float) -> float:
    """∂/∂t of −[t ln p + (1−t) ln(1−p)] = ln(1−p) − ln p = −logit p = −z (p = σ(z))."""
    return -z


# --- the Value implementations (create_graph=True: the rule becomes part of the graph) -----------
def _value_sech2(x: Any) -> Any:
    e = (-2.0 * abs(x)).exp()
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


def _value_pow_base_partial(a: Any, b: Any) -> Any:
    # b·a^(b−1) even at b = 0: its derivative in b there is 1/a, not 0 (the mixed second partial)
    return 0.0 if b.data == 0 and a.data == 0 else b * a ** (b - 1.0)


def _value_pow_exponent_partial(a: Any, b: Any, out: Any) -> Any:
    if a.data > 0:
        return out * a.log()
    # a ≤ 0: the float rule gives the constant limit 0 (a = 0 < b) or raises naming a and b
    return pow_exponent_partial(a.data, b.data, out.data)


def _value_complement(p: Any, z: Any) -> Any:
    """1 − p as a Value whose derivatives are those of 1 − p and whose data is σ(−z) (exact, where
    1 − p would round to 0): the constant it adds, σ(−z) − (1 − p), is 0 in exact arithmetic."""
    return (1.0 - p) + (sigmoid(-z.data) - (1.0 - p.data))


def _value_bce_p_partial(p: Any, t: Any, z: Any) -> Any:
    # −t/p + (1−t)/(1−p) as a function of p and t (every derivative exact), its data from z
    return -t / p + (1.0 - t) / _value_complement(p, z)


def _value_bce_t_partial(p: Any, z: Any) -> Any:
    return _value_complement(p, z).log() - p.log()  # −logit p, as a function of p


# --- the NumPy implementations (element-wise over a batch) ---------------------------------------
def _numpy_sigmoid(x: Any) -> Any:
    np = _numpy()
    z = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + z), z / (1.0 + z))


def _numpy_sech2(x: Any) -> Any:
    """4e/(1+e)², e = e^(−2|x|), in two arrays (the float rule's operations, in its order)."""
    np = _numpy()
    b = np.abs(np.asarray(x, dtype=float))
    if type(b) is not np.ndarray:  # (a number: NumPy gives a scalar, not an array to write to)
        e = np.exp(-2.0 * b)
        return 4.0 * e / ((1.0 + e) * (1.0 + e))
    b *= -2.0
    e = np.exp(b, out=b)
    d = e + 1.0
    d *= d
    e *= 4.0
    e /= d
    return e


def _numpy_pow_base_partial(a: Any, b: Any) -> Any:
    np = _numpy()
    return np.where(b == 0, 0.0, b * np.power(a, b - 1.0))


def _numpy_pow_exponent_partial(a: Any, b: Any, out: Any) -> Any:
    np = _numpy()
    if np.any(a <= 0) and not np.all((a > 0) | ((a == 0) & (b > 0))):
        raise ValueError("pow: the derivative of a**b with respect to b needs a > 0 (ln a)")
    safe = np.where(a > 0, a, 1.0)
    return np.where(a > 0, out * np.log(safe), 0.0)


def _numpy_bce_p_partial(p: Any, t: Any, z: Any) -> Any:
    np = _numpy()
    with np.errstate(over="ignore"):  # inf: the batch step is then re-run eagerly, which refuses
        up = np.where(t == 1.0, 0.0, (1.0 - t) * (1.0 + np.exp(z)))
        down = np.where(t == 0.0, 0.0, t * (1.0 + np.exp(-z)))
    return up - down


_UFUNCS: list[Callable[..., Any]] = []  # what _np made


def _np(name: str) -> Callable[..., Any]:
    """NumPy's own ``name`` (``exp``, ``log`` ...), looked up when first called; like the ufunc
    it is, it takes ``out=`` (an array to write the result into: see :data:`WRITES_OUT`)."""
    def call(*args: Any, **keywords: Any) -> Any:
        return getattr(_numpy(), name)(*args, **keywords)

    call.__name__ = name
    _UFUNCS.append(call)
    return call


@dataclass(frozen=True)
class Function:
    """A name the table's expressions may call, with its math and its three implementations."""

    name: str
    math: str
    float: Callable[..., Any]
    value: Callable[..., Any]
    numpy: Callable[..., Any]


def _method(name: str) -> Callable[..., Any]:
    def call(x: Any) -> Any:
        return getattr(x, name)()

    call.__name__ = name
    return call


_TABLE = [
    Function("exp", "eˣ", math.exp, _method("exp"), _np("exp")),
    Function("log", "ln x", math.log, _method("log"), _np("log")),
    Function("log1p", "ln(1 + x)", math.log1p, lambda x: (1.0 + x).log(), _np("log1p")),
    Function("sqrt", "√x", math.sqrt, _method("sqrt"), _np("sqrt")),
    Function("tanh", "tanh x", math.tanh, _method("tanh"), _np("tanh")),
    Function("sin", "sin x", math.sin, _method("sin"), _np("sin")),
    Function("cos", "cos x", math.cos, _method("cos"), _np("cos")),
    Function("pow", "xʸ", math.pow, lambda x, y: x ** y, _np("power")),
    Function("abs", "|x|", abs, abs, _np("abs")),
    Function("max", "max(x, y)", max, max, _np("maximum")),
    Function("sigmoid", "σ(x) = 1/(1 + e^(−x))", sigmoid, _method("sigmoid"), _numpy_sigmoid),
    Function("sech2", "sech²x = 1 − tanh²x", sech2, _value_sech2, _numpy_sech2),
    # piecewise constant: its derivative is 0 almost everywhere, so on Values it records no graph
    Function("step", "[x > 0]", step, lambda x: step(x.data), lambda x: (x > 0) * 1.0),
    Function("sign", "sign x", sign, lambda x: sign(x.data), _np("sign")),
    Function("pow_base_partial", "b·a^(b−1)", pow_base_partial, _value_pow_base_partial,
             _numpy_pow_base_partial),
    Function("pow_exponent_partial", "a^b·ln a", pow_exponent_partial,
             _value_pow_exponent_partial, _numpy_pow_exponent_partial),
    Function("bce_p_partial", "−t/p + (1−t)/(1−p)", bce_p_partial, _value_bce_p_partial,
             _numpy_bce_p_partial),
    Function("bce_t_partial", "ln(1−p) − ln p", bce_t_partial, _value_bce_t_partial,
             lambda p, z: -z),
]

#: Every function the table's expressions may call, by name.
FUNCTIONS: dict[str, Function] = {f.name: f for f in _TABLE}

#: The functions whose NumPy implementation is a ufunc, so that ``f(x, out=buffer)`` writes
#: the result into an existing array of its shape (the lowered code's layer activations).
WRITES_OUT = frozenset(f.name for f in _TABLE if f.numpy in _UFUNCS)


def namespace(backend: str) -> dict[str, Callable[..., Any]]:
    """``{name: implementation}`` for ``backend`` (``"float"``, ``"value"`` or ``"numpy"``)."""
    if backend not in ("float", "value", "numpy"):
        raise ValueError(f"namespace: backend must be 'float', 'value' or 'numpy', got {backend!r}")
    return {f.name: getattr(f, backend) for f in _TABLE}


def either(name: str) -> Callable[..., Any]:
    """The function ``name`` for the primitive table's rules: its float implementation on plain
    numbers, its Value implementation as soon as one argument is a Value (``grad(create_graph=
    True)`` evaluates the same rules on Values, recording the derivative as a graph)."""
    function = FUNCTIONS[name]
    on_floats, on_values = function.float, function.value

    def one(x: Any) -> Any:
        return on_floats(x) if type(x) is float or not hasattr(x, "_prev") else on_values(x)

    def two(x: Any, y: Any) -> Any:
        if (type(x) is float or not hasattr(x, "_prev")) and \
                (type(y) is float or not hasattr(y, "_prev")):
            return on_floats(x, y)
        return on_values(x, y)

    def many(*args: Any) -> Any:
        for x in args:
            if type(x) is not float and hasattr(x, "_prev"):  # a Value (value.py is not imported)
                return on_values(*args)
        return on_floats(*args)

    call = one if name in _UNARY else two if name in _BINARY else many
    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"{function.math}: on floats, or on Values (recording the graph)."
    return call


_BINARY = {"pow", "max", "pow_base_partial", "bce_t_partial"}
_UNARY = {"exp", "log", "log1p", "sqrt", "tanh", "sin", "cos", "sigmoid", "sech2", "step", "sign"}
