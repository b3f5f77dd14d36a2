"""Webhook delivery: POST the finished job, signed, retried, every attempt recorded.

The body is serialised once and each attempt signs those exact bytes in the Standard
Webhooks style (:func:`faceswap_nb.client.webhooks.sign_webhook`): the ``webhook-id``
stays the same across retries so receivers can drop duplicates, while the timestamp
and signature are fresh, so a late retry is not mistaken for a replay.

Deliveries go through the same guarded client as input downloads
(:func:`faceswap_nb.server.fetch.guarded_client`): a webhook aimed at a private,
loopback or link-local address is refused unless allow-listed, and that refusal is
recorded as a failed attempt and not retried, since retrying cannot change it.
Redirects are not followed; like any other non-2xx answer they count as a failure and
are retried after ``settings.webhook_retry_delays``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx

from faceswap_nb.client.webhooks import sign_webhook
from faceswap_nb.server.fetch import (
    URL_NOT_ALLOWED,
    AllowList,
    FetchError,
    check_url,
    guarded_client,
)
from faceswap_nb.server.settings import ServerSettings

__all__ = ["Recorder", "deliver"]

Recorder = Callable[[dict[str, Any]], Awaitable[None] | None]


async def deliver(
    url: str,
    payload: dict[str, Any],
    *,
    secret: str,
    msg_id: str,
    settings: ServerSettings,
    record: Recorder,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    transport: httpx.AsyncBaseTransport | None = None,
) -> bool:
    """POST ``payload`` as JSON to ``url`` until a 2xx answer or the retries run out.

    Args:
        url: the job's webhook URL.
        payload: the job object, serialised once; every attempt sends the same bytes.
        secret: the owner's ``whsec_…`` signing secret.
        msg_id: the ``webhook-id``, the same on every attempt.
        settings: ``fetch_allow``, ``webhook_retry_delays`` and ``webhook_timeout`` apply.
        record: called after each attempt with ``{"attempt", "at" (ms since the epoch),
            "statusCode" (int or None), "error" (None on success), "durationMs"}``; it may
            be a coroutine function.
        sleep: waits between attempts (tests pass a fake).
        transport: replaces the guarded transport (tests pass ``httpx.MockTransport``).

    Returns:
        True when an attempt got a 2xx answer. Network problems never raise.
    """
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    allow = AllowList.parse(settings.fetch_allow)
    delays = tuple(settings.webhook_retry_delays)
    async with guarded_client(allow, timeout=settings.webhook_timeout, transport=transport) as client:
        attempt = 0
        while True:
            attempt += 1
            started_ms, started = int(time.time() * 1000), time.monotonic()
            headers = {"content-type": "application/json", **sign_webhook(secret, msg_id, int(time.time()), body)}
            status, error, retry = await _post(client, url, body, headers, allow, settings.webhook_timeout)
            entry = {"attempt": attempt, "at": started_ms, "statusCode": status, "error": error,
                     "durationMs": round((time.monotonic() - started) * 1000)}
            outcome = record(entry)
            if inspect.isawaitable(outcome):
                await outcome
            if error is None:
                return True
            if not retry or attempt > len(delays):
                return False
            await sleep(delays[attempt - 1])


async def _post(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str], allow: AllowList, timeout: float,
) -> tuple[int | None, str | None, bool]:
    """One attempt: (status code, error or None when delivered, whether a retry could help)."""
    try:
        check_url(url, allow)
        # The client's timeout bounds each read; this bounds the attempt as a whole.
        with anyio.fail_after(timeout):
            async with client.stream("POST", url, content=body, headers=headers) as response:
                status = response.status_code
    except FetchError as exc:
        return None, exc.message, exc.code != URL_NOT_ALLOWED
    except (TimeoutError, httpx.TimeoutException):
        return None, f"no answer within {timeout:g} s", True
    except httpx.HTTPError as exc:
        return None, f"could not deliver: {exc or type(exc).__name__}", True
    if 200 <= status < 300:
        return status, None, False
    return status, f"the receiver answered HTTP {status}; only a 2xx answer counts as delivered", True
