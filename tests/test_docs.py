"""The docs cannot drift: every ```python block of README.md and docs/*.md is executed.

Conventions (documented in docs/tutorial.md, "How the docs are tested"):

* A fenced block opened with ```python is run. The blocks of one file run in order in one shared
  namespace (a later block may use names from an earlier one), in a fresh temporary directory, so
  files a snippet writes do not litter the repository.
* A block whose first code line starts with ``>>>`` is a doctest: its printed output is compared.
  Otherwise the block is executed as a script (use ``assert`` to state facts).
* ```python-norun (or ```pycon-norun, or any fence language other than ``python``) is shown but
  not run: for snippets needing a display, Jupyter, or an optional package.
* In ```bash / ```console / ```sh blocks, every line starting with ``micrograd-mlp`` or
  ``python -m micrograd_mlp`` is parsed by the real argument parser (not run), so documented
  commands and options must exist.
* Every module docstring example (``>>>``) in the package runs too.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import inspect
import os
import pkgutil
import re
import shlex
import sys
import textwrap
import types
import warnings
from pathlib import Path

import pytest

import micrograd_mlp

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = sorted([*ROOT.glob("docs/*.md"), ROOT / "README.md"])
DOC_FILES = [p for p in DOC_FILES if p.exists()]

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>```+|~~~+)[ \t]*(?P<lang>[^\s`]*)[^\n]*$")


def fenced_blocks(text: str) -> list[tuple[str, int, str]]:
    """``(language, first line number, code)`` for every fenced block of a Markdown text."""
    blocks = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        ticks, lang, indent = m.group("ticks"), m.group("lang").lower(), m.group("indent")
        start = i + 1
        j = start
        while j < len(lines) and not lines[j].strip().startswith(ticks[0] * len(ticks)):
            j += 1
        body = "\n".join(line[len(indent):] if line.startswith(indent) else line
                         for line in lines[start:j])
        blocks.append((lang, start + 1, textwrap.dedent(body)))
        i = j + 1
    return blocks


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_fence_parser_on_a_known_text():
    text = "x\n```python\na = 1\n```\n\n```python-norun\nb\n```\n  ```bash\n  ls\n  ```\n"
    assert fenced_blocks(text) == [("python", 3, "a = 1"), ("python-norun", 7, "b"),
                                   ("bash", 10, "ls")]


def test_there_are_docs_to_check():
    names = {_rel(p) for p in DOC_FILES}
    assert "README.md" in names and "docs/tutorial.md" in names


@pytest.mark.parametrize("path", DOC_FILES, ids=_rel)
def test_python_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_{path.stem}"}
    ran = 0
    for lang, line, code in fenced_blocks(path.read_text(encoding="utf-8")):
        if lang != "python":
            continue
        where = f"{_rel(path)}:{line}"
        first = next((ln for ln in code.splitlines() if ln.strip()), "")
        if first.lstrip().startswith(">>>"):
            parser = doctest.DocTestParser()
            test = parser.get_doctest(code, namespace, where, str(path), line - 1)
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS
                                           | doctest.NORMALIZE_WHITESPACE)
            runner.run(test, clear_globs=False)
            result = runner.summarize(verbose=False)
            assert result.failed == 0, f"doctest block at {where} failed (see output above)"
        else:
            try:
                exec(compile(code, where, "exec"), namespace)
            except Exception as exc:  # re-raise with the doc location first
                raise AssertionError(f"python block at {where} raised {exc!r}") from exc
        ran += 1
    if ran == 0:
        pytest.skip(f"{_rel(path)} has no python blocks")


COMMAND = re.compile(r"^\s*(?:\$\s*)?(micrograd-mlp|python3? -m micrograd_mlp)(\s.*)?$")


def _documented_commands() -> list[tuple[str, str]]:
    found = []
    for path in DOC_FILES:
        for lang, line, code in fenced_blocks(path.read_text(encoding="utf-8")):
            if lang not in ("bash", "sh", "console", "shell", "text", ""):
                continue
            # join continuation lines
            code = re.sub(r"\\\n\s*", " ", code)
            for k, text in enumerate(code.splitlines()):
                for piece in re.split(r"&&|;|\|\|", text):
                    m = COMMAND.match(piece)
                    if m:
                        args = (m.group(2) or "").split(" #")[0].strip()
                        found.append((f"{_rel(path)}:{line + k}", args))
    return found


@pytest.mark.parametrize("where, args", _documented_commands() or [("none", "--help")])
def test_documented_commands_parse(where, args):
    from micrograd_mlp.cli import build_parser

    argv = shlex.split(args.split("#")[0].split("|")[0].split(">")[0])
    if "--help" in argv or "-h" in argv or "--version" in argv:
        return  # argparse exits on these; covered by test_cli
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:
        raise AssertionError(f"documented command at {where} does not parse: {args!r}") from exc


def _package_modules() -> list[str]:
    names = [micrograd_mlp.__name__]
    for info in pkgutil.walk_packages(micrograd_mlp.__path__, prefix="micrograd_mlp."):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _package_modules())
def test_module_docstring_examples(name):
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # a module built on an optional package (e.g. numpy)
        pytest.skip(f"{name} needs an optional package: {exc}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed"


LAYERS = ("core", "nn", "reference", "compile", "viz", "cli")
#: The packages whose modules are all converted: internal modules carry no ``__all__``.
#: (compile/, viz/ and cli/ join when their rewrites land.)
PRIVATE_CHECKED = ("core", "nn", "reference")


def public_surface() -> dict[str, list[str]]:
    """``{module path: its __all__}`` for the public modules: the package root, each layer
    package, and each module that is itself a public name (``reference.article``,
    ``reference.manual``) or a supported path (``nn.micrograd``, the drop-in)."""
    surface: dict[str, list[str]] = {}
    todo = ["micrograd_mlp", *(f"micrograd_mlp.{layer}" for layer in LAYERS),
            "micrograd_mlp.nn.micrograd"]
    while todo:
        module = importlib.import_module(todo.pop(0))
        if module.__name__ in surface:
            continue
        surface[module.__name__] = list(module.__all__)
        todo += [obj.__name__ for obj in (getattr(module, n) for n in module.__all__)
                 if isinstance(obj, types.ModuleType)]
    return surface


def _api_sections() -> dict[str, str]:
    """docs/api.md's ``## `micrograd_mlp...` `` sections: ``{heading path: body}``."""
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    sections = {}
    for chunk in re.split(r"^## ", text, flags=re.M)[1:]:
        heading, _, body = chunk.partition("\n")
        m = re.match(r"`(micrograd_mlp(?:\.\w+)*)`", heading)
        if m:
            sections[m.group(1)] = sections.get(m.group(1), "") + body
    return sections


