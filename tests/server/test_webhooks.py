"""Webhook delivery through ``httpx.MockTransport``: signing, retries, recorded attempts.

No sockets: the transport is in memory and waits between attempts are recorded, not
slept. Live delivery to a loopback receiver is in tests/netns/test_webhook_delivery.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from faceswap_nb.client.webhooks import new_secret, verify_webhook
from faceswap_nb.server.fetch import FetchError
from faceswap_nb.server.settings import ServerSettings
from faceswap_nb.server.webhooks import deliver

HOOK = "https://hooks.example.org/faceswap"
JOB = {"jobId": "4ab2d17f", "status": "completed", "output": {"videoUrl": "https://x/r.mp4"}, "note": "café"}
SETTINGS = ServerSettings(webhook_retry_delays=(0.5, 2.0), webhook_timeout=1.0)


class Receiver:
    """Answers each POST with the next scripted outcome (a status or an exception)."""

    def __init__(self, *outcomes: int | Exception) -> None:
        self._outcomes: Iterator[int | Exception] = iter(outcomes)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        outcome = next(self._outcomes, 200)
        if isinstance(outcome, Exception):
            raise outcome
        return httpx.Response(outcome, text="thanks")


def run(
    receiver: Receiver, *, url: str = HOOK, settings: ServerSettings = SETTINGS,
    record: Callable[[dict[str, Any]], Any] | None = None,
) -> tuple[bool, list[dict[str, Any]], list[float], str]:
    """Deliver JOB; return (delivered, recorded attempts, waits, secret)."""
    attempts: list[dict[str, Any]] = []
    waits: list[float] = []
    secret = new_secret()

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    delivered = asyncio.run(deliver(
        url, JOB, secret=secret, msg_id="msg_4ab2d17f", settings=settings,
        record=record or attempts.append, sleep=sleep, transport=httpx.MockTransport(receiver)))
    return delivered, attempts, waits, secret


def test_a_2xx_on_the_first_try_is_one_signed_attempt() -> None:
    receiver = Receiver(204)

    delivered, attempts, waits, secret = run(receiver)

    assert delivered and waits == []
    [attempt] = attempts
    assert attempt["attempt"] == 1 and attempt["statusCode"] == 204 and attempt["error"] is None
    assert isinstance(attempt["at"], int) and attempt["at"] > 1_700_000_000_000 and attempt["durationMs"] >= 0
    [request] = receiver.requests
    assert request.method == "POST" and request.headers["content-type"] == "application/json"
    assert verify_webhook(request.headers, request.content, secret) == JOB


def test_failures_are_retried_after_the_configured_delays_with_the_same_id_and_body() -> None:
    receiver = Receiver(500, httpx.ConnectError("connection refused"), 200)

    delivered, attempts, waits, secret = run(receiver)

    assert delivered and waits == [0.5, 2.0]
    assert [(a["attempt"], a["statusCode"]) for a in attempts] == [(1, 500), (2, None), (3, 200)]
    assert "HTTP 500" in attempts[0]["error"] and "connection refused" in attempts[1]["error"]
    assert {r.headers["webhook-id"] for r in receiver.requests} == {"msg_4ab2d17f"}
    assert len({r.content for r in receiver.requests}) == 1
    for request in receiver.requests:
        assert verify_webhook(request.headers, request.content, secret) == JOB


def test_delivery_gives_up_after_the_last_delay() -> None:
    delivered, attempts, waits, _ = run(Receiver(500, 502, 503, 200))

    assert not delivered and waits == [0.5, 2.0]
    assert [a["statusCode"] for a in attempts] == [500, 502, 503]


@pytest.mark.parametrize(("outcome", "says"), [
    (httpx.ReadTimeout("slow"), "no answer within 1 s"),
    (302, "HTTP 302"),
    (404, "HTTP 404"),
    (FetchError("the host name hooks.example.org could not be resolved", code="fetch_failed"), "could not be resolved"),
])
def test_timeouts_redirects_errors_and_dns_failures_are_retried(outcome: int | Exception, says: str) -> None:
    delivered, attempts, _, _ = run(Receiver(outcome))

    assert delivered and len(attempts) == 2 and says in attempts[0]["error"]


@pytest.mark.parametrize(("url", "says"), [
    ("http://10.0.0.5/hook", "10.0.0.5 is a private address"),
    ("http://169.254.169.254/latest", "is a link-local address"),
    ("http://[::1]:9000/hook", "::1 is a loopback address"),
    ("ftp://hooks.example.org/", "only http:// and https://"),
])
def test_a_refused_target_is_recorded_once_and_never_contacted(url: str, says: str) -> None:
    receiver = Receiver()

    delivered, attempts, waits, _ = run(receiver, url=url)

    assert not delivered and waits == [] and receiver.requests == []
    [attempt] = attempts
    assert attempt["statusCode"] is None and says in attempt["error"]


def test_a_refusal_at_connect_time_is_not_retried() -> None:
    refusal = FetchError("hooks.example.org (10.0.0.1) is a private address", code="url_not_allowed")

    delivered, attempts, waits, _ = run(Receiver(refusal))

    assert not delivered and waits == [] and attempts[0]["error"] == refusal.message


def test_an_allow_listed_private_target_is_delivered() -> None:
    settings = ServerSettings(fetch_allow=("10.0.0.0/8",), webhook_retry_delays=())

    delivered, attempts, _, _ = run(Receiver(200), url="http://10.0.0.5/hook", settings=settings)

    assert delivered and attempts[0]["statusCode"] == 200


def test_the_recorder_may_be_a_coroutine_function() -> None:
    recorded: list[dict[str, Any]] = []

    async def record(attempt: dict[str, Any]) -> None:
        await asyncio.sleep(0)
        recorded.append(attempt)

    delivered, _, _, _ = run(Receiver(500, 200), record=record)

    assert delivered and [a["statusCode"] for a in recorded] == [500, 200]


def test_the_body_is_compact_utf8_json() -> None:
    receiver = Receiver(200)

    run(receiver)

    assert receiver.requests[0].content == json.dumps(JOB, separators=(",", ":"), ensure_ascii=False).encode()
