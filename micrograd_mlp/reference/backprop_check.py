"""Check a learner's own backpropagation function: :func:`check_backprop` calls
``fn(weights, biases, inputs, targets) -> (weight_grads, bias_grads)`` on the article's network
and on random networks from the smallest up, compares every gradient with autograd (through
:func:`~micrograd_mlp.reference.compare.compare_gradients`, which also runs central differences
and the :class:`~micrograd_mlp.reference.diagnosis.Diagnoser`) and names each wrong parameter's
likely mistake.

The learner's side, plain nested lists of floats (copies: the learner may change them)::

    weights[l][j][i]   the weight from input i to neuron j of layer l (l = 0 is the first layer
                       after the inputs)
    biases[l][j]       the bias of neuron j of layer l (the article's shared bias b_l appears
                       once per neuron; its gradient is Σ_j bias_grads[l][j])
    inputs[s][i]       sample s's inputs - always a batch, the article's is a batch of one
    targets[s][k]      sample s's targets
    E = (1/N) Σ_s loss(out_s, t_s)   the batch's loss is the mean over its N samples

and it returns ``(weight_grads, bias_grads)`` of the same shapes as ``weights`` and ``biases``.

Mistake identifiers (``ParameterFinding.mistake``) are in :data:`MISTAKES`.
"""

from __future__ import annotations

import functools
import html
import itertools
import math
import numbers
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..core import Value, grad
from ..core.checks import integer, nonnegative_real, positive_real
from ..nn import LOSSES, MLP
from ..nn.modules import ACTIVATIONS
from . import article
from .compare import GradientReport, compare_gradients
from .engine_check import run_limited, wrapped

#: Every identifier a finding can carry, with what it means.
MISTAKES: dict[str, str] = {
    "wrong-sign": "the gradient's sign is flipped ((t − out) where (out − t) belongs)",
    "factor-2": "twice the gradient (the MSE's 2·(out − t) with the ½ squared error)",
    "factor-half": "half the gradient (out − t where the MSE's 2·(out − t) belongs)",
    "times-learning-rate": "the gradient multiplied by the learning rate η",
    "over-learning-rate": "the gradient divided by the learning rate η",
    "update-not-gradient": "the updated parameter p − η·g returned in place of the gradient",
    "batch-sum": "summed over the batch's samples where their mean belongs",
    "batch-mean-twice": "divided by the batch size N once too often",
    "one-sample": "one sample's gradient: the batch's samples are not summed (assigned with = "
                  "in the loop over samples?)",
    "missing-input": "a weight's gradient without its input x (δ alone)",
    "missing-activation-derivative": "the activation's derivative f′(net) is left out",
    "missing-path": "a sum over the neurons a node feeds leaves some out",
    "bias-not-summed": "the article's shared bias: its gradient is not summed over the neurons "
                       "it feeds",
    "updated-weights": "hidden δs formed with the already-updated weights of the layer above",
    "wrong-gradient": "wrong, and no single classic mistake reproduces it",
    "bad-output": "the function returned something of the wrong shape or type",
    "raises": "the function raised an exception (its line is shown)",
    "hangs": "the function ran past the time limit",
}

#: Diagnosis sentences (:mod:`.diagnosis`) → identifier, by how they begin.
_SENTENCE_IDS: tuple[tuple[str, str], ...] = (
    ("the wrong sign", "wrong-sign"),
    ("a factor 2", "factor-2"),
    ("a factor ½", "factor-half"),
    ("multiplied by the learning rate", "times-learning-rate"),
    ("divided by the learning rate", "over-learning-rate"),
    ("the update in place of the gradient", "update-not-gradient"),
    ("the sum over the", "batch-sum"),
    ("the mean over the", "batch-mean-twice"),
    ("the weight's input is missing", "missing-input"),
    ("the activation's derivative is missing", "missing-activation-derivative"),
    ("a missing path", "missing-path"),
    ("the hidden δs formed with the already-updated", "updated-weights"),
)

RTOL, ATOL = 1e-7, 1e-10
BATCH = 3  # the batch size of the last network checked

Backprop = Callable[..., Any]


