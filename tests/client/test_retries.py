"""What each twin sends again, and what it never sends twice."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from faceswap_nb import RateLimited, ServerError, ServerUnreachable
from faceswap_nb.client import RetryPolicy

from .conftest import JOB_ID, FakeClock, Twin, answer, job_body

MakeTwin = Callable[..., Twin]
CREATED = answer(200, {"jobId": JOB_ID, "status": "created"})
UNAVAILABLE = answer(503, {"status": "error", "message": "restarting"})


def create(t: Twin) -> object:
    return t.call("create_job", "https://x/v.mp4", "https://x/f.jpg")


@pytest.mark.parametrize("method", ["get_job", "list_jobs", "health", "webhook_secret"])
def test_a_get_is_retried_on_503_then_succeeds(
    twin: MakeTwin, clock: FakeClock, method: str
) -> None:
    ok = {
        "get_job": job_body(),
        "list_jobs": {"jobs": []},
        "health": {},
        "webhook_secret": {"secret": "s"},
    }
    t = twin(UNAVAILABLE, answer(200, ok[method]))

    t.call(method, *((JOB_ID,) if method == "get_job" else ()))

    assert len(t.server.requests) == 2
    assert len(clock.sleeps) == 1 and 0 < clock.sleeps[0] <= 0.1


@pytest.mark.parametrize(
    "failure", [httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError]
)
def test_a_get_is_retried_after_a_transient_failure(
    twin: MakeTwin, failure: type[Exception]
) -> None:
    t = twin(failure, answer(200, job_body()))

    assert t.call("get_job", JOB_ID).job_id == JOB_ID
    assert len(t.server.requests) == 2


def test_a_get_gives_up_after_max_attempts_with_the_last_error(
    twin: MakeTwin, clock: FakeClock
) -> None:
    t = twin(UNAVAILABLE, retry=RetryPolicy(max_attempts=4, base_delay=1, max_delay=2, jitter=0))

    with pytest.raises(ServerError, match="restarting"):
        t.call("get_job", JOB_ID)

    assert len(t.server.requests) == 4
    assert clock.sleeps == [1, 2, 2]


def test_a_get_waits_as_long_as_retry_after_says(twin: MakeTwin, clock: FakeClock) -> None:
    t = twin(answer(429, headers={"Retry-After": "4"}), answer(200, job_body()))

    t.call("get_job", JOB_ID)

    assert clock.sleeps == [4.0]


def test_a_get_asked_to_wait_beyond_the_cap_raises_at_once(
    twin: MakeTwin, clock: FakeClock
) -> None:
    t = twin(answer(429, headers={"Retry-After": "3600"}), answer(200, job_body()))

    with pytest.raises(RateLimited) as caught:
        t.call("get_job", JOB_ID)

    assert caught.value.retry_after == 3600
    assert len(t.server.requests) == 1 and clock.sleeps == []


def test_a_get_that_never_connects_is_unreachable_after_all_attempts(twin: MakeTwin) -> None:
    t = twin(httpx.ConnectError)

    with pytest.raises(ServerUnreachable):
        t.call("get_job", JOB_ID)

    assert len(t.server.requests) == 3


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_create_is_not_sent_again_after_a_server_error(twin: MakeTwin, status: int) -> None:
    t = twin(answer(status, {"status": "error", "message": "boom"}), CREATED)

    with pytest.raises(ServerError):
        create(t)

    assert len(t.server.requests) == 1


@pytest.mark.parametrize("failure", [httpx.ReadTimeout, httpx.WriteTimeout, httpx.ReadError])
def test_a_create_is_not_sent_again_after_it_may_have_arrived(
    twin: MakeTwin, failure: type[Exception]
) -> None:
    t = twin(failure, CREATED)

    with pytest.raises(ServerUnreachable, match="may have received it"):
        create(t)

    assert len(t.server.requests) == 1


def test_a_rate_limited_create_is_raised_to_the_caller(twin: MakeTwin) -> None:
    t = twin(answer(429, headers={"Retry-After": "1"}), CREATED)

    with pytest.raises(RateLimited):
        create(t)

    assert len(t.server.requests) == 1


def test_a_create_is_sent_again_when_the_connection_was_never_opened(twin: MakeTwin) -> None:
    t = twin(httpx.ConnectError, CREATED)

    job = create(t)

    assert getattr(job, "job_id", None) == JOB_ID
    first, second = t.server.requests
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert second.content == first.content


@pytest.mark.parametrize("method", ["cancel", "upload"])
def test_cancel_and_upload_are_not_sent_again_after_a_server_error(
    twin: MakeTwin, method: str, tmp_path: Path
) -> None:
    face = tmp_path / "face.jpg"
    face.write_bytes(b"\xff\xd8jpeg")
    t = twin(UNAVAILABLE, answer(200, {**job_body(), "url": "u"}))
    arg = JOB_ID if method == "cancel" else face

    with pytest.raises(ServerError):
        t.call(method, arg)

    assert len(t.server.requests) == 1


def test_a_retry_policy_of_one_attempt_turns_retries_off(twin: MakeTwin) -> None:
    t = twin(UNAVAILABLE, answer(200, job_body()), retry=RetryPolicy(max_attempts=1))

    with pytest.raises(ServerError):
        t.call("get_job", JOB_ID)

    assert len(t.server.requests) == 1
