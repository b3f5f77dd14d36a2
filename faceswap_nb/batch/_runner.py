"""The engine of a batch run: bounded submission, one poll loop, downloads.

:class:`Runner` is what :func:`~faceswap_nb.batch.run.arun_batch` drives once the
estimate and the ledger have been checked. Every state change goes through the ledger
first (``submitting`` before a create is sent, ``submitted``/``refused``/``finished``
after), so a run stopped at any point can be resumed from the file.

Jobs in flight are bounded by :class:`Slots`: a slot is taken before a create is sent
and given back only when a poll sees the job end, so the server never has more than
``concurrency`` of the batch's jobs created or processing.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from faceswap_nb._errors import (
    FaceswapError,
    InvalidRequest,
    NotFound,
    RateLimited,
    ServerError,
    ServerUnreachable,
)
from faceswap_nb.batch._frame import job_fields, result_frame
from faceswap_nb.batch._pacing import Slots, backoff_delay
from faceswap_nb.batch.estimate import is_url, totals
from faceswap_nb.batch.ledger import Ledger
from faceswap_nb.client import AsyncClient, Job

__all__ = ["Refused", "Runner"]

log = logging.getLogger("faceswap_nb.batch")
T = TypeVar("T")
OnUpdate = Callable[[pd.DataFrame], object]

MAX_POLL_INTERVAL = 5.0
TRANSIENT_ATTEMPTS = 6
# Polls that fail this long in a row (server down) end the run; the ledger resumes it.
POLL_FAILURE_LIMIT = 300.0
TRANSIENT = (ServerError, ServerUnreachable)


class Refused(Exception):
    """The server refused a request for good (400/404/409) or a local file is unusable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class Runner:
    """One run of a batch: submits, polls, downloads, and tells ``on_update``."""

    def __init__(
        self,
        api: AsyncClient,
        ledger: Ledger,
        estimates: pd.DataFrame,
        *,
        concurrency: int,
        advanced: bool,
        webhook: str | None,
        poll_interval: float,
        on_update: OnUpdate | None,
        download_dir: Path | None,
    ) -> None:
        self.api, self.ledger, self.estimates = api, ledger, estimates
        self.advanced, self.webhook, self.on_update = advanced, webhook, on_update
        self.poll_interval, self.download_dir = poll_interval, download_dir
        self.slots = Slots(concurrency)
        self.in_flight: dict[str, str] = {}
        self.live: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, asyncio.Future[str]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.failure: BaseException | None = None
        self.submitting = True
        self.stopped = False
        self.canceling = False
        self.dirty = True
        self.wakeup = asyncio.Event()

    async def run(self) -> pd.DataFrame:
        """Submit what the ledger has not, watch everything, return the table."""
        for pair_id, record in self.ledger.pairs.items():
            if record.stage == "submitted":
                self.in_flight[pair_id] = str(record.job_id)
                self.slots.take()
            elif record.stage == "finished" and self.download_dir is not None:
                self._spawn(self._download(pair_id, None))
        poller = asyncio.ensure_future(self._poll_loop())
        poller.add_done_callback(self._on_task_done)
        try:
            for row in self._to_submit():
                if not await self.slots.acquire(lambda: self.failure, lambda: self.stopped):
                    break
                self._spawn(self._submit(row))
            await self._gather_tasks()
            self.submitting = False
            self.wakeup.set()
            await poller
            await self._gather_tasks()
        except BaseException:
            for task in (poller, *self.tasks):
                task.cancel()
            await asyncio.gather(poller, *self.tasks, return_exceptions=True)
            raise
        await self._emit(force=True)
        return self.frame()

    def frame(self) -> pd.DataFrame:
        """The result table as it is now."""
        frame = result_frame(self.estimates, self.ledger, self.live)
        frame.attrs.update(
            batch_id=self.ledger.batch_id,
            pricing=self.estimates.attrs.get("pricing"),
            ledger=None if self.ledger.path is None else str(self.ledger.path),
        )
        frame.attrs["totals"] = totals(
            frame.assign(
                duplicate=self.estimates["duplicate"].to_numpy(),
                problem=self.estimates["problem"].to_numpy(),
            )
        )
        return frame

    def stop_submitting(self) -> None:
        """Submit nothing more; jobs already submitted are still watched to their end."""
        self.stopped = True
        self.slots.wake()

    async def cancel_all(self) -> list[str]:
        """Stop submitting and ask the server to cancel every job of the batch in flight.

        A create already on its way is canceled as soon as its answer arrives.
        """
        self.stop_submitting()
        self.canceling = True
        job_ids = list(self.in_flight.values())
        await asyncio.gather(*(self._cancel(j) for j in job_ids))
        self.wakeup.set()
        return job_ids

    async def _cancel(self, job_id: str) -> None:
        try:
            await self.api.cancel(job_id)
        except FaceswapError as exc:  # e.g. it ended meanwhile (409): the poll will tell
            log.warning("could not cancel job %s: %s", job_id, exc)

    def _to_submit(self) -> list[Any]:
        """First rows of the pairs to create now: new, refused before, or half-submitted."""
        rows = []
        for row in self.estimates.itertuples(index=False):
            stage = self.ledger.pairs[row.pair_id].stage
            if row.duplicate or stage in ("submitted", "finished"):
                continue
            if stage == "submitting" or pd.isna(row.problem):
                rows.append(row)
        return rows

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self._on_task_done)

    def _on_task_done(self, task: asyncio.Future[Any]) -> None:
        if isinstance(task, asyncio.Task):
            self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and self.failure is None:
            self.failure = task.exception()
            self.slots.wake()
            self.wakeup.set()

    async def _gather_tasks(self) -> None:
        while self.tasks:
            await asyncio.gather(*self.tasks)
        if self.failure is not None:
            raise self.failure

    async def _submit(self, row: Any) -> None:
        record = self.ledger.pairs[row.pair_id]
        try:
            if record.stage != "submitting":
                video_url, face_url = await self._url(row.video), await self._url(row.face)
                self.ledger.record(
                    "submitting",
                    pair_id=row.pair_id,
                    video=row.video,
                    face=row.face,
                    idempotency_key=self.ledger.idempotency_key(row.pair_id),
                    video_url=video_url,
                    face_url=face_url,
                )
            job = await self._patiently(
                lambda: self.api.create_job(
                    str(record.video_url),
                    str(record.face_url),
                    advanced=self.advanced,
                    webhook=self.webhook,
                    idempotency_key=record.idempotency_key,
                )
            )
        except Refused as refused:
            self.ledger.record(
                "refused", pair_id=row.pair_id, code=refused.code, message=refused.message
            )
            self.slots.release()
        else:
            self.ledger.record(
                "submitted",
                pair_id=row.pair_id,
                idempotency_key=str(record.idempotency_key),
                job_id=job.job_id,
            )
            self.in_flight[row.pair_id] = job.job_id
            self.live[row.pair_id] = job_fields(job)
            if self.canceling:
                await self._cancel(job.job_id)
        self.dirty = True

    async def _url(self, location: str) -> str:
        """``location`` itself for a URL; for a local file its upload URL, uploaded once."""
        if is_url(location):
            return location
        if location in self.ledger.uploads:
            return self.ledger.uploads[location]
        if location not in self.uploads:
            self.uploads[location] = asyncio.ensure_future(self._upload(location))
        return await asyncio.shield(self.uploads[location])

    async def _upload(self, location: str) -> str:
        try:
            url = await self._patiently(lambda: self.api.upload(location))
        except OSError as exc:
            raise Refused("invalid_input", f"{location}: {exc.strerror or exc}") from None
        self.ledger.record("uploaded", path=location, url=url)
        return url

    async def _patiently(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call()``, again after a 429 (as long as it takes) or a transient failure."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await call()
            except RateLimited as exc:
                delay = backoff_delay(attempt, exc.retry_after)
                log.info("rate limited; trying again in %.1f s", delay)
            except TRANSIENT:
                if attempt >= TRANSIENT_ATTEMPTS:
                    raise
                delay = backoff_delay(attempt)
            except (InvalidRequest, NotFound) as exc:
                raise Refused(exc.code, exc.message) from None
            await asyncio.sleep(delay)

    async def _poll_loop(self) -> None:
        interval, failing_since = self.poll_interval, None
        while True:
            # Cleared before looking, so a wake-up during the round below is not lost.
            self.wakeup.clear()
            if not (self.submitting or self.in_flight):
                return
            if self.in_flight:
                changed, failed = await self._poll_round()
                if failed and not changed:
                    failing_since = failing_since or time.monotonic()
                    if time.monotonic() - failing_since > POLL_FAILURE_LIMIT:
                        raise failed
                else:
                    failing_since = None
                interval = self.poll_interval if changed else min(MAX_POLL_INTERVAL, interval * 1.5)
            await self._emit()
            await self._nap(interval)

    async def _nap(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when woken (new state to act on)."""
        # Not asyncio.wait_for: before Python 3.12 it can swallow a cancellation that
        # arrives as its timeout expires, and this loop would never stop.
        waiter = asyncio.ensure_future(self.wakeup.wait())
        try:
            await asyncio.wait({waiter}, timeout=seconds)
        finally:
            waiter.cancel()

    async def _poll_round(self) -> tuple[bool, BaseException | None]:
        """Poll every job in flight once; whether anything changed, and a transient error."""
        pairs = list(self.in_flight.items())
        answers = await asyncio.gather(
            *(self.api.get_job(j) for _, j in pairs), return_exceptions=True
        )
        changed, failed = False, None
        for (pair_id, _), answer in zip(pairs, answers):
            if isinstance(answer, TRANSIENT + (RateLimited,)):
                failed = answer
                continue
            if isinstance(answer, NotFound):
                answer = Job(job_id=self.in_flight[pair_id], status="failed")
                fields = {
                    **job_fields(answer),
                    "error_code": "not_found",
                    "error_message": "the server no longer knows this job (or another key made it)",
                }
            elif isinstance(answer, BaseException):
                raise answer
            else:
                fields = job_fields(answer)
            if fields != self.live.get(pair_id):
                changed = True
                self.live[pair_id] = fields
                if answer.is_terminal:
                    self._finish(pair_id, fields, answer)
        self.dirty |= changed
        return changed, failed

    def _finish(self, pair_id: str, fields: dict[str, Any], job: Job) -> None:
        self.ledger.record("finished", pair_id=pair_id, **fields)
        del self.in_flight[pair_id]
        self.slots.release()
        if self.download_dir is not None and job.is_completed:
            self._spawn(self._download(pair_id, job))

    async def _download(self, pair_id: str, job: Job | None) -> None:
        """Save a completed job's output once; a failure is logged, the row keeps no path."""
        record = self.ledger.pairs[pair_id]
        finished = record.finished or {}
        if finished.get("status") != "completed" or self.download_dir is None:
            return
        target = self.download_dir / f"{record.job_id}.mp4"
        if record.local_path and Path(record.local_path).exists():
            return
        try:
            if not target.exists():
                job = job or await self.api.get_job(str(record.job_id))  # a fresh output link
                await self._patiently(lambda: self.api.download(job, target))
        except (Refused, FaceswapError, ValueError, OSError) as exc:
            log.warning("could not download the output of job %s: %s", record.job_id, exc)
            return
        self.ledger.record(
            "downloaded", pair_id=pair_id, job_id=str(record.job_id), path=str(target)
        )
        self.dirty = True

    async def _emit(self, *, force: bool = False) -> None:
        if self.on_update is None or not (self.dirty or force):
            return
        self.dirty = False
        result = self.on_update(self.frame())
        if inspect.isawaitable(result):
            await result