def mistake_of(diagnosis: str | None) -> str:
    """The identifier of a :mod:`.diagnosis` sentence (``wrong-gradient`` for none)."""
    for start, ident in _SENTENCE_IDS:
        if diagnosis is not None and diagnosis.startswith(start):
            return ident
    return "wrong-gradient"


@dataclass(frozen=True)
class ParameterFinding:
    """One wrong gradient: the parameter, where it is in the learner's output, the numbers, the
    mistake's identifier and the diagnosis sentence."""

    parameter: str
    where: str
    expected: float
    got: float
    mistake: str
    diagnosis: str

    def as_dict(self) -> dict[str, Any]:
        return {"parameter": self.parameter, "where": self.where, "expected": self.expected,
                "got": self.got, "mistake": self.mistake, "diagnosis": self.diagnosis}


@dataclass(frozen=True)
class NetworkResult:
    """The learner's function on one network: ``wrong`` parameters, or a failure of the call
    itself (``failure``: ``raises``, ``hangs`` or ``bad-output``, with ``message`` and the
    learner's ``line``)."""

    name: str
    sizes: tuple[int, ...]
    batch: int
    wrong: tuple[ParameterFinding, ...] = ()
    failure: str | None = None
    message: str = ""
    line: str | None = None
    checked: int = 0  # parameters compared
    report: GradientReport | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.failure is None and not self.wrong

    @property
    def mistakes(self) -> list[str]:
        return [self.failure] if self.failure else list(dict.fromkeys(f.mistake
                                                                      for f in self.wrong))

    def as_dict(self) -> dict[str, Any]:
        return {"network": self.name, "sizes": list(self.sizes), "batch": self.batch,
                "ok": self.ok, "failure": self.failure, "message": self.message,
                "line": self.line, "checked": self.checked,
                "wrong": [f.as_dict() for f in self.wrong]}


@dataclass(frozen=True)
class BackpropReport:
    """The outcome of :func:`check_backprop`: one :class:`NetworkResult` per network, the
    article's first, then random networks from the smallest up. :meth:`text` for a terminal; in
    a notebook cell (``_repr_html_``) the verdict, a table of the networks and a table of the
    wrong parameters (with their diagnoses) of the networks :meth:`text` details, all escaped."""

    name: str
    networks: tuple[NetworkResult, ...]

    @property
    def ok(self) -> bool:
        return all(n.ok for n in self.networks)

    @property
    def first_wrong(self) -> NetworkResult | None:
        """The smallest network where the function goes wrong (fewest layers, then fewest
        parameters; a batch after one sample)."""
        bad = [n for n in self.networks if not n.ok]
        return min(bad, key=_size_key) if bad else None

    @property
    def mistakes(self) -> list[str]:
        """Every identifier found, each once, in the order found."""
        return list(dict.fromkeys(m for n in self.networks for m in n.mistakes))

    def as_dict(self) -> dict[str, Any]:
        first = self.first_wrong
        return {"function": self.name, "ok": self.ok, "mistakes": self.mistakes,
                "first_wrong": first.name if first else None,
                "networks": [n.as_dict() for n in self.networks]}

    def text(self, width: int = 100) -> str:
        """A short report: one line per network, then the wrong parameters of the article's
        network and of the smallest network that goes wrong, each with its diagnosis."""
        wrap = functools.partial(wrapped, width=width)

        lines = wrap(self._verdict(), "")
        for n in self.networks:
            lines += wrap(f"{n.name}: {_state(n)}", "  ")
        for n, mark in self._detailed():
            lines.append("")
            lines += wrap(f"{n.name}{mark}:", "")
            lines += _network_lines(n, wrap)
        return "\n".join(lines)

    def _verdict(self) -> str:
        if self.ok:
            return f"your {self.name}(): ok, every gradient right on every network"
        return (f"your {self.name}(): wrong on {sum(not n.ok for n in self.networks)} of "
                f"{len(self.networks)} networks ({', '.join(self.mistakes)})")

    def _detailed(self) -> list[tuple[NetworkResult, str]]:
        """The networks whose wrong parameters are listed - the article's and the smallest that
        goes wrong, when they go wrong - each with its mark."""
        first = self.first_wrong
        return [(n, " (the smallest network where it goes wrong)" if n is first else "")
                for n in self.networks
                if not n.ok and (n is first or n is self.networks[0])]

    def _repr_html_(self) -> str:
        """A notebook cell's view: the verdict, one table row per network (ok, how many wrong,
        or the failure), then for each network :meth:`text` details a table of its wrong
        parameters with their diagnoses (or its failure and the learner's line); every piece
        of text escaped."""
        esc = html.escape
        rows = "".join(f"<tr><td>{esc(n.name)}</td><td>{esc(_state(n))}</td></tr>"
                       for n in self.networks)
        parts = [f"<div class='micrograd-backprop-check'><p><b>{esc(self._verdict())}</b></p>"
                 f"<table><thead><tr><th>network</th><th>result</th></tr></thead>"
                 f"<tbody>{rows}</tbody></table>"]
        parts += (_network_html(n, mark) for n, mark in self._detailed())
        return "".join(parts) + "</div>"


