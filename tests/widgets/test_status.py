"""The panel's words: durations, time left, history, cost and error advice."""

from __future__ import annotations

from datetime import datetime

import pytest

from faceswap_nb import (
    AuthError,
    InvalidRequest,
    JobFailed,
    NotFound,
    RateLimited,
    ServerError,
    ServerUnreachable,
)
from faceswap_nb.widgets._status import (
    COST_UNKNOWN,
    UPLOADS_REFUSED,
    ProgressClock,
    StatusHistory,
    cost_text,
    describe_error,
    describe_failure,
    describe_upload_error,
    format_duration,
    status_text,
)
from tests.widgets.fakes import job


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0:00"), (7.9, "0:07"), (62, "1:02"), (3723, "1:02:03"), (-5, "0:00")],
)
def test_durations_read_like_a_clock(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_time_left_follows_the_progress_rate() -> None:
    clock = ProgressClock()
    clock.observe(100.0, 0.0)
    clock.observe(110.0, 0.25)  # a quarter in 10 s: three quarters take 30 s more

    assert clock.time_left(110.0) == pytest.approx(30.0)
    assert clock.time_left(115.0) == pytest.approx(25.0)  # time since the last poll counts


def test_time_left_is_measured_from_the_first_progress_not_the_queue() -> None:
    clock = ProgressClock()
    clock.observe(0.0, None)  # queued for a minute, no progress reported
    clock.observe(60.0, 0.0)
    clock.observe(70.0, 0.5)

    assert clock.time_left(70.0) == pytest.approx(10.0)


def test_no_estimate_without_enough_progress_history() -> None:
    clock = ProgressClock()
    assert clock.time_left(0.0) is None
    clock.observe(0.0, 0.1)
    assert clock.time_left(0.0) is None  # one point: no rate
    clock.observe(0.5, 0.2)
    assert clock.time_left(0.5) is None  # under a second of history
    clock.observe(5.0, 0.2)
    clock.observe(6.0, 1.0)
    assert clock.time_left(6.0) == 0.0


def test_progress_that_goes_back_restarts_the_estimate() -> None:
    clock = ProgressClock()
    clock.observe(0.0, 0.5)
    clock.observe(10.0, 0.1)

    assert clock.time_left(10.0) is None


def test_history_keeps_the_last_five_changes_with_times() -> None:
    history = StatusHistory()
    for minute, status in enumerate(["created", "created", "processing", "a", "b", "c", "d"]):
        history.record(status, datetime(2026, 1, 1, 10, minute, 0))

    assert [change.status for change in history] == ["processing", "a", "b", "c", "d"]
    assert "10:02:00" in history.html() and "processing" in history.html()
    history.clear()
    assert len(history) == 0


def test_history_escapes_what_the_server_says() -> None:
    history = StatusHistory()
    history.record("<b>odd</b>", datetime(2026, 1, 1))

    assert "<b>" not in history.html()


def test_status_text_leaves_out_what_is_unknown() -> None:
    assert status_text("created") == "status: created"
    assert status_text("processing", 0.4, 12, 18) == "status: processing · 40% · elapsed 0:12 · about 0:18 left"


def test_cost_is_estimated_from_the_video_length_and_price() -> None:
    assert cost_text(4.0, 0.10) == "estimated cost: 0.40 (4.0 s of video × 0.1 per second)"
    assert cost_text(4.0, 0.25).startswith("estimated cost: 1.00")
    assert cost_text(None, 0.10) == COST_UNKNOWN == "cost: unknown until the server reports usage"


def test_the_servers_usage_replaces_the_estimate() -> None:
    done = job("completed", 1.0, usage={"seconds": 4.0, "cost": 0.4})

    assert cost_text(None, 0.10, done) == "cost: 0.40 for 4.0 s (reported by the server)"
    assert cost_text(9.0, 0.10, job("processing")).startswith("estimated cost: 0.90")


def test_a_failure_shows_the_servers_code_message_and_what_to_do() -> None:
    failed = job("failed", error={"code": "no_face_in_video", "message": "no face in any frame"})

    text = describe_failure(failed)

    assert "[no_face_in_video]" in text and "no face in any frame" in text
    assert "choose a video in which a face is clearly visible" in text
    assert describe_error(JobFailed("failed", job=failed, code="no_face_in_video")) == text
    assert "[canceled]" in describe_failure(job("canceled"))


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (AuthError("invalid API key", status_code=401), ["invalid API key", "check FACESWAP_API_KEY"]),
        (ServerUnreachable("POST http://127.0.0.1:9/v1/generate got no answer"), ["is the server running?"]),
        (InvalidRequest("input.videoUrl is not a URL", status_code=400), ["input.videoUrl is not a URL"]),
        (RateLimited("too many jobs", retry_after=3), ["too many jobs", "wait 3 s"]),
        (ServerError("boom", status_code=500), ["boom", "try again"]),
        (NotFound("no such job", status_code=404), ["no such job"]),
        (JobFailed("it broke", job=None, code="weird"), ["[weird]", "it broke"]),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else "",
)
def test_errors_say_what_to_do(error: Exception, words: list[str]) -> None:
    text = describe_error(error)

    for word in words:
        assert word in text


@pytest.mark.parametrize(
    "error",
    [NotFound("no /files here", status_code=404), InvalidRequest("not allowed", status_code=405)],
)
def test_a_server_without_uploads_asks_for_a_url(error: Exception) -> None:
    assert describe_upload_error(error) == UPLOADS_REFUSED
    assert UPLOADS_REFUSED == "this server does not accept uploads; paste a public URL"


def test_a_file_too_large_for_the_server_says_so() -> None:
    text = describe_upload_error(InvalidRequest("upload over 512 MB", status_code=413))

    assert "too large" in text and "upload over 512 MB" in text
    assert "check FACESWAP_API_KEY" in describe_upload_error(AuthError("no", status_code=401))
