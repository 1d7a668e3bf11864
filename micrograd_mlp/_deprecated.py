"""The module paths of earlier releases, kept importable for one release (no stub file per path).

``micrograd_mlp.losses`` was a module of its own before the package was split into layers; it is
now ``micrograd_mlp.nn.losses``. Each old path stays importable, as the *same module object* as
the new one, and says so once with a :class:`DeprecationWarning` naming the new path:

* ``import micrograd_mlp.losses`` and ``from micrograd_mlp.losses import mse`` go through
  :class:`AliasFinder`, an import hook in :data:`sys.meta_path` that answers only for the old
  paths and whose loader hands back the real module (imported then, not before);
* ``micrograd_mlp.losses`` read as an attribute (``from micrograd_mlp import losses``) goes
  through the package's module ``__getattr__``, which calls :func:`resolve`.

``micrograd_mlp.micrograd`` (the micrograd 0.1 drop-in, ``micrograd_mlp.nn.micrograd``) is a
*supported* short path, not a deprecated one: it resolves the same way and does not warn.

Nothing here imports a layer until an old path is used, so ``import micrograd_mlp`` stays light.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

PACKAGE = "micrograd_mlp"

#: Old path → new path, both relative to the package: deprecated, removed in the next release.
MOVED: dict[str, str] = {
    "engine": "core",
    "primitives": "core.table",
    "anomaly": "core.anomaly",
    "losses": "nn.losses",
    "optim": "nn.optim",
    "training": "compile.training",
    "datasets": "nn.datasets",
    "article": "reference.article",
    "manual": "reference.manual",
    "compare": "reference.compare",
    "explain": "reference.explain",
    "compiled": "compile",
    "graph": "viz.graph",
}

#: Short paths that stay supported (no warning): the micrograd drop-in, which
#: docs/coming-from-micrograd.md promises as a one-line change of import.
SHORT: dict[str, str] = {"micrograd": "nn.micrograd"}

#: Frames a warning skips: the import machinery, this module and the package's ``__getattr__``.
_SKIPPED = frozenset({importlib.__file__, __file__,
                      os.path.join(os.path.dirname(__file__), "__init__.py")})


def new_path(fullname: str) -> tuple[str, bool] | None:
    """``(real module path, deprecated?)`` for an old path (a module under an old package path,
    ``micrograd_mlp.engine.value``, included); ``None`` for any other name."""
    prefix, _, rest = fullname.partition(".")
    if prefix != PACKAGE or not rest:
        return None
    head, dot, tail = rest.partition(".")
    if head in MOVED:
        return f"{PACKAGE}.{MOVED[head]}{dot}{tail}", True
    if head in SHORT:
        return f"{PACKAGE}.{SHORT[head]}{dot}{tail}", False
    return None


def message(old: str, new: str) -> str:
    """The warning for the old path ``old``, naming ``new``."""
    return f"{old} is deprecated and will be removed in the next release; import {new} instead"


def _stacklevel() -> int:
    """The stack level of the first caller outside the import machinery and this package's
    hooks, so the warning points at the user's ``import`` line. (:func:`warnings.warn` skips
    the frames of ``importlib._bootstrap`` itself when counting; the others count here.)"""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None:
        name = frame.f_code.co_filename
        if name in _SKIPPED:
            level += 1
        elif not (name.startswith("<frozen importlib")
                  or ("importlib" in name and "_bootstrap" in name)):
            break
        frame = frame.f_back
    return level


def resolve(fullname: str) -> ModuleType:
    """The module the old path ``fullname`` stands for, imported now; warns if it is deprecated.
    ``KeyError`` if ``fullname`` is no old path."""
    found = new_path(fullname)
    if found is None:
        raise KeyError(fullname)
    new, deprecated = found
    if deprecated:
        warnings.warn(message(fullname, new), DeprecationWarning, stacklevel=_stacklevel())
    return importlib.import_module(new)


class _AliasLoader(importlib.abc.Loader):
    """Loads an old path as the real module object. The import system sets ``__spec__`` on the
    module it is handed; :meth:`exec_module` puts the real one back."""

    real_spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = resolve(spec.name)
        self.real_spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run (the real module was imported by :meth:`create_module`); its own
        ``__spec__`` (real name, parent, origin) is put back."""
        module.__spec__ = self.real_spec


class AliasFinder(importlib.abc.MetaPathFinder):
    """Finds the old paths only (:func:`new_path`); every other import passes by. First in
    :data:`sys.meta_path`, so ``micrograd_mlp.engine.value`` is the real ``core.value`` rather
    than a second copy of its file."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(_PREFIX) or new_path(fullname) is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader())


_PREFIX = PACKAGE + "."


def install() -> None:
    """Put one :class:`AliasFinder` first in :data:`sys.meta_path` (once, even on a reload)."""
    if not any(type(f).__name__ == "AliasFinder" and type(f).__module__ == __name__
               for f in sys.meta_path):
        sys.meta_path.insert(0, AliasFinder())
