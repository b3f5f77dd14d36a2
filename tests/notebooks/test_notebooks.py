"""Every notebook runs top to bottom in a real kernel and shows what it promises."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _run(name: str, folder: Path) -> nbformat.NotebookNode:
    shutil.copy(NOTEBOOKS / name, folder / name)
    notebook = nbformat.read(folder / name, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return notebook


def _text(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.extend(str(v) for v in output.get("data", {}).values())
    return "\n".join(parts)


def test_notebooks_are_committed_without_outputs():
    for path in NOTEBOOKS.glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), path.name
        assert notebook.cells[0].cell_type == "markdown" and "Needs" in notebook.cells[0].source


def test_engine_notebook_swaps_the_demo_face_and_shows_both_videos(tmp_path):
    notebook = _run("engine.ipynb", tmp_path)
    text = _text(notebook)
    assert "frames swapped" in text
    assert "Synthetic video: face replaced by faceswap_nb" in text
    assert text.count("data:video/mp4;base64,") == 2
    assert (tmp_path / "demo-media" / "swapped.mp4").stat().st_size > 10_000
