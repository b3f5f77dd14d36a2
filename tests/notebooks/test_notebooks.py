"""Every notebook runs top to bottom in a real kernel and shows what it promises.

Each run uses a temporary copy of ``notebooks/`` (so demo media and results stay out of
the repo), the embedded local server (``FACESWAP_BASE_URL`` unset) with its data in a
temporary ``XDG_CACHE_HOME``, and fails on the first cell that raises.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
# The notebooks this module executes; a new notebook needs a test here too.
EXECUTED = {"api.ipynb", "batch.ipynb", "engine.ipynb", "quickstart.ipynb"}
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

Widgets = dict[str, dict[str, Any]]


@pytest.fixture
def notebook_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the notebooks folder; kernels started from here use the embedded server."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for path in NOTEBOOKS.glob("*.ipynb"):
        shutil.copy(path, folder / path.name)
    # Kernels inherit this process's environment when they start.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in ("FACESWAP_BASE_URL", "FACESWAP_API_KEY", "FACESWAP_API_KEYS", "FACESWAP_FETCH_ALLOW"):
        monkeypatch.delenv(name, raising=False)
    return folder


def _run(name: str, folder: Path) -> nbformat.NotebookNode:
    """Execute ``folder/name`` in a fresh python3 kernel, widget state saved; raises on error."""
    notebook = nbformat.read(folder / name, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", store_widget_state=True,
        resources={"metadata": {"path": str(folder)}},
    ).execute()
    return notebook


def _outputs(cell: nbformat.NotebookNode) -> str:
    parts: list[str] = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.extend(str(v) for v in output.get("data", {}).values())
    return "\n".join(parts)


def _text(notebook: nbformat.NotebookNode) -> str:
    return "\n".join(_outputs(cell) for cell in notebook.cells)


def _widgets(notebook: nbformat.NotebookNode) -> Widgets:
    """The saved widget models by id: ``{"model_name", "state", ...}``."""
    return dict(notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {}))


def _classed(widgets: Widgets, css_class: str) -> list[dict[str, Any]]:
    return [m["state"] for m in widgets.values() if css_class in m["state"].get("_dom_classes", [])]


def _descendants(widgets: Widgets, state: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every model under a container, depth first (``children`` hold ``IPY_MODEL_<id>``)."""
    for ref in state.get("children", []):
        child = widgets[ref.removeprefix("IPY_MODEL_")]
        yield child
        yield from _descendants(widgets, child["state"])


def _plays_video(model: dict[str, Any]) -> bool:
    """A video player: a Video widget, or HTML / output markup with a ``<video>`` tag."""
    return model["model_name"] == "VideoModel" or "<video" in str(model["state"])


def _panels(widgets: Widgets) -> list[dict[str, Any]]:
    """Each ``JobPanel`` as {css class: state} of its classed parts."""
    panels = []
    for panel in _classed(widgets, "fsnb-panel"):
        parts: dict[str, Any] = {}
        for model in _descendants(widgets, panel):
            for css_class in model["state"].get("_dom_classes", []):
                parts.setdefault(css_class, model)
        panels.append(parts)
    return panels


def test_every_notebook_is_committed_without_outputs_or_execution_counts():
    for path in NOTEBOOKS.glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name
        assert "widgets" not in notebook.metadata, f"{path.name} keeps saved widget state"


def test_every_notebook_opens_with_markdown_saying_what_it_needs():
    for path in NOTEBOOKS.glob("*.ipynb"):
        first = nbformat.read(path, as_version=4).cells[0]
        assert first.cell_type == "markdown" and "**Needs:**" in first.source, path.name
        assert re.search(r"pip install 'faceswap_nb\[[a-z,]+\]'", first.source), path.name


def test_every_notebook_has_an_execution_test():
    assert {path.name for path in NOTEBOOKS.glob("*.ipynb")} == EXECUTED


def test_engine_notebook_swaps_the_demo_face_and_shows_both_videos(notebook_folder):
    notebook = _run("engine.ipynb", notebook_folder)
    text = _text(notebook)
    assert "frames swapped" in text
    assert "Synthetic video: face replaced by faceswap_nb" in text
    assert text.count("data:video/mp4;base64,") == 2
    assert (notebook_folder / "demo-media" / "swapped.mp4").stat().st_size > 10_000


def test_api_notebook_runs_sync_and_async_jobs_checks_webhooks_and_shows_each_error(notebook_folder):
    text = _text(_run("api.ipynb", notebook_folder))
    assert "sync job completed: 4.0 s of video, cost 0.40" in text
    assert text.count("completed (advanced=") == 2
    assert "verified delivery msg_" in text
    assert "refused: no webhook signature matches" in text and "(204, 400)" in text
    assert "NotFound (404)" in text
    assert "AuthError (401)" in text and "key in the message: False" in text
    assert "JobFailed, code invalid_video" in text
    assert "JobTimeout: still" in text and "after cancel: canceled" in text
    for name in ("sync.mp4", "async-advanced.mp4"):
        assert (notebook_folder / "api-output" / name).stat().st_size > 10_000


def test_quickstart_completes_one_job_with_the_panel_and_leaves_a_fresh_one(notebook_folder):
    notebook = _run("quickstart.ipynb", notebook_folder)
    assert re.search(r"job [0-9a-f-]{36}: completed", _text(notebook))
    assert "billed 4.0 s of video" in _text(notebook)

    panels = _panels(_widgets(notebook))
    assert len(panels) == 2
    done, fresh = sorted(panels, key=lambda p: "completed" not in p["fsnb-status"]["state"]["value"])
    assert "completed" in done["fsnb-status"]["state"]["value"]
    assert done["fsnb-progress"]["state"]["value"] == 1.0
    assert any(_plays_video(m) for m in _descendants(_widgets(notebook), done["fsnb-result"]["state"]))
    # The last panel waits for a person: inputs filled, consent unticked, Submit disabled.
    assert fresh["fsnb-video-url"]["state"]["value"] and fresh["fsnb-face-url"]["state"]["value"]
    assert fresh["fsnb-consent"]["state"]["value"] is False
    assert fresh["fsnb-submit"]["state"]["disabled"] is True
    assert "completed" not in fresh["fsnb-status"]["state"]["value"]


def test_batch_notebook_runs_three_jobs_once_each_shows_them_and_exports_them(notebook_folder):
    notebook = _run("batch.ipynb", notebook_folder)
    text = _text(notebook)
    assert "3 jobs to run (1 duplicate): 10.0 s of video, estimated cost 1.00" in text
    assert "3 of 4 pairs completed" in text
    assert "spent 1.00 of 1.00 estimated" in text
    assert "read back: the same 4 rows and types" in text
    assert sum("image/png" in o.get("data", {}) for c in notebook.cells for o in c.get("outputs", [])) == 1

    widgets = _widgets(notebook)
    (totals,) = _classed(widgets, "fsnb-batch-totals")
    assert totals["value"].startswith("3/4 ended (completed 3) · 0 in flight · 1 not submitted")
    (table,) = _classed(widgets, "fsnb-batch-table")
    assert table["value"].count("fsnb-batch-completed") == 3 and "duplicate" in table["value"]
    (cancel,) = _classed(widgets, "fsnb-batch-cancel")
    assert cancel["disabled"] is True  # the batch has ended: nothing left to cancel

    output = notebook_folder / "batch-output"
    events = [json.loads(line)["event"] for line in (output / "ledger.jsonl").read_text().splitlines()]
    assert events.count("submitted") == 3  # the duplicate was not submitted
    assert (output / "results.csv").is_file() and (output / "results.csv.schema.json").is_file()
