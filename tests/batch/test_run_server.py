"""Batches against a real local server: 20 jobs end to end, 429s, and a killed run resumed.

Each test starts its own server (in ``tmp_path``, about 0.6 s) so that "the server has
exactly N jobs" counts this batch's jobs and nothing else. Inputs are the server's own
uploads of tiny clips (8 frames, 256 px; about 1.5 s per job with one worker), so the
server fetches nothing.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

from faceswap_nb.batch.ledger import Ledger
from faceswap_nb.batch.money import Pricing
from faceswap_nb.batch.pairs import normalize_pairs
from faceswap_nb.batch.run import run_batch
from faceswap_nb.client import Client, Job
from faceswap_nb.server import LocalServer
from tests.batch.conftest import ALICE, clip_copies

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self needs Python 3.11

FAST = {"poll_interval": 0.2}
RELAXED_RATE = {"FACESWAP_RATE_LIMIT_PER_SECOND": "200", "FACESWAP_RATE_LIMIT_BURST": "1000"}


def start(folder: Path, **env: str) -> LocalServer:
    return LocalServer.start(folder, api_keys=(ALICE,), env={**RELAXED_RATE, **env})


def server_jobs(client: Client) -> list[Job]:
    """Every job of the client's key, all pages."""
    jobs, cursor = [], None
    while True:
        page = client.list_jobs(limit=200, cursor=cursor)
        jobs.extend(page.jobs)
        if not page.next_cursor:
            return jobs
        cursor = page.next_cursor


class InFlightSampler:
    """Counts the key's jobs created or processing on the server, every 0.1 s."""

    def __init__(self, client: Client) -> None:
        self.client, self.most, self.samples = client, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            jobs = server_jobs(self.client)
            self.most = max(self.most, sum(j.status in ("created", "processing") for j in jobs))
            self.samples += 1


def submitted_lines(ledger: Path) -> collections.Counter[str]:
    """How many ``submitted`` lines each pair has (none while there is no ledger yet)."""
    if not ledger.exists():
        return collections.Counter()
    events = [json.loads(line) for line in ledger.read_text().splitlines() if line.endswith("}")]
    return collections.Counter(e["pair_id"] for e in events if e["event"] == "submitted")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalServer]:
    with start(tmp_path / "server") as running:
        yield running


def test_twenty_jobs_end_to_end(
    server: LocalServer, clip: Path, face: Path, tmp_path: Path
) -> None:
    pairs = [(str(c), str(face)) for c in clip_copies(clip, tmp_path / "clips", 20)]
    pairs += [pairs[3], (str(tmp_path / "missing.mp4"), str(face))]  # flagged, never sent
    ledger = tmp_path / "batch.jsonl"
    started = time.monotonic()

    with server.client() as client, InFlightSampler(client) as sampler:
        frame = run_batch(pairs, client=client, concurrency=4, ledger=ledger, **FAST)
        jobs = server_jobs(client)
    elapsed = time.monotonic() - started

    print(
        f"20 jobs in {elapsed:.1f} s; at most {sampler.most} in flight over {sampler.samples} samples"
    )
    assert len(jobs) == 20 and {j.job_id for j in jobs} == set(frame["job_id"].dropna())
    assert all(j.status == "completed" for j in jobs)
    assert frame["status"].value_counts().to_dict() == {
        "completed": 20,
        "not_submitted": 2,
        "created": 0,
        "processing": 0,
        "failed": 0,
        "canceled": 0,
    }
    assert frame["error_code"][20:].tolist() == ["duplicate", "invalid_input"]
    assert 0 < sampler.most <= 4
    assert frame["actual_cost"][:20].tolist() == pytest.approx(
        frame["est_cost"][:20].tolist(), abs=1e-6
    )
    assert frame.attrs["totals"]["actual_cost"] == pytest.approx(1.6)
    assert (frame["run_time"][:20] > pd.Timedelta(0)).all()
    assert (frame["queue_time"][:20] >= pd.Timedelta(0)).all()
    assert set(submitted_lines(ledger).values()) == {1}


