"""Latency of the local server's job API under many concurrent requests.

A real server (``LocalServer``, a child process on a free loopback port, in a temporary
folder) gets the demo media uploaded once; then one ``AsyncClient`` sends 50 creates at
once (``asyncio.gather``) and 500 polls (``get_job``) spread over those jobs, at most 50
in flight. Every request is timed on its own. Finally every job is cancelled, so the
server does not go on swapping for minutes, and the server is stopped.

The server's per-key rate limit and its cap on jobs in flight are raised far above what
is sent, so the figures are the server's answer times, not its limiter's refusals. The
client does not retry (``max_attempts=1``): a refused or failed request is counted as
failed instead of being hidden by a retry. The server's single worker starts swapping
the first job as soon as it exists, so the requests share the CPU with one engine run,
as they would in use.
"""

from __future__ import annotations

import asyncio
import json
import math
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from benchmarks import Target, verdicts

if TYPE_CHECKING:
    from faceswap_nb.client import AsyncClient, Job
    from faceswap_nb.server import LocalServer

__all__ = ["LIMITS_ENV", "LOAD_TARGETS", "format_load", "percentile", "run_load"]

CREATES = 50
POLLS = 500
CONCURRENCY = 50
# Far above the 600-odd requests sent: the limiter must never be what is measured.
LIMITS_ENV = {
    "FACESWAP_RATE_LIMIT_PER_SECOND": "100000",
    "FACESWAP_RATE_LIMIT_BURST": "100000",
    "FACESWAP_MAX_JOBS_IN_FLIGHT": "100000",
}
LOAD_TARGETS = (
    Target("failed_requests", "<=", 0, "create and get requests that failed (none may)"),
)
OPERATIONS = ("create", "get", "cancel")
T = TypeVar("T")


