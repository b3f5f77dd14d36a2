"""``Client`` and ``AsyncClient`` against a real local server, through the same tests.

Each test runs once per twin (the ``twin`` fixture). One completed job per twin is made
by the ``finished`` fixture and shared; tests that need a job of their own cancel it
when done, so the server's single worker is never left busy with a job nobody waits for.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from faceswap_nb import (
    AuthError,
    FaceswapError,
    JobFailed,
    JobTimeout,
    NotFound,
    ServerUnreachable,
    __version__,
)
from faceswap_nb.client import Job, JobStatus, RetryPolicy
from faceswap_nb.engine.encode import is_marked_synthetic
from faceswap_nb.server import LocalServer
from faceswap_nb.server.local import free_port
from faceswap_nb.server.worker import DataPaths
from tests.integration.conftest import BOB, Twin

# The order a job's status may only move forward in, up to its end.
STATUS_ORDER = [JobStatus.CREATED, JobStatus.PROCESSING, JobStatus.COMPLETED]


@dataclass(frozen=True)
class Run:
    """One job from create to completion: what create answered, every update, the end."""

    created: Job
    updates: list[Job]
    job: Job


@pytest.fixture(scope="module")
def finished(twin: Twin, inputs: dict[str, str]) -> Run:
    """A job of the astronaut clip and Grace Hopper's face, waited for until completed."""
    created = twin.create_job(inputs["clip"], inputs["face"])
    updates: list[Job] = []
    job = twin.wait_for(created.job_id, on_update=updates.append)
    return Run(created, updates, job)


@contextlib.contextmanager
def cancelled_at_exit(twin: Twin, job_id: str) -> Iterator[None]:
    """Cancel the job when the block ends, unless it already ended."""
    try:
        yield
    finally:
        with contextlib.suppress(FaceswapError):
            twin.cancel(job_id)


def test_an_upload_answers_a_url_of_the_servers_own_files(
    server: LocalServer, inputs: dict[str, str]
) -> None:
    assert inputs.keys() == {"clip", "blank", "face", "text"}
    assert all(url.startswith(f"{server.base_url}/files/") for url in inputs.values())


def test_create_answers_a_created_job_with_what_was_asked(
    finished: Run, inputs: dict[str, str]
) -> None:
    created = finished.created

    assert created.status == JobStatus.CREATED
    assert uuid.UUID(created.job_id).version == 4
    assert created.model == "video/faceswap"
    assert created.input == {
        "videoUrl": inputs["clip"],
        "faceUrl": inputs["face"],
        "advanced": False,
    }


def test_wait_reports_statuses_in_order_and_progress_that_never_falls(finished: Run) -> None:
    statuses = [update.status for update in finished.updates]
    progress = [update.progress for update in finished.updates]

    assert statuses[-1] == JobStatus.COMPLETED and finished.updates[-1] == finished.job
    assert set(statuses) <= set(STATUS_ORDER)
    ranks = [STATUS_ORDER.index(JobStatus(status)) for status in statuses]
    assert ranks == sorted(ranks), statuses
    assert None not in progress and progress == sorted(progress), progress
    assert progress[-1] == 1.0


def test_a_completed_job_carries_its_billed_seconds_cost_and_output(
    finished: Run, server: LocalServer
) -> None:
    job = finished.job

    assert job.is_completed and job.is_terminal and job.error is None
    assert job.job_id == finished.created.job_id
    # 8 frames at 10 fps, at 0.10 per second.
    assert job.usage is not None
    assert job.usage.seconds == pytest.approx(0.8, abs=0.05)
    assert job.usage.cost == pytest.approx(0.08, abs=0.005)
    assert job.output_url is not None and job.output_url.startswith(
        server.base_url.removesuffix("/v1")
    )
    assert job.created_at is not None and job.started_at is not None and job.finished_at is not None
    assert job.created_at <= job.started_at <= job.finished_at


def test_get_job_reads_back_the_completed_job(twin: Twin, finished: Run) -> None:
    again = twin.get_job(finished.job.job_id)

    assert again.status == JobStatus.COMPLETED
    assert again.output_url == finished.job.output_url and again.usage == finished.job.usage


def test_download_saves_the_output_video_whole_and_marked_synthetic(
    twin: Twin, finished: Run, server: LocalServer, tmp_path: Path
) -> None:
    saved = twin.download(finished.job, tmp_path / "result" / "swapped.mp4")

    assert saved == tmp_path / "result" / "swapped.mp4"
    assert saved.read_bytes() == DataPaths(server.data_dir).output(finished.job.job_id).read_bytes()
    assert is_marked_synthetic(saved)
    assert [p.name for p in saved.parent.iterdir()] == ["swapped.mp4"]  # no .part left


