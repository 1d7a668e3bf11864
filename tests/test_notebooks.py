"""Every notebook of notebooks/ runs top to bottom without an error, and is committed without
outputs (so a diff shows the lesson, not a run of it).

They execute with nbclient in a fresh kernel (the ``notebooks`` extra: nbclient, nbformat,
ipykernel), each in its own temporary working directory (a notebook may write files, as the
``check`` exercise does). The tests skip, saying so, when those packages are not installed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: The learner's clock: a notebook that runs longer than this is too slow for a lesson.
TIMEOUT_SECONDS = 120
#: How many figures a notebook (by its number) must show inline, as pictures: moons' training
#: figure; the digits, then their loss curves beside the confusion matrix.
WITH_FIGURES = {"03-": 1, "05-": 2}


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_there_are_notebooks():
    names = {p.name for p in NOTEBOOKS}
    assert len(names) >= 5, names
    assert any("engine" in n for n in names) and any("moons" in n for n in names)
    assert any("digits" in n for n in names)
    assert all(any(n.startswith(prefix) for n in names) for prefix in WITH_FIGURES), names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_notebook_is_committed_without_outputs(path):
    """No outputs, no execution counts, no widget state: only the cells' sources."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    dirty = [k for k, cell in enumerate(notebook["cells"]) if cell["cell_type"] == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, f"{_rel(path)}: cells {dirty} have outputs - strip them before committing"
    assert "widgets" not in notebook.get("metadata", {}), f"{_rel(path)}: widget state saved"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_notebook_needs_no_matplotlib_magic(path):
    """The library's figures show themselves (``_repr_png_``): no cell runs ``%matplotlib``."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    magic = [k for k, cell in enumerate(notebook["cells"]) if cell["cell_type"] == "code"
             and any(line.lstrip().startswith("%matplotlib") for line in cell["source"])]
    assert not magic, f"{_rel(path)}: cells {magic} run %matplotlib"


def _run(path: Path, workdir: Path) -> dict:
    nbformat = pytest.importorskip("nbformat", reason="the `notebooks` extra is not installed")
    nbclient = pytest.importorskip("nbclient", reason="the `notebooks` extra is not installed")
    pytest.importorskip("ipykernel", reason="the `notebooks` extra is not installed")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=TIMEOUT_SECONDS, kernel_name="python3",
                                     resources={"metadata": {"path": str(workdir)}})
    client.execute()
    return notebook


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_notebook_runs(path, tmp_path):
    """Runs in a kernel of this interpreter (so of the checkout's package); an error in any
    cell fails the test with that cell's traceback (nbclient's CellExecutionError)."""
    if "matplotlib" in path.read_text(encoding="utf-8"):
        pytest.importorskip("matplotlib", reason="the `plot` extra is not installed")
    notebook = _run(path, tmp_path)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    pictures = sum("image/png" in o.get("data", {}) for o in outputs)
    expected = WITH_FIGURES.get(path.name[:3], 0)
    assert pictures >= expected, \
        f"{_rel(path)}: {pictures} of {expected} figures rendered inline (as image/png outputs)"
    if path.name.startswith("05-"):  # the softmax gradient check shows its table
        assert any("text/html" in o.get("data", {}) for o in outputs)
    if path.name.startswith("01-") and shutil.which("dot"):  # the explorer renders inline
        assert any("text/html" in o.get("data", {}) for o in outputs)
