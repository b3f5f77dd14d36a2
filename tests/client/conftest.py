"""Client test helpers: a scripted fake server, a fake clock, and both twins behind one API.

Every client test that talks to a server takes the ``twin`` fixture, so it runs once
against ``Client`` and once against ``AsyncClient``. No test sleeps for real: the clock
fixture replaces the clients' ``time``/``asyncio`` sleeps and records them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from faceswap_nb.client import AsyncClient, Client, RetryPolicy, Settings, _async, _sync

BASE_URL = "https://api.example.test/v1"
# Recognisable, so a test can prove it never shows up anywhere.
API_KEY = "sk-LEAKMARKER-7f3a9c"
JOB_ID = "4ab2d17f-0396-4997-9c84-86c8320ccab9"

# One scripted answer: a response, an exception (class or instance) to raise, or a
# function of the request returning a response.
Answer = httpx.Response | Exception | type[Exception] | Callable[[httpx.Request], httpx.Response]


def job_body(status: str = "processing", **fields: Any) -> dict[str, Any]:
    """A job object as the server sends it."""
    return {"jobId": JOB_ID, "model": "video/faceswap", "status": status, **fields}


def answer(status: int = 200, body: Any = None, **kwargs: Any) -> httpx.Response:
    """A JSON answer (``body`` None means no body)."""
    if body is None:
        return httpx.Response(status, **kwargs)
    return httpx.Response(status, json=body, **kwargs)


class FakeServer:
    """A ``MockTransport`` handler that plays a script of answers and records the requests.

    When the script runs out, its last answer repeats (a job that stays "processing").
    """

    def __init__(self, *script: Answer) -> None:
        self.script = list(script)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(item, type) and issubclass(item, httpx.TransportError):
            raise item("scripted failure", request=request)
        if isinstance(item, Exception):
            raise item
        if isinstance(item, httpx.Response):
            # A fresh copy: one Response object cannot be sent twice.
            return httpx.Response(item.status_code, headers=item.headers, content=item.content)
        return item(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def json(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


@dataclass
class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Both twins' sleeps and clocks, faked (replaces their module-level imports only)."""
    fake = FakeClock()
    fake_time = SimpleNamespace(monotonic=fake.monotonic, sleep=fake.sleep)
    monkeypatch.setattr(_sync, "time", fake_time)
    monkeypatch.setattr(_async, "time", fake_time)
    monkeypatch.setattr(_async, "asyncio", SimpleNamespace(sleep=fake.async_sleep))
    return fake


def make_settings(**overrides: Any) -> Settings:
    """Test settings: a fake origin, the marker key, quick retries."""
    values: dict[str, Any] = {
        "base_url": BASE_URL,
        "api_key": API_KEY,
        "retry": RetryPolicy(max_attempts=3, base_delay=0.1, max_delay=1.0),
    }
    return Settings(**{**values, **overrides})


@dataclass
class Twin:
    """One client kind behind a blocking call: ``twin.call("get_job", JOB_ID)``."""

    kind: str
    server: FakeServer
    settings: Settings

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        transport = httpx.MockTransport(self.server)
        if self.kind == "sync":
            with Client(settings=self.settings, transport=transport) as client:
                return getattr(client, method)(*args, **kwargs)

        async def run() -> Any:
            async with AsyncClient(settings=self.settings, transport=transport) as client:
                return await getattr(client, method)(*args, **kwargs)

        return asyncio.run(run())


@pytest.fixture(params=["sync", "async"])
def twin(request: pytest.FixtureRequest) -> Callable[..., Twin]:
    """A factory ``twin(*script, **settings)`` for the parametrised client kind."""

    def make(*script: Answer, **settings: Any) -> Twin:
        return Twin(request.param, FakeServer(*script), make_settings(**settings))

    return make
