"""Per-key limits: a request-rate token bucket and a request-body size cap.

Both answer with what the client needs to act: the bucket says how many seconds until
the next request would be accepted (the ``Retry-After`` header), and the size cap
turns an oversized body into a 413 before it is all read, whether or not the client
sent ``Content-Length``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BodySizeLimit", "RateLimiter", "TokenBucket"]

Scope = dict[str, Any]
Message = dict[str, Any]


@dataclass
class TokenBucket:
    """``rate`` requests per second on average, bursts up to ``burst``."""

    rate: float
    burst: int
    tokens: float = field(init=False)
    updated: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)

    def take(self, now: float) -> float | None:
        """Spend one token; None when allowed, else seconds until one is available."""
        if self.updated is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return (1.0 - self.tokens) / self.rate


class RateLimiter:
    """One token bucket per owner."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._buckets: dict[str, TokenBucket] = {}

    def retry_after(self, owner: str) -> int | None:
        """None when the request may go ahead, else whole seconds to wait (at least 1)."""
        bucket = self._buckets.setdefault(owner, TokenBucket(self.rate, self.burst))
        wait = bucket.take(self._clock())
        return None if wait is None else max(1, math.ceil(wait))


class BodySizeLimit:
    """ASGI middleware: 413 for bodies over ``cap_for(path)`` bytes."""

    def __init__(self, app: Any, cap_for: Callable[[str], int]) -> None:
        self.app = app
        self.cap_for = cap_for

    async def __call__(self, scope: Scope, receive: Callable[[], Any], send: Callable[[Message], Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            await _too_large(send, cap)
            return
        received = 0
        refused = False

        async def counting_receive() -> Message:
            # Past the cap the app is told the client left, and whatever it answers is
            # dropped: the 413 has already gone out.
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            received += len(message.get("body", b""))
            if received > cap:
                refused = True
                await _too_large(send, cap)
                return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            # An app that fails on the cut-off body has nothing left to say: the client
            # already has its 413.
            if not refused:
                raise


async def _too_large(send: Callable[[Message], Any], cap: int) -> None:
    body = json.dumps({
        "status": "too_large",
        "message": f"the request body is larger than {cap} bytes; send a smaller file or a URL",
    }).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