def test_the_servers_429_makes_the_batch_wait(
    clip: Path, face: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="faceswap_nb.batch")
    pairs = [(str(c), str(face)) for c in clip_copies(clip, tmp_path / "clips", 5)]

    with (
        start(tmp_path / "server", FACESWAP_MAX_JOBS_IN_FLIGHT="2") as server,
        server.client() as client,
    ):
        frame = run_batch(pairs, client=client, concurrency=4, **FAST)
        jobs = server_jobs(client)

    refusals = [r for r in caplog.records if "rate limited" in r.getMessage()]
    print(f"{len(refusals)} creates answered 429 and retried")
    assert refusals
    assert len(jobs) == 5 and (frame["status"] == "completed").all()


def test_a_killed_run_resumes_and_pays_each_pair_once(
    server: LocalServer, clip: Path, face: Path, tmp_path: Path
) -> None:
    pairs = [(str(c), str(face)) for c in clip_copies(clip, tmp_path / "clips", 6)]
    ledger = tmp_path / "batch.jsonl"
    script = (
        "import json, sys\n"
        "from faceswap_nb.batch.run import run_batch\n"
        "from faceswap_nb.client import Client\n"
        "pairs, base_url, key, ledger = json.loads(sys.argv[1])\n"
        "run_batch([tuple(p) for p in pairs], client=Client(base_url=base_url, api_key=key),\n"
        "          ledger=ledger, concurrency=2, poll_interval=0.1)\n"
    )
    argument = json.dumps([pairs, server.base_url, server.api_key, str(ledger)])
    child = subprocess.Popen([sys.executable, "-c", script, argument], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum(submitted_lines(ledger).values()) < 2:
            assert child.poll() is None, "the batch ended before it could be killed"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    before = submitted_lines(ledger)
    with server.client() as client:
        on_server_at_kill = len(server_jobs(client))
        frame = run_batch(pairs, client=client, ledger=ledger, concurrency=2, **FAST)
        jobs = server_jobs(client)

    print(
        f"killed with {sum(before.values())} jobs in the ledger and {on_server_at_kill} on the server"
    )
    assert 2 <= on_server_at_kill < 6
    assert len(jobs) == 6 and {j.job_id for j in jobs} == set(frame["job_id"])
    assert all(j.status == "completed" for j in jobs) and (frame["status"] == "completed").all()
    assert submitted_lines(ledger) == collections.Counter({pid: 1 for pid in frame["pair_id"]})


def test_a_create_sent_but_not_written_down_is_not_paid_twice(
    server: LocalServer, clip: Path, face: Path, tmp_path: Path
) -> None:
    """The narrowest crash: killed after sending a create, before writing its answer."""
    pairs = [(str(c), str(face)) for c in clip_copies(clip, tmp_path / "clips", 2)]
    ids = normalize_pairs(pairs)["pair_id"].tolist()
    path = tmp_path / "batch.jsonl"
    with server.client() as client:
        video_url, face_url = client.upload(pairs[0][0]), client.upload(pairs[0][1])
        ledger = Ledger.open(path, pair_ids=ids, pricing=Pricing())
        ledger.start()
        key = ledger.idempotency_key(ids[0])
        ledger.record(
            "submitting",
            pair_id=ids[0],
            idempotency_key=key,
            video=pairs[0][0],
            face=pairs[0][1],
            video_url=video_url,
            face_url=face_url,
        )
        ledger.close()
        first = client.create_job(video_url, face_url, idempotency_key=key)  # the "lost" answer

        frame = run_batch(pairs, client=client, ledger=path, **FAST)
        jobs = server_jobs(client)

    assert len(jobs) == 2
    assert frame["job_id"][0] == first.job_id
    assert (frame["status"] == "completed").all()
