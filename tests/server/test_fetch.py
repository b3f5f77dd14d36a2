"""The fetch guard without sockets: classification, allow-lists, URL checks, the backend.

Nothing here opens a connection. Addresses are only classified; resolvers are fakes;
the network backend under the guard is httpcore's in-memory mock, and downloads go
through ``httpx.MockTransport``. Live fetching is in tests/netns/.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

import httpcore
import httpx
import pytest

from faceswap_nb.server.fetch import (
    AllowList,
    FetchError,
    IPAddress,
    Resolver,
    address_problem,
    check_url,
    fetch_to_file,
    guarded_transport,
    resolve_and_check,
    validate_url,
)
from faceswap_nb.server.settings import ServerSettings

SETTINGS = ServerSettings(max_redirects=2, fetch_timeout=1.0, fetch_total_timeout=5.0)
OK_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"


def fake_resolver(*answers: str) -> Resolver:
    """A resolver that answers ``answers`` for every name, without any DNS."""
    async def resolve(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(a) for a in answers]
    return resolve


class RecordingBackend(httpcore.AsyncMockBackend):
    """httpcore's in-memory backend, noting where it was asked to connect."""

    def __init__(self, buffer: list[bytes], refuse: Iterable[str] = ()) -> None:
        super().__init__(buffer)
        self.hosts: list[str] = []
        self._refuse = set(refuse)

    async def connect_tcp(self, host: str, port: int, *args: object, **kwargs: object) -> httpcore.AsyncNetworkStream:
        self.hosts.append(host)
        if host in self._refuse:
            raise httpcore.ConnectError("refused")
        return await super().connect_tcp(host, port, *args, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("address", "problem"), [
    ("10.1.2.3", "a private address"),
    ("172.16.0.1", "a private address"),
    ("172.31.255.255", "a private address"),
    ("192.168.1.1", "a private address"),
    ("169.254.169.254", "a link-local address"),
    ("100.64.0.1", "a shared (CGNAT) address"),
    ("100.127.255.254", "a shared (CGNAT) address"),
    ("127.0.0.1", "a loopback address"),
    ("127.255.255.254", "a loopback address"),
    ("0.0.0.0", "an unspecified address"),
    ("224.0.0.1", "a multicast address"),
    ("239.255.255.250", "a multicast address"),
    ("::1", "a loopback address"),
    ("::", "an unspecified address"),
    ("fe80::1", "a link-local address"),
    ("fe80::1%eth0", "a link-local address"),
    ("fc00::1", "a private address"),
    ("fd12:3456::1", "a private address"),
    ("ff02::1", "a multicast address"),
    ("fec0::1", "a special-purpose address"),
    ("192.0.0.8", "a special-purpose address"),
    ("::ffff:127.0.0.1", "a loopback address"),
    ("::ffff:10.0.0.1", "a private address"),
    ("::ffff:169.254.169.254", "a link-local address"),
    ("2002:7f00:1::", "a loopback address"),
    ("64:ff9b::a00:1", "a private address"),
])
def test_non_public_addresses_are_named(address: str, problem: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) == problem


