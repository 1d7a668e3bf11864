"""The command line: ``micrograd-mlp`` / ``python -m micrograd_mlp``.

The public surface: :func:`main` runs the command line and returns its exit status,
:func:`build_parser` is its ``argparse`` parser, :class:`CLIError` the error a command reports
(``micrograd-mlp: error: ...``, exit status 1), and :class:`ProgressBar` the bar ``train`` draws.

Inside, one module per command (:mod:`.demo`, :mod:`.train`, :mod:`.compare`, :mod:`.check`,
:mod:`.explain`, :mod:`.graph`), each declaring its ``COMMAND`` and ``run``; the one argument set-up
they share (the ``Command`` declaration, the model and ``--json`` options) in :mod:`.command`; the
argument types, exit statuses and model loading in :mod:`.parsing`; and :mod:`.main` building the
parser from them. The top layer: it imports every other package, none imports it.
"""

from .main import build_parser, main
from .parsing import CLIError
from .progress import ProgressBar

__all__ = ["CLIError", "ProgressBar", "build_parser", "main"]
