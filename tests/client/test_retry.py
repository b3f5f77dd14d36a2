"""Retry decisions, as the pure functions both twins follow."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from faceswap_nb.client import RetryPolicy
from faceswap_nb.client._answers import parse_retry_after
from faceswap_nb.client._base import retry_delay

NO_JITTER = RetryPolicy(max_attempts=6, base_delay=0.5, max_delay=4.0, jitter=0.0)
REQUEST = httpx.Request("GET", "https://api.example.test/v1/generate/j1")


def response(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=REQUEST)


# --- RetryPolicy.delay -----------------------------------------------------------------


def test_backoff_doubles_from_the_base_delay_up_to_the_cap() -> None:
    delays = [NO_JITTER.delay(attempt, 503) for attempt in range(1, 6)]

    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_no_delay_once_the_attempts_are_used_up() -> None:
    policy = RetryPolicy(max_attempts=3)

    assert policy.delay(2, 503) is not None
    assert policy.delay(3, 503) is None


def test_one_attempt_means_never_retry() -> None:
    assert RetryPolicy(max_attempts=1).delay(1) is None


@pytest.mark.parametrize("status", [None, 429, 500, 502, 503, 504, 599])
def test_connection_errors_429_and_5xx_are_retried(status: int | None) -> None:
    assert NO_JITTER.delay(1, status) == 0.5


@pytest.mark.parametrize("status", [200, 301, 400, 401, 403, 404, 409, 422])
def test_other_statuses_are_final(status: int) -> None:
    assert NO_JITTER.delay(1, status) is None


def test_jitter_takes_at_most_its_fraction_off_the_delay() -> None:
    policy = RetryPolicy(base_delay=1.0, jitter=0.5)
    rng = random.Random(7)

    delays = [policy.delay(1, 503, rand=rng.random) for _ in range(500)]

    assert all(d is not None and 0.5 <= d <= 1.0 for d in delays)
    assert max(d for d in delays if d is not None) - min(d for d in delays if d is not None) > 0.4


def test_jitter_bounds_are_reached_at_the_ends_of_the_random_range() -> None:
    policy = RetryPolicy(base_delay=2.0, jitter=0.25)

    assert policy.delay(1, 500, rand=lambda: 0.0) == 2.0
    assert policy.delay(1, 500, rand=lambda: 1.0) == 1.5


def test_retry_after_is_honoured_exactly_without_jitter() -> None:
    policy = RetryPolicy(jitter=1.0, retry_after_cap=30)

    assert policy.delay(1, 429, retry_after=7.0, rand=lambda: 0.9) == 7.0


def test_retry_after_beyond_the_cap_gives_up_so_the_caller_decides() -> None:
    policy = RetryPolicy(retry_after_cap=30)

    assert policy.delay(1, 429, retry_after=30.0) == 30.0
    assert policy.delay(1, 429, retry_after=31.0) is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"base_delay": -1},
        {"max_delay": -1},
        {"retry_after_cap": -1},
        {"jitter": 1.5},
    ],
)
def test_impossible_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


# --- Retry-After -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"), [("5", 5.0), (" 2.5 ", 2.5), ("0", 0.0), ("-3", 0.0)]
)
def test_retry_after_in_seconds(value: str, seconds: float) -> None:
    assert parse_retry_after(value) == seconds


def test_retry_after_as_an_http_date_counts_from_now() -> None:
    now = datetime(2026, 2, 15, 12, 0, 0, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)

    assert parse_retry_after(later, now=now) == 90.0


def test_retry_after_in_the_past_means_now() -> None:
    now = datetime(2026, 2, 15, 12, 0, 0, tzinfo=timezone.utc)

    assert parse_retry_after("Sun, 15 Feb 2026 11:00:00 GMT", now=now) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "inf", "nan", "Mon, 99 Foo 2026"])
def test_unreadable_retry_after_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value) is None


# --- which requests may be sent again ------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError,
        httpx.ConnectTimeout,
        httpx.ReadTimeout,
        httpx.ReadError,
        httpx.RemoteProtocolError,
    ],
)
def test_a_get_is_retried_after_any_transient_failure(error: type[httpx.TransportError]) -> None:
    assert retry_delay(NO_JITTER, 1, error("x"), idempotent=True) == 0.5


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
def test_a_create_is_retried_only_when_it_never_left(error: type[httpx.TransportError]) -> None:
    assert retry_delay(NO_JITTER, 1, error("x"), idempotent=False) == 0.5


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout,
        httpx.WriteTimeout,
        httpx.WriteError,
        httpx.ReadError,
        httpx.RemoteProtocolError,
    ],
)
def test_a_create_that_may_have_arrived_is_not_retried(error: type[httpx.TransportError]) -> None:
    assert retry_delay(NO_JITTER, 1, error("x"), idempotent=False) is None


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_create_is_never_retried_after_an_answer(status: int) -> None:
    assert retry_delay(NO_JITTER, 1, response(status), idempotent=False) is None


def test_a_get_is_retried_after_a_503_and_stops_on_success() -> None:
    assert retry_delay(NO_JITTER, 1, response(503), idempotent=True) == 0.5
    assert retry_delay(NO_JITTER, 1, response(200), idempotent=True) is None


def test_a_get_waits_as_long_as_retry_after_says() -> None:
    assert retry_delay(NO_JITTER, 1, response(429, **{"Retry-After": "3"}), idempotent=True) == 3.0


def test_a_configuration_error_is_not_retried() -> None:
    error = httpx.UnsupportedProtocol("ftp is not supported")

    assert retry_delay(NO_JITTER, 1, error, idempotent=True) is None