def _state(n: NetworkResult) -> str:
    """One network's result in a few words: ``ok``, ``3 of 12 wrong`` or the failure."""
    return "ok" if n.ok else (n.failure or f"{len(n.wrong)} of {n.checked} wrong")


def _network_html(n: NetworkResult, mark: str, limit: int = 12) -> str:
    """:meth:`BackpropReport._repr_html_`'s detail of one network that goes wrong: its failure
    (message, the learner's line) or a table of its first ``limit`` wrong parameters."""
    esc = html.escape
    caption = f"<p>{esc(n.name + mark)}:</p>"
    if n.failure is not None:
        line = f"<br><code>{esc(n.line)}</code>" if n.line else ""
        return f"{caption}<p>{esc(n.failure)}: {esc(n.message)}{line}</p>"
    right = " style='text-align:right'"
    head = "".join(f"<th>{h}</th>" for h in ("parameter", "where", "expected", "got",
                                             "mistake", "diagnosis"))
    rows = "".join(
        f"<tr><td>{esc(f.parameter)}</td><td><code>{esc(f.where)}</code></td>"
        f"<td{right}>{esc(f'{f.expected:.9g}')}</td><td{right}>{esc(f'{f.got:.9g}')}</td>"
        f"<td>{esc(f.mistake)}</td><td>{esc(f.diagnosis)}</td></tr>" for f in n.wrong[:limit])
    more = (f"<p>… {len(n.wrong) - limit} more (as_dict() or --json)</p>"
            if len(n.wrong) > limit else "")
    return (f"{caption}<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
            f"{more}")


def _network_lines(n: NetworkResult, wrap: Callable[[str, str], list[str]],
                   limit: int = 12) -> list[str]:
    if n.failure is not None:  # the learner's line holds the message too
        return wrap(f"{n.failure}: {n.line or n.message}", "  ")
    out: list[str] = []
    for f in n.wrong[:limit]:
        out += wrap(f"{f.parameter} ({f.where}): expected {f.expected:.9g}, got {f.got:.9g}",
                    "  ")
        out += wrap(f"{f.mistake}: {f.diagnosis}", "    ")
    if len(n.wrong) > limit:
        out.append(f"  ... {len(n.wrong) - limit} more (as_dict() or --json)")
    return out


def _parameter_count(sizes: tuple[int, ...]) -> int:
    """The weights and per-neuron biases of an MLP of widths ``sizes``."""
    return sum((a + 1) * b for a, b in itertools.pairwise(sizes))


def _size_key(n: NetworkResult) -> tuple[int, int, int]:
    return (len(n.sizes), _parameter_count(n.sizes), n.batch)


# --- the networks -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Net:
    """One network to check: the model (the reference), the learner's arguments, the names."""

    name: str
    sizes: tuple[int, ...]
    model: MLP
    weights: list[list[list[float]]]
    biases: list[list[float]]
    inputs: list[list[float]]
    targets: list[list[float]]
    shared: bool  # the article's: one bias per layer, its gradient the sum over the neurons

    @property
    def batch(self) -> int:
        return len(self.inputs)