@pytest.mark.parametrize(
    ("video", "code"), [("text", "invalid_video"), ("blank", "no_face_in_video")]
)
def test_wait_on_a_job_with_bad_media_raises_job_failed_carrying_the_job(
    twin: Twin, inputs: dict[str, str], video: str, code: str
) -> None:
    created = twin.create_job(inputs[video], inputs["face"])

    with pytest.raises(JobFailed) as raised:
        twin.wait_for(created.job_id)

    assert raised.value.code == code
    job = raised.value.job
    assert isinstance(job, Job) and job.job_id == created.job_id
    assert job.status == JobStatus.FAILED and job.output_url is None and job.usage is None
    assert job.error is not None and job.error.code == code and job.error.message


def test_wait_with_a_tiny_timeout_raises_job_timeout_carrying_the_last_job(
    twin: Twin, inputs: dict[str, str]
) -> None:
    job_id = twin.create_job(inputs["clip"], inputs["face"]).job_id

    with cancelled_at_exit(twin, job_id), pytest.raises(JobTimeout) as raised:
        twin.wait_for(job_id, timeout=0.01)

    last = raised.value.job
    assert isinstance(last, Job) and last.job_id == job_id and not last.is_terminal
    assert job_id in str(raised.value) and last.status in str(raised.value)


def test_get_job_of_an_unknown_id_raises_not_found_with_the_servers_message(twin: Twin) -> None:
    unknown = str(uuid.uuid4())

    with pytest.raises(NotFound) as raised:
        twin.get_job(unknown)

    assert raised.value.status_code == 404
    assert f"no job {unknown} for this key" in raised.value.message


def test_another_keys_job_is_not_found(twin: Twin, finished: Run) -> None:
    with pytest.raises(NotFound):
        twin.with_settings(api_key=BOB).get_job(finished.job.job_id)


def test_a_wrong_key_raises_auth_error_that_never_shows_the_key(twin: Twin) -> None:
    wrong = "wrong-key-LEAKMARKER-5d1e"

    with pytest.raises(AuthError) as raised:
        twin.with_settings(api_key=wrong).get_job(str(uuid.uuid4()))

    assert raised.value.status_code == 401 and "not valid" in raised.value.message
    assert wrong not in str(raised.value) and wrong not in repr(raised.value)


def test_cancel_answers_the_job_canceled_for_good(twin: Twin, inputs: dict[str, str]) -> None:
    created = twin.create_job(inputs["clip"], inputs["face"])

    canceled = twin.cancel(created.job_id)

    assert canceled.job_id == created.job_id and canceled.status == JobStatus.CANCELED
    assert twin.get_job(created.job_id).status == JobStatus.CANCELED


def test_the_same_idempotency_key_twice_gives_the_same_job(
    twin: Twin, inputs: dict[str, str]
) -> None:
    key = str(uuid.uuid4())

    first = twin.create_job(inputs["clip"], inputs["face"], idempotency_key=key)
    with cancelled_at_exit(twin, first.job_id):
        again = twin.create_job(inputs["clip"], inputs["face"], idempotency_key=key)

    assert again.job_id == first.job_id


def test_list_jobs_pages_newest_first_with_a_cursor(twin: Twin, inputs: dict[str, str]) -> None:
    ids = [twin.create_job(inputs["clip"], inputs["face"]).job_id for _ in range(3)]
    for job_id in ids:
        twin.cancel(job_id)

    first = twin.list_jobs(limit=2)
    assert first.next_cursor is not None
    second = twin.list_jobs(limit=2, cursor=first.next_cursor)

    assert [job.job_id for job in first.jobs] == ids[::-1][:2]
    assert second.jobs[0].job_id == ids[0] and second.jobs[0].status == JobStatus.CANCELED


def test_health_says_ok_and_the_servers_version(twin: Twin) -> None:
    assert twin.health() == {"status": "ok", "version": __version__}


def test_the_webhook_secret_is_a_whsec_secret_of_this_key(twin: Twin) -> None:
    mine = twin.webhook_secret()

    assert mine.startswith("whsec_") and twin.webhook_secret() == mine
    assert twin.with_settings(api_key=BOB).webhook_secret() != mine


@pytest.mark.parametrize(
    "call", [("health",), ("get_job", "some-job"), ("create_job", "http://v", "http://f")]
)
def test_a_closed_port_raises_server_unreachable_quickly(twin: Twin, call: tuple[str, ...]) -> None:
    nobody = twin.with_settings(
        base_url=f"http://127.0.0.1:{free_port()}/v1",
        retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01),
        timeout=2.0,
    )
    method, *args = call

    started = time.monotonic()
    with pytest.raises(ServerUnreachable) as raised:
        getattr(nobody, method)(*args)

    assert time.monotonic() - started < 2.0
    assert "got no answer" in str(raised.value)
