"""Shared fixtures: where the real test media live, and how to skip without them."""

from __future__ import annotations

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
