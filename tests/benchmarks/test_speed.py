"""The speed benchmark's reference: a plain transcode of the same clip."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.speed import format_speed, plain_transcode
from faceswap_nb.engine.decode import probe
from tests.engine.test_decode import frame_times


@pytest.mark.testdata
def test_the_plain_transcode_keeps_every_frame_its_timing_and_the_audio(talking_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "plain.mp4"

    frames = plain_transcode(talking_clip, out)

    source, result = probe(talking_clip), probe(out)
    assert frames == source.frame_count == result.frame_count
    assert (result.width, result.height, result.codec) == (source.width, source.height, "h264")
    assert result.has_audio
    assert frame_times(out) == frame_times(talking_clip)


def test_the_engines_io_path_is_reported_beside_the_plain_reference() -> None:
    run = {
        "clip": "720p test", "frames": 10, "fps_reference": 100.0, "fps_default": 50.0, "fps_advanced": 40.0,
        "speed_ratio_default": 2.0, "speed_ratio_advanced": 2.5, "fps_io_path": 80.0,
        "io_path_ratio_default": 1.6, "io_path_ratio_advanced": 2.0,
    }

    first, second = format_speed({"runs": [run]}).splitlines()

    assert "plain transcode 100.0 fps" in first and "(x2.00)" in first and "(x2.50)" in first
    assert "engine's I/O path" in second and "80.0 fps" in second and "x1.60" in second
    without = {key: value for key, value in run.items() if "io_path" not in key}
    assert len(format_speed({"runs": [without]}).splitlines()) == 1
