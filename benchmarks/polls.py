"""What the client adds to a status poll: 1,000 ``get_job`` calls, real server and mock.

Each of ``Client`` and ``AsyncClient`` polls one job 1,000 times, one call after the
other (a batch's poll loop asks about its jobs in turn), against:

- ``server``: a real ``LocalServer`` on loopback (a child process, in a temporary
  folder), so a poll pays the client, the HTTP round trip and the server's answer;
- ``mock``: an ``httpx.MockTransport`` that returns the same job object without any
  I/O, so a poll pays only the client: building the request, the retry policy's
  check, httpx's machinery and parsing the answer into a ``Job``.

``mock / server`` is the share of a real poll spent in the client. The job polled is
created from the demo media and cancelled at once, so the server's one worker is idle
and the figures are the API's own, not those of a machine busy swapping faces. The
rate limit is raised (as for ``load``) and the clients do not retry: a refused poll
counts as failed. Each series is warmed up with 20 polls that are not timed.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from benchmarks import Target, verdicts
from benchmarks.load import LIMITS_ENV, percentile

if TYPE_CHECKING:
    from faceswap_nb.client import AsyncClient, Client, Settings
    from faceswap_nb.server import LocalServer

__all__ = ["POLLS", "POLL_TARGETS", "format_polls", "mock_transport", "run_polls", "time_polls"]

POLLS = 1000
WARMUP = 20
CLIENTS = ("sync", "async")
TRANSPORTS = ("server", "mock")
POLL_TARGETS = (
    Target("failed_polls", "<=", 0, "get_job calls that raised (none may)"),
)


def mock_transport(job: dict[str, Any]) -> httpx.MockTransport:
    """A transport that answers every request with ``job`` as JSON, as the server would."""
    body = json.dumps(job).encode()
    headers = {"content-type": "application/json"}
    return httpx.MockTransport(lambda request: httpx.Response(200, content=body, headers=headers))


def _stats(nanoseconds: list[int], failures: int, wall: float) -> dict[str, Any]:
    micros = [ns / 1000 for ns in nanoseconds]
    return {
        "polls": len(micros) + failures,
        "failed": failures,
        "mean_us": statistics.fmean(micros) if micros else None,
        "p50_us": percentile(micros, 50),
        "p99_us": percentile(micros, 99),
        "wall_s": wall,
    }


def time_polls(poll: Callable[[], object], count: int = POLLS) -> dict[str, Any]:
    """Call ``poll`` ``count`` times after a warm-up, each timed; mean/p50/p99 in µs."""
    from faceswap_nb import FaceswapError

    for _ in range(WARMUP):
        poll()
    times: list[int] = []
    failures = 0
    started = time.perf_counter()
    for _ in range(count):
        before = time.perf_counter_ns()
        try:
            poll()
        except FaceswapError:
            failures += 1
            continue
        times.append(time.perf_counter_ns() - before)
    return _stats(times, failures, time.perf_counter() - started)


async def atime_polls(poll: Callable[[], Awaitable[object]], count: int = POLLS) -> dict[str, Any]:
    """:func:`time_polls` for a coroutine function, awaited one call at a time."""
    from faceswap_nb import FaceswapError

    for _ in range(WARMUP):
        await poll()
    times: list[int] = []
    failures = 0
    started = time.perf_counter()
    for _ in range(count):
        before = time.perf_counter_ns()
        try:
            await poll()
        except FaceswapError:
            failures += 1
            continue
        times.append(time.perf_counter_ns() - before)
    return _stats(times, failures, time.perf_counter() - started)


def _measure_sync(client: Client, job_id: str, count: int) -> dict[str, Any]:
    with client:
        return time_polls(lambda: client.get_job(job_id), count)


async def _measure_async(client: AsyncClient, job_id: str, count: int) -> dict[str, Any]:
    async with client:
        return await atime_polls(lambda: client.get_job(job_id), count)


def measure_pair(
    make_sync: Callable[[], Client], make_async: Callable[[], AsyncClient], job_id: str, count: int
) -> dict[str, dict[str, Any]]:
    """The sync and async series over one transport."""
    return {
        "sync": _measure_sync(make_sync(), job_id, count),
        "async": asyncio.run(_measure_async(make_async(), job_id, count)),
    }


def _mock_series(job: dict[str, Any], base_url: str, settings: Settings, count: int) -> dict[str, dict[str, Any]]:
    from faceswap_nb.client import AsyncClient, Client

    transport = mock_transport(job)
    return measure_pair(
        lambda: Client(base_url=base_url, api_key="mock", settings=settings, transport=transport),
        lambda: AsyncClient(base_url=base_url, api_key="mock", settings=settings, transport=transport),
        job["jobId"],
        count,
    )


def _cancelled_job(server: LocalServer, media: Path, settings: Settings) -> dict[str, Any]:
    """Upload the demo media, create a job, cancel it; the job object as the server sends it."""
    from faceswap_nb.demo_media import make_demo_media

    video, face = make_demo_media(media)
    with server.client(settings=settings) as client:
        job = client.create_job(client.upload(video), client.upload(face))
        client.cancel(job.job_id)
        return client.get_job(job.job_id).raw


def _ratios(server: dict[str, dict[str, Any]], mock: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    ratios: dict[str, float | None] = {}
    for name in CLIENTS:
        total, overhead = server[name]["mean_us"], mock[name]["mean_us"]
        ratios[name] = overhead / total if total and overhead is not None else None
    return ratios


def run_polls(out_dir: Path | None = None, count: int = POLLS) -> dict[str, Any]:
    """Start a server, time ``count`` polls per client and transport, stop it.

    Writes ``out_dir/polls.json`` (the figures) when ``out_dir`` is given.
    """
    from faceswap_nb.client import RetryPolicy, Settings
    from faceswap_nb.server import LocalServer

    settings = Settings(retry=RetryPolicy(max_attempts=1))
    with (
        tempfile.TemporaryDirectory(prefix="faceswap-polls-") as scratch,
        LocalServer.start(Path(scratch) / "server", env=LIMITS_ENV) as server,
    ):
        job = _cancelled_job(server, Path(scratch) / "media", settings)
        real = measure_pair(
            lambda: server.client(settings=settings),
            lambda: server.async_client(settings=settings),
            job["jobId"],
            count,
        )
        base_url = server.base_url
    mock = _mock_series(job, base_url, settings, count)
    figures: dict[str, Any] = {
        "server": real,
        "mock": mock,
        "overhead_share": _ratios(real, mock),
        "failed_polls": sum(series[name]["failed"] for series in (real, mock) for name in CLIENTS),
        "job_status": job.get("status"),
        "polls_per_series": count,
    }
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "polls.json").write_text(json.dumps(figures, indent=1))
    return {"figures": figures, "targets": verdicts(POLL_TARGETS, [figures])}


def _us(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def format_polls(figures: dict[str, Any]) -> str:
    """One row per client and transport (µs per poll), then the client's share of a poll."""
    lines = [
        (
            f"{figures['polls_per_series']} sequential get_job polls per row, on a "
            f"'{figures['job_status']}' job; server = LocalServer on loopback, "
            "mock = httpx.MockTransport (client only)"
        ),
        f"{'client':7}{'transport':>10}{'mean µs':>9}{'p50 µs':>8}{'p99 µs':>8}{'wall s':>8}{'failed':>7}",
    ]
    for name in CLIENTS:
        for transport in TRANSPORTS:
            row = figures[transport][name]
            lines.append(
                f"{name:7}{transport:>10}{_us(row['mean_us']):>9}{_us(row['p50_us']):>8}"
                f"{_us(row['p99_us']):>8}{row['wall_s']:>8.2f}{row['failed']:>7}"
            )
    for name in CLIENTS:
        share = figures["overhead_share"][name]
        text = "-" if share is None else f"{share:.0%}"
        lines.append(f"client overhead / total poll ({name}): {text}")
    return "\n".join(lines)
