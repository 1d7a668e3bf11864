"""State files: a module's architecture and parameters as one JSON document.

::

    {"format": "micrograd_mlp.state", "version": 1, "model": "MLP",
     "config": {"nin": 2, "nouts": [2, 2], ...},      # the constructor arguments
     "state":  {"w1": 0.15, ..., "b2": 0.6}}          # Module.state_dict()

Writing is atomic (:func:`~micrograd_mlp.nn.files.atomic_write_bytes`). Reading trusts nothing:
at most :data:`MAX_STATE_BYTES`, UTF-8 JSON, finite numbers only, no pathological nesting, and a
config that cannot ask for more parameters than the file holds. Anything else is a ``ValueError``
naming the file; I/O problems stay ``OSError``.
"""

from __future__ import annotations

import itertools
import json
import math
import numbers as numbers_
import os
from typing import Any

from ..core.checks import positive_int, shown
from .files import atomic_write_bytes

STATE_FORMAT = "micrograd_mlp.state"
STATE_VERSION = 1
#: Largest state file read (bytes): 16 MiB, room for about half a million parameters. Larger
#: files are refused before they are parsed.
MAX_STATE_BYTES = 16 * 1024 * 1024
#: The architecture keys a saved MLP ``config`` holds (exactly these).
CONFIG_KEYS = ("nin", "nouts", "hidden_activation", "output_activation", "bias", "train_bias")


def write_state(path: str | os.PathLike[str], model: str, config: dict[str, Any],
                state: dict[str, float]) -> None:
    """Write one state file atomically; refuse (touching no file) a parameter that is not finite."""
    numbers: dict[str, float] = {}
    for name, x in state.items():  # a float, or what ``p.data = ...`` put there (numpy.float32)
        if type(x) is not float:
            if isinstance(x, bool) or not isinstance(x, numbers_.Real):
                raise TypeError(f"cannot save: parameter {name} holds {shown(x)}, not a real "
                                "number; the previous file is left as it was")
            try:
                x = float(x)
            except OverflowError:  # an int beyond the float range
                x = math.inf
        numbers[name] = x
    bad = [name for name, x in numbers.items() if not math.isfinite(x)]
    if bad:  # JSON has no NaN/inf
        raise ValueError(f"cannot save: parameter(s) {bad[:10]} are not finite "
                         f"({numbers[bad[0]]!r}); the previous file is left as it was")
    payload = {"format": STATE_FORMAT, "version": STATE_VERSION, "model": model,
               "config": config, "state": numbers}
    text = json.dumps(payload, indent=2, allow_nan=False)
    atomic_write_bytes(path, text.encode("utf-8"))


class _Refused(ValueError):
    """Raised from inside the JSON parser's hooks; re-raised as a ValueError naming the file."""


def _parse_constant(token: str) -> float:
    raise _Refused(f"non-finite number {token} is not allowed")


def _parse_float(text: str) -> float:
    x = float(text)
    if not math.isfinite(x):
        raise _Refused(f"number {text[:40]} does not fit in a finite float")
    return x


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > 309:  # beyond any finite float (and Python's int-parsing limit)
        raise _Refused(f"integer with {len(text)} digits does not fit in a finite float")
    return int(text)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (json.loads would keep the last silently)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"duplicate key {shown(key)}")
            seen.add(key)
    return obj


