"""Loss functions for one sample: a list of output Values against a list of targets.

Each takes ``outputs`` (a Value, a number, or a sequence of them - what an
:class:`~micrograd_mlp.nn.MLP` returns) and ``targets`` (numbers) of the same length and returns
one :class:`Value`. A length mismatch is a ``ValueError`` naming the expected and the actual count.

* :func:`half_squared_error` - the article's E_total = Σₒ ½ (targetₒ − outₒ)²; each term is a node
  labelled ``E_{neuron}`` and the sum ``E_total``.
* :func:`mse` - (1/n) Σ (outₒ − targetₒ)².
* :func:`binary_cross_entropy` - −[t ln p + (1−t) ln(1−p)], computed stably (see its docstring).
* :func:`hinge` - (1/n) Σ max(0, 1 − y·s) with labels y ∈ {−1, +1}.

Multi-class, from logits (a ``'linear'`` output layer): :func:`softmax`, :func:`log_softmax` and
:func:`cross_entropy` (target a class index or a probability vector; a batch gives the mean). They
are compositions of the engine's ops - the largest logit m subtracted as a constant, then ``exp``,
``sum``, ``log`` - so every logit is finite-safe (±1000 included) and the gradients are the exact
derivatives of the same expression: ∂CE/∂zᵢ = pᵢ − yᵢ. ``cross_entropy`` is not in :data:`LOSSES`:
its target is one class (or distribution) per *sample*, not one number per output.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Iterable, Sequence, Union

from ..core import Value
from ..core.checks import finite_real, integer, one_of, probability, shown, type_name

Outputs = Union[Value, float, Sequence[Union[Value, float]]]
Targets = Union[float, Sequence[float]]


def _as_list(x: object) -> list[Any]:
    """One output or target, or a sequence of them, as a list."""
    if isinstance(x, (list, tuple)):  # the common case first
        return list(x)
    if isinstance(x, (Value, numbers.Real)) and not isinstance(x, bool):
        return [x]
    if isinstance(x, (str, bytes)) or not isinstance(x, Iterable):
        raise TypeError(f"expected numbers or Values, got {type_name(x)}")
    return list(x)


def _prepare(name: str, outputs: Outputs, targets: Targets) -> tuple[list[Value], list[float]]:
    if type(outputs) is list and type(targets) is list and len(outputs) == len(targets) != 0:
        for o, t in zip(outputs, targets):  # the common case: Values against finite floats
            if type(o) is not Value or type(t) is not float or t - t != 0.0:
                break
        else:
            return outputs, targets  # (read only, never modified)
    outs = _as_list(outputs)
    ts = _as_list(targets)
    if len(ts) != len(outs):
        raise ValueError(
            f"{name}: expected {len(outs)} targets (one per output), got {len(ts)}"
        )
    if not outs:
        raise ValueError(f"{name}: needs at least one output, got none")
    values = [o if isinstance(o, Value) else Value(finite_real(o, f"{name}: output {k}"))
              for k, o in enumerate(outs, 1)]
    floats = [t.data if isinstance(t, Value) else finite_real(t, f"{name}: target {k}")
              for k, t in enumerate(ts, 1)]
    return values, floats


def _term_label(out: Value, k: int, prefix: str) -> str:
    """``E_o1`` for an output labelled ``out_o1`` / ``net_o1``; else ``E_{k}``."""
    label = out.label
    if label is not None and label[:4] in ("out_", "net_"):
        return f"{prefix}_{label[4:]}"
    return f"{prefix}_{k}"


def half_squared_error(outputs: Outputs, targets: Targets) -> Value:
    """E_total = Σₒ ½ (targetₒ − outₒ)²; ∂E/∂outₒ = outₒ − targetₒ."""
    outs, ts = _prepare("half_squared_error", outputs, targets)
    terms = []
    for k, (o, t) in enumerate(zip(outs, ts), 1):
        e = 0.5 * (t - o) ** 2
        e.label = _term_label(o, k, "E")
        terms.append(e)
    total = Value.sum(terms)
    total.label = "E_total"
    return total


def mse(outputs: Outputs, targets: Targets) -> Value:
    """Mean squared error (1/n) Σ (outₒ − targetₒ)²."""
    outs, ts = _prepare("mse", outputs, targets)
    total = Value.sum([(o - t) ** 2 for o, t in zip(outs, ts)]) * (1.0 / len(outs))
    total.label = "MSE"
    return total


def binary_cross_entropy(outputs: Outputs, targets: Targets, from_logits: bool = False) -> Value:
    """Mean binary cross-entropy −(1/n) Σ [t ln p + (1−t) ln(1−p)], targets t in [0, 1].

    Stability: the value is computed from the *logit* z (p = σ(z)) as softplus(z) − t·z, which
    never takes the log of 0 and never overflows. Where the logit comes from:

    * ``from_logits=True``: the outputs ARE logits z (e.g. a ``'linear'`` output layer); the loss
      is the graph softplus(z) − t·z and ∂L/∂z = (σ(z) − t)/n;
    * otherwise the outputs are probabilities p; when p is a ``sigmoid`` node of the graph
      (a sigmoid output layer), each term is one ``bce`` node over (p, t, z): p stays in the graph
      with its true gradient ∂L/∂p = (−t/p + (1−t)/(1−p))/n, evaluated from z (1/p = 1 + e^(−z),
      1/(1−p) = 1 + e^z, so nothing cancels when p rounds to 0 or 1), and z gets
      ∂L/∂p · σ′(z) = (p − t)/n through p. Where ∂L/∂p itself is beyond the floats (|z| > ~709
      with the other label: p is exactly 0 or 1) ``backward()`` raises an ``OverflowError`` that
      names the node and recommends ``from_logits=True``, and changes no gradient;
    * a probability from anywhere else must lie strictly in (0, 1) (``ValueError`` otherwise) and
      is used through ln p and ln(1 − p).
    """
    outs, ts = _prepare("binary_cross_entropy", outputs, targets)
    for k, t in enumerate(ts, 1):
        probability(t, f"binary_cross_entropy: target {k}")
    terms = []
    for k, (o, t) in enumerate(zip(outs, ts), 1):
        if from_logits:
            terms.append(o.softplus() - t * o)
        elif o.op is not None and o.op.name == "sigmoid":
            terms.append(o._bce(t, o.operands[0]))
        elif not 0.0 < o.data < 1.0:
            raise ValueError(
                f"binary_cross_entropy: output {k} must be a probability in (0, 1) "
                f"(or pass from_logits=True), got {o.data!r}"
            )
        else:
            terms.append(-(t * o.log() + (1.0 - t) * (1.0 - o).log()))
    total = Value.sum(terms) * (1.0 / len(outs))
    total.label = "BCE"
    return total


def hinge(outputs: Outputs, targets: Targets) -> Value:
    """Mean hinge loss (1/n) Σ max(0, 1 − y·s) with labels y ∈ {−1, +1} and scores s."""
    outs, ts = _prepare("hinge", outputs, targets)
    for k, y in enumerate(ts, 1):
        one_of(y, f"hinge: target {k}", (-1.0, 1.0))
    total = Value.sum([(1.0 - y * s).relu() for s, y in zip(outs, ts)]) * (1.0 / len(outs))
    total.label = "hinge"
    return total


# --- multi-class: softmax, log-softmax, cross-entropy -------------------------------------------
def _logits(what: str, logits: object) -> list[Value]:
    """A non-empty list/tuple of Values or real numbers as Values, every value finite; ``what``
    names the argument in a refusal (``"softmax: values"``, ``"cross_entropy: logits[2]"``)."""
    if not isinstance(logits, (list, tuple)):
        raise TypeError(f"{what} must be a list of Values or numbers, got {type_name(logits)}")
    if not logits:
        raise ValueError(f"{what} must not be empty (at least one logit)")
    out = []
    for k, z in enumerate(logits):
        if isinstance(z, Value):
            if z.data - z.data != 0.0:
                raise ValueError(f"{what}[{k}] must be finite, got {z.data!r}")
            out.append(z)
        else:
            out.append(Value(finite_real(z, f"{what}[{k}]", "a Value or a real number")))
    return out


def _shifted(values: list[Value]) -> list[Value]:
    """zᵢ − m with m = max zⱼ a constant (no gradient flows through m: the result does not
    depend on it), so every exp below is of a number ≤ 0 and one of them is exactly e⁰ = 1."""
    m = max(v.data for v in values)
    return [v - m for v in values]


def _log_sum_exp(shifted: list[Value]) -> Value:
    """ln Σⱼ exp(zⱼ − m): the sum is in [1, n], so the log is finite and never of 0."""
    return Value.sum([s.exp() for s in shifted]).log()


def softmax(values: Sequence[Union[Value, float]]) -> list[Value]:
    """pᵢ = exp(zᵢ − m) / Σⱼ exp(zⱼ − m), m = max z (a constant): a list of Values summing to 1.

    >>> [round(p.data, 6) for p in softmax([Value(1000.0), Value(1000.0), Value(-1000.0)])]
    [0.5, 0.5, 0.0]
    """
    shifted = _shifted(_logits("softmax: values", values))
    exps = [s.exp() for s in shifted]
    total = Value.sum(exps)
    return [e / total for e in exps]


def log_softmax(values: Sequence[Union[Value, float]]) -> list[Value]:
    """ln pᵢ = (zᵢ − m) − ln Σⱼ exp(zⱼ − m), m = max z (a constant): a list of Values.

    >>> [lp.data for lp in log_softmax([Value(1000.0), Value(-1000.0)])]
    [0.0, -2000.0]
    """
    shifted = _shifted(_logits("log_softmax: values", values))
    lse = _log_sum_exp(shifted)
    return [s - lse for s in shifted]


def _target(name: str, target: object, n: int) -> int | list[float]:
    """A class index in [0, n) or a probability vector of length n summing to 1."""
    if isinstance(target, (list, tuple)):
        if len(target) != n:
            raise ValueError(f"{name} must have one probability per logit ({n} logits), "
                             f"got {len(target)}")
        ps = [probability(t.data if isinstance(t, Value) else t, f"{name}[{k}]")
              for k, t in enumerate(target)]
        total = math.fsum(ps)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"{name} must be a probability vector summing to 1, "
                             f"sums to {total!r}")
        return ps
    if isinstance(target, (numbers.Integral,)) or hasattr(target, "__index__"):
        return integer(target, name, 0, n - 1)
    raise TypeError(f"{name} must be a class index (an int) or a probability vector (a list), "
                    f"got {shown(target)}")


def _one_cross_entropy(suffix: str, logits: object, target: object) -> Value:
    """One sample's loss; ``suffix`` is ``""`` or ``"[k]"`` (the sample of a batch)."""
    z = _logits(f"cross_entropy: logits{suffix}", logits)
    t = _target(f"cross_entropy: target{suffix}", target, len(z))
    shifted = _shifted(z)
    lse = _log_sum_exp(shifted)
    if isinstance(t, int):
        return lse - shifted[t]  # −ln p_t
    # −Σ yᵢ ln pᵢ = Σ yᵢ (lse − (zᵢ − m)) (terms with yᵢ = 0 add nothing, and are left out)
    return Value.sum([y * (lse - s) for y, s in zip(t, shifted) if y != 0.0])


