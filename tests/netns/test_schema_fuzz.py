"""Schemathesis fuzzes the real server from its own OpenAPI schema: no answer may be a 5xx.

Fuzzed bodies carry arbitrary URLs, so this runs only in the private network namespace.
The limits are raised so the fuzzer tests the handlers, not the rate limiter.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from faceswap_nb.server import LocalServer
from tests.server.conftest import ALICE, start_server

pytestmark = pytest.mark.netns

MAX_EXAMPLES = 25
MAX_SECONDS = 120
UNLIMITED = {"FACESWAP_RATE_LIMIT_PER_SECOND": "1000000", "FACESWAP_RATE_LIMIT_BURST": "1000000",
             "FACESWAP_MAX_JOBS_IN_FLIGHT": "1000000"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalServer]:
    with start_server(tmp_path / "data", env=UNLIMITED) as running:
        yield running


def test_no_generated_request_makes_the_server_fail(server: LocalServer, tmp_path: Path) -> None:
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert cli, "schemathesis is part of the dev extra"
    origin = server.base_url.removesuffix("/v1")

    result = subprocess.run(
        [cli, "run", f"{origin}/openapi.json", "--checks", "not_a_server_error",
         "--header", f"x-api-key: {ALICE}", "--max-examples", str(MAX_EXAMPLES), "--seed", "20261130",
         "--max-time", str(MAX_SECONDS), "--report-dir", str(tmp_path / "report")],
        capture_output=True, text=True, timeout=MAX_SECONDS + 120, cwd=tmp_path, check=False,
    )

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout or " passed" in result.stdout, result.stdout[-3000:]
