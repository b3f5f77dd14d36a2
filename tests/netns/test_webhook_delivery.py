"""Live webhook deliveries to a receiver on 127.0.0.1, through the guarded client.

Only ever collected inside a private network namespace (see README.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from faceswap_nb.client.webhooks import new_secret, verify_webhook
from faceswap_nb.server.settings import ServerSettings
from faceswap_nb.server.webhooks import deliver
from tests.netns._server import LocalServer

pytestmark = pytest.mark.netns

JOB = {"jobId": "6b1f", "status": "completed", "date": 1771124345358}


def send(url: str, settings: ServerSettings, secret: str) -> tuple[bool, list[dict[str, Any]]]:
    attempts: list[dict[str, Any]] = []
    delivered = asyncio.run(deliver(
        url, JOB, secret=secret, msg_id="msg_6b1f", settings=settings, record=attempts.append))
    return delivered, attempts


def test_a_delivery_that_succeeds_at_once(one: LocalServer, settings: ServerSettings) -> None:
    secret = new_secret()

    delivered, attempts = send(f"{one.origin}/hook/first", settings, secret)

    assert delivered and [(a["attempt"], a["statusCode"], a["error"]) for a in attempts] == [(1, 200, None)]
    [received] = [r for r in one.received if r.path == "/hook/first"]
    assert verify_webhook(received.headers, received.body, secret) == JOB


def test_a_failing_receiver_is_retried_until_it_answers_2xx(one: LocalServer, settings: ServerSettings) -> None:
    one.hook_statuses["flaky"] = [500, 503]
    secret = new_secret()

    delivered, attempts = send(f"{one.origin}/hook/flaky", settings, secret)

    assert delivered and [a["statusCode"] for a in attempts] == [500, 503, 200]
    assert [a["attempt"] for a in attempts] == [1, 2, 3] and all(a["durationMs"] >= 0 for a in attempts)
    received = [r for r in one.received if r.path == "/hook/flaky"]
    assert len(received) == 3 and {r.headers["webhook-id"] for r in received} == {"msg_6b1f"}
    for request in received:
        assert verify_webhook(request.headers, request.body, secret) == JOB


def test_a_receiver_that_never_succeeds_is_given_up_on(one: LocalServer, settings: ServerSettings) -> None:
    one.hook_statuses["down"] = [500, 500, 500, 500]

    delivered, attempts = send(f"{one.origin}/hook/down", settings, new_secret())

    assert not delivered and [a["statusCode"] for a in attempts] == [500, 500, 500]


def test_a_loopback_receiver_not_allowed_is_refused_without_retry(one: LocalServer, settings: ServerSettings) -> None:
    closed = dataclasses.replace(settings, fetch_allow=())
    url = f"{one.origin.replace('127.0.0.1', 'localhost')}/hook/closed"

    delivered, attempts = send(url, closed, new_secret())

    assert not delivered and len(attempts) == 1
    assert attempts[0]["statusCode"] is None and "localhost (127.0.0.1) is a loopback address" in attempts[0]["error"]
    assert not [r for r in one.received if r.path == "/hook/closed"]


def test_an_unreachable_receiver_is_retried_then_given_up_on(settings: ServerSettings) -> None:
    opened = dataclasses.replace(settings, fetch_allow=("127.0.0.3",))

    delivered, attempts = send("http://127.0.0.3:9/hook", opened, new_secret())

    assert not delivered and len(attempts) == 3
    assert all(a["statusCode"] is None and "could not deliver" in a["error"] for a in attempts)
