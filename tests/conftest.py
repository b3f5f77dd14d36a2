"""Shared fixtures: where the real test media live, and how to skip without them."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real test media not found at ../shared/testdata ({path.name} missing)")
    return path


@pytest.fixture(scope="session")
def testdata() -> Path:
    """The folder of real face photos and videos beside the project (skips when absent)."""
    return _require(TESTDATA)


@pytest.fixture(scope="session")
def talking_clip(testdata: Path) -> Path:
    """A clean frontal talking-head clip with audio."""
    return _require(testdata / "videos" / "retalking_face1.mp4")


@pytest.fixture(scope="session")
def source_photo(testdata: Path) -> Path:
    """A frontal, softly lit source face photo."""
    return _require(testdata / "images" / "roop_source.jpg")


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (``pytest.mark.anyio``) run on asyncio, as Jupyter's kernel does."""
    return "asyncio"


def in_private_network_namespace() -> bool:
    """True inside ``unshare -n``, where loopback is the only interface.

    ``socket.if_nameindex()`` asks the kernel about the current namespace; /sys/class/net
    shows the namespace /sys was mounted in, which ``unshare -n`` does not change.
    """
    try:
        return [name for _, name in socket.if_nameindex()] == ["lo"]
    except OSError:
        return False


# tests/netns/ makes the server fetch live URLs; outside a private network namespace a
# mistake there could reach a real network, so those tests are not even collected.
# tests/test_netns.py runs them inside one (see tests/netns/README.md).
collect_ignore = [] if in_private_network_namespace() else ["netns"]
