"""Guarded downloads of job inputs: public addresses only, bounded in size and time.

Input and webhook URLs come from whoever holds an API key; fetched naively they would
let a caller reach inside the server's network (server-side request forgery: cloud
metadata at 169.254.169.254, admin pages on 10.x, services on localhost). So the check
sits where it cannot be side-stepped, at connect time:

* :class:`GuardedBackend` is an httpcore network backend. Asked for a TCP connection to
  ``(host, port)``, it resolves ``host`` itself with ``getaddrinfo``, refuses if *any*
  answer is loopback, private, link-local, multicast, reserved, unspecified or shared
  (CGNAT) and not allow-listed, then connects to a vetted IP address. Redirects and DNS
  rebinding (public at create time, private at fetch time) leave no gap between check
  and use. TLS is untouched: httpcore still uses the URL's host for SNI and certificates.
* :func:`guarded_client` puts it under an httpx client that ignores proxy settings in the
  environment (through a proxy only the proxy would be checked) and never redirects.
* :func:`fetch_to_file` follows redirects hop by hop, checks each with :func:`check_url`,
  caps the size by ``Content-Length`` and by counting, and writes atomically.

At create time the API calls :func:`validate_url` to answer 400 early; the connect-time
check is still the one that counts. IPv4 inside IPv6 (mapped ``::ffff:a.b.c.d``, 6to4,
NAT64) is judged by the IPv4 address. URLs with credentials (``user:password@host``) are
refused: job objects echo their URLs to clients and webhooks, so a password would leak.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpcore
import httpx

from faceswap_nb._version import __version__
from faceswap_nb.client._files import atomic_writer
from faceswap_nb.server.settings import ServerSettings

__all__ = [
    "FETCH_FAILED", "INPUT_TOO_LARGE", "URL_NOT_ALLOWED", "AllowList", "FetchError", "GuardedBackend",
    "IPAddress", "Resolver", "address_problem", "check_url", "fetch_to_file", "guarded_client",
    "guarded_transport", "resolve_and_check", "system_resolver", "validate_url",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

URL_NOT_ALLOWED = "url_not_allowed"
FETCH_FAILED = "fetch_failed"
INPUT_TOO_LARGE = "input_too_large"

USER_AGENT = f"faceswap-nb/{__version__}"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Not globally reachable per the IANA registries, yet called global by older ipaddress
# versions (protocol assignments, 6to4 relays, local-use NAT64, IPv6 site-local).
_SPECIAL_PURPOSE = tuple(
    ipaddress.ip_network(n) for n in ("192.0.0.0/24", "192.88.99.0/24", "64:ff9b:1::/48", "fec0::/10"))
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_CHUNK_BYTES = 64 * 1024
_FIX = "the server only connects to public addresses; add the host or its network to FACESWAP_FETCH_ALLOW to allow it"
# Checked in order, so an address gets the most specific name (127.0.0.1 is "loopback",
# not "private"); anything else that is not globally routable is caught after these.
_CATEGORIES: tuple[tuple[str, Callable[[IPAddress], bool]], ...] = (
    ("an unspecified address", lambda a: a.is_unspecified),
    ("a loopback address", lambda a: a.is_loopback),
    ("a link-local address", lambda a: a.is_link_local),
    ("a multicast address", lambda a: a.is_multicast),
    ("a shared (CGNAT) address", lambda a: a in _CGNAT),
    ("a private address", lambda a: a.is_private),
    ("a reserved address", lambda a: a.is_reserved),
    ("a special-purpose address", lambda a: any(a in net for net in _SPECIAL_PURPOSE)),
)


class FetchError(Exception):
    """A URL may not or could not be fetched; ``code`` says which, the message what to fix.

    Codes: ``url_not_allowed`` (not http/https, credentials, or a non-public address),
    ``fetch_failed`` (unreachable, unresolvable, HTTP error, timeout, too many redirects)
    and ``input_too_large`` (over the byte cap).
    """

    def __init__(self, message: str, *, code: str) -> None:
        if code not in (URL_NOT_ALLOWED, FETCH_FAILED, INPUT_TOO_LARGE):
            raise ValueError(f"unknown fetch error code {code!r}")
        super().__init__(message)
        self.message = message
        self.code = code


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_problem(address: IPAddress) -> str | None:
    """Why ``address`` must not be connected to (e.g. "a loopback address"), or None if public."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return address_problem(embedded)
    for words, applies in _CATEGORIES:
        if applies(address):
            return words
    return None if address.is_global else "a special-purpose address"


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _parse_entry(entry: str) -> str | IPNetwork:
    text = entry.strip().lower()
    where = f"{entry!r} in the fetch allow-list (FACESWAP_FETCH_ALLOW)"
    if "/" in text and "://" not in text:
        try:
            return ipaddress.ip_network(text.strip("[]"), strict=False)
        except ValueError:
            raise ValueError(f"{where} is not a valid CIDR; write e.g. 10.0.0.0/8 or fd00::/8") from None
    literal = _ip_literal(text)
    if literal is not None:
        return ipaddress.ip_network(literal)
    if "://" in text or ":" in text or "/" in text:
        raise ValueError(f"{where}: write the host name alone, without scheme, port or path")
    if "*" in text:
        raise ValueError(f"{where}: wildcards are not supported; list each host name")
    host = text.rstrip(".")
    if not host or len(host) > 253 or not all(_HOST_LABEL.match(label) for label in host.split(".")):
        raise ValueError(f"{where} is neither a host name nor an IP address or CIDR")
    return host


