"""Media and fake clients for the widget tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media import GRACE_HOPPER, astronaut, write_clip


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-second 10 fps clip of a face (20 frames, 128 px)."""
    return write_clip(tmp_path_factory.mktemp("clip") / "astronaut.mp4", [astronaut(128)] * 20)


@pytest.fixture(scope="session")
def result_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real MP4 that fake servers hand out as the result."""
    return write_clip(tmp_path_factory.mktemp("result") / "result.mp4", [astronaut(96)] * 5)


@pytest.fixture(scope="session")
def face() -> Path:
    """The source face photo."""
    return GRACE_HOPPER
