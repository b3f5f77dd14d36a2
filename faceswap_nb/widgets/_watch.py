"""Following one job to its end: from an asyncio task, or from a blocking ``wait``.

In a Jupyter kernel, cells and widget callbacks run inside the kernel's event loop. A
task on that loop (:meth:`Watcher.run`) follows the job whenever the notebook is idle,
so a job submitted with the button is watched without blocking anything. A notebook run
top to bottom cannot rely on it: the kernel is shut down after the last cell and
unfinished tasks vanish, so that cell calls :meth:`Watcher.wait`, which polls in the
cell itself.

``wait`` deliberately does not run the kernel's loop re-entrantly (``nest_asyncio``):
under ipykernel 7 a cell doing that while JupyterLab's Run All has further cells queued
breaks the kernel's message handling ("cannot enter context … already entered") and
the queued cells never run. A blocking poll needs nothing of the loop; widget updates
still reach the browser at once, since the kernel sends them as they happen.

Whichever of the two sees the end first settles the job; the other then stops quietly.
Both run on the kernel's main thread (the task's blocking calls go to worker threads
and return to the loop), so widget updates never come from another thread.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from faceswap_nb._errors import FaceswapError, JobTimeout
from faceswap_nb.client.models import Job

__all__ = ["JobClient", "Watcher"]

MAX_POLL_INTERVAL = 2.0
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


class JobClient(Protocol):
    """What the panel needs of a client: ``faceswap_nb.Client`` has all of it."""

    def upload(self, path: str | os.PathLike[str]) -> str: ...
    def create_job(self, video_url: str, face_url: str, *, advanced: bool = ...,
                   webhook: str | None = ...) -> Job: ...
    def get_job(self, job_id: str) -> Job: ...
    def cancel(self, job_id: str) -> Job: ...
    def download(self, job_or_url: Job | str, path: str | os.PathLike[str]) -> Path: ...


class Watcher:
    """Polls one job until it ends, then downloads its result once.

    Args:
        client: the blocking client (called from worker threads by :meth:`run`).
        job: the job as created.
        results_dir: where the result video is saved, as ``<jobId>.mp4``.
        poll_interval: seconds between the first polls; it grows to 2 s.
        on_update: called with each new state of the job.
        on_end: called once with this watcher when the job has ended (``result_path``
            set when it completed) or watching failed (``error`` set).
    """

    def __init__(
        self,
        client: JobClient,
        job: Job,
        *,
        results_dir: Path,
        poll_interval: float,
        on_update: Callable[[Job], object],
        on_end: Callable[[Watcher], object],
    ) -> None:
        self.client = client
        self.job = job
        self.results_dir = results_dir
        self.poll_interval = poll_interval
        self.ended = False
        self.result_path: Path | None = None
        self.error: Exception | None = None
        self._on_update = on_update
        self._on_end = on_end
        self._fetch_lock = threading.Lock()

    def observe(self, job: Job) -> None:
        """Take a new state of the job (a poll's, or a cancel's answer) unless it has ended."""
        if self.ended:
            return  # a late answer from before the end: stale
        self.job = job
        self._on_update(job)

    async def run(self) -> Job:
        """Follow the job from an asyncio task; returns the last state seen (never raises)."""
        interval = self.poll_interval
        try:
            while not self.ended:
                if self.job.is_terminal:
                    path = await asyncio.to_thread(self._fetch, self.job)
                    self._end(self.job, path)
                    break
                await asyncio.sleep(interval)
                interval = min(MAX_POLL_INTERVAL, interval * 1.5)
                # The blocking client in a worker thread: the kernel's loop stays free.
                self.observe(await asyncio.to_thread(self.client.get_job, self.job.job_id))
        except (FaceswapError, OSError) as exc:
            self._fail(exc)
        return self.job

    def wait(self, timeout: float | None) -> Job:
        """Poll in this thread until the job has ended and its result is in; returns the job.

        Raises:
            JobTimeout: ``timeout`` seconds passed; watching can go on later.
            the error that ended watching (e.g. ServerUnreachable, AuthError).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        interval = self.poll_interval
        while not self.ended:
            if not self.job.is_terminal:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise self._timed_out(timeout)
                time.sleep(interval if left is None else min(interval, left))
                interval = min(MAX_POLL_INTERVAL, interval * 1.5)
            self._step()
        if self.error is not None:
            raise self.error
        return self.job

    def _step(self) -> None:
        """One blocking step: settle an ended job, or poll once."""
        try:
            if self.job.is_terminal:
                self._end(self.job, self._fetch(self.job))
            else:
                self.observe(self.client.get_job(self.job.job_id))
        except (FaceswapError, OSError) as exc:
            self._fail(exc)

    def _timed_out(self, timeout: float | None) -> JobTimeout:
        return JobTimeout(
            f"job {self.job.job_id} is still '{self.job.status}' after {timeout or 0:g} s; "
            "the panel keeps watching it: wait again, or press Cancel",
            job=self.job,
        )

    def _fetch(self, job: Job) -> Path | None:
        """Download a completed job's result, once even if the task and ``wait`` both ask."""
        if not job.is_completed:
            return None
        with self._fetch_lock:
            if self.result_path is None:
                self.results_dir.mkdir(parents=True, exist_ok=True)
                target = self.results_dir / f"{_SAFE_NAME.sub('_', job.job_id)}.mp4"
                self.result_path = Path(self.client.download(job, target))
            return self.result_path

    def _end(self, job: Job, path: Path | None) -> None:
        if self.ended:
            return
        self.ended, self.job, self.result_path = True, job, path
        self._on_end(self)

    def _fail(self, exc: Exception) -> None:
        if self.ended:
            return
        self.ended, self.error = True, exc
        self._on_end(self)