@dataclass(frozen=True)
class AllowList:
    """Hosts (exact, case-insensitive) and networks that may be reached though not public."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """Read host names, IP addresses and CIDRs; raises ValueError naming a malformed entry."""
        if isinstance(entries, str):
            # A ValueError, as for any malformed setting: the CLI and server report those.
            raise ValueError("the fetch allow-list must be a list of entries, not one string")  # noqa: TRY004
        parsed = [_parse_entry(entry) for entry in entries]
        return cls(
            hosts=frozenset(p for p in parsed if isinstance(p, str)),
            networks=tuple(p for p in parsed if not isinstance(p, str)),
        )

    def allows_host(self, host: str) -> bool:
        """Whether ``host`` was listed by name."""
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        """Whether ``address`` (or the IPv4 address inside it) is in a listed network."""
        candidates = [address, _embedded_ipv4(address)]
        return any(c is not None and c in net for c in candidates for net in self.networks)


def _as_allow(allow: AllowList | Iterable[str]) -> AllowList:
    return allow if isinstance(allow, AllowList) else AllowList.parse(allow)


def _vet(host: str, address: IPAddress, allow: AllowList) -> None:
    problem = address_problem(address)
    if problem and not allow.allows_host(host) and not allow.allows_address(address):
        shown = host if _ip_literal(host) == address else f"{host} ({address})"
        raise FetchError(f"{shown} is {problem}: {_FIX}", code=URL_NOT_ALLOWED)


def check_url(url: str, allow: AllowList | Iterable[str] = ()) -> httpx.URL:
    """Parse ``url`` and refuse what can be refused without the network.

    Refused (``url_not_allowed``): unparsable URLs, schemes other than http and https, a
    missing host, credentials in the URL, and IP-literal hosts that are not public and
    not allowed. Host names are judged later, when they are resolved.
    """
    allow = _as_allow(allow)
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchError(f"{url[:200]!r} is not a valid URL: {exc}", code=URL_NOT_ALLOWED) from None
    if parsed.scheme not in _DEFAULT_PORTS:
        got = f"'{parsed.scheme}:'" if parsed.scheme else "a URL without a scheme"
        raise FetchError(f"only http:// and https:// URLs can be fetched, not {got}", code=URL_NOT_ALLOWED)
    if not parsed.host:
        raise FetchError(f"{url[:200]!r} has no host name", code=URL_NOT_ALLOWED)
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise FetchError(f"port {parsed.port} does not exist; ports go from 1 to 65535", code=URL_NOT_ALLOWED)
    if parsed.userinfo:
        raise FetchError(
            "remove the user:password@ part: credentials in URLs are not accepted because "
            "job objects echo their URLs", code=URL_NOT_ALLOWED)
    literal = _ip_literal(parsed.host)
    if literal is not None:
        _vet(parsed.host, literal, allow)
    return parsed


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The addresses ``getaddrinfo`` gives for ``host``, without duplicates, in its order."""
    literal = _ip_literal(host)
    if literal is not None:
        return [literal]
    answers = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(answer[4][0]) for answer in answers))


