"""``connect()``: a client for the configured API, or for an embedded local server.

Notebooks call this first. When ``FACESWAP_BASE_URL`` is set, the client talks to that
server (with ``FACESWAP_API_KEY``); otherwise the local server is started in the
background once per Python process, kept for the kernel's lifetime, and stopped when
the process exits.
"""

from __future__ import annotations

import atexit
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from faceswap_nb.client import Client

if TYPE_CHECKING:
    from faceswap_nb.server.local import LocalServer

__all__ = ["connect", "embedded_server"]

_lock = threading.Lock()
# One embedded server per process: every notebook cell and panel shares it.
_embedded: list[LocalServer] = []


def embedded_server(data_dir: str | os.PathLike[str] | None = None) -> LocalServer:
    """The process's embedded local server, started on first use.

    Raises:
        ServerStartError: it did not come up (the message holds its log).
        ImportError: the ``[server]`` extra is not installed.
    """
    from faceswap_nb.server.local import LocalServer

    with _lock:
        if _embedded and _embedded[0].process.poll() is None:
            return _embedded[0]
        server = LocalServer.start(Path(data_dir) if data_dir is not None else None)
        _embedded[:] = [server]
        atexit.register(server.stop)
        return server


def connect(*, data_dir: str | os.PathLike[str] | None = None) -> Client:
    """A client: to ``FACESWAP_BASE_URL`` when set, else to the embedded local server.

    Args:
        data_dir: where the embedded server keeps its jobs (default: the user's cache).
    """
    if os.environ.get("FACESWAP_BASE_URL"):
        return Client()
    return embedded_server(data_dir).client()
