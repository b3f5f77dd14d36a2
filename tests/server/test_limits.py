"""Per-key limits: the token bucket and the request-body cap."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from faceswap_nb.server.limits import BodySizeLimit, RateLimiter, TokenBucket

pytestmark = pytest.mark.anyio


def test_a_bucket_allows_a_burst_then_says_how_long_to_wait() -> None:
    bucket = TokenBucket(rate=2.0, burst=3)

    assert [bucket.take(100.0) for _ in range(3)] == [None, None, None]
    assert bucket.take(100.0) == pytest.approx(0.5)
    assert bucket.take(100.5) is None


def test_a_bucket_never_holds_more_than_its_burst() -> None:
    bucket = TokenBucket(rate=10.0, burst=2)
    bucket.take(0.0)

    assert [bucket.take(1000.0) for _ in range(3)][:2] == [None, None]
    assert bucket.take(1000.0) is not None


def test_each_owner_has_its_own_bucket_and_waits_are_whole_seconds() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=0.5, burst=1, clock=lambda: now[0])

    assert limiter.retry_after("alice") is None
    assert limiter.retry_after("alice") == 2
    assert limiter.retry_after("bob") is None
    now[0] = 2.0
    assert limiter.retry_after("alice") is None


async def _echo(request: Request) -> JSONResponse:
    return JSONResponse({"bytes": len(await request.body())})


@pytest.fixture
def client() -> httpx.AsyncClient:
    app = BodySizeLimit(Starlette(routes=[Route("/", _echo, methods=["POST"])]), cap_for=lambda path: 100)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_a_body_within_the_cap_passes(client: httpx.AsyncClient) -> None:
    response = await client.post("/", content=b"x" * 100)

    assert response.json() == {"bytes": 100}


async def test_a_declared_oversized_body_is_refused_with_413(client: httpx.AsyncClient) -> None:
    response = await client.post("/", content=b"x" * 101)

    assert response.status_code == 413
    assert response.json()["status"] == "too_large"
    assert "100 bytes" in response.json()["message"]


async def test_a_streamed_body_without_length_is_cut_off_at_the_cap(client: httpx.AsyncClient) -> None:
    async def chunks():  # no Content-Length: counted while it arrives
        for _ in range(10):
            yield b"x" * 50

    response = await client.post("/", content=chunks())

    assert response.status_code == 413
