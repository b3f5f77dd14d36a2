"""One job through the panel against the real local server (loopback only, uploads only)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ipywidgets as widgets
import pytest

from faceswap_nb.server import LocalServer
from faceswap_nb.widgets import JobPanel
from tests.media import GRACE_HOPPER, astronaut, write_clip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """A local server with its own data folder."""
    with LocalServer.start(tmp_path_factory.mktemp("server")) as running:
        yield running


def test_a_job_from_upload_to_the_video_in_the_result_box(server: LocalServer, tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "astronaut.mp4", [astronaut(256)] * 8)
    with server.client() as client:
        panel = JobPanel(client, results_dir=tmp_path / "results")

        panel.set_inputs(video=clip, face=GRACE_HOPPER)
        assert panel.video_url.value.startswith(server.base_url)
        assert "estimated cost: 0.08" in panel.cost.value  # 0.8 s × 0.10
        panel.consent.value = True
        panel.submit.click()
        job = panel.wait(180)

    assert job.status == "completed", panel.message.value
    assert "status: completed" in panel.status.value
    assert "reported by the server" in panel.cost.value
    columns = panel.result.children[0].children  # original | result
    result = next(w for w in columns[1].children if isinstance(w, widgets.Video))
    assert result.value == (tmp_path / "results" / f"{job.job_id}.mp4").read_bytes()
    assert len(result.value) > 1000
