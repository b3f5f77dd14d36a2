"""Run a batch of face-swap jobs: estimated first, submitted once, watched to the end.

:func:`arun_batch` is the asyncio core and :func:`run_batch` its blocking twin (it runs
the core on its own event loop in a worker thread, so it also works inside Jupyter's
running loop). A run:

1. estimates every pair (:func:`~faceswap_nb.batch.estimate.estimate`) and refuses to
   start, with :class:`~faceswap_nb.CostLimitExceeded`, when the total is over
   ``max_cost``;
2. opens the ledger (:mod:`faceswap_nb.batch.ledger`), re-attaching to a batch that ran
   before, or refusing one that belongs to other pairs;
3. uploads local files once each, and submits the pairs with at most ``concurrency``
   of the batch's jobs created or processing at any time, backing off when the server
   answers 429 (``Retry-After`` honoured);
4. polls all jobs in flight in one loop whose interval grows while nothing changes;
5. returns the result table (:mod:`faceswap_nb.batch._frame`).

Duplicates and pairs that cannot be probed are not submitted (``not_submitted`` with
``error_code`` ``duplicate`` / ``invalid_input``). Stopping a run (an exception, a
kernel restart, a kill) leaves the jobs running on the server; run it again with the
same ledger to pick them up.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from faceswap_nb._errors import CostLimitExceeded
from faceswap_nb.batch._pacing import backoff_delay
from faceswap_nb.batch._runner import Runner
from faceswap_nb.batch.estimate import estimate, resolve_pricing
from faceswap_nb.batch.ledger import Ledger
from faceswap_nb.batch.money import Pricing, to_micros
from faceswap_nb.batch.pairs import normalize_pairs
from faceswap_nb.client import AsyncClient, Client

__all__ = ["BatchControl", "arun_batch", "backoff_delay", "run_batch"]

OnUpdate = Callable[[pd.DataFrame], object]


def run_batch(
    pairs: pd.DataFrame | Iterable[Any],
    *,
    client: Client | AsyncClient | None = None,
    concurrency: int = 4,
    max_cost: float | None = None,
    ledger: str | os.PathLike[str] | None = None,
    advanced: bool = False,
    poll_interval: float = 1.0,
    webhook: str | None = None,
    on_update: OnUpdate | None = None,
    price: float | None = None,
    pricing: Pricing | None = None,
    download_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Run a batch to its end and return its result table; blocks (also in Jupyter).

    The blocking twin of :func:`arun_batch`, with the same arguments. The run happens on
    its own event loop in a worker thread (Jupyter's running loop is left alone); an
    interrupt (Ctrl-C, "interrupt kernel") stops it there, and the jobs go on on the
    server: run again with the same ``ledger`` to re-attach. Pass a ``Client`` (an
    ``AsyncClient`` only if it has not been used on another loop).
    """
    from faceswap_nb.batch.background import BatchRun

    options = {
        "client": client, "concurrency": concurrency, "max_cost": max_cost, "ledger": ledger,
        "advanced": advanced, "poll_interval": poll_interval, "webhook": webhook,
        "on_update": on_update, "price": price, "pricing": pricing, "download_dir": download_dir,
    }  # fmt: skip
    return BatchRun(pairs, **options).wait()


