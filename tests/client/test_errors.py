"""Error answers become the documented exceptions, with the server's own message."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from faceswap_nb import (
    APIError,
    AuthError,
    InvalidRequest,
    NotFound,
    RateLimited,
    ServerError,
    ServerUnreachable,
)
from faceswap_nb.client import RetryPolicy

from .conftest import JOB_ID, Twin, answer

MakeTwin = Callable[..., Twin]
ONCE = RetryPolicy(max_attempts=1)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, InvalidRequest),
        (401, AuthError),
        (403, AuthError),
        (404, NotFound),
        (405, InvalidRequest),
        (409, InvalidRequest),
        (422, InvalidRequest),
        (429, RateLimited),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
    ],
)
def test_each_status_maps_to_its_exception(
    twin: MakeTwin, status: int, error: type[APIError]
) -> None:
    t = twin(answer(status, {"status": "error", "message": "the server's sentence"}), retry=ONCE)

    with pytest.raises(error) as caught:
        t.call("get_job", JOB_ID)

    assert type(caught.value) is error
    assert caught.value.status_code == status
    assert caught.value.message.startswith("the server's sentence")


def test_the_message_names_the_request_without_its_query(twin: MakeTwin) -> None:
    t = twin(answer(404, {"status": "not_found", "message": "no such job"}))

    with pytest.raises(NotFound) as caught:
        t.call("list_jobs", cursor="c1")

    assert "(GET https://api.example.test/v1/jobs)" in str(caught.value)
    assert "cursor" not in str(caught.value)


def test_a_body_without_a_message_falls_back_to_its_text_truncated(twin: MakeTwin) -> None:
    t = twin(answer(400, None, text="bad   request\n" + "x" * 1000))

    with pytest.raises(InvalidRequest) as caught:
        t.call("get_job", JOB_ID)

    assert caught.value.message.startswith("bad request xxx")
    assert len(caught.value.message) < 400


def test_an_empty_error_body_falls_back_to_the_reason_phrase(twin: MakeTwin) -> None:
    t = twin(answer(422))

    with pytest.raises(InvalidRequest, match="Unprocessable"):
        t.call("get_job", JOB_ID)


def test_an_auth_error_without_a_key_says_how_to_give_one(
    twin: MakeTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FACESWAP_API_KEY", raising=False)
    t = twin(answer(401, {"status": "unauthorized", "message": "missing x-api-key"}), api_key=None)

    with pytest.raises(AuthError, match="FACESWAP_API_KEY"):
        t.call("get_job", JOB_ID)


def test_rate_limited_carries_retry_after_in_seconds(twin: MakeTwin) -> None:
    t = twin(
        answer(
            429, {"status": "rate_limited", "message": "slow down"}, headers={"Retry-After": "12"}
        )
    )

    with pytest.raises(RateLimited) as caught:
        t.call("create_job", "https://x/v.mp4", "https://x/f.jpg")

    assert caught.value.retry_after == 12.0


def test_rate_limited_without_retry_after_says_none(twin: MakeTwin) -> None:
    t = twin(answer(429, {"status": "rate_limited", "message": "slow down"}))

    with pytest.raises(RateLimited) as caught:
        t.call("create_job", "https://x/v.mp4", "https://x/f.jpg")

    assert caught.value.retry_after is None


def test_a_redirect_says_which_base_url_to_use(twin: MakeTwin) -> None:
    t = twin(answer(301, headers={"Location": "https://new.example.test/v1/generate/x"}))

    with pytest.raises(InvalidRequest, match="redirects to https://new.example.test"):
        t.call("get_job", JOB_ID)


@pytest.mark.parametrize("failure", [httpx.ConnectError, httpx.ReadTimeout])
def test_no_answer_at_all_is_server_unreachable_naming_the_origin(
    twin: MakeTwin, failure: type[httpx.TransportError]
) -> None:
    t = twin(failure)

    with pytest.raises(ServerUnreachable, match="https://api.example.test") as caught:
        t.call("get_job", JOB_ID)

    assert isinstance(caught.value.__cause__, failure)
    assert caught.value.code == "unreachable"


def test_a_timeout_says_it_timed_out(twin: MakeTwin) -> None:
    t = twin(httpx.ReadTimeout)

    with pytest.raises(ServerUnreachable, match="timed out"):
        t.call("health")