async def resolve_and_check(
    host: str, port: int, allow: AllowList | Iterable[str], *,
    timeout: float | None = None, resolver: Resolver = system_resolver,
) -> list[IPAddress]:
    """Resolve ``host`` and return its addresses, all of them vetted.

    Raises:
        FetchError: ``url_not_allowed`` when any address is not public and not allowed;
            ``fetch_failed`` when the name does not resolve within ``timeout`` seconds.
    """
    allow = _as_allow(allow)
    try:
        with anyio.fail_after(timeout):
            addresses = await resolver(host, port)
    except TimeoutError:
        raise FetchError(f"resolving {host} took more than {timeout:g} s; try again later",
                         code=FETCH_FAILED) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise FetchError(f"the host name {host} could not be resolved ({reason}); check the URL",
                         code=FETCH_FAILED) from None
    if not addresses:
        raise FetchError(f"the host name {host} has no addresses; check the URL", code=FETCH_FAILED)
    for address in addresses:
        _vet(host, address, allow)
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore backend that connects only to vetted addresses (see the module docstring)."""

    def __init__(
        self, allow: AllowList, *,
        resolver: Resolver = system_resolver, inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow = allow
        self._resolver = resolver
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,
        local_address: str | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve and vet ``host``, then connect to its first vetted address that answers."""
        *others, last = await resolve_and_check(
            host, port, self._allow, timeout=timeout, resolver=self._resolver)
        for address in others:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue  # like a browser, try the host's next address
        return await self._inner.connect_tcp(
            str(last), port, timeout=timeout, local_address=local_address, socket_options=socket_options)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Always refused: a unix socket is a door into this machine."""
        raise FetchError("unix sockets are never connected to", code=URL_NOT_ALLOWED)

    async def sleep(self, seconds: float) -> None:
        """Sleep as the wrapped backend does."""
        await self._inner.sleep(seconds)


def guarded_transport(
    allow: AllowList, *,
    resolver: Resolver = system_resolver, inner: httpcore.AsyncNetworkBackend | None = None,
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connections go through a :class:`GuardedBackend`."""
    ssl_context = httpx.create_ssl_context()
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, trust_env=False)
    # httpx has no public hook for the network backend; swapping the pool it built keeps
    # its request/response mapping and error translation. tests/server/test_fetch.py
    # checks that the guard really is on the request path, so an httpx change shows.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context, network_backend=GuardedBackend(allow, resolver=resolver, inner=inner))
    return transport


