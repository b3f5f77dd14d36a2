"""Local servers on two loopback addresses, settings that trust only the first, and a guard.

The root conftest already leaves this folder out outside a private network namespace,
but a path named on the command line is collected anyway; the guard skips it then.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from faceswap_nb.server.settings import ServerSettings
from tests.conftest import in_private_network_namespace
from tests.netns._server import LocalServer


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip before any fixture starts a server unless this is a private network namespace."""
    if not in_private_network_namespace():
        pytest.skip("runs only inside a private network namespace (unshare -n); see tests/netns/README.md")


@pytest.fixture(scope="session")
def one() -> Iterator[LocalServer]:
    """The server on 127.0.0.1."""
    server = LocalServer("127.0.0.1")
    yield server
    server.close()


@pytest.fixture(scope="session")
def two() -> Iterator[LocalServer]:
    """The server on 127.0.0.2, which the default test settings do not allow."""
    server = LocalServer("127.0.0.2")
    yield server
    server.close()


@pytest.fixture
def settings(tmp_path_factory: pytest.TempPathFactory) -> ServerSettings:
    """Short timeouts, few redirects, and 127.0.0.1 (only) on the allow-list."""
    return ServerSettings(
        data_dir=tmp_path_factory.mktemp("data"),
        fetch_allow=("127.0.0.1",),
        fetch_timeout=0.5,
        fetch_total_timeout=5.0,
        max_redirects=3,
        webhook_retry_delays=(0.01, 0.01),
        webhook_timeout=1.0,
    )