def test_the_public_surface_is_small():
    """At most about 50 names in each public ``__all__`` (the issue's bound), none twice."""
    for path, names in public_surface().items():
        assert len(names) <= 50, f"{path}.__all__ has {len(names)} names"
        assert len(set(names)) == len(names), f"{path}.__all__ names one twice"


def test_every_public_name_has_a_docstring():
    """Every public function, class and module documents itself (its own docstring, not an
    inherited one); data - a table, a tuple of names, a type alias - is documented in
    its module's docstring and by its ``#:`` comment."""
    missing = []
    for path, names in public_surface().items():
        module = importlib.import_module(path)
        for name in names:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj)):
                continue  # data, a type alias (Number)
            doc = obj.__doc__ if inspect.isclass(obj) or inspect.ismodule(obj) else inspect.getdoc(obj)
            if not (doc or "").strip():
                missing.append(f"{path}.{name}")
    assert not missing, f"no docstring: {', '.join(missing)}"


def test_api_overview_has_a_section_for_every_public_module():
    """docs/api.md has a ``## `micrograd_mlp.<path>` `` section for each public module (its real
    path), linking to that module's generated reference page."""
    sections = _api_sections()
    pages = _hooks().reference_pages()
    missing = [path for path in public_surface() if path not in sections]
    assert not missing, f"docs/api.md has no section for {missing}"
    unlinked = [path for path, body in sections.items()
                if path in pages and f"(reference/{pages[path]})" not in body]
    assert not unlinked, f"docs/api.md's sections do not link their reference page: {unlinked}"


# ---------------------------------------------------------------- the docs site (mkdocs.yml)


