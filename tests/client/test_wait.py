"""``wait``: poll until the job ends, with a growing interval and a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from faceswap_nb import JobFailed, JobTimeout
from faceswap_nb.client import AsyncClient, Job
from faceswap_nb.client._base import MAX_POLL_INTERVAL, WaitState

from .conftest import (
    JOB_ID,
    FakeClock,
    FakeServer,
    Twin,
    answer,
    job_body,
    make_settings,
)

MakeTwin = Callable[..., Twin]
COMPLETED = answer(200, job_body("completed", output={"videoUrl": "https://cdn/r.mp4"}))


def processing(progress: float | None = None) -> httpx.Response:
    return answer(200, job_body("processing", progress=progress))


def test_wait_returns_the_completed_job(twin: MakeTwin) -> None:
    t = twin(answer(200, job_body("created")), processing(0.5), COMPLETED)

    job = t.call("wait", JOB_ID, timeout=60)

    assert job.is_completed and job.output_url == "https://cdn/r.mp4"
    assert len(t.server.requests) == 3


def test_wait_returns_at_once_for_a_job_that_already_completed(
    twin: MakeTwin, clock: FakeClock
) -> None:
    t = twin(COMPLETED)

    t.call("wait", JOB_ID, timeout=60)

    assert len(t.server.requests) == 1 and clock.sleeps == []


def test_the_poll_interval_grows_gently_to_a_cap(twin: MakeTwin, clock: FakeClock) -> None:
    t = twin(*[processing()] * 9, COMPLETED)

    t.call("wait", JOB_ID, timeout=None, poll_interval=0.5)

    assert clock.sleeps[:3] == [0.5, 0.75, 1.125]
    assert clock.sleeps == sorted(clock.sleeps)
    assert max(clock.sleeps) == MAX_POLL_INTERVAL


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            job_body("failed", error={"code": "no_face_in_video", "message": "no face found"}),
            "no_face_in_video",
        ),
        (job_body("error"), "error"),
        (job_body("canceled"), "canceled"),
        (job_body("cancelled"), "cancelled"),
    ],
)
def test_a_job_that_ends_without_a_result_raises_job_failed(
    twin: MakeTwin, body: dict[str, object], code: str
) -> None:
    t = twin(processing(), answer(200, body))

    with pytest.raises(JobFailed) as caught:
        t.call("wait", JOB_ID, timeout=60)

    assert caught.value.code == code
    assert isinstance(caught.value.job, Job) and caught.value.job.status == body["status"]


def test_job_failed_repeats_the_servers_message(twin: MakeTwin) -> None:
    t = twin(
        answer(200, job_body("failed", error={"code": "content_policy", "message": "refused"}))
    )

    with pytest.raises(JobFailed, match="refused"):
        t.call("wait", JOB_ID, timeout=60)


def test_running_out_of_time_raises_job_timeout_with_the_last_job(
    twin: MakeTwin, clock: FakeClock
) -> None:
    t = twin(processing(0.1), processing(0.2), processing(0.3))

    with pytest.raises(JobTimeout) as caught:
        t.call("wait", JOB_ID, timeout=3, poll_interval=1)

    assert caught.value.job.progress == 0.3
    assert sum(clock.sleeps) == pytest.approx(3)
    assert "still 'processing' after 3 s" in str(caught.value)


def test_the_last_poll_happens_at_the_deadline_not_after_it(
    twin: MakeTwin, clock: FakeClock
) -> None:
    t = twin(processing(), processing(), COMPLETED)

    job = t.call("wait", JOB_ID, timeout=1.2, poll_interval=1)

    assert job.is_completed
    assert clock.sleeps == [1, pytest.approx(0.2)]


def test_on_update_is_called_when_status_or_progress_changes(twin: MakeTwin) -> None:
    t = twin(
        answer(200, job_body("created")),
        answer(200, job_body("created")),
        processing(0.1),
        processing(0.1),
        processing(0.6),
        COMPLETED,
    )
    seen: list[tuple[str, float | None]] = []

    t.call(
        "wait", JOB_ID, timeout=60, on_update=lambda job: seen.append((job.status, job.progress))
    )

    assert seen == [
        ("created", None),
        ("processing", 0.1),
        ("processing", 0.6),
        ("completed", None),
    ]


def test_on_update_sees_the_failure_before_job_failed(twin: MakeTwin) -> None:
    t = twin(answer(200, job_body("failed")))
    seen: list[str] = []

    with pytest.raises(JobFailed):
        t.call("wait", JOB_ID, timeout=60, on_update=lambda job: seen.append(job.status))

    assert seen == ["failed"]


def test_the_async_twin_awaits_a_coroutine_on_update() -> None:
    server = FakeServer(processing(0.5), COMPLETED)
    seen: list[str] = []

    async def record(job: Job) -> None:
        seen.append(job.status)

    async def run() -> Job:
        async with AsyncClient(
            settings=make_settings(), transport=httpx.MockTransport(server)
        ) as client:
            return await client.wait(JOB_ID, timeout=60, on_update=record)

    asyncio.run(run())

    assert seen == ["processing", "completed"]


def test_a_poll_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="poll_interval"):
        WaitState(JOB_ID, timeout=1, poll_interval=0, now=0)
