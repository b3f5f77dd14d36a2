"""Live downloads through the guard, against local servers on 127.0.0.1 and 127.0.0.2.

Only ever collected inside a private network namespace (see README.md): a bug here
must not be able to reach a real network.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from faceswap_nb.server.fetch import FetchError, fetch_to_file, validate_url
from faceswap_nb.server.settings import ServerSettings
from tests.netns._server import BIG, SLOW_SECONDS, SMALL, LocalServer

pytestmark = pytest.mark.netns

CAP = 1000


def fetch(url: str, dest: Path, settings: ServerSettings, max_bytes: int = CAP) -> Path:
    return asyncio.run(fetch_to_file(url, dest, max_bytes=max_bytes, settings=settings))


def refused(url: str, dest: Path, settings: ServerSettings, max_bytes: int = CAP) -> FetchError:
    """The FetchError the fetch raises, after checking it left no file behind."""
    with pytest.raises(FetchError) as caught:
        fetch(url, dest, settings, max_bytes)
    assert list(dest.parent.iterdir()) == [], "a failed fetch left files behind"
    return caught.value


def test_an_allowed_loopback_url_is_downloaded(one: LocalServer, settings: ServerSettings, tmp_path: Path) -> None:
    assert fetch(f"{one.origin}/small", tmp_path / "face", settings).read_bytes() == SMALL
    assert [p.name for p in tmp_path.iterdir()] == ["face"]


def test_a_chunked_body_under_the_cap_is_downloaded(one: LocalServer, settings: ServerSettings, tmp_path: Path) -> None:
    assert fetch(f"{one.origin}/chunked-small", tmp_path / "face", settings).read_bytes() == SMALL


def test_loopback_is_refused_without_an_allow_list(one: LocalServer, settings: ServerSettings, tmp_path: Path) -> None:
    closed = dataclasses.replace(settings, fetch_allow=())

    error = refused(f"{one.origin}/small", tmp_path / "face", closed)

    assert error.code == "url_not_allowed"
    assert "127.0.0.1 is a loopback address" in error.message and "FACESWAP_FETCH_ALLOW" in error.message


def test_localhost_is_judged_by_what_it_resolves_to(one: LocalServer, settings: ServerSettings, tmp_path: Path) -> None:
    url = f"{one.origin.replace('127.0.0.1', 'localhost')}/small"

    error = refused(url, tmp_path / "face", dataclasses.replace(settings, fetch_allow=()))
    by_name = fetch(url, tmp_path / "face", dataclasses.replace(settings, fetch_allow=("LocalHost",)))

    assert error.code == "url_not_allowed" and "localhost (127.0.0.1) is a loopback address" in error.message
    assert by_name.read_bytes() == SMALL


def test_a_redirect_to_an_address_not_allowed_is_refused(
    one: LocalServer, two: LocalServer, settings: ServerSettings, tmp_path: Path
) -> None:
    url = f"{one.origin}/redirect?to={quote(two.origin + '/small')}"

    error = refused(url, tmp_path / "face", settings)
    followed = fetch(url, tmp_path / "face", dataclasses.replace(settings, fetch_allow=("127.0.0.0/8",)))

    assert error.code == "url_not_allowed" and "127.0.0.2 is a loopback address" in error.message
    assert followed.read_bytes() == SMALL


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/_x"])
def test_a_redirect_to_another_scheme_is_refused(
    target: str, one: LocalServer, settings: ServerSettings, tmp_path: Path
) -> None:
    error = refused(f"{one.origin}/redirect?to={quote(target)}", tmp_path / "face", settings)

    assert error.code == "url_not_allowed" and "redirects to a URL that is not allowed" in error.message


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/_x"])
def test_other_schemes_are_refused(url: str, settings: ServerSettings, tmp_path: Path) -> None:
    error = refused(url, tmp_path / "face", settings)

    assert error.code == "url_not_allowed" and "only http:// and https://" in error.message


def test_a_redirect_loop_fails(one: LocalServer, settings: ServerSettings, tmp_path: Path) -> None:
    error = refused(f"{one.origin}/loop", tmp_path / "face", settings)

    assert error.code == "fetch_failed" and "loop" in error.message


def test_too_many_redirects_fail(one: LocalServer, settings: ServerSettings, tmp_path: Path) -> None:
    error = refused(f"{one.origin}/hop/0", tmp_path / "face", settings)

    assert error.code == "fetch_failed" and "more than 3 redirects" in error.message


@pytest.mark.parametrize("path", ["/big", "/chunked-big"])
def test_a_body_over_the_cap_is_refused(path: str, one: LocalServer, settings: ServerSettings, tmp_path: Path) -> None:
    error = refused(f"{one.origin}{path}", tmp_path / "video", settings)

    assert error.code == "input_too_large" and "at most 1000 bytes" in error.message
    assert len(BIG) > CAP


def test_a_slow_server_times_out(one: LocalServer, settings: ServerSettings, tmp_path: Path) -> None:
    started = time.monotonic()

    error = refused(f"{one.origin}/slow", tmp_path / "face", settings)

    assert error.code == "fetch_failed" and "did not answer within 0.5 s" in error.message
    assert time.monotonic() - started < SLOW_SECONDS


def test_the_whole_download_is_bounded_in_time(one: LocalServer, settings: ServerSettings, tmp_path: Path) -> None:
    hurried = dataclasses.replace(settings, fetch_total_timeout=0.5)

    error = refused(f"{one.origin}/drip", tmp_path / "face", hurried)

    assert error.code == "fetch_failed" and "took more than 0.5 s" in error.message


def test_a_404_fails_with_the_status(one: LocalServer, settings: ServerSettings, tmp_path: Path) -> None:
    error = refused(f"{one.origin}/nothing-here?token=secret", tmp_path / "face", settings)

    assert error.code == "fetch_failed" and "HTTP 404" in error.message
    assert "secret" not in error.message


def test_an_unresolvable_name_fails_clearly(settings: ServerSettings, tmp_path: Path) -> None:
    error = refused("http://no-such-host.invalid/face.jpg", tmp_path / "face", settings)

    assert error.code == "fetch_failed" and "no-such-host.invalid could not be resolved" in error.message


def test_a_closed_port_fails(settings: ServerSettings, tmp_path: Path) -> None:
    two_closed = dataclasses.replace(settings, fetch_allow=("127.0.0.3",))

    error = refused("http://127.0.0.3:9/x", tmp_path / "face", two_closed)

    assert error.code == "fetch_failed" and "could not download http://127.0.0.3:9/x" in error.message


def test_ipv6_loopback_is_refused_unless_allowed(settings: ServerSettings, tmp_path: Path) -> None:
    try:
        six = LocalServer("[::1]")
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback in this namespace: {exc}")
    try:
        error = refused(f"{six.origin}/small", tmp_path / "face", settings)
        allowed = fetch(f"{six.origin}/small", tmp_path / "face", dataclasses.replace(settings, fetch_allow=("::1",)))
    finally:
        six.close()

    assert error.code == "url_not_allowed" and "::1 is a loopback address" in error.message
    assert allowed.read_bytes() == SMALL


def test_validate_url_refuses_names_that_resolve_inside(one: LocalServer, settings: ServerSettings) -> None:
    closed = dataclasses.replace(settings, fetch_allow=())

    with pytest.raises(FetchError) as inside:
        asyncio.run(validate_url(f"{one.origin.replace('127.0.0.1', 'localhost')}/small", closed))
    with pytest.raises(FetchError) as unknown:
        asyncio.run(validate_url("https://no-such-host.invalid/v.mp4", closed))

    assert inside.value.code == "url_not_allowed"
    assert unknown.value.code == "fetch_failed"
    assert str(asyncio.run(validate_url(f"{one.origin}/small", settings))) == f"{one.origin}/small"