def _ladder(sizes: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Architectures from the smallest up to ``sizes``: for each depth k, all widths 1, then
    widths at most 2 (the first size where a missing path can show), then ``sizes``."""
    shapes: list[tuple[int, ...]] = []
    depth = len(sizes)
    for k in range(2, depth + 1):
        tail = sizes[depth - k + 1:]
        shapes.append((1,) * k)
        shapes.append((min(2, sizes[0]), *(min(2, w) for w in tail)))
    shapes.append(sizes)
    unique = list(dict.fromkeys(shapes))
    return sorted(unique, key=lambda s: (len(s), _parameter_count(s)))


def _targets(rng: random.Random, n: int, loss: str, output: str) -> list[float]:
    if loss == "hinge":
        return [rng.choice((-1.0, 1.0)) for _ in range(n)]
    if output == "sigmoid" or loss == "binary_cross_entropy":
        return [round(rng.uniform(0.05, 0.95), 6) for _ in range(n)]
    return [round(rng.uniform(-1.0, 1.0), 6) for _ in range(n)]


def _random_net(sizes: tuple[int, ...], batch: int, rng: random.Random, hidden: str,
                output: str, loss: str) -> _Net:
    weights = [[[round(rng.uniform(-1, 1), 6) for _ in range(a)] for _ in range(b)]
               for a, b in itertools.pairwise(sizes)]
    biases = [[round(rng.uniform(-1, 1), 6) for _ in range(b)] for b in sizes[1:]]
    model = MLP(sizes[0], list(sizes[1:]), hidden_activation=hidden, output_activation=output,
                bias="neuron", weights=weights, biases=biases)
    inputs = [[round(rng.uniform(-1, 1), 6) for _ in range(sizes[0])] for _ in range(batch)]
    targets = [_targets(rng, sizes[-1], loss, output) for _ in range(batch)]
    name = "-".join(map(str, sizes)) + (f", a batch of {batch}" if batch > 1 else "")
    return _Net(name, sizes, model, weights, biases, inputs, targets, False)


def _article_net(hidden: str, output: str, loss: str) -> _Net:
    """The article's network and sample (for the hinge loss its targets 0.01, 0.99 are the
    labels −1, +1)."""
    w = article.WEIGHTS
    weights = [[[w["w1"], w["w2"]], [w["w3"], w["w4"]]], [[w["w5"], w["w6"]], [w["w7"], w["w8"]]]]
    b1, b2 = article.BIASES["b1"], article.BIASES["b2"]
    model = MLP(2, [2, 2], hidden_activation=hidden, output_activation=output, bias="shared",
                train_bias=True, weights=weights, biases=[b1, b2])
    targets = [(1.0 if t > 0.5 else -1.0) if loss == "hinge" else t for t in article.TARGETS]
    return _Net("the article's 2-2-2", (2, 2, 2), model, weights, [[b1, b1], [b2, b2]],
                [list(article.INPUTS)], [targets], True)


# --- reading the learner's answer ---------------------------------------------------------------
class _BadOutput(Exception):
    pass


def _items(x: Any, n: int, where: str, what: str) -> list[Any]:
    """``x`` as a list of ``n`` items (a list, tuple, array...), else :class:`_BadOutput`."""
    if isinstance(x, (str, bytes, dict)) or not hasattr(x, "__len__") \
            or not hasattr(x, "__getitem__"):
        raise _BadOutput(f"{where} should be a list of {n} {what}, got {type(x).__name__}")
    if len(x) != n:
        raise _BadOutput(f"{where} should hold {n} {what}, got {len(x)}")
    return [x[k] for k in range(n)]


def _number(x: Any, where: str) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise _BadOutput(f"{where} should be a number, got {type(x).__name__} {x!r:.40}")
    value = float(x)
    if not math.isfinite(value):
        raise _BadOutput(f"{where} is {value}, not a finite number")
    return value


def _read(result: Any, net: _Net) -> dict[str, tuple[float, str]]:
    """``{parameter name: (the learner's gradient, where it is)}``, shapes and types checked."""
    pair = _items(result, 2, "the result", "items (weight_grads, bias_grads)")
    sizes = net.sizes
    layers = len(sizes) - 1
    wg = _items(pair[0], layers, "weight_grads", "layers")
    bg = _items(pair[1], layers, "bias_grads", "layers")
    out: dict[str, tuple[float, str]] = {}
    for li, layer in enumerate(net.model.layers):
        rows = _items(wg[li], sizes[li + 1], f"weight_grads[{li}]", "neurons")
        bs = _items(bg[li], sizes[li + 1], f"bias_grads[{li}]", "neurons")
        for j, neuron in enumerate(layer.neurons):
            cols = _items(rows[j], sizes[li], f"weight_grads[{li}][{j}]", "inputs")
            for i, w in enumerate(neuron.weights):
                where = f"weight_grads[{li}][{j}][{i}]"
                out[w.label or where] = (_number(cols[i], where), where)
        values = [_number(b, f"bias_grads[{li}][{j}]") for j, b in enumerate(bs)]
        if net.shared:
            label = layer.neurons[0].bias.label if layer.neurons[0].bias else f"b{li + 1}"
            out[label or f"b{li + 1}"] = (math.fsum(values), f"Σ_j bias_grads[{li}][j]")
        else:
            for j, neuron in enumerate(layer.neurons):
                where = f"bias_grads[{li}][{j}]"
                label = neuron.bias.label if neuron.bias is not None else None
                out[label or where] = (values[j], where)
    return out


# --- one network --------------------------------------------------------------------------------
def _copy(net: _Net) -> tuple[Any, ...]:
    return ([[list(r) for r in layer] for layer in net.weights], [list(b) for b in net.biases],
            [list(x) for x in net.inputs], [list(t) for t in net.targets])


def _one_sample_gradients(net: _Net, loss: Callable[..., Value]
                          ) -> list[dict[str, float]]:
    """Each sample's own gradient ``{name: ∂loss_s/∂p}`` (for the ``one-sample`` mistake)."""
    named = net.model.named_parameters()
    out = []
    for x, t in zip(net.inputs, net.targets):
        grads = grad(loss(net.model(x), t), [v for _, v in named])
        out.append({n: g.data for (n, _), g in zip(named, grads)})
    return out


def _check_network(fn: Backprop, net: _Net, loss_name: str, timeout: float, file: str | None,
                   rtol: float, atol: float, learning_rate: float) -> NetworkResult:
    """Call the learner's function on ``net`` and compare its gradients with autograd."""
    def result(**found: Any) -> NetworkResult:
        return NetworkResult(net.name, net.sizes, net.batch, **found)

    outcome = run_limited(lambda: fn(*_copy(net)), timeout, file)
    if outcome.hung:
        return result(failure="hangs", message=f"no answer within {timeout:g} s (an endless "
                                               "loop?)")
    if outcome.error is not None:
        exc = outcome.error
        return result(failure="raises", message=f"{type(exc).__name__}: {exc}",
                      line=outcome.line)
    try:
        given = _read(outcome.value, net)
    except _BadOutput as exc:
        return result(failure="bad-output", message=str(exc))
    loss = LOSSES[loss_name]
    inputs: Any = net.inputs if net.batch > 1 else net.inputs[0]
    targets: Any = net.targets if net.batch > 1 else net.targets[0]
    report = compare_gradients(net.model, inputs, targets, loss=loss,
                               manual={n: g for n, (g, _) in given.items()},
                               manual_rtol=rtol, manual_atol=atol, learning_rate=learning_rate,
                               numeric_limit=16)

    def close(x: float, ref: float) -> bool:
        return abs(x - ref) <= atol + rtol * abs(ref)

    samples: list[dict[str, float]] = []  # each sample's gradients, on the first need
    wrong = []
    for row in report.rows:
        got, where = given[row.name]
        if close(got, row.autograd):
            continue
        mistake, sentence = _named(row.name, row.autograd, row.diagnosis, net)
        if sentence is None and net.batch > 1:
            samples = samples or _one_sample_gradients(net, loss)
            sentence = _one_sample(row.name, row.autograd, got, samples, close)
            mistake = "one-sample" if sentence else mistake
        wrong.append(ParameterFinding(row.name, where, row.autograd, got, mistake,
                                      sentence or "no single classic mistake reproduces it"))
    return result(wrong=tuple(wrong), checked=len(report.rows), report=report)


def _named(name: str, g: float, diagnosis: str | None, net: _Net) -> tuple[str, str | None]:
    """The identifier and sentence of a :class:`Diagnoser` diagnosis, in this check's terms."""
    mistake = mistake_of(diagnosis)
    if mistake == "batch-mean-twice":
        return mistake, (f"divided by N = {net.batch} once too often: the gradient of the mean "
                         f"is {g:.9g}, yours is that / {net.batch}")
    if mistake == "missing-path" and net.shared and (diagnosis or "").startswith(
            f"a missing path: ∂E/∂{name} summed only"):  # over a shared bias's neurons
        return "bias-not-summed", diagnosis
    return mistake, diagnosis


def _one_sample(name: str, g: float, got: float, samples: list[dict[str, float]],
                close: Callable[[float, float], bool]) -> str | None:
    """The sentence when ``got`` is one sample's gradient (or it / N) of a batch, else None."""
    n = len(samples)
    for s, grads in enumerate(samples, 1):
        for value, how in ((grads[name], ""), (grads[name] / n, f" / {n}")):
            if close(got, value) and not close(value, g):
                return (f"sample {s}'s gradient alone{how} ({value:.9g}): the {n} samples' "
                        "gradients are not summed")
    return None


def _learner_file(fn: Any) -> str | None:
    code = getattr(fn, "__code__", None) or getattr(type(fn).__dict__.get("__call__"),
                                                    "__code__", None)
    return getattr(code, "co_filename", None)


def check_backprop(fn: Backprop, sizes: Sequence[int] = (2, 2, 2), *,
                   hidden_activation: str = "sigmoid", output_activation: str = "sigmoid",
                   loss: str = "half_squared_error", seed: int = 0, timeout: float = 2.0,
                   rtol: float = RTOL, atol: float = ATOL,
                   learning_rate: float = article.LEARNING_RATE) -> BackpropReport:
    """Check a learner's ``fn(weights, biases, inputs, targets) -> (weight_grads, bias_grads)``.

    Networks, each called once: the article's (its weights, shared biases, sample; the
    activations and loss given), then random ones (seeded by ``seed``) from one neuron up to
    ``sizes`` (``(inputs, hidden..., outputs)``), then ``sizes`` with a batch of 3. Every
    gradient is compared with autograd, |yours − g| ≤ ``atol`` + ``rtol``·|g|; a wrong one is
    diagnosed (η = ``learning_rate`` for the η mistakes). Each call has ``timeout`` seconds.
    """
    name = getattr(fn, "__name__", type(fn).__name__)
    if not callable(fn):
        raise TypeError(f"fn must be the backprop function (weights, biases, inputs, targets) "
                        f"-> (weight_grads, bias_grads), got {type(fn).__name__}")
    shape = _sizes(sizes)
    for what, act in (("hidden_activation", hidden_activation),
                      ("output_activation", output_activation)):
        if act not in ACTIVATIONS:
            raise ValueError(f"{what} must be one of {list(ACTIVATIONS)}, got {act!r}")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {list(LOSSES)}, got {loss!r}")
    timeout = positive_real(timeout, "timeout")
    rtol, atol = nonnegative_real(rtol, "rtol"), nonnegative_real(atol, "atol")
    learning_rate = positive_real(learning_rate, "learning_rate")
    rng = random.Random(integer(seed, "seed"))
    nets = [_article_net(hidden_activation, output_activation, loss)]
    nets += [_random_net(s, 1, rng, hidden_activation, output_activation, loss)
             for s in _ladder(shape)]
    nets.append(_random_net(shape, BATCH, rng, hidden_activation, output_activation, loss))
    file = _learner_file(fn)
    results = tuple(_check_network(fn, net, loss, timeout, file, rtol, atol, learning_rate)
                    for net in nets)
    return BackpropReport(name, results)


def _sizes(sizes: Any) -> tuple[int, ...]:
    """``sizes`` as a tuple of at least two positive ints (inputs, ..., outputs)."""
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 2:
        raise ValueError(f"sizes must list at least two layer widths (inputs, ..., outputs), "
                         f"got {sizes!r:.60}")
    for k, s in enumerate(sizes):
        if isinstance(s, bool) or not isinstance(s, int) or not 1 <= s <= 64:
            raise ValueError(f"sizes[{k}] must be an int from 1 to 64, got {s!r:.40}")
    return tuple(sizes)