def _hooks() -> types.ModuleType:
    """docs/reference/hooks.py, the docs site's build hooks (importable without mkdocs)."""
    spec = importlib.util.spec_from_file_location("docs_site_hooks",
                                                  ROOT / "docs" / "reference" / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_public_module_has_a_generated_reference_page():
    """Each public module has a ``::: <path>`` page under docs/reference/ (mkdocstrings renders
    its ``__all__`` there), and the site's nav lists every page of docs/."""
    pages = _hooks().reference_pages()
    missing = [path for path in public_surface() if path not in pages]
    assert not missing, f"no ``::: module`` page in docs/reference/ for {missing}"
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages_on_disk = [p.relative_to(ROOT / "docs").as_posix() for p in ROOT.glob("docs/**/*.md")]
    unlisted = [page for page in pages_on_disk if f": {page}" not in nav]
    assert not unlisted, f"mkdocs.yml's nav does not list {unlisted}"


def test_the_site_hooks_see_the_same_public_surface_as_the_tests():
    assert _hooks().public_surface() == public_surface()


def test_site_hook_finds_a_public_function_without_a_docstring(monkeypatch):
    hooks = _hooks()
    assert hooks.missing_docstrings(public_surface()) == []
    monkeypatch.setattr(micrograd_mlp.nn.mse, "__doc__", None)
    assert hooks.missing_docstrings(public_surface()) == ["micrograd_mlp.mse",
                                                           "micrograd_mlp.nn.mse"]


def test_site_hook_finds_a_public_name_missing_from_the_built_reference():
    """A name counts as documented under its own anchor, under a public module re-exporting the
    same object (the root's names), or - when a submodule of the same name hides it from the
    static reference (``reference.explain``) - under its defining path; a module by its page."""
    hooks = _hooks()
    surface = public_surface()
    anchors = {f"{path}.{name}" for path, names in surface.items() if path != "micrograd_mlp"
               for name in names}
    anchors |= {"micrograd_mlp.reference.explain.explain",
                "micrograd_mlp.reference.gradcheck.gradcheck", "micrograd_mlp.cli.main.main",
                *surface}
    anchors -= {"micrograd_mlp.reference.explain", "micrograd_mlp.reference.gradcheck",
                "micrograd_mlp.cli.main"}
    assert hooks.undocumented_names(surface, anchors) == []
    assert hooks.undocumented_names(surface, anchors - {"micrograd_mlp.core.Value"}) == [
        "micrograd_mlp.Value", "micrograd_mlp.core.Value"]
    # the submodule's page anchor does not count for the function that it hides
    broken = anchors - {"micrograd_mlp.reference.explain.explain"}
    assert hooks.undocumented_names(surface, broken | {"micrograd_mlp.reference.explain"}) == [
        "micrograd_mlp.explain", "micrograd_mlp.reference.explain"]


def test_site_hook_turns_docstring_examples_into_markdown_code():
    md = _hooks().markdown_docstring
    text = ("Sum. See :func:`~micrograd_mlp.nn.mse` and :class:`Value`.\n\n"
            ">>> 1 + 1\n2\n\nA table::\n\n    a | b\n    1 | 2\n\nEnd.")
    assert md(text).splitlines() == [
        "Sum. See `micrograd_mlp.nn.mse` and `Value`.", "", "", "```pycon", ">>> 1 + 1", "2",
        "```", "", "", "A table:", "", "```text", "a | b", "1 | 2", "```", "", "End."]


def test_site_griffe_extension_documents_data_by_its_comment_and_fences_examples():
    """What mkdocstrings renders: a ``#:`` comment becomes the data's docstring, and a
    function's ``>>>`` example a fenced block (not a Markdown quote)."""
    griffe = pytest.importorskip("griffe", reason="the `docs` extra is not installed")
    hooks = _hooks()
    code = {"mod.py": ('"""A module."""\n\n#: The rate η,\n#: in units of 1.\nRATE = 0.5\n'
                         'OTHER = 1\n\ndef f():\n    """Twice.\n\n    >>> f()\n    2\n    """\n')}
    extensions = griffe.load_extensions(hooks.DocstringsAsMarkdown())
    with griffe.temporary_visited_package("pkg", code, extensions=extensions) as pkg:
        module = pkg["mod"]
        assert module["RATE"].docstring.value == "The rate η,\nin units of 1."
        assert module["OTHER"].docstring is None
        assert "```pycon\n>>> f()\n2\n```" in module["f"].docstring.value


def test_root_reference_table_links_every_root_name_to_its_documentation():
    table = _hooks().root_table(public_surface())
    for name in micrograd_mlp.__all__:
        assert f"`{name}`" in table
    assert "(nowhere)" not in table
    assert "[`explain`][micrograd_mlp.reference.explain.explain]" in table
    assert "[`Value`][micrograd_mlp.core.Value]" in table


def test_docs_site_builds_strictly_and_documents_every_public_name(tmp_path):
    """``mkdocs build --strict`` succeeds (no broken link or anchor, no page outside the nav,
    every public name with a docstring and in the generated reference: the hooks), and every
    public name has its entry (an HTML anchor) in the built site. Skips without the ``docs``
    extra; CI installs it and runs the same build (.ci/run)."""
    for module in ("mkdocs", "mkdocstrings", "mkdocstrings_handlers.python", "material"):
        pytest.importorskip(module, reason="the `docs` extra is not installed")
    import subprocess

    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                           "-f", str(ROOT / "mkdocs.yml"), "-d", str(site)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-4000:]
    hooks = _hooks()
    anchors = {a for page in site.rglob("*.html")
               for a in hooks._ANCHOR.findall(page.read_text(encoding="utf-8"))}
    assert hooks.undocumented_names(public_surface(), anchors) == []


