"""Durability: a server killed hard mid-job loses no job and leaves none stuck."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from tests.media import astronaut, write_clip
from tests.server.conftest import api, create, start_server, upload, wait_until_done


@pytest.fixture
def long_clip(tmp_path: Path) -> Path:
    """Long enough (90 frames) that the kill lands while the engine is working."""
    return write_clip(tmp_path / "long.mp4", [astronaut(320)] * 90)


def _wait_for_progress(http, job_id: str, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if http.get(f"/generate/{job_id}").json()["progress"] > 0:
            return
        time.sleep(0.1)
    raise AssertionError("the job never started making progress")


def test_a_hard_kill_ends_the_running_job_interrupted_and_runs_the_queued_one(
    tmp_path: Path, long_clip: Path, media: dict[str, Path]
) -> None:
    data = tmp_path / "data"
    first = start_server(data)
    with api(first) as http:
        clip, face = upload(http, long_clip), upload(http, media["face"])
        running = create(http, clip, face)
        queued = create(http, upload(http, media["clip"]), face)
        _wait_for_progress(http, running)
    engines = psutil.Process(first.process.pid).children(recursive=True)
    assert engines, "the job's engine should run in a child process"

    first.process.kill()
    first.process.wait()
    _, alive = psutil.wait_procs(engines, timeout=10)

    assert alive == [], "engine processes must not outlive a killed server"
    with start_server(data) as second, api(second) as http:
        interrupted = wait_until_done(http, running)
        completed = wait_until_done(http, queued)
        listed = http.get("/jobs").json()["jobs"]

    assert interrupted["status"] == "failed" and interrupted["error"]["code"] == "interrupted"
    assert interrupted["output"] is None
    assert completed["status"] == "completed", completed
    assert {job["jobId"] for job in listed} == {running, queued}
    assert sorted(p.name for p in (data / "outputs").iterdir()) == [f"{queued}.mp4"]
    assert list((data / "work").iterdir()) == []
