"""The command line: ``micrograd-mlp`` / ``python -m micrograd_mlp``.

One module per command (:mod:`.demo`, :mod:`.train`, :mod:`.compare`, :mod:`.explain`,
:mod:`.graph`), the shared argument types and exit statuses in :mod:`.parsing`, and :mod:`.main`
building the parser from them. The top layer: it imports every other package, none imports it.
"""

from .main import build_parser, main
from .parsing import CLIError
from .progress import ProgressBar

__all__ = ["CLIError", "ProgressBar", "build_parser", "main"]