def test_api_reference_headings_are_real_module_paths():
    """Each section is headed by a module's own path (a file or package of the library), not by
    an old alias: importing it warns of nothing and gives a module of that very name."""
    for path in _api_sections():
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            sys.modules.pop(path, None) if path in _deprecated_paths() else None
            module = importlib.import_module(path)
        assert module.__name__ == path, f"docs/api.md heads a section with the alias {path}"


def _deprecated_paths() -> set[str]:
    from micrograd_mlp import _deprecated

    return {f"micrograd_mlp.{old}" for old in (*_deprecated.MOVED, *_deprecated.SHORT)}


@pytest.mark.parametrize("name", [m for m in _package_modules()
                                  if m.split(".")[1:2] and m.split(".")[1] in PRIVATE_CHECKED])
def test_internal_modules_carry_no_all(name):
    """Only the public modules have an ``__all__``; an internal module's names are not API."""
    module = importlib.import_module(name)
    public = set(public_surface())
    assert name in public or not hasattr(module, "__all__"), (
        f"{name} is internal (importable by path for the library's own use): remove its "
        "__all__, or make it public in its package's __init__")


def _svg_texts(path: Path) -> list[str]:
    import xml.etree.ElementTree as ET

    return sorted((el.text or "").strip() for el in ET.parse(path).getroot().iter()
                  if el.tag.endswith("text") and (el.text or "").strip())


def test_readme_pictures_are_current(tmp_path):
    """docs/images/graph.svg is what `micrograd-mlp graph -o docs/images/graph.svg` draws now
    (same texts: labels, values, gradients, δs), and the loss pictures are PNG files."""
    from micrograd_mlp.cli import main

    committed = ROOT / "docs" / "images" / "graph.svg"
    fresh = tmp_path / "graph.svg"
    assert main(["graph", "-o", str(fresh)]) == 0
    texts = _svg_texts(committed)
    assert texts == _svg_texts(fresh), (
        "docs/images/graph.svg is stale: rerun `micrograd-mlp graph -o docs/images/graph.svg`")
    for k in range(1, 9):
        assert f"w{k}" in texts
    for name in ("loss.png", "article-loss.png"):
        data = (ROOT / "docs" / "images" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name


def test_cli_reference_mentions_every_command_and_option():
    """docs/cli.md names every subcommand and every option of it (drift the other way round)."""
    import argparse

    from micrograd_mlp.cli import build_parser

    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for command, subparser in sub.choices.items():
        if f"## `{command}" not in text:
            missing.append(f"section for {command}")
        for action in subparser._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help" and f"`{option}" not in text:
                    missing.append(f"{command} {option}")
    assert not missing, f"docs/cli.md does not mention: {', '.join(missing)}"


def test_cli_reference_names_every_loss_alias():
    """Each short name ``--loss`` accepts is documented in docs/cli.md, next to what it means."""
    from micrograd_mlp.cli.parsing import LOSS_ALIASES

    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = [alias for alias in LOSS_ALIASES if f"`{alias}`" not in text]
    assert not missing, f"docs/cli.md does not mention the --loss aliases {missing}"
