"""Both client twins against one real local server, with real time and real sockets.

These tests live outside ``tests/client`` on purpose: its ``conftest.py`` fakes the
clients' clocks and sleeps for every test there (an autouse fixture), which would make
``wait`` poll a real server without pause and run out of fake time before a real job
ends. Here nothing is faked.

The server runs as a child process on a free loopback port, and every job input is one
of its own uploads, so the server never fetches a URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from faceswap_nb.client import AsyncClient, Client, Job, RetryPolicy, Settings
from faceswap_nb.server import LocalServer
from tests.media import GRACE_HOPPER, astronaut, write_clip

ALICE = "alice-key-0123456789"
BOB = "bob-key-9876543210"
# Long enough for a few-frame job on a busy CI machine; jobs here take about 2 s.
JOB_TIMEOUT = 120.0
# Quick polls: the jobs are short, and the test should notice the end soon.
POLL_INTERVAL = 0.1


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small face clip, a clip without a face, a face photo and a text file."""
    folder = tmp_path_factory.mktemp("live-media")
    text = folder / "notes.txt"
    text.write_text("not a video\n" * 20)
    return {
        "clip": write_clip(folder / "astronaut.mp4", [astronaut(256)] * 8),
        "blank": write_clip(folder / "blank.mp4", [np.full((128, 128, 3), 90, np.uint8)] * 8),
        "face": GRACE_HOPPER,
        "text": text,
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """One real server for the module, in a fresh data dir, with Alice's and Bob's keys."""
    with LocalServer.start(
        tmp_path_factory.mktemp("live-server"), api_keys=(ALICE, BOB)
    ) as running:
        yield running


@dataclass
class Twin:
    """One client kind behind blocking calls: ``twin.get_job(job_id)`` for either kind.

    Every call builds a fresh client from ``settings``; an ``AsyncClient`` is built and
    awaited inside ``asyncio.run``, so its connections belong to that call's loop.
    """

    kind: str
    settings: Settings

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method.startswith("_"):
            raise AttributeError(method)

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.kind == "sync":
                with Client(settings=self.settings) as client:
                    return getattr(client, method)(*args, **kwargs)
            return asyncio.run(self._call_async(method, args, kwargs))

        return call

    async def _call_async(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        async with AsyncClient(settings=self.settings) as client:
            return await getattr(client, method)(*args, **kwargs)

    def with_settings(self, **overrides: Any) -> Twin:
        """The same kind of client with other settings (another key, another address)."""
        values = {"base_url": self.settings.base_url, "api_key": self.settings.api_key, **overrides}
        return Twin(self.kind, Settings(**values))

    def wait_for(self, job_id: str, **kwargs: Any) -> Job:
        """``wait`` with this module's timeout and quick polls, unless told otherwise."""
        kwargs.setdefault("timeout", JOB_TIMEOUT)
        kwargs.setdefault("poll_interval", POLL_INTERVAL)
        job: Job = self.wait(job_id, **kwargs)
        return job


@pytest.fixture(scope="module", params=["sync", "async"])
def twin(request: pytest.FixtureRequest, server: LocalServer) -> Twin:
    """Alice's client of the parametrised kind, pointed at the module's server.

    Module-scoped, so pytest runs all tests of one kind together and the fixtures built
    on it (uploads, a finished job) are made once per kind.
    """
    return Twin(
        request.param,
        Settings(
            base_url=server.base_url,
            api_key=ALICE,
            retry=RetryPolicy(max_attempts=3, base_delay=0.1),
        ),
    )


@pytest.fixture(scope="module")
def inputs(twin: Twin, media: dict[str, Path]) -> dict[str, str]:
    """The media uploaded through the twin under test, by name: the server's own URLs."""
    return {name: twin.upload(path) for name, path in media.items()}