def strict_json(text: str, nonfinite: bool = False) -> Any:
    """``json.loads`` for a file a user gives: a key given twice, an integer beyond the floats
    and nesting too deep for the parser are refused with ``ValueError`` naming them (never
    CPython's digit-limit or recursion messages). ``NaN``/``Infinity`` are refused too, or with
    ``nonfinite`` read as floats, for the caller to refuse naming where they stand."""
    constant = float if nonfinite else _parse_constant
    try:
        return json.loads(text, parse_constant=constant, parse_float=_parse_float,
                          parse_int=_parse_int, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except _Refused as exc:
        raise ValueError(str(exc)) from None


def read_state(path: str | os.PathLike[str], model: str | None = None) -> dict[str, Any]:
    """The parsed document of a state file, its format, version (and ``model``, when given: the
    class name the file must have been saved by) checked."""
    where = os.fspath(path)
    with open(path, "rb") as fh:
        raw = fh.read(MAX_STATE_BYTES + 1)
    if len(raw) > MAX_STATE_BYTES:
        raise ValueError(f"{where}: state file larger than the {MAX_STATE_BYTES} byte limit "
                         f"(nn.state.MAX_STATE_BYTES)")
    try:
        payload = strict_json(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{where}: not a JSON state file (not UTF-8 text: "
                         f"{exc.reason} at byte {exc.start})") from None
    except ValueError as exc:  # bad JSON, or refused by strict_json (its own words)
        raise ValueError(f"{where}: not a JSON state file ({exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != STATE_FORMAT:
        raise ValueError(f"{where}: not a {STATE_FORMAT} file")
    version = payload.get("version")
    if type(version) is not int or version != STATE_VERSION:  # (true == 1 and 1.0 == 1: refused)
        raise ValueError(f"{where}: state version {version!r:.60} not supported "
                         f"(expected the integer {STATE_VERSION})")
    saved_by = payload.get("model")
    if not isinstance(saved_by, str):
        raise ValueError(f"{where}: the \"model\" entry must name the class that saved it, got "
                         f"{shown(saved_by)}")
    if model is not None and saved_by != model:
        raise ValueError(f"{where}: holds a {shown(saved_by)}, not a {model}")
    return payload


def check_saved_config(cfg: dict[str, Any], state: Any, where: str) -> None:
    """Refuse a saved MLP config before building anything from it: exactly the known keys, and an
    architecture whose parameter count is not far beyond the number of saved values (so a tiny
    hostile file cannot ask for a billion-parameter model)."""
    if sorted(cfg) != sorted(CONFIG_KEYS):
        unknown = [k for k in cfg if k not in CONFIG_KEYS]
        missing = [k for k in CONFIG_KEYS if k not in cfg]
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise ValueError(f"{where}: config keys must be {list(CONFIG_KEYS)}; missing {missing}, "
                         f"unknown {[k[:40] for k in unknown[:5]]}{more}")  # (JSON keys: str)
    nin, nouts, bias = cfg["nin"], cfg["nouts"], cfg["bias"]
    if not isinstance(cfg["train_bias"], bool):
        raise ValueError(f"{where}: config train_bias must be true or false, got "
                         f"{shown(cfg['train_bias'])}")
    for key in ("bias", "hidden_activation", "output_activation"):  # names: strings only
        if not isinstance(cfg[key], str):
            raise ValueError(f"{where}: config {key} must be a string, got {shown(cfg[key])}")
    try:  # (a JSON document: nin and the widths must be ints, not floats or bools)
        if not isinstance(nouts, list) or not nouts:
            raise ValueError("nouts must be a non-empty list")
        widths = [positive_int(nin, "nin"), *(positive_int(k, "nouts") for k in nouts)]
    except (TypeError, ValueError):
        raise ValueError(f"{where}: config nin/nouts must be positive integers, got "
                         f"{shown(nin)}, {shown(nouts)}") from None
    if not isinstance(state, dict):
        raise TypeError(f"{where}: state must be a mapping of name -> number, got "
                        f"{type(state).__name__}")
    limit = max(len(state), 10_000)  # building this many is cheap; load_state_dict names the rest
    count = 0
    for fan_in, width in itertools.pairwise(widths):
        count += fan_in * width + {"neuron": width, "shared": 1}.get(bias, 0)
        if count > limit:
            raise ValueError(f"{where}: the config describes more than {limit} parameters but the "
                             f"file holds {len(state)} values")