def cross_entropy(logits: Sequence[Any], target: Any) -> Value:
    """Softmax cross-entropy from logits: −Σᵢ yᵢ ln softmax(z)ᵢ, stable for any finite logits.

    * one sample: ``logits`` a list of Values (or numbers), ``target`` a class index (an int in
      [0, n)) or a probability vector (n numbers in [0, 1] summing to 1 within 1e-9);
    * a batch: ``logits`` a list of such lists, ``target`` a list of one target per sample; the
      result is the mean over the samples (PyTorch's ``reduction='mean'``).

    Computed as ln Σⱼ exp(zⱼ − m) − (z_t − m) with m = max z a constant, so nothing overflows and
    the gradient is exact: ∂/∂zᵢ = pᵢ − yᵢ (divided by the batch size for a batch).

    >>> loss = cross_entropy([Value(1000.0), Value(-1000.0)], 1)
    >>> loss.data
    2000.0
    """
    if isinstance(logits, (list, tuple)) and logits and isinstance(logits[0], (list, tuple)):
        if not isinstance(target, (list, tuple)):
            raise TypeError(f"cross_entropy: target must be a list of one target per sample "
                            f"for a batch of logits, got {type_name(target)}")
        if len(target) != len(logits):
            raise ValueError(f"cross_entropy: expected {len(logits)} targets (one per sample), "
                             f"got {len(target)}")
        losses = [_one_cross_entropy(f"[{k}]", z, t)
                  for k, (z, t) in enumerate(zip(logits, target))]
        total = Value.sum(losses) / float(len(losses))
    else:
        total = _one_cross_entropy("", logits, target)
    total.label = "CE"
    return total


#: Losses by name (for the CLI and the training helper).
LOSSES: dict[str, Callable[..., Value]] = {
    "half_squared_error": half_squared_error,
    "mse": mse,
    "binary_cross_entropy": binary_cross_entropy,
    "hinge": hinge,
}