@pytest.mark.parametrize("address", [
    "0.1.2.3", "192.0.2.1", "198.18.0.1", "203.0.113.9", "240.0.0.1", "255.255.255.255",
    "2001:db8::1", "2001::1", "100::1", "::7f00:1",
])
def test_documentation_benchmark_and_reserved_ranges_are_not_public(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", [
    "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8",
    "64:ff9b::808:808", "2002:808:808::1",
])
def test_public_addresses_pass(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is None


def test_the_allow_list_reads_hosts_addresses_and_networks() -> None:
    allow = AllowList.parse(["Files.Example.ORG.", "10.0.0.0/8", "192.168.1.7/24", "127.0.0.1", "[::1]", "fd00::/8"])

    assert allow.hosts == frozenset({"files.example.org"})
    assert allow.allows_host("FILES.example.org") and not allow.allows_host("example.org")
    for inside in ("10.200.0.1", "192.168.1.200", "127.0.0.1", "::1", "fd00::5", "::ffff:127.0.0.1"):
        assert allow.allows_address(ipaddress.ip_address(inside)), inside
    for outside in ("11.0.0.1", "192.168.2.1", "127.0.0.2", "fe80::1"):
        assert not allow.allows_address(ipaddress.ip_address(outside)), outside


@pytest.mark.parametrize(("entry", "says"), [
    ("10.0.0.0/33", "not a valid CIDR"),
    ("10.0.0/8x", "not a valid CIDR"),
    ("http://files.example.org", "without scheme, port or path"),
    ("files.example.org:8080", "without scheme, port or path"),
    ("*.example.org", "wildcards are not supported"),
    ("", "neither a host name"),
    ("bad host", "neither a host name"),
    ("a..b", "neither a host name"),
    ("-x.example.org", "neither a host name"),
])
def test_malformed_allow_list_entries_are_named(entry: str, says: str) -> None:
    with pytest.raises(ValueError, match="FACESWAP_FETCH_ALLOW") as caught:
        AllowList.parse([entry])

    assert says in str(caught.value) and repr(entry) in str(caught.value)


def test_a_single_string_is_not_taken_for_a_list_of_letters() -> None:
    with pytest.raises(ValueError, match="list of entries"):
        AllowList.parse("127.0.0.1")


@pytest.mark.parametrize("url", [
    "https://files.example.org/v.mp4?sig=abc", "HTTP://Files.Example.ORG/x", "http://8.8.8.8:8080/x",
    "https://[2606:4700:4700::1111]/x", "http://localhost/x",
])
def test_check_url_accepts_http_urls_it_cannot_judge_further(url: str) -> None:
    assert check_url(url).scheme in ("http", "https")


@pytest.mark.parametrize(("url", "says"), [
    ("file:///etc/passwd", "not 'file:'"),
    ("ftp://files.example.org/x", "not 'ftp:'"),
    ("gopher://files.example.org:70/_x", "not 'gopher:'"),
    ("javascript:alert(1)", "not 'javascript:'"),
    ("data:text/plain,hi", "not 'data:'"),
    ("files.example.org/x", "without a scheme"),
    ("", "without a scheme"),
    ("http:///x", "has no host name"),
    ("https://[::1/", "not a valid URL"),
    ("http://files.example.org:99999/", "port 99999 does not exist"),
    ("http://user:secret@files.example.org/", "remove the user:password@ part"),
    ("http://10.0.0.1/x", "10.0.0.1 is a private address"),
    ("http://169.254.169.254/latest/meta-data", "is a link-local address"),
    ("http://[::1]:8000/", "::1 is a loopback address"),
    ("http://[::ffff:7f00:1]/", "is a loopback address"),
    ("http://0.0.0.0:8765/", "is an unspecified address"),
])
def test_check_url_refuses_with_a_reason(url: str, says: str) -> None:
    with pytest.raises(FetchError) as caught:
        check_url(url)

    assert caught.value.code == "url_not_allowed" and says in caught.value.message


def test_check_url_lets_allow_listed_addresses_through() -> None:
    assert check_url("http://10.0.0.1/x", ["10.0.0.0/8"]).host == "10.0.0.1"
    assert check_url("http://[::1]/x", AllowList.parse(["::1"])).host == "::1"


def test_a_fetch_error_has_one_of_three_codes() -> None:
    with pytest.raises(ValueError):
        FetchError("x", code="something_else")
    assert str(FetchError("fix this", code="fetch_failed")) == "fix this"


def test_any_non_public_answer_refuses_the_name() -> None:
    with pytest.raises(FetchError) as caught:
        asyncio.run(resolve_and_check("mixed.example", 443, [], resolver=fake_resolver("8.8.8.8", "10.0.0.1")))

    assert caught.value.code == "url_not_allowed"
    assert caught.value.message.startswith("mixed.example (10.0.0.1) is a private address")


def test_a_name_on_the_allow_list_may_resolve_anywhere() -> None:
    answers = asyncio.run(resolve_and_check("nas.lan", 80, ["NAS.lan"], resolver=fake_resolver("192.168.1.5")))

    assert answers == [ipaddress.ip_address("192.168.1.5")]


@pytest.mark.parametrize(("resolver", "says"), [
    (fake_resolver(), "has no addresses"),
    (lambda host, port: _raise(OSError(-2, "Name or service not known")), "resolved (Name or service not known)"),
    (lambda host, port: asyncio.sleep(5), "took more than 0.05 s"),
])
def test_names_that_do_not_resolve_fail(resolver: Callable[[str, int], object], says: str) -> None:
    with pytest.raises(FetchError) as caught:
        asyncio.run(resolve_and_check("gone.example", 80, [], timeout=0.05, resolver=resolver))  # type: ignore[arg-type]

    assert caught.value.code == "fetch_failed" and says in caught.value.message


async def _raise(error: Exception) -> None:
    raise error


def _get_through_guard(allow: AllowList, resolver: Resolver, backend: RecordingBackend) -> httpx.Response:
    async def get() -> httpx.Response:
        transport = guarded_transport(allow, resolver=resolver, inner=backend)
        async with httpx.AsyncClient(transport=transport) as client:
            return await client.get("http://files.example/x")
    return asyncio.run(get())


def test_the_transport_connects_to_the_vetted_address_not_the_name() -> None:
    backend = RecordingBackend([OK_RESPONSE])

    response = _get_through_guard(AllowList.parse(["192.0.2.0/24"]), fake_resolver("192.0.2.10"), backend)

    assert response.text == "hi" and backend.hosts == ["192.0.2.10"]


def test_the_next_vetted_address_is_tried_when_one_refuses() -> None:
    backend = RecordingBackend([OK_RESPONSE], refuse=["192.0.2.10"])

    _get_through_guard(AllowList.parse(["192.0.2.0/24"]), fake_resolver("192.0.2.10", "192.0.2.11"), backend)

    assert backend.hosts == ["192.0.2.10", "192.0.2.11"]


def test_a_name_that_rebinds_to_a_private_address_is_refused_at_connect_time() -> None:
    backend = RecordingBackend([OK_RESPONSE])

    with pytest.raises(FetchError) as caught:
        _get_through_guard(AllowList(), fake_resolver("169.254.169.254"), backend)

    assert caught.value.code == "url_not_allowed" and backend.hosts == []


def test_validate_url_resolves_the_host() -> None:
    assert asyncio.run(validate_url("https://cdn.example/v.mp4", SETTINGS, resolver=fake_resolver("8.8.4.4")))
    with pytest.raises(FetchError) as caught:
        asyncio.run(validate_url("https://cdn.example/v.mp4", SETTINGS, resolver=fake_resolver("10.9.8.7")))
    assert caught.value.code == "url_not_allowed"


def test_validate_url_resolves_the_ascii_form_of_international_names() -> None:
    asked: list[tuple[str, int]] = []

    async def resolve(host: str, port: int) -> list[IPAddress]:
        asked.append((host, port))
        return [ipaddress.ip_address("10.0.0.2")]

    settings = ServerSettings(fetch_allow=("XN--bcher-kva.example",))
    asyncio.run(validate_url("https://bücher.example/v.mp4", settings, resolver=resolve))

    assert asked == [("xn--bcher-kva.example", 443)]


def _fetch(handler: Callable[[httpx.Request], httpx.Response], dest: Path, max_bytes: int = 100) -> Path:
    return asyncio.run(fetch_to_file(
        "https://cdn.example/start", dest, max_bytes=max_bytes, settings=SETTINGS,
        transport=httpx.MockTransport(handler)))


def _redirect(location: str) -> httpx.Response:
    return httpx.Response(302, headers={"location": location})


def test_redirects_are_followed_and_the_body_lands_atomically(tmp_path: Path) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/start":
            return _redirect("/media/v.mp4#frag")
        return httpx.Response(200, content=b"video-bytes")

    dest = _fetch(handler, tmp_path / "in" / "video")

    assert dest.read_bytes() == b"video-bytes" and [p.name for p in dest.parent.iterdir()] == ["video"]
    assert seen == ["https://cdn.example/start", "https://cdn.example/media/v.mp4"]


async def _endless_body() -> AsyncIterator[bytes]:
    while True:
        yield b"x" * 64


@pytest.mark.parametrize(("handler", "code", "says"), [
    (lambda r: httpx.Response(200, content=b"x" * 101), "input_too_large", "is 101 bytes"),
    (lambda r: httpx.Response(200, content=_endless_body()), "input_too_large", "sent more than that"),
    (lambda r: httpx.Response(503), "fetch_failed", "answered HTTP 503 Service Unavailable"),
    (lambda r: httpx.Response(302), "fetch_failed", "answered HTTP 302"),
    (lambda r: _redirect("http://10.1.1.1/x"), "url_not_allowed", "redirects to a URL that is not allowed: 10.1.1.1"),
    (lambda r: _redirect("file:///etc/passwd"), "url_not_allowed", "not 'file:'"),
    (lambda r: _redirect(r.url.path + "/"), "fetch_failed", "more than 2 redirects"),
    (lambda r: _redirect(r.url.path), "fetch_failed", "redirects in a loop"),
    (lambda r: _raise_now(httpx.ConnectError("refused")), "fetch_failed", "could not download https://cdn.example/start"),
    (lambda r: _raise_now(httpx.ReadTimeout("slow")), "fetch_failed", "cdn.example did not answer within 1 s"),
])
def test_failed_fetches_leave_nothing_behind(
    handler: Callable[[httpx.Request], httpx.Response], code: str, says: str, tmp_path: Path
) -> None:
    (tmp_path / "other").write_bytes(b"untouched")

    with pytest.raises(FetchError) as caught:
        _fetch(handler, tmp_path / "video")

    assert caught.value.code == code and says in caught.value.message, caught.value.message
    assert [p.name for p in tmp_path.iterdir()] == ["other"]


def _raise_now(error: Exception) -> httpx.Response:
    raise error


def test_a_failed_fetch_keeps_an_earlier_file(tmp_path: Path) -> None:
    (tmp_path / "video").write_bytes(b"earlier")

    with pytest.raises(FetchError):
        _fetch(lambda r: httpx.Response(404), tmp_path / "video")

    assert (tmp_path / "video").read_bytes() == b"earlier"
