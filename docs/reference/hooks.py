"""Build hooks of the docs site (mkdocs.yml: ``hooks:`` and the mkdocstrings ``extensions:``).

* :class:`DocstringsAsMarkdown`, a Griffe extension: the library's docstrings are written for
  readers of the source (reST roles, ``>>>`` examples, ``::`` literal blocks); it turns each into
  Markdown before mkdocstrings renders it, so examples show as code, not as nested quotes. Data
  (a table, a constant) is documented by the ``#:`` comment above its assignment, which becomes
  its docstring.
* The MkDocs hooks make ``mkdocs build --strict`` fail (a logged warning) when a public name -
  every name of the ``__all__`` of the package root, of each layer package and of each public
  module - has no docstring, when a public module has no reference page, or when the built
  reference has no entry (an HTML anchor) for a public name. They also write the package root's
  page: a table of its names, each linked to where it is documented.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import re
import types
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.micrograd_mlp")

ROOT_PACKAGE = "micrograd_mlp"
LAYERS = ("core", "nn", "reference", "compile", "viz", "cli")
#: Public by being a supported path though no ``__all__`` names it as a module.
EXTRA_PUBLIC = ("micrograd_mlp.nn.micrograd",)
REFERENCE_DIR = Path(__file__).resolve().parent
ROOT_PAGE = "reference/index.md"

# ---------------------------------------------------------------- docstrings as Markdown

ROLE = re.compile(r":(?:func|class|meth|attr|data|mod|exc|obj|pep):`~?([^`]+)`")
PROMPT = re.compile(r"^\s*(>>>|\.\.\.)( |$)")


def _literal_block(lines: list[str], start: int) -> tuple[list[str], int]:
    """The indented block after a ``::`` line (from ``start``, blank lines first), fenced."""
    j = start
    while j < len(lines) and not lines[j].strip():
        j += 1
    if j == len(lines):
        return [], start
    indent = len(lines[j]) - len(lines[j].lstrip())
    outer = len(lines[start - 1]) - len(lines[start - 1].lstrip())
    if indent <= outer:
        return [], start
    body = []
    while j < len(lines) and (not lines[j].strip()
                              or len(lines[j]) - len(lines[j].lstrip()) >= indent):
        body.append(lines[j][indent:])
        j += 1
    while body and not body[-1].strip():
        body.pop()
    pad = " " * outer
    return ["", pad + "```text", *(pad + b if b else "" for b in body), pad + "```", ""], j


def markdown_docstring(text: str) -> str:
    """The Markdown for a docstring written in the library's reST-flavoured style.

    ``>>>`` examples (with their output, up to a blank line) become ```` ```pycon ```` blocks,
    a paragraph ending in ``::`` introduces a ```` ```text ```` block, and the roles
    ``:func:`x``` (``:class:``, ``:meth:``, ...) become code spans.
    """
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if PROMPT.match(line) and line.lstrip().startswith(">>>"):
            pad = line[: len(line) - len(line.lstrip())]
            out += ["", pad + "```pycon"]
            while i < len(lines) and lines[i].strip():
                out.append(lines[i])
                i += 1
            out += [pad + "```", ""]
            continue
        if line.rstrip().endswith("::"):
            body, after = _literal_block(lines, i + 1)
            if body:
                stripped = line.rstrip()[:-2].rstrip()
                if stripped.strip():
                    out.append(ROLE.sub(r"`\1`", stripped) + ":")
                out += body
                i = after
                continue
        out.append(ROLE.sub(r"`\1`", line))
        i += 1
    return "\n".join(out)


try:  # the Griffe extension exists only where the docs extra is installed
    import griffe
except ImportError:  # pragma: no cover - the hooks' checks are still importable
    griffe = None

if griffe is not None:

    class DocstringsAsMarkdown(griffe.Extension):  # type: ignore[misc]
        """Rewrites every docstring of the loaded package with :func:`markdown_docstring`."""

        def on_package(self, *, pkg: Any, **kwargs: Any) -> None:
            seen: set[int] = set()
            todo = [pkg]
            while todo:
                obj = todo.pop()
                if id(obj) in seen or obj.is_alias:
                    continue
                seen.add(id(obj))
                if obj.docstring is None and obj.is_attribute:
                    comment = _comment_above(obj)
                    if comment:
                        obj.docstring = griffe.Docstring(comment, parent=obj)
                if obj.docstring is not None:
                    obj.docstring.value = markdown_docstring(obj.docstring.value)
                todo += [m for m in obj.members.values() if not m.is_alias]

    def _comment_above(obj: Any) -> str:
        """The ``#:`` comment lines right above an attribute's assignment (Sphinx's convention
        for documenting data, which the library uses), as its docstring."""
        try:
            lines = obj.lines_collection[obj.filepath]
        except (KeyError, AttributeError, TypeError):
            return ""
        above = []
        k = (obj.lineno or 1) - 2
        while k >= 0 and lines[k].lstrip().startswith("#:"):
            above.append(lines[k].lstrip()[2:].strip())
            k -= 1
        return "\n".join(reversed(above))


# ---------------------------------------------------------------- the public surface


def public_surface() -> dict[str, list[str]]:
    """``{module path: its __all__}``: the root, each layer package, and every module that a
    public ``__all__`` names (``reference.article``) or that is a supported path."""
    surface: dict[str, list[str]] = {}
    todo = [ROOT_PACKAGE, *(f"{ROOT_PACKAGE}.{layer}" for layer in LAYERS), *EXTRA_PUBLIC]
    while todo:
        module = importlib.import_module(todo.pop(0))
        if module.__name__ in surface:
            continue
        surface[module.__name__] = list(module.__all__)
        todo += [obj.__name__ for obj in (getattr(module, n) for n in module.__all__)
                 if isinstance(obj, types.ModuleType)]
    return surface


def missing_docstrings(surface: dict[str, list[str]]) -> list[str]:
    """The public functions, classes and modules without a docstring of their own (data -
    a table, a tuple of names, a type alias - is documented by its module)."""
    missing = []
    for path, names in surface.items():
        module = importlib.import_module(path)
        if not (module.__doc__ or "").strip():
            missing.append(path)
        for name in names:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.ismodule(obj):
                doc = obj.__doc__
            elif inspect.isroutine(obj):
                doc = inspect.getdoc(obj)
            else:
                continue
            if not (doc or "").strip():
                missing.append(f"{path}.{name}")
    return missing


def reference_pages(directory: Path = REFERENCE_DIR) -> dict[str, str]:
    """``{module path: page}`` for each ``::: module`` directive under docs/reference/."""
    pages = {}
    for page in sorted(directory.glob("*.md")):
        for m in re.finditer(r"^:::\s*(\S+)", page.read_text(encoding="utf-8"), re.M):
            pages[m.group(1)] = page.name
    return pages


def accepted_anchors(surface: dict[str, list[str]], path: str, name: str) -> set[str]:
    """The anchors under which ``path.name`` counts as documented: its own, the same object's
    under another public module (the root re-exports the layers' names), a module's page."""
    obj = getattr(importlib.import_module(path), name)
    anchors = {f"{path}.{name}"}
    for other, names in surface.items():
        if name in names and getattr(importlib.import_module(other), name) is obj:
            anchors.add(f"{other}.{name}")
    if isinstance(obj, types.ModuleType):
        return {obj.__name__}  # its own page, not a same-named entry
    defined = defining_path(obj)
    if defined:
        anchors.add(defined)
    return anchors - {f"{p}.{name}" for p in surface if _shadowed(p, name)}


def defining_path(obj: object) -> str | None:
    """``module.qualname`` where a class or function is defined, else ``None``."""
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    return f"{module}.{qualname}" if module and qualname else None


def _shadowed(path: str, name: str) -> bool:
    """True when module ``path`` has a submodule ``name`` besides its attribute ``name``
    (``reference.explain`` the function and ``reference/explain.py``): the static reference
    sees the submodule, so the function is documented under its defining path."""
    try:
        return importlib.util.find_spec(f"{path}.{name}") is not None
    except (ImportError, AttributeError, ValueError):
        return False


def undocumented_names(surface: dict[str, list[str]], anchors: set[str]) -> list[str]:
    """The public names none of whose :func:`accepted_anchors` is among the site's ``anchors``
    (``__version__`` is shown on the root page as text)."""
    return [f"{path}.{name}" for path, names in surface.items() for name in names
            if name != "__version__" and not accepted_anchors(surface, path, name) & anchors]


def home_of(surface: dict[str, list[str]], name: str) -> str | None:
    """Where the root's ``name`` is documented: a layer's (or public module's) anchor."""
    obj = getattr(importlib.import_module(ROOT_PACKAGE), name)
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    for path, names in surface.items():
        if path != ROOT_PACKAGE and name in names and \
                getattr(importlib.import_module(path), name) is obj:
            return defining_path(obj) if _shadowed(path, name) else f"{path}.{name}"
    return None


def root_table(surface: dict[str, list[str]]) -> str:
    """The root page's table: each name of ``micrograd_mlp.__all__``, where it is documented,
    and the first line of its docstring."""
    module = importlib.import_module(ROOT_PACKAGE)
    rows = ["| name | documented in | summary |", "|---|---|---|"]
    for name in surface[ROOT_PACKAGE]:
        obj = getattr(module, name)
        home = home_of(surface, name)
        summary = ""
        if inspect.isclass(obj) or inspect.ismodule(obj) or inspect.isroutine(obj):
            summary = (inspect.getdoc(obj) or "").strip().split("\n\n")[0].replace("\n", " ")
            summary = ROLE.sub(r"`\1`", summary).replace("|", "\\|")
        if name == "__version__":
            rows.append(f"| `__version__` | | the version, `{obj}` |")
        elif home is None:
            rows.append(f"| `{name}` | (nowhere) | {summary} |")
        else:
            where = home if isinstance(obj, types.ModuleType) else home.rsplit(".", 1)[0]
            rows.append(f"| [`{name}`][{home}] | `{where}` | {summary} |")
    return "\n".join(rows)


# ---------------------------------------------------------------- MkDocs event hooks

_anchors: set[str] = set()
_ANCHOR = re.compile(r'\bid="(micrograd_mlp[\w.]*)"')


def on_pre_build(config: Any, **kwargs: Any) -> None:
    """Warn (fail a strict build) on a missing docstring or a module without a page."""
    _anchors.clear()
    surface = public_surface()
    for name in missing_docstrings(surface):
        log.warning("public name without a docstring: %s", name)
    pages = reference_pages()
    for path in surface:
        if path not in pages:
            log.warning("public module without an API reference page (a `::: %s` line in "
                        "docs/reference/): %s", path, path)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Append the generated table of names to the package root's reference page."""
    if page.file.src_uri == ROOT_PAGE:
        return markdown + "\n\n## The names of `micrograd_mlp.__all__`\n\n" + \
            root_table(public_surface()) + "\n"
    return markdown


def on_page_content(html: str, page: Any, **kwargs: Any) -> str:
    """Collect the anchors of the API entries mkdocstrings wrote."""
    _anchors.update(_ANCHOR.findall(html))
    return html


def on_post_build(config: Any, **kwargs: Any) -> None:
    """Warn about every public name the built reference does not document."""
    for name in undocumented_names(public_surface(), _anchors):
        log.warning("public name missing from the generated API reference: %s", name)
