"""BatchPanel following a real batch on the local server: live rows, then Cancel-all."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from faceswap_nb.server import LocalServer
from faceswap_nb.widgets import BatchPanel
from faceswap_nb.widgets.batch_panel import in_flight_ids
from tests.media import GRACE_HOPPER, astronaut, write_clip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """A local server with its own data folder."""
    with LocalServer.start(tmp_path_factory.mktemp("server")) as running:
        yield running


def _until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_cancel_all_cancels_the_job_in_flight_and_submits_nothing_more(server: LocalServer, tmp_path: Path) -> None:
    # A 4-second clip keeps the first job busy for seconds: the click lands while it runs.
    clip = write_clip(tmp_path / "clip-0.mp4", [astronaut(256)] * 40)
    copies = [clip] + [Path(shutil.copyfile(clip, tmp_path / f"clip-{i}.mp4")) for i in (1, 2)]
    with server.client() as client:
        panel = BatchPanel(client)
        panel.run([(video, GRACE_HOPPER) for video in copies], concurrency=1, poll_interval=0.2,
                  ledger=tmp_path / "ledger.jsonl")
        # The panel renders in the batch's thread: wait until a job in flight is shown.
        _until(lambda: "· 1 in flight ·" in panel.totals.value)
        assert in_flight_ids(panel.frame) and not panel.cancel_all.disabled

        panel.cancel_all.click()
        df = panel.wait(120)
        jobs = client.list_jobs(limit=10).jobs

    assert list(df["status"]) == ["canceled", "not_submitted", "not_submitted"]
    assert len(jobs) == 1 and jobs[0].status == "canceled"  # nothing more was submitted
    assert panel.canceled == [df["job_id"].iloc[0]]
    assert "Cancel all: 1 job cancelled" in panel.message.value
    assert panel.totals.value.startswith("1/3 ended (canceled 1) · 0 in flight · 2 not submitted")
    assert panel.cancel_all.disabled
