"""Start the local server in the background, from a notebook, a script or a test.

``LocalServer.start()`` runs ``faceswap-nb serve`` as a child process on a free
loopback port, waits until it answers, and hands out a configured client::

    with LocalServer.start() as server:
        client = server.client()

The server keeps its jobs in ``data_dir`` (by default a folder in the user's cache), and
its API key is the one kept there, so restarting it with the same folder finds the
same jobs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import httpx

from faceswap_nb.server.keys import KEY_FILE

if TYPE_CHECKING:
    from typing_extensions import Self

    from faceswap_nb.client import AsyncClient, Client

__all__ = ["LocalServer", "ServerStartError", "default_data_dir"]

START_TIMEOUT = 60.0


class ServerStartError(RuntimeError):
    """The local server did not come up; the message holds the end of its output."""


def default_data_dir() -> Path:
    """``$XDG_CACHE_HOME/faceswap_nb/server`` (``~/.cache/...`` when unset)."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "faceswap_nb" / "server"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """A running ``faceswap-nb serve`` child process and how to reach it."""

    def __init__(self, process: subprocess.Popen[bytes], base_url: str, api_key: str,
                 data_dir: Path, log_path: Path) -> None:
        self.process = process
        self.base_url = base_url
        self.api_key = api_key
        self.data_dir = data_dir
        self.log_path = log_path

    def __repr__(self) -> str:
        return f"LocalServer({self.base_url!r}, data_dir={str(self.data_dir)!r}, pid={self.process.pid})"

    @classmethod
    def start(
        cls,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        port: int | None = None,
        api_keys: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        timeout: float = START_TIMEOUT,
    ) -> LocalServer:
        """Start the server and wait until ``/v1/health`` answers.

        Args:
            data_dir: where it keeps jobs; default :func:`default_data_dir`.
            port: loopback port; default a free one.
            api_keys: accepted keys (the first is the one ``client()`` uses); default
                the key kept in ``data_dir``, made on first start.
            env: extra environment variables for the server (e.g. ``FACESWAP_FETCH_ALLOW``).
            args: extra ``faceswap-nb serve`` arguments (e.g. ``("--workers", "2")``).
            timeout: seconds to wait for it to answer.

        Raises:
            ServerStartError: it exited or did not answer in time.
        """
        folder = Path(data_dir) if data_dir is not None else default_data_dir()
        folder.mkdir(parents=True, exist_ok=True)
        port = port or free_port()
        child_env = {k: v for k, v in os.environ.items() if k != "FACESWAP_API_KEYS"}
        child_env.update(env or {})
        log_path = folder / "server.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "faceswap_nb.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(port), "--data-dir", str(folder),
                 *(arg for key in api_keys for arg in ("--api-key", key)), *args],
                stdout=log, stderr=subprocess.STDOUT, env=child_env,
            )
        base_url = f"http://127.0.0.1:{port}/v1"
        try:
            _wait_until_up(process, base_url, timeout, log_path)
        except BaseException:
            process.kill()
            process.wait()
            raise
        api_key = api_keys[0] if api_keys else (folder / KEY_FILE).read_text().strip()
        return cls(process, base_url, api_key, folder, log_path)

    def client(self, **settings: object) -> Client:
        """A sync client for this server."""
        from faceswap_nb.client import Client

        return Client(base_url=self.base_url, api_key=self.api_key, **settings)  # type: ignore[arg-type]

    def async_client(self, **settings: object) -> AsyncClient:
        """An async client for this server."""
        from faceswap_nb.client import AsyncClient

        return AsyncClient(base_url=self.base_url, api_key=self.api_key, **settings)  # type: ignore[arg-type]

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server gracefully (SIGTERM), or kill it after ``timeout`` seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _wait_until_up(process: subprocess.Popen[bytes], base_url: str, timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(f"the server exited with status {process.returncode}:\n{_tail(log_path)}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise ServerStartError(f"the server did not answer within {timeout:.0f} s:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
