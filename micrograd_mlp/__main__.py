"""``python -m micrograd_mlp``: the same command line as ``micrograd-mlp``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
