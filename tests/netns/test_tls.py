"""HTTPS through the guard: the socket goes to the vetted IP, TLS still checks the name.

The certificate is made for ``localhost`` only, at test time, with the openssl tool.
Only ever collected inside a private network namespace (see README.md).
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpcore
import pytest

from faceswap_nb.server.fetch import AllowList, GuardedBackend
from tests.netns._server import SMALL, LocalServer

pytestmark = pytest.mark.netns


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed (certificate, key) pair for ``localhost``."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl tool is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    return cert, key


@pytest.fixture(scope="module")
def secure(certificate: tuple[Path, Path]) -> Iterator[LocalServer]:
    """An HTTPS server on 127.0.0.1 presenting the ``localhost`` certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server = LocalServer("127.0.0.1", tls=context)
    yield server
    server.close()


def get(url: str, cert: Path) -> httpcore.Response:
    """GET ``url`` through a pool on the guarded backend that trusts only ``cert``."""
    async def run() -> httpcore.Response:
        context = ssl.create_default_context(cafile=str(cert))
        backend = GuardedBackend(AllowList.parse(["127.0.0.1"]))
        async with httpcore.AsyncConnectionPool(ssl_context=context, network_backend=backend) as pool:
            return await pool.request("GET", url)
    return asyncio.run(run())


def test_the_certificate_is_checked_against_the_url_host(secure: LocalServer, certificate: tuple[Path, Path]) -> None:
    response = get(secure.origin.replace("127.0.0.1", "localhost") + "/small", certificate[0])

    assert response.status == 200 and response.content == SMALL


def test_a_certificate_for_another_name_is_refused(secure: LocalServer, certificate: tuple[Path, Path]) -> None:
    with pytest.raises(httpcore.ConnectError, match="certificate verify failed"):
        get(secure.origin + "/small", certificate[0])
