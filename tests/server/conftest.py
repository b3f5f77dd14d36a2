"""A real local server on a free loopback port, and small media to feed it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from faceswap_nb.server import LocalServer
from tests.media import GRACE_HOPPER, astronaut, write_clip

ALICE = "alice-key-0123456789"
BOB = "bob-key-9876543210"
TERMINAL = {"completed", "failed", "canceled"}


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A face clip, a clip without a face, a relaxed and a smiling face photo, a text file."""
    folder = tmp_path_factory.mktemp("media")
    smiling = folder / "smiling.png"
    cv2.imwrite(str(smiling), astronaut())
    text = folder / "notes.txt"
    text.write_text("not a video\n" * 20)
    wall = folder / "wall.png"
    cv2.imwrite(str(wall), np.full((64, 64, 3), 90, np.uint8))
    return {
        "clip": write_clip(folder / "astronaut.mp4", [astronaut(256)] * 8),
        "blank": write_clip(folder / "blank.mp4", [np.full((128, 128, 3), 90, np.uint8)] * 8),
        "face": GRACE_HOPPER,
        "smiling": smiling,
        "text": text,
        "wall": wall,
    }


def start_server(folder: Path, **kw: Any) -> LocalServer:
    """A server with the keys of Alice and Bob, in ``folder``."""
    return LocalServer.start(folder, api_keys=(ALICE, BOB), **kw)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """One server for a test module, with generous limits."""
    with start_server(tmp_path_factory.mktemp("server")) as running:
        yield running


def api(server: LocalServer, key: str | None = ALICE) -> httpx.Client:
    """A plain HTTP client (no faceswap_nb client) speaking to ``server`` as ``key``."""
    headers = {"x-api-key": key} if key else {}
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=30)


def upload(http: httpx.Client, path: Path) -> str:
    """Upload a file and return its URL."""
    with path.open("rb") as handle:
        response = http.post("/files", files={"file": (path.name, handle)})
    response.raise_for_status()
    return str(response.json()["url"])


def create(http: httpx.Client, video: str, face: str, **extra: Any) -> str:
    """Create a job and return its id."""
    body = {"model": "video/faceswap", "input": {"videoUrl": video, "faceUrl": face}, **extra}
    response = http.post("/generate", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["jobId"])


def wait_until_done(http: httpx.Client, job_id: str, timeout: float = 180) -> dict[str, Any]:
    """Poll until the job ends and return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = http.get(f"/generate/{job_id}").json()
        if job["status"] in TERMINAL:
            return dict(job)
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not end within {timeout} s")
