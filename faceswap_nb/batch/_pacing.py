"""How fast a batch goes: its slots for jobs in flight, and the wait after a refusal.

Both are small and pure enough to test on their own: :func:`backoff_delay` is a
function of the attempt and the server's ``Retry-After``; :class:`Slots` only counts.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

__all__ = ["MAX_BACKOFF", "MAX_RETRY_AFTER", "Slots", "backoff_delay"]

MAX_RETRY_AFTER = 300.0
MAX_BACKOFF = 30.0


def backoff_delay(
    attempt: int, retry_after: float | None = None, *, rand: Callable[[], float] = random.random
) -> float:
    """Seconds to wait before trying again after ``attempt`` refusals (1 after the first).

    The server's ``Retry-After`` wins (capped at 5 minutes); otherwise the delay doubles
    from 0.5 s up to 30 s, less up to half at random so that retries spread out.
    """
    if retry_after is not None:
        return min(max(retry_after, 0.0), MAX_RETRY_AFTER)
    return min(MAX_BACKOFF, 0.5 * 2 ** (attempt - 1)) * (1 - 0.5 * rand())


class Slots:
    """The batch's jobs in flight, at most ``limit`` of them (re-attached ones may exceed)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0
        self._freed = asyncio.Event()

    def take(self) -> None:
        self.used += 1

    def release(self) -> None:
        self.used -= 1
        self._freed.set()

    def wake(self) -> None:
        self._freed.set()

    async def acquire(
        self, failure: Callable[[], BaseException | None], stopped: Callable[[], bool]
    ) -> bool:
        """Wait for a free slot and take it; False when the run stops submitting first.

        Raises:
            BaseException: the run's failure, when one happens meanwhile.
        """
        while True:
            if (error := failure()) is not None:
                raise error
            if stopped():
                return False
            if self.used < self.limit:
                self.used += 1
                return True
            self._freed.clear()
            await self._freed.wait()
