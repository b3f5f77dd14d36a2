"""The API key never shows: not in a repr, an error message, a cause, or a log line."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from faceswap_nb import FaceswapError
from faceswap_nb.client import AsyncClient, Client, RetryPolicy

from .conftest import API_KEY, JOB_ID, Twin, answer, job_body, make_settings

MakeTwin = Callable[..., Twin]
MARKER = "LEAKMARKER"
ONCE = RetryPolicy(max_attempts=1)


def chain(error: BaseException) -> Iterator[BaseException]:
    """The error and every cause or context behind it."""
    seen: BaseException | None = error
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def assert_no_key(error: BaseException) -> None:
    for link in chain(error):
        assert MARKER not in str(link) and MARKER not in repr(link)
        assert MARKER not in repr(link.args)
        # httpx errors keep the request (headers and all) here; `.request` raises if unset.
        request = getattr(link, "_request", None)
        if request is not None:
            assert MARKER not in repr(request) and MARKER not in str(request.url)


def test_the_marker_is_in_the_key() -> None:
    assert MARKER in API_KEY


def test_the_settings_repr_hides_the_key_but_says_one_is_set() -> None:
    settings = make_settings()

    assert MARKER not in repr(settings) and MARKER not in str(settings)
    assert "api_key='***'" in repr(settings)


def test_the_client_reprs_hide_the_key() -> None:
    sync, async_ = Client(settings=make_settings()), AsyncClient(settings=make_settings())

    for client in (sync, async_):
        assert MARKER not in repr(client)
        assert repr(client).endswith("api_key='***')")
    sync.close()


# Every error a client can raise, each provoked by a scripted server.
SCRIPTS: dict[str, list[object]] = {
    "InvalidRequest": [answer(400, {"status": "invalid", "message": "bad input"})],
    "AuthError": [answer(401, {"status": "unauthorized", "message": "bad key"})],
    "NotFound": [answer(404, {"status": "not_found", "message": "no job"})],
    "RateLimited": [
        answer(429, {"status": "rate_limited", "message": "slow"}, headers={"Retry-After": "1"})
    ],
    "ServerError": [answer(500, {"status": "error", "message": "boom"})],
    "ServerError-unexpected": [answer(200, [1, 2])],
    "ServerUnreachable-connect": [httpx.ConnectError],
    "ServerUnreachable-timeout": [httpx.ReadTimeout],
    "JobFailed": [answer(200, job_body("failed", error={"code": "x", "message": "no face"}))],
    "JobTimeout": [answer(200, job_body("processing"))],
}


@pytest.mark.parametrize("name", SCRIPTS)
def test_no_error_mentions_the_key(twin: MakeTwin, name: str) -> None:
    t = twin(*SCRIPTS[name], retry=ONCE)

    with pytest.raises(FaceswapError) as caught:
        t.call("wait", JOB_ID, timeout=1)

    assert type(caught.value).__name__ == name.split("-")[0]
    assert_no_key(caught.value)


@pytest.mark.parametrize("status", [400, 401, 500])
def test_a_server_that_echoes_the_key_has_it_blanked_out(twin: MakeTwin, status: int) -> None:
    t = twin(answer(status, {"status": "error", "message": f"key {API_KEY} is wrong"}), retry=ONCE)

    with pytest.raises(FaceswapError) as caught:
        t.call("get_job", JOB_ID)

    assert_no_key(caught.value)
    assert "key *** is wrong" in str(caught.value)


def test_an_unexpected_answer_that_echoes_the_key_is_not_quoted(twin: MakeTwin) -> None:
    t = twin(answer(200, None, text=f"<html>your key is {API_KEY}</html>"))

    with pytest.raises(FaceswapError) as caught:
        t.call("get_job", JOB_ID)

    assert_no_key(caught.value)


def test_a_failed_create_and_upload_do_not_mention_the_key(twin: MakeTwin, tmp_path: Path) -> None:
    face = tmp_path / "face.jpg"
    face.write_bytes(b"jpeg")
    t = twin(httpx.WriteTimeout, retry=ONCE)

    for call in (lambda: t.call("create_job", "v", "f"), lambda: t.call("upload", face)):
        with pytest.raises(FaceswapError) as caught:
            call()
        assert_no_key(caught.value)


def test_no_log_line_mentions_the_key(twin: MakeTwin, caplog: pytest.LogCaptureFixture) -> None:
    t = twin(answer(503), answer(200, job_body()))

    with caplog.at_level(logging.DEBUG):
        t.call("get_job", JOB_ID)

    assert caplog.records, "httpx logs each request at INFO"
    assert MARKER not in caplog.text
