"""Media, a loopback file server and a real local server for the batch tests.

Nothing here reaches beyond 127.0.0.1: the file server is a tiny ``http.server`` the
client probes, and the local server only ever reads its own uploads.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from faceswap_nb.server import LocalServer
from tests.media import GRACE_HOPPER, astronaut, write_clip

ALICE = "alice-key-0123456789"
CLIP_SECONDS = 0.8  # 8 frames at 10 fps


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny face clip (8 frames, 256 px, 0.8 s): a real job on it takes about 1.5 s."""
    return write_clip(
        tmp_path_factory.mktemp("batch-media") / "astronaut.mp4", [astronaut(256)] * 8
    )


@pytest.fixture(scope="session")
def face() -> Path:
    """The source face photo."""
    return GRACE_HOPPER


def clip_copies(clip: Path, folder: Path, count: int) -> list[Path]:
    """``count`` copies of ``clip`` under distinct names: distinct pairs, the same tiny job."""
    folder.mkdir(parents=True, exist_ok=True)
    copies = [folder / f"clip-{i:02d}.mp4" for i in range(count)]
    for copy in copies:
        shutil.copyfile(clip, copy)
    return copies


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """A real local server for the module, with a generous request rate."""
    env = {"FACESWAP_RATE_LIMIT_PER_SECOND": "200", "FACESWAP_RATE_LIMIT_BURST": "1000"}
    with LocalServer.start(
        tmp_path_factory.mktemp("batch-server"), api_keys=(ALICE,), env=env
    ) as running:
        yield running


@dataclass
class FileServer:
    """A loopback HTTP server for one file, with ranges; it counts what it really sends.

    Its socket buffer is small and it sends in paced chunks, so the count is close to
    what the client read before it hung up, not what the kernel buffered.
    """

    path: Path
    url: str = ""
    requests: list[dict[str, object]] = field(default_factory=list)

    @property
    def bytes_sent(self) -> int:
        return sum(int(r["sent"]) for r in self.requests)  # type: ignore[call-overload]


def _handler(state: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def setup(self) -> None:
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
            super().setup()

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            # Recorded as the request arrives; ``sent`` is filled in as bytes go out.
            record: dict[str, object] = {
                "range": self.headers.get("Range"),
                "sent": 0,
                "headers": dict(self.headers),
            }
            state.requests.append(record)
            if self.path != "/video.mp4":
                self.send_error(404)
                return
            data = state.path.read_bytes()
            start, end = 0, len(data) - 1
            if match := re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", "")):
                start, end = int(match[1]), int(match[2]) if match[2] else end
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            else:
                self.send_response(200)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(end - start + 1))
            self.end_headers()
            try:
                for offset in range(start, end + 1, 8192):
                    chunk = data[offset : min(end + 1, offset + 8192)]
                    self.wfile.write(chunk)
                    record["sent"] = int(record["sent"]) + len(chunk)  # type: ignore[call-overload]
                    threading.Event().wait(0.001)  # paced, so a hang-up stops the count
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


@pytest.fixture
def file_server() -> Iterator[Callable[[Path], FileServer]]:
    """``serve(path) -> FileServer``: serve a file at ``http://127.0.0.1:<port>/video.mp4``."""
    running: list[ThreadingHTTPServer] = []

    def serve(path: Path) -> FileServer:
        state = FileServer(path)
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
        threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
        running.append(httpd)
        state.url = f"http://127.0.0.1:{httpd.server_port}/video.mp4"
        return state

    yield serve
    for httpd in running:
        httpd.shutdown()
        httpd.server_close()
