"""The polls benchmark's pieces, on the mock transport only (no server, a few polls)."""

from __future__ import annotations

import asyncio

from benchmarks.polls import (
    _ratios,
    atime_polls,
    format_polls,
    mock_transport,
    time_polls,
)
from faceswap_nb.client import AsyncClient, Client

JOB = {"jobId": "4ab2d17f-0396-4997-9c84-86c8320ccab9", "status": "canceled", "progress": 0.0}


def test_the_mock_answers_get_job_with_the_canned_job_and_each_poll_is_timed():
    with Client(base_url="http://mock.test/v1", api_key="k", transport=mock_transport(JOB)) as client:
        assert client.get_job(JOB["jobId"]).status == "canceled"
        figures = time_polls(lambda: client.get_job(JOB["jobId"]), count=30)

    assert figures["polls"] == 30 and figures["failed"] == 0
    assert 0 < figures["p50_us"] <= figures["p99_us"]
    assert figures["mean_us"] > 0 and figures["wall_s"] > 0


def test_async_polls_are_timed_one_after_the_other():
    async def measure():
        async with AsyncClient(base_url="http://mock.test/v1", api_key="k",
                               transport=mock_transport(JOB)) as client:
            return await atime_polls(lambda: client.get_job(JOB["jobId"]), count=30)

    figures = asyncio.run(measure())

    assert figures["polls"] == 30 and figures["failed"] == 0


def test_the_report_gives_microseconds_per_poll_and_the_client_share():
    row = {"polls": 1000, "failed": 0, "mean_us": 100.0, "p50_us": 90.0, "p99_us": 300.0, "wall_s": 0.1}
    server = {"sync": {**row, "mean_us": 1000.0}, "async": {**row, "mean_us": 2000.0}}
    mock = {"sync": row, "async": row}
    figures = {"server": server, "mock": mock, "overhead_share": _ratios(server, mock),
               "polls_per_series": 1000, "job_status": "canceled"}

    text = format_polls(figures)

    assert figures["overhead_share"] == {"sync": 0.1, "async": 0.05}
    assert "client overhead / total poll (sync): 10%" in text
    assert "client overhead / total poll (async): 5%" in text
    assert "sync       server     1000" in text
