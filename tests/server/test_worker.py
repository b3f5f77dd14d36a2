"""The worker's bookkeeping without the engine: recovery after a crash, retention, upload URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from faceswap_nb.server.keys import KeyRing
from faceswap_nb.server.settings import ServerSettings
from faceswap_nb.server.store import JobStore
from faceswap_nb.server.worker import DataPaths, Worker, own_upload_id

INPUT = {"videoUrl": "http://127.0.0.1/v.mp4", "faceUrl": "http://127.0.0.1/f.jpg", "advanced": False}


@pytest.fixture
def worker(tmp_path: Path) -> Worker:
    # A negative retention puts everything, even what was made this millisecond, past it.
    settings = ServerSettings(data_dir=tmp_path, retention_seconds=-60)
    paths = DataPaths(tmp_path)
    paths.make()
    return Worker(JobStore(paths.database), settings, paths, KeyRing(["k"], b"s" * 32))


def test_recovery_fails_jobs_left_processing_and_removes_their_files(worker: Worker) -> None:
    running, _ = worker.store.create("o", model="m", input=INPUT, webhook="http://127.0.0.1/hook")
    queued, _ = worker.store.create("o", model="m", input=INPUT, webhook=None)
    worker.store.transition(running.id, "processing")
    worker.paths.output(running.id).write_bytes(b"complete-looking but never confirmed")
    (worker.paths.work / running.id).mkdir()

    assert worker.recover() == [running.id]

    job = worker.store.get(running.id)
    assert job is not None and job.status == "failed" and job.error_code == "interrupted"
    assert job.webhook_pending, "the webhook still announces the interrupted job"
    assert not worker.paths.output(running.id).exists()
    assert not (worker.paths.work / running.id).exists()
    assert worker.store.get(queued.id).status == "created"  # type: ignore[union-attr]


def test_the_sweep_deletes_outputs_and_uploads_past_retention(worker: Worker) -> None:
    job, _ = worker.store.create("o", model="m", input=INPUT, webhook=None)
    worker.store.transition(job.id, "processing")
    worker.paths.output(job.id).write_bytes(b"video")
    worker.store.transition(job.id, "completed", output_file=f"{job.id}.mp4", finished_at=1)
    upload = worker.store.add_file("o", "face.jpg", 4)
    (worker.paths.files / upload.id).write_bytes(b"face")

    worker.sweep()

    assert not worker.paths.output(job.id).exists()
    assert worker.store.get(job.id).output_file is None  # type: ignore[union-attr]
    assert not (worker.paths.files / upload.id).exists()
    assert worker.store.get_file(upload.id) is None


@pytest.mark.parametrize(("url", "expected"), [
    ("http://127.0.0.1:8765/v1/files/abc", "abc"),
    ("http://127.0.0.1:8765/v1/files/", None),
    ("http://127.0.0.1:8765/v1/files/abc/../x", None),
    ("http://127.0.0.1:8765/v1/files/abc?x=1", None),
    ("http://127.0.0.1:9999/v1/files/abc", None),
    ("https://example.org/v1/files/abc", None),
])
def test_only_this_servers_upload_urls_count_as_uploads(url: str, expected: str | None) -> None:
    assert own_upload_id(url, "http://127.0.0.1:8765") == expected
