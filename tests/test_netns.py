"""Run tests/netns inside a private network namespace and require that they pass.

tests/netns makes the server fetch live URLs; this test gives it a namespace whose only
interface is loopback, so nothing there can reach a real network (see its README).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import in_private_network_namespace

ROOT = Path(__file__).resolve().parents[1]
INNER_TIMEOUT_SECONDS = 300


def _skip_unless_namespaces_work() -> None:
    if in_private_network_namespace():
        pytest.skip("already inside a private network namespace: tests/netns ran in this session directly")
    missing = [tool for tool in ("unshare", "ip") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"cannot create a network namespace: {' and '.join(missing)} not installed")
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a network namespace (needs root or CAP_SYS_ADMIN): {probe.stderr.strip()}")


def test_the_network_namespace_suite_passes() -> None:
    _skip_unless_namespaces_work()
    inner = f"ip link set lo up && exec {shlex.quote(sys.executable)} -m pytest tests/netns -q -p no:cacheprovider"

    result = subprocess.run(
        ["unshare", "-n", "sh", "-c", inner],
        cwd=ROOT, capture_output=True, text=True, timeout=INNER_TIMEOUT_SECONDS, check=False,
    )

    output = result.stdout + result.stderr
    summary = output.strip().splitlines()[-1] if output.strip() else "(no output)"
    passed = re.search(r"(\d+) passed", summary)
    assert result.returncode == 0 and passed and int(passed.group(1)) > 0, output
    assert not re.search(r"\d+ (failed|error)", summary), output