@dataclass
class Timings:
    """One kind of request: each success's latency (seconds), each failure, the wall time."""

    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    wall: float = 0.0

    async def measure(self, call: Awaitable[T]) -> T | None:
        """Await ``call``, recording its latency; None (and a failure) when it raised."""
        from faceswap_nb import FaceswapError

        started = time.perf_counter()
        try:
            result = await call
        except FaceswapError as error:
            self.failures.append(f"{type(error).__name__}: {error}")
            return None
        self.latencies.append(time.perf_counter() - started)
        return result

    def summary(self) -> dict[str, Any]:
        """Counts, p50/p99/max in milliseconds, wall seconds and requests per second."""
        done = len(self.latencies) + len(self.failures)
        ms = [seconds * 1000 for seconds in self.latencies]
        return {
            "requests": done,
            "failed": len(self.failures),
            "p50_ms": percentile(ms, 50),
            "p99_ms": percentile(ms, 99),
            "max_ms": max(ms) if ms else None,
            "wall_s": self.wall,
            "per_second": done / self.wall if self.wall > 0 else None,
        }


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q``-th percentile (a value that occurred); None when empty.

    With 50 values the 99th percentile is the largest: nearest rank never interpolates.
    """
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


async def _phase(timings: Timings, calls: list[Callable[[], Awaitable[T]]]) -> list[T | None]:
    """Run ``calls``, at most ``CONCURRENCY`` at a time, each timed once it has a slot."""
    slots = asyncio.Semaphore(CONCURRENCY)

    async def one(call: Callable[[], Awaitable[T]]) -> T | None:
        async with slots:
            return await timings.measure(call())

    started = time.perf_counter()
    results = await asyncio.gather(*(one(call) for call in calls))
    timings.wall = time.perf_counter() - started
    return list(results)


async def _drive(
    client: AsyncClient, video: Path, face: Path
) -> tuple[dict[str, Timings], Counter[str]]:
    """Upload once, create, poll, then cancel every job created; the timings by operation."""
    timings = {name: Timings() for name in OPERATIONS}
    video_url, face_url = await client.upload(video), await client.upload(face)
    created: list[Job | None] = []
    try:
        created = await _phase(
            timings["create"], [lambda: client.create_job(video_url, face_url)] * CREATES
        )
        job_ids = [job.job_id for job in created if job is not None]
        polls = [job_ids[i % len(job_ids)] for i in range(POLLS)] if job_ids else []
        seen = await _phase(
            timings["get"], [lambda j=job_id: client.get_job(j) for job_id in polls]
        )
    finally:
        ids = [job.job_id for job in created if job is not None]
        await _phase(timings["cancel"], [lambda j=job_id: client.cancel(j) for job_id in ids])
    return timings, Counter(job.status for job in seen if job is not None)


async def _measure(
    server: LocalServer, video: Path, face: Path
) -> tuple[dict[str, Timings], Counter[str]]:
    from faceswap_nb.client import RetryPolicy, Settings

    settings = Settings(retry=RetryPolicy(max_attempts=1))
    async with server.async_client(settings=settings) as client:
        return await _drive(client, video, face)


def run_load(out_dir: Path | None = None) -> dict[str, Any]:
    """Start a server, load it, stop it; figures and the failed-requests verdict.

    Writes ``out_dir/load.json`` (the figures and every latency) when ``out_dir`` is given.
    """
    from faceswap_nb.demo_media import make_demo_media
    from faceswap_nb.server import LocalServer

    with tempfile.TemporaryDirectory(prefix="faceswap-load-") as scratch:
        video, face = make_demo_media(Path(scratch) / "media")
        started = time.perf_counter()
        with LocalServer.start(Path(scratch) / "server", env=LIMITS_ENV) as server:
            server_start = time.perf_counter() - started
            timings, statuses = asyncio.run(_measure(server, video, face))
    figures: dict[str, Any] = {name: timings[name].summary() for name in OPERATIONS}
    figures.update(
        failed_requests=figures["create"]["failed"] + figures["get"]["failed"],
        concurrency={"create": CREATES, "get": CONCURRENCY, "cancel": CONCURRENCY},
        limits=LIMITS_ENV,
        server_start_s=server_start,
        poll_statuses=dict(statuses),
        failures={
            name: timings[name].failures[:10] for name in OPERATIONS if timings[name].failures
        },
    )
    if out_dir is not None:
        raw = {name: [round(s * 1000, 3) for s in timings[name].latencies] for name in OPERATIONS}
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "load.json").write_text(json.dumps({**figures, "latencies_ms": raw}, indent=1))
    return {"figures": figures, "targets": verdicts(LOAD_TARGETS, [figures])}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def format_load(figures: dict[str, Any]) -> str:
    """A note on the limits, one row per operation, and any failures."""
    statuses = sorted(figures["poll_statuses"].items())
    header = (
        f"{'op':7}{'requests':>9}{'in flight':>10}{'failed':>7}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'max ms':>8}{'wall s':>8}{'req/s':>7}"
    )
    limits = " ".join(f"{name}={value}" for name, value in figures["limits"].items())
    seen = ", ".join(f"{status} {count}" for status, count in statuses) or "none"
    lines = [
        "server limits raised so this measures latency, not the limiter (no client retries):",
        f"  {limits}",
        f"server start {figures['server_start_s']:.1f} s; statuses seen by the polls: {seen}",
        header,
    ]
    for name in OPERATIONS:
        row = figures[name]
        rate = "-" if row["per_second"] is None else f"{row['per_second']:.0f}"
        lines.append(
            f"{name:7}{row['requests']:>9}{figures['concurrency'][name]:>10}{row['failed']:>7}"
            f"{_ms(row['p50_ms']):>8}{_ms(row['p99_ms']):>8}{_ms(row['max_ms']):>8}"
            f"{row['wall_s']:>8.2f}{rate:>7}"
        )
    lines.append(f"failed create+get requests: {figures['failed_requests']}")
    for name, messages in figures["failures"].items():
        lines.extend(f"  {name} failed: {message}" for message in messages)
    return "\n".join(lines)
