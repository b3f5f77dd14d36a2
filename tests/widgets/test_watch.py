"""The watcher: a task and a blocking wait follow one job, and settle it exactly once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from faceswap_nb import JobTimeout, ServerUnreachable
from faceswap_nb.client.models import Job
from faceswap_nb.widgets._watch import Watcher
from tests.widgets.fakes import FakeClient, job


class Recorder:
    """Collects what the watcher reports."""

    def __init__(self) -> None:
        self.updates: list[str] = []
        self.ends: list[Watcher] = []

    def update(self, seen: Job) -> None:
        self.updates.append(seen.status)

    def end(self, watcher: Watcher) -> None:
        self.ends.append(watcher)


def watcher_for(client: FakeClient, tmp_path: Path, recorder: Recorder) -> Watcher:
    return Watcher(client, job("created"), results_dir=tmp_path, poll_interval=0.01,
                   on_update=recorder.update, on_end=recorder.end)


def test_wait_polls_until_the_end_and_downloads_the_result(tmp_path: Path, result_clip: Path) -> None:
    client = FakeClient([job("processing", 0.5), job("completed", 1.0)], result=result_clip)
    recorder = Recorder()
    watcher = watcher_for(client, tmp_path, recorder)

    done = watcher.wait(10)

    assert done.status == "completed"
    assert recorder.updates == ["processing", "completed"]
    assert recorder.ends == [watcher] and watcher.result_path is not None
    assert watcher.result_path.read_bytes() == result_clip.read_bytes()
    assert watcher.wait(10) is done  # waiting again answers at once
    assert client.downloads == 1 and len(recorder.ends) == 1


def test_a_failed_job_ends_without_a_download(tmp_path: Path) -> None:
    client = FakeClient([job("failed", error={"code": "invalid_video", "message": "not a video"})])
    recorder = Recorder()
    watcher = watcher_for(client, tmp_path, recorder)

    assert watcher.wait(10).status == "failed"
    assert watcher.result_path is None and client.downloads == 0 and len(recorder.ends) == 1


def test_the_timeout_leaves_the_watcher_going(tmp_path: Path) -> None:
    client = FakeClient([job("processing", 0.2)])
    watcher = watcher_for(client, tmp_path, Recorder())

    with pytest.raises(JobTimeout) as caught:
        watcher.wait(0.05)

    assert caught.value.job.status == "processing" and not watcher.ended
    with pytest.raises(JobTimeout):
        watcher.wait(0)


def test_an_error_ends_watching_and_is_raised_again(tmp_path: Path) -> None:
    lost = ServerUnreachable("GET http://127.0.0.1:1/v1/generate/x got no answer")
    client = FakeClient(errors={"get_job": lost})
    recorder = Recorder()
    watcher = watcher_for(client, tmp_path, recorder)

    for _ in range(2):
        with pytest.raises(ServerUnreachable):
            watcher.wait(10)

    assert watcher.error is lost and len(recorder.ends) == 1


def test_the_task_never_raises_and_reports_the_error(tmp_path: Path) -> None:
    lost = ServerUnreachable("no answer")
    watcher = watcher_for(FakeClient(errors={"get_job": lost}), tmp_path, Recorder())

    last = asyncio.run(watcher.run())

    assert last.status == "created" and watcher.error is lost


def test_task_and_wait_together_settle_and_download_once(tmp_path: Path, result_clip: Path) -> None:
    states = [job("processing", 0.3), job("processing", 0.6), job("completed", 1.0)]
    client = FakeClient(states, result=result_clip)
    recorder = Recorder()
    watcher = watcher_for(client, tmp_path, recorder)

    async def cell() -> tuple[str, str]:
        task = asyncio.get_running_loop().create_task(watcher.run())
        await asyncio.sleep(0.03)  # the task polls a little, maybe with a poll in flight
        blocked = watcher.wait(10)  # then a blocking wait takes over
        return blocked.status, (await task).status

    assert asyncio.run(cell()) == ("completed", "completed")
    assert client.downloads == 1 and len(recorder.ends) == 1
    assert recorder.updates.count("completed") == 1


def test_a_late_answer_after_the_end_is_ignored(tmp_path: Path, result_clip: Path) -> None:
    recorder = Recorder()
    watcher = watcher_for(FakeClient([job("completed", 1.0)], result=result_clip), tmp_path, recorder)
    watcher.wait(10)

    watcher.observe(job("processing", 0.5))

    assert watcher.job.status == "completed" and recorder.updates == ["completed"]