async def arun_batch(
    pairs: pd.DataFrame | Iterable[Any],
    *,
    client: Client | AsyncClient | None = None,
    concurrency: int = 4,
    max_cost: float | None = None,
    ledger: str | os.PathLike[str] | None = None,
    advanced: bool = False,
    poll_interval: float = 1.0,
    webhook: str | None = None,
    on_update: OnUpdate | None = None,
    price: float | None = None,
    pricing: Pricing | None = None,
    download_dir: str | os.PathLike[str] | None = None,
    control: BatchControl | None = None,
) -> pd.DataFrame:
    """Estimate, submit and watch a batch of (video, face) pairs; return its result table.

    Args:
        pairs: ``(video, face)`` tuples or a DataFrame with ``video`` and ``face``
            columns; local paths (uploaded once each) or URLs.
        client: a ``Client`` or ``AsyncClient`` (default ``faceswap_nb.connect()``).
        concurrency: most jobs of this batch created or processing at once.
        max_cost: refuse to start when the estimated total is above it.
        ledger: the JSONL file that makes the batch resumable (None: memory only, a
            restarted kernel cannot re-attach).
        advanced, webhook: sent with every create.
        poll_interval: first seconds between polls; grows to 5 s while nothing changes.
        on_update: called with the result table whenever it changed (a returned
            awaitable is awaited).
        price, pricing: the price per second / pricing rule for the estimate.
        download_dir: save each completed output there as ``<job_id>.mp4``.
        control: lets another thread stop submitting and cancel (``BatchRun`` uses it).

    Raises:
        CostLimitExceeded: the estimate is over ``max_cost``; nothing was submitted.
        LedgerError: the ledger is corrupt or another batch's; nothing was submitted.
        ValueError: malformed pairs or options.
        AuthError: the key was refused (the ledger resumes the batch once fixed).
    """
    if concurrency < 1 or poll_interval <= 0:
        raise ValueError("concurrency must be >= 1 and poll_interval > 0")
    rule = resolve_pricing(price, pricing)
    frame = normalize_pairs(pairs)
    book = Ledger.open(
        ledger, pair_ids=frame["pair_id"], pricing=rule, advanced=advanced, webhook=webhook
    )
    api, owned = await _async_client(client)
    try:
        estimates = await asyncio.to_thread(estimate, frame, pricing=rule, client=api)
        _check_cost(estimates, max_cost)
        book.start()
        try:
            runner = Runner(
                api,
                book,
                estimates,
                concurrency=concurrency,
                advanced=advanced,
                webhook=webhook,
                poll_interval=poll_interval,
                on_update=on_update,
                download_dir=Path(download_dir) if download_dir is not None else None,
            )
            if control is not None:
                control.attach(runner)
            return await runner.run()
        finally:
            book.close()
    finally:
        if owned:
            await api.aclose()


class BatchControl:
    """A handle on a running batch for its owner: stop submitting, cancel what runs."""

    def __init__(self) -> None:
        self._runner: Runner | None = None
        self._cancel_requested = False

    def attach(self, runner: Runner) -> None:
        """Called by the run once it starts."""
        self._runner = runner
        if self._cancel_requested:
            runner.stop_submitting()

    async def cancel_all(self) -> list[str]:
        """Submit nothing more and cancel every job of the batch in flight; their ids."""
        self._cancel_requested = True
        return [] if self._runner is None else await self._runner.cancel_all()


async def _async_client(client: Client | AsyncClient | None) -> tuple[AsyncClient, bool]:
    """The async client to use, and whether this run owns (and closes) it."""
    if isinstance(client, AsyncClient):
        return client, False
    if client is None:
        from faceswap_nb._connect import connect

        client = await asyncio.to_thread(connect)
    if not isinstance(client, Client):
        raise TypeError(
            f"client must be a faceswap_nb Client or AsyncClient, not {type(client).__name__}"
        )
    return AsyncClient(settings=client.settings), True


def _check_cost(estimates: pd.DataFrame, max_cost: float | None) -> None:
    if max_cost is None:
        return
    summed = estimates.attrs["totals"]
    if to_micros(summed["est_cost"]) > to_micros(max_cost):
        raise CostLimitExceeded(
            f"the batch is estimated at {summed['est_cost']:.2f} ({summed['billed_seconds']:.1f} billed "
            f"seconds of video in {summed['runnable']} jobs), over max_cost={max_cost:g}; nothing was "
            "submitted. Raise max_cost or run fewer pairs",
            estimate=summed["est_cost"],
            limit=max_cost,
        )
