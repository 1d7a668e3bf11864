"""``micrograd-mlp check-engine PATH.py``: a learner's own micrograd-style ``Value`` class run on
a battery of small graphs beside the library's engine; each mistake named once, at its cause.
Exit status 1 when a mistake is found, 0 when none, 2 for a usage error."""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import sys
from types import ModuleType
from typing import TextIO

from ..reference.engine_check import NotValueLikeError, check_engine, run_limited
from .command import Command, json_option, option
from .parsing import EXIT_FAILURE, EXIT_OK, positive_real, usage_error

COMMAND = Command(
    "check-engine",
    help="check the micrograd you wrote (a Python file with a Value class)",
    description="Imports PATH.py, takes its Value class (or --class NAME) and runs each op alone "
                "at several points, constants on either side, a node used twice, diamonds, a "
                "deep chain and backward() twice on it and on the library's engine, comparing "
                "forward values and every leaf's gradient. Each mistake is named once, at its "
                "cause (wrong-forward, wrong-derivative, overwrites-grad, topological-order, "
                "constant-operand, seed-not-one, raises, hangs), then random graphs over the "
                "ops found right (wrong-gradient); what the engine lacks is a note. Exit "
                "status 1 when a mistake is found, 0 when none, 2 for a usage error.",
    options=(
        option("path", metavar="PATH.py", help="the Python file that defines your engine"),
        option("--class", dest="class_name", default="Value", metavar="NAME",
               help="the name of the class to check (default: %(default)s)"),
        option("--timeout", type=positive_real, default=2.0, metavar="SECONDS",
               help="the time limit of each probe (default: %(default)s s)"),
        json_option("findings and notes"),
    ),
)


def load_learner_file(args: argparse.Namespace) -> ModuleType:
    """Import the learner's ``args.path`` under a name of its own, within ``args.timeout``
    seconds; no such file, an import that raises (with the learner's line) or hangs is a usage
    error (status 2). Shared with ``check-backprop``."""
    path = os.path.abspath(args.path)
    if not os.path.isfile(path):
        usage_error(args, f"no such file: {args.path}")
    name = "_learner_engine_" + hashlib.sha1(path.encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        usage_error(args, f"{args.path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader = spec.loader
    outcome = run_limited(lambda: loader.exec_module(module), args.timeout, path)
    if outcome.hung:
        usage_error(args, f"{args.path}: importing it ran past {args.timeout:g} s")
    if outcome.error is not None:
        where = outcome.line or f"{type(outcome.error).__name__}: {outcome.error}"
        usage_error(args, f"cannot import {args.path}: {where}")
    return module


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The engine's findings and notes as a short report (or JSON); status 1 on a mistake."""
    module = load_learner_file(args)
    cls = getattr(module, args.class_name, None)
    if cls is None:
        usage_error(args, f"{args.path} defines no {args.class_name!r} (use --class NAME)")
    if not isinstance(cls, type):
        usage_error(args, f"{args.class_name!r} in {args.path} is not a class")
    try:
        report = check_engine(cls, timeout=args.timeout)
    except NotValueLikeError as exc:
        usage_error(args, str(exc))
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.text(100), file=out)
    return EXIT_OK if report.ok else EXIT_FAILURE
