"""The worker: takes ``created`` jobs oldest first and runs a bounded number at a time.

Each job: fetch both inputs (the server's own uploads are read from disk) → run the
content policy and the engine in a child process (:mod:`faceswap_nb.server.runner`)
→ move the finished video into ``outputs/`` → mark the job ``completed`` → deliver its
webhook. Every failure ends the job ``failed`` with a code and a sentence; nothing
half-written is ever served, because an output only enters ``outputs/`` complete and a
job that did not reach ``completed`` has its output removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceswap_nb.server import webhooks
from faceswap_nb.server.fetch import FetchError, fetch_to_file
from faceswap_nb.server.keys import KeyRing
from faceswap_nb.server.schemas import job_to_wire
from faceswap_nb.server.settings import ServerSettings
from faceswap_nb.server.store import IllegalTransition, JobRecord, JobStore, now_ms

__all__ = ["DataPaths", "JobError", "Worker"]

log = logging.getLogger("faceswap_nb.server")

# Progress is written at most this often (fraction of the job) to spare the database.
PROGRESS_STEP = 0.01
SWEEP_SECONDS = 60.0


@dataclass(frozen=True)
class DataPaths:
    """Where the server keeps things under its data dir."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / "jobs.sqlite3"

    @property
    def files(self) -> Path:
        return self.root / "files"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    @property
    def work(self) -> Path:
        return self.root / "work"

    def output(self, job_id: str) -> Path:
        """The finished video of a job."""
        return self.outputs / f"{job_id}.mp4"

    def unfinished(self, job_id: str) -> Path:
        """Where the engine writes a job's video before it is moved to :meth:`output`."""
        return self.work / job_id / "out.mp4"

    def make(self) -> None:
        """Create the folders."""
        for folder in (self.files, self.outputs, self.work):
            folder.mkdir(parents=True, exist_ok=True)