def guarded_client(
    allow: AllowList, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """An httpx client that reaches only vetted addresses, with no proxy and no auto-redirects.

    ``transport`` replaces the guarded one (tests use ``httpx.MockTransport``); then only
    :func:`check_url`'s checks apply.
    """
    return httpx.AsyncClient(
        transport=transport if transport is not None else guarded_transport(allow),
        timeout=timeout,
        trust_env=False,
        follow_redirects=False,
        # Media are compressed already; identity keeps Content-Length meaningful for the cap.
        headers={"user-agent": USER_AGENT, "accept-encoding": "identity"},
    )


async def validate_url(
    url: str, settings: ServerSettings, *, resolver: Resolver = system_resolver
) -> httpx.URL:
    """Create-time check: :func:`check_url`, then resolve the host and vet its addresses.

    The API answers 400 with the error's message on :class:`FetchError` (both
    ``url_not_allowed`` and an unresolvable host's ``fetch_failed``).
    """
    allow = AllowList.parse(settings.fetch_allow)
    parsed = check_url(url, allow)
    port = parsed.port or _DEFAULT_PORTS[parsed.scheme]
    # The ASCII (punycode) form is what httpcore hands the backend at connect time.
    host = parsed.raw_host.decode("ascii")
    await resolve_and_check(host, port, allow, timeout=settings.fetch_timeout, resolver=resolver)
    return parsed


def _shown(url: httpx.URL) -> str:
    """The URL without query and fragment, which may carry tokens, for messages."""
    return f"{url.scheme}://{url.netloc.decode('ascii')}{url.path}"


def _size(n: int) -> str:
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _too_large(url: httpx.URL, max_bytes: int, size: int | None = None) -> FetchError:
    """``size`` is the announced length; None when the count ran past the cap while streaming."""
    what = f"is {_size(size)}" if size is not None else "sent more than that"
    return FetchError(f"this input may be at most {_size(max_bytes)} and {_shown(url)} {what}; "
                      "use a smaller file", code=INPUT_TOO_LARGE)


async def fetch_to_file(
    url: str, dest: Path, *,
    max_bytes: int, settings: ServerSettings, transport: httpx.AsyncBaseTransport | None = None,
) -> Path:
    """Download ``url`` to ``dest`` through the guard and return ``dest``.

    Redirects are followed up to ``settings.max_redirects``, each hop checked again;
    ``settings.fetch_timeout`` bounds connecting and each read, and
    ``settings.fetch_total_timeout`` the whole download. The body goes to a temporary
    file beside ``dest`` that replaces it only when complete; on any failure nothing is
    left behind. ``transport`` is for tests (see :func:`guarded_client`).

    Raises:
        FetchError: with code ``url_not_allowed``, ``fetch_failed`` or ``input_too_large``.
    """
    allow = AllowList.parse(settings.fetch_allow)
    first = check_url(url, allow)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    async with guarded_client(allow, timeout=settings.fetch_timeout, transport=transport) as client:
        try:
            with anyio.fail_after(settings.fetch_total_timeout):
                return await _follow(client, first, dest, max_bytes, settings, allow)
        except TimeoutError:
            raise FetchError(f"downloading {_shown(first)} took more than {settings.fetch_total_timeout:g} s; "
                             "use a faster host or a smaller file", code=FETCH_FAILED) from None


async def _follow(
    client: httpx.AsyncClient, url: httpx.URL, dest: Path, max_bytes: int,
    settings: ServerSettings, allow: AllowList,
) -> Path:
    """GET ``url`` and the redirects it leads to, saving the first non-redirect answer."""
    seen: set[str] = set()
    for _ in range(settings.max_redirects + 1):
        seen.add(str(url))
        try:
            outcome = await _get(client, url, dest, max_bytes, allow)
        except httpx.TimeoutException:
            raise FetchError(f"{url.host} did not answer within {settings.fetch_timeout:g} s; "
                             "try again later or use another host", code=FETCH_FAILED) from None
        except httpx.HTTPError as exc:
            raise FetchError(f"could not download {_shown(url)}: {exc or type(exc).__name__}",
                             code=FETCH_FAILED) from None
        if isinstance(outcome, Path):
            return outcome
        if str(outcome) in seen:
            raise FetchError(f"{_shown(url)} redirects in a loop (back to {_shown(outcome)}); "
                             "fix the link", code=FETCH_FAILED)
        url = outcome
    raise FetchError(f"more than {settings.max_redirects} redirects, last to {_shown(url)}; "
                     "give the final URL instead", code=FETCH_FAILED)


async def _get(
    client: httpx.AsyncClient, url: httpx.URL, dest: Path, max_bytes: int, allow: AllowList
) -> Path | httpx.URL:
    """One GET: the saved file, or the next URL when the answer is a redirect."""
    async with client.stream("GET", url) as response:
        location = response.headers.get("location")
        if response.is_redirect and location:
            return _next_hop(url, location, allow)
        if not response.is_success:
            raise FetchError(f"{_shown(url)} answered HTTP {response.status_code} {response.reason_phrase}; "
                             "check that the URL is right and publicly readable", code=FETCH_FAILED)
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_bytes:
            raise _too_large(url, max_bytes, int(length))
        return await _save(response, url, dest, max_bytes)


def _next_hop(url: httpx.URL, location: str, allow: AllowList) -> httpx.URL:
    try:
        target = url.join(location).copy_with(fragment=None)
        return check_url(str(target), allow)
    except httpx.InvalidURL:
        raise FetchError(f"{_shown(url)} redirects to an invalid URL", code=FETCH_FAILED) from None
    except FetchError as exc:
        raise FetchError(f"{_shown(url)} redirects to a URL that is not allowed: {exc.message}",
                         code=exc.code) from None


async def _save(response: httpx.Response, url: httpx.URL, dest: Path, max_bytes: int) -> Path:
    """Stream the body to ``dest``, all or nothing (see :func:`atomic_writer`)."""
    with atomic_writer(dest) as out:
        received = 0
        async for chunk in response.aiter_bytes(_CHUNK_BYTES):
            received += len(chunk)
            if received > max_bytes:
                raise _too_large(url, max_bytes)
            # Small writes land in the page cache; a thread hop per chunk would cost more.
            out.write(chunk)
    return dest
