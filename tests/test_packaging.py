"""The source archive (sdist) ships the docs (and the docs site's mkdocs.yml), the tests, the
tools, the benchmarks and the notebooks (MANIFEST.in), and the package data the code reads at run
time - never a cache, a virtual environment or a built docs site.

The sdist is built offline from a copy of the working tree (so the build's egg-info never touches
the checkout): with ``python -m build --sdist --no-isolation`` when the ``build`` package is
installed, else straight through ``setuptools.build_meta``. It skips, saying why, when the
installed setuptools cannot build this project (pyproject.toml needs setuptools>=77).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

MUST_SHIP = ["README.md", "CHANGELOG.md", "LICENSE", "pyproject.toml", "mkdocs.yml",
             "docs/index.md", "docs/engine.md", "docs/graph.md", "docs/reference/hooks.py",
             "docs/reference/core.md", "tests/test_docs.py", "tests/test_notebooks.py",
             "tests/viz/browser.py", "benchmarks/run.py", "notebooks/01-engine.ipynb",
             "micrograd_mlp/nn/data/digits.csv.gz", "micrograd_mlp/viz/explorer.js",
             "micrograd_mlp/viz/explorer.css", "micrograd_mlp/py.typed"]
NEVER = ("__pycache__", ".venv", ".hypothesis", ".pytest_cache", ".mypy_cache", ".ruff_cache",
         ".git", ".egg-info", ".ipynb_checkpoints", "site")
#: Shipped whole: every file of these folders that is not a cache.
SHIPPED_FOLDERS = ("docs", "tests", "tools", "notebooks", "benchmarks")


def _setuptools_or_skip() -> None:
    try:
        import setuptools
    except ImportError:
        pytest.skip("setuptools is not installed: the sdist cannot be built offline")
    major = int(setuptools.__version__.split(".")[0])
    if major < 77:
        pytest.skip(f"setuptools {setuptools.__version__} is too old for pyproject.toml's "
                    "PEP 639 license (needs >=77); an offline build cannot fetch a newer one")


@pytest.fixture(scope="module")
def sdist_names(tmp_path_factory) -> list[str]:
    _setuptools_or_skip()
    work = tmp_path_factory.mktemp("sdist")
    src, out = work / "src", work / "dist"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "*.egg-info", ".mypy_cache", ".ruff_cache", "build", "dist", "site"))
    if importlib.util.find_spec("build") is not None:
        cmd = [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(out)]
    else:
        cmd = [sys.executable, "-c",
               f"from setuptools import build_meta as b; print(b.build_sdist({str(out)!r}))"]
    done = subprocess.run(cmd, cwd=src, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    archives = list(out.glob("*.tar.gz"))
    assert len(archives) == 1, archives
    with tarfile.open(archives[0]) as tar:
        names = tar.getnames()
    top = {n.split("/", 1)[0] for n in names}
    assert len(top) == 1, top  # everything under micrograd_mlp-<version>/
    return [n.split("/", 1)[1] for n in names if "/" in n]


def test_sdist_ships_docs_tests_tools_notebooks_and_package_data(sdist_names):
    have = set(sdist_names)
    missing = [p for p in MUST_SHIP if p not in have]
    assert not missing, missing
    # every file of the shipped folders, not just the ones named above
    for folder in SHIPPED_FOLDERS:
        on_disk = {p.relative_to(ROOT).as_posix() for p in (ROOT / folder).rglob("*")
                   if p.is_file() and not any(part in NEVER or part.endswith(NEVER)
                                              for part in p.relative_to(ROOT).parts)
                   and p.suffix not in (".pyc", ".pyo")}
        assert on_disk <= have, sorted(on_disk - have)[:10]
    assert sum(n.startswith("notebooks/") and n.endswith(".ipynb") for n in have) >= 4


def test_sdist_has_no_caches_or_environments(sdist_names):
    bad = [n for n in sdist_names
           if any(part in NEVER or part.endswith(".egg-info") for part in n.split("/"))
           or n.endswith((".pyc", ".pyo"))]
    # setuptools' own PKG-INFO metadata lives in <name>.egg-info/ at the top: allowed
    bad = [n for n in bad if n.split("/")[0] != "micrograd_mlp.egg-info"]
    assert bad == [], bad[:10]