class JobError(Exception):
    """A job cannot finish; ``code`` and ``message`` go into the job's ``error``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Worker:
    """Runs jobs in the background; ``run_forever`` in the server, ``drain`` in tests."""

    def __init__(self, store: JobStore, settings: ServerSettings, paths: DataPaths, keys: KeyRing) -> None:
        self.store = store
        self.settings = settings
        self.paths = paths
        self.keys = keys
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(max(1, settings.workers))
        self._children: dict[str, asyncio.subprocess.Process] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def notify(self) -> None:
        """Tell the worker a job was created (it also polls, so this only saves time)."""
        self._wake.set()

    def recover(self) -> list[str]:
        """End the jobs a stopped server left ``processing``; returns their ids.

        Their child processes died with the old server, so they fail with code
        ``interrupted``; any output they left is removed. ``created`` jobs simply run.
        """
        ended = []
        for job in self.store.interrupted():
            self.store.transition(
                job.id, "failed", error_code="interrupted",
                error_message="the server stopped while this job ran; submit it again",
            )
            self.paths.output(job.id).unlink(missing_ok=True)
            shutil.rmtree(self.paths.work / job.id, ignore_errors=True)
            ended.append(job.id)
        return ended

    async def run_forever(self) -> None:
        """Start jobs as slots free up; deliver webhooks left pending; sweep old files."""
        for job in self.store.pending_webhooks():
            self._spawn(self._deliver_webhook(job.id))
        last_sweep = 0.0
        loop = asyncio.get_running_loop()
        while True:
            await self._start_waiting_jobs()
            if loop.time() - last_sweep > SWEEP_SECONDS:
                self.sweep()
                last_sweep = loop.time()
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)

    async def drain(self) -> None:
        """Run until no job is waiting or running (tests' burst mode)."""
        while True:
            await self._start_waiting_jobs()
            if not self._tasks:
                return
            await asyncio.wait(set(self._tasks))

    async def stop(self) -> None:
        """Kill running children and cancel background tasks (they end ``interrupted``)."""
        for child in list(self._children.values()):
            with contextlib.suppress(ProcessLookupError):
                child.kill()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def cancel(self, job_id: str) -> None:
        """Stop a running job's engine; the store already says ``canceled``."""
        child = self._children.get(job_id)
        if child is not None and child.returncode is None:
            child.kill()

    def sweep(self) -> None:
        """Delete outputs and uploads older than the retention setting."""
        cutoff = now_ms() - int(self.settings.retention_seconds * 1000)
        for job in self.store.expired_outputs(cutoff):
            self.paths.output(job.id).unlink(missing_ok=True)
            self.store.update(job.id, output_file=None)
        for file_id in self.store.delete_files_before(cutoff):
            (self.paths.files / file_id).unlink(missing_ok=True)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start_waiting_jobs(self) -> None:
        while not self._slots.locked() and (job := self.store.next_created()) is not None:
            try:
                self.store.transition(job.id, "processing", progress=0.0)
            except IllegalTransition:
                continue
            await self._slots.acquire()
            self._spawn(self._process(job))

    async def _process(self, job: JobRecord) -> None:
        workdir = self.paths.work / job.id
        try:
            workdir.mkdir(parents=True, exist_ok=True)
            await self._finish(job, await self._produce(job, workdir))
        except (JobError, FetchError) as error:
            self._end(job.id, "failed", error_code=error.code, error_message=str(error))
        except Exception:
            log.exception("job %s failed unexpectedly", job.id)
            self._end(job.id, "failed", error_code="internal_error",
                      error_message="the server failed while running this job; see its log")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            self._slots.release()
            self._wake.set()
        await self._deliver_webhook(job.id)

    async def _produce(self, job: JobRecord, workdir: Path) -> dict[str, Any]:
        video = await self._input(job, "videoUrl", workdir / "video", self.settings.max_video_bytes)
        face = await self._input(job, "faceUrl", workdir / "face", self.settings.max_image_bytes)
        return await self._run_engine(job, video, face, self.paths.unfinished(job.id))

    async def _finish(self, job: JobRecord, result: dict[str, Any]) -> None:
        final = self.paths.output(job.id)
        os.replace(self.paths.unfinished(job.id), final)
        seconds = float(result["videoSeconds"])
        if not self._end(
            job.id, "completed", progress=1.0, output_file=final.name,
            video_seconds=round(seconds, 3), cost=round(seconds * self.settings.price_per_second, 6),
            warnings=[str(warning) for warning in result.get("warnings", [])],
        ):
            final.unlink(missing_ok=True)

    def _end(self, job_id: str, status: str, **fields: Any) -> bool:
        """Move the job to a terminal status; False when it already ended (cancelled)."""
        try:
            self.store.transition(job_id, status, **fields)
        except IllegalTransition:
            return False
        return True

    async def _input(self, job: JobRecord, field: str, dest: Path, max_bytes: int) -> Path:
        own = job.uploads.get(field)
        if own is None:
            return await fetch_to_file(job.input[field], dest, max_bytes=max_bytes, settings=self.settings)
        if self.store.get_file(own, job.owner) is None or not (self.paths.files / own).exists():
            raise JobError("fetch_failed", f"{field}: the uploaded file {own} no longer exists; upload it again")
        return self.paths.files / own

    async def _run_engine(self, job: JobRecord, video: Path, face: Path, out: Path) -> dict[str, Any]:
        args = [sys.executable, "-m", "faceswap_nb.server.runner",
                "--video", str(video), "--face", str(face), "--out", str(out),
                "--extra-blocked", ",".join(self.settings.content_policy_extra_classes)]
        if job.input.get("advanced"):
            args.append("--advanced")
        child = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        self._children[job.id] = child
        try:
            answer = await self._follow(job.id, child)
        finally:
            self._children.pop(job.id, None)
            if child.returncode is None:
                child.kill()
            await child.wait()
        if "error" in answer:
            raise JobError(answer["error"]["code"], answer["error"]["message"])
        if "done" not in answer:
            raise JobError("engine_error", f"the engine stopped unexpectedly (exit status {child.returncode})")
        return dict(answer["done"])

    async def _follow(self, job_id: str, child: asyncio.subprocess.Process) -> dict[str, Any]:
        """Relay progress lines to the store; return the child's final answer."""
        assert child.stdout is not None
        reported = 0.0
        answer: dict[str, Any] = {}
        async for line in child.stdout:
            with contextlib.suppress(ValueError):
                message = json.loads(line)
                if "progress" in message and message["progress"] - reported >= PROGRESS_STEP:
                    reported = float(message["progress"])
                    self.store.update(job_id, progress=min(reported, 0.999))
                elif "done" in message or "error" in message:
                    answer = message
        return answer

    async def _deliver_webhook(self, job_id: str) -> None:
        job = self.store.get(job_id)
        if job is None or not job.webhook or not job.webhook_pending:
            return
        attempts = list(job.webhook_attempts)

        def record(attempt: dict[str, Any]) -> None:
            attempts.append(attempt)
            self.store.update(job_id, webhook_attempts=attempts)

        await webhooks.deliver(
            job.webhook, job_to_wire(job, self.keys, self.settings.origin),
            secret=self.keys.webhook_secret(job.owner),
            msg_id=f"msg_{job.id}", settings=self.settings, record=record,
        )
        self.store.update(job_id, webhook_pending=0)


def own_upload_id(url: str, origin: str) -> str | None:
    """The file id when ``url`` is one of this server's upload URLs, else None."""
    prefix = f"{origin}/v1/files/"
    if not url.startswith(prefix):
        return None
    file_id = url[len(prefix):]
    return file_id if file_id and "/" not in file_id and "?" not in file_id else None
