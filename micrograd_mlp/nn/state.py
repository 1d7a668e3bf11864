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
import os
from typing import Any

from ..core.checks import positive_int
from .files import atomic_write_bytes

__all__ = [
    "CONFIG_KEYS",
    "MAX_STATE_BYTES",
    "STATE_FORMAT",
    "STATE_VERSION",
    "check_saved_config",
    "read_state",
    "write_state",
]

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
    bad = [name for name, x in state.items() if not math.isfinite(x)]
    if bad:  # JSON has no NaN/inf
        raise ValueError(f"cannot save: parameter(s) {bad} are not finite "
                         f"({state[bad[0]]!r}); the previous file is left as it was")
    payload = {"format": STATE_FORMAT, "version": STATE_VERSION, "model": model,
               "config": config, "state": state}
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


def read_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed document of a state file, its format and version checked."""
    where = os.fspath(path)
    with open(path, "rb") as fh:
        raw = fh.read(MAX_STATE_BYTES + 1)
    if len(raw) > MAX_STATE_BYTES:
        raise ValueError(f"{where}: state file larger than the {MAX_STATE_BYTES} byte limit "
                         f"(nn.state.MAX_STATE_BYTES)")
    try:
        payload = json.loads(raw.decode("utf-8"), parse_constant=_parse_constant,
                             parse_float=_parse_float, parse_int=_parse_int)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{where}: not a JSON state file (not UTF-8 text: "
                         f"{exc.reason} at byte {exc.start})") from None
    except (json.JSONDecodeError, _Refused) as exc:
        raise ValueError(f"{where}: not a JSON state file ({exc})") from None
    except RecursionError:
        raise ValueError(f"{where}: not a state file (JSON nested too deeply)") from None
    if not isinstance(payload, dict) or payload.get("format") != STATE_FORMAT:
        raise ValueError(f"{where}: not a {STATE_FORMAT} file")
    if payload.get("version") != STATE_VERSION:
        raise ValueError(f"{where}: state version {payload.get('version')!r} not supported "
                         f"(expected {STATE_VERSION})")
    return payload


def check_saved_config(cfg: dict[str, Any], state: Any, where: str) -> None:
    """Refuse a saved MLP config before building anything from it: exactly the known keys, and an
    architecture whose parameter count is not far beyond the number of saved values (so a tiny
    hostile file cannot ask for a billion-parameter model)."""
    if sorted(cfg) != sorted(CONFIG_KEYS):
        raise ValueError(f"{where}: config keys must be {list(CONFIG_KEYS)}, got "
                         f"{sorted(cfg, key=str)}")
    nin, nouts, bias = cfg["nin"], cfg["nouts"], cfg["bias"]
    if not isinstance(cfg["train_bias"], bool):
        raise ValueError(f"{where}: config train_bias must be true or false, got "
                         f"{cfg['train_bias']!r}")
    try:  # (a JSON document: nin and the widths must be ints, not floats or bools)
        if not isinstance(nouts, list) or not nouts:
            raise ValueError("nouts must be a non-empty list")
        widths = [positive_int(nin, "nin"), *(positive_int(k, "nouts") for k in nouts)]
    except (TypeError, ValueError):
        raise ValueError(f"{where}: config nin/nouts must be positive integers, got {nin!r}, "
                         f"{nouts!r}") from None
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
