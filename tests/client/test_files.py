"""``upload`` and ``download``: files in and out, the key only where it belongs."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from faceswap_nb import InvalidRequest, NotFound, ServerError, ServerUnreachable
from faceswap_nb.client import Job

from .conftest import API_KEY, Twin, answer, job_body

MakeTwin = Callable[..., Twin]
VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64


@pytest.fixture
def face(tmp_path: Path) -> Path:
    path = tmp_path / "face.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 a jpeg")
    return path


# --- upload -----------------------------------------------------------------------------


def test_upload_posts_the_file_as_multipart_field_file(twin: MakeTwin, face: Path) -> None:
    t = twin(answer(200, {"url": "https://api.example.test/v1/files/abc.jpg"}))

    url = t.call("upload", face)

    request = t.server.last
    assert (request.method, str(request.url)) == ("POST", "https://api.example.test/v1/files")
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert re.search(
        rb'name="file"; filename="face.jpg"\r\nContent-Type: image/jpeg', request.content
    )
    assert b"a jpeg" in request.content
    assert url == "https://api.example.test/v1/files/abc.jpg"


def test_an_upload_sent_again_after_a_refused_connection_carries_the_whole_file(
    twin: MakeTwin, face: Path
) -> None:
    t = twin(httpx.ConnectError, answer(200, {"url": "u"}))

    t.call("upload", face)

    assert len(t.server.requests) == 2
    assert t.server.requests[1].content.count(b"a jpeg") == 1


@pytest.mark.parametrize(("status", "error"), [(404, NotFound), (405, InvalidRequest)])
def test_a_server_without_uploads_says_to_pass_a_public_url(
    twin: MakeTwin, face: Path, status: int, error: type[Exception]
) -> None:
    t = twin(answer(status, {"status": "not_found", "message": "Not Found"}))

    with pytest.raises(error, match="does not accept uploads; pass a public URL"):
        t.call("upload", face)


def test_a_missing_file_fails_before_anything_is_sent(twin: MakeTwin, tmp_path: Path) -> None:
    t = twin(answer(200, {"url": "u"}))

    with pytest.raises(FileNotFoundError):
        t.call("upload", tmp_path / "nope.jpg")

    assert t.server.requests == []


# --- download ---------------------------------------------------------------------------


def completed(url: str) -> Job:
    return Job.from_dict(job_body("completed", output={"videoUrl": url}))


def test_download_writes_the_output_video(twin: MakeTwin, tmp_path: Path) -> None:
    t = twin(httpx.Response(200, content=VIDEO))

    path = t.call(
        "download", completed("https://cdn.example.test/r.mp4"), tmp_path / "out" / "r.mp4"
    )

    assert path == tmp_path / "out" / "r.mp4"
    assert path.read_bytes() == VIDEO
    assert [p.name for p in path.parent.iterdir()] == ["r.mp4"]


def test_the_key_goes_to_the_apis_own_origin(twin: MakeTwin, tmp_path: Path) -> None:
    t = twin(httpx.Response(200, content=VIDEO))

    t.call("download", "https://api.example.test/v1/files/r.mp4", tmp_path / "r.mp4")

    assert t.server.last.headers["x-api-key"] == API_KEY


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.example.test/r.mp4",
        "http://api.example.test/v1/files/r.mp4",  # other scheme
        "https://api.example.test:8443/v1/files/r.mp4",  # other port
    ],
)
def test_the_key_never_goes_to_another_origin(twin: MakeTwin, tmp_path: Path, url: str) -> None:
    t = twin(httpx.Response(200, content=VIDEO))

    t.call("download", url, tmp_path / "r.mp4")

    assert "x-api-key" not in t.server.last.headers


def test_a_redirect_to_another_origin_is_followed_without_the_key(
    twin: MakeTwin, tmp_path: Path
) -> None:
    redirect = httpx.Response(
        302, headers={"Location": "https://cdn.example.test/signed/r.mp4?sig=1"}
    )
    t = twin(redirect, httpx.Response(200, content=VIDEO))

    t.call("download", "https://api.example.test/v1/files/r.mp4", tmp_path / "r.mp4")

    first, second = t.server.requests
    assert first.headers["x-api-key"] == API_KEY
    assert str(second.url) == "https://cdn.example.test/signed/r.mp4?sig=1"
    assert "x-api-key" not in second.headers
    assert (tmp_path / "r.mp4").read_bytes() == VIDEO


def test_a_relative_output_url_is_read_from_the_apis_origin(twin: MakeTwin, tmp_path: Path) -> None:
    t = twin(httpx.Response(200, content=VIDEO))

    t.call("download", completed("/v1/files/r.mp4"), tmp_path / "r.mp4")

    assert str(t.server.last.url) == "https://api.example.test/v1/files/r.mp4"


def test_a_job_without_output_cannot_be_downloaded(twin: MakeTwin, tmp_path: Path) -> None:
    t = twin(httpx.Response(200, content=VIDEO))

    with pytest.raises(ValueError, match="no output video"):
        t.call("download", Job.from_dict(job_body("processing")), tmp_path / "r.mp4")


def test_an_expired_output_is_not_found_and_writes_nothing(twin: MakeTwin, tmp_path: Path) -> None:
    t = twin(answer(404, {"status": "not_found", "message": "expired"}))

    with pytest.raises(NotFound, match="expired"):
        t.call("download", "https://api.example.test/v1/files/r.mp4", tmp_path / "r.mp4")

    assert list(tmp_path.iterdir()) == []


class BreaksHalfway(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that stops with a network error after its first chunk."""

    def __iter__(self) -> Iterator[bytes]:
        yield VIDEO[:100]
        raise httpx.ReadError("connection reset")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield VIDEO[:100]
        raise httpx.ReadError("connection reset")


def test_a_broken_download_leaves_no_partial_file_and_keeps_the_old_one(
    twin: MakeTwin, tmp_path: Path
) -> None:
    target = tmp_path / "r.mp4"
    target.write_bytes(b"previous result")
    t = twin(lambda request: httpx.Response(200, stream=BreaksHalfway()))

    with pytest.raises(ServerUnreachable, match="cdn.example.test"):
        t.call("download", "https://cdn.example.test/r.mp4", target)

    assert list(tmp_path.iterdir()) == [target]
    assert target.read_bytes() == b"previous result"


def test_a_download_is_retried_like_any_get(twin: MakeTwin, tmp_path: Path) -> None:
    t = twin(answer(503), httpx.Response(200, content=VIDEO))

    t.call("download", "https://cdn.example.test/r.mp4", tmp_path / "r.mp4")

    assert len(t.server.requests) == 2
    assert (tmp_path / "r.mp4").read_bytes() == VIDEO


def test_a_redirect_loop_stops_with_a_server_error(twin: MakeTwin, tmp_path: Path) -> None:
    t = twin(httpx.Response(302, headers={"Location": "/v1/files/r.mp4"}))

    with pytest.raises(ServerError, match="more than 5 redirects"):
        t.call("download", "https://api.example.test/v1/files/r.mp4", tmp_path / "r.mp4")

    assert len(t.server.requests) == 6
    assert list(tmp_path.iterdir()) == []
