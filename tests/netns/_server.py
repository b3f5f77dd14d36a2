"""A tiny HTTP server on a loopback address, serving every case the fetch guard must meet.

GET routes: ``/small`` and ``/big`` (with Content-Length), ``/chunked-small`` and
``/chunked-big`` (chunked, no Content-Length), ``/loop`` (redirects to itself),
``/hop/<n>`` (redirects to ``/hop/<n+1>`` forever), ``/redirect?to=<url>``, ``/slow``
(answers after :data:`SLOW_SECONDS`), ``/drip`` (one byte every 0.1 s); anything else
is 404. ``POST /hook/<name>`` records the request and answers the next status queued in
``hook_statuses[name]`` (200 when none is left).
"""

from __future__ import annotations

import socket
import ssl
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

__all__ = ["BIG", "SLOW_SECONDS", "SMALL", "LocalServer", "Received"]

SMALL = bytes(range(256)) * 2
BIG = b"B" * 5000
SLOW_SECONDS = 3.0


@dataclass
class Received:
    """One webhook POST as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet; pytest shows failures well enough."""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/small":
            self._send(200, SMALL)
        elif parts.path == "/big":
            self._send(200, BIG)
        elif parts.path in ("/chunked-small", "/chunked-big"):
            self._send_chunked(SMALL if parts.path == "/chunked-small" else BIG)
        elif parts.path == "/loop":
            self._redirect("/loop")
        elif parts.path.startswith("/hop/"):
            self._redirect(f"/hop/{int(parts.path.rsplit('/', 1)[1]) + 1}")
        elif parts.path == "/redirect":
            self._redirect(parse_qs(parts.query)["to"][0])
        elif parts.path == "/slow":
            time.sleep(SLOW_SECONDS)
            self._send(200, SMALL)
        elif parts.path == "/drip":
            self._drip(b"d" * 50)
        else:
            self._send(404, b"not here")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        self.server.received.append(Received(self.path, dict(self.headers.items()), body))
        queued = self.server.hook_statuses[self.path.removeprefix("/hook/")]
        self._send(queued.pop(0) if queued else 200, b"ok")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("location", location)
        self.send_header("content-length", "0")
        self.end_headers()

    def _send_chunked(self, body: bytes, size: int = 500) -> None:
        self.send_response(200)
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for start in range(0, len(body), size):
            chunk = body[start:start + size]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")

    def _drip(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        for byte in body:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(0.1)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Slow handlers must not hold up the end of the test session.
    block_on_close = False

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self.received: list[Received] = []
        self.hook_statuses: defaultdict[str, list[int]] = defaultdict(list)

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay quiet when a client hangs up early (timeout tests do); report the rest."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Server6(_Server):
    address_family = socket.AF_INET6


@dataclass
class LocalServer:
    """A running server on ``host`` (a loopback address; IPv6 in brackets) and a free port.

    With ``tls`` (a server-side SSL context) it speaks HTTPS.
    """

    host: str
    tls: ssl.SSLContext | None = None
    _server: _Server = field(init=False, repr=False)

    def __post_init__(self) -> None:
        bare = self.host.strip("[]")
        self._server = (_Server6 if ":" in bare else _Server)((bare, 0))
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def origin(self) -> str:
        """``http(s)://host:port`` without a trailing slash."""
        scheme = "http" if self.tls is None else "https"
        return f"{scheme}://{self.host}:{self._server.server_address[1]}"

    @property
    def received(self) -> list[Received]:
        """Webhook POSTs received so far."""
        return self._server.received

    @property
    def hook_statuses(self) -> defaultdict[str, list[int]]:
        """Statuses to answer, per hook name, in order."""
        return self._server.hook_statuses

    def close(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
