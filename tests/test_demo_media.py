"""demo_media: public-domain demo inputs, generated locally and deterministically."""

from __future__ import annotations

import itertools
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from faceswap_nb.engine.decode import probe, read_frames, read_image

pytest.importorskip("skimage", reason="the [demo] extra (scikit-image) is not installed")
pytest.importorskip("matplotlib", reason="the [demo] extra (matplotlib) is not installed")

from faceswap_nb.demo_media import make_demo_media


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_demo_media(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def demo_frames(demo: tuple[Path, Path]) -> list[np.ndarray]:
    return [frame.image for frame in read_frames(demo[0])]


def test_target_is_a_4_second_30_fps_640x480_h264_clip_with_audio(demo: tuple[Path, Path]) -> None:
    video, face = demo
    assert (video.name, face.name) == ("target.mp4", "face.jpg")
    info = probe(video)
    assert (info.width, info.height) == (640, 480)
    assert info.average_rate == Fraction(30) and info.frame_count == 120
    assert info.duration_seconds == pytest.approx(4.0, abs=0.05)
    assert info.codec == "h264" and info.has_audio


def test_face_photo_is_the_astronaut_in_bgr_order(demo: tuple[Path, Path]) -> None:
    from skimage import data

    photo = read_image(demo[1])
    expected_bgr = data.astronaut()[:, :, ::-1].astype(int)
    assert photo.shape == (512, 512, 3)
    assert np.abs(photo.astype(int) - expected_bgr).mean() < 4  # JPEG loss only
    assert np.abs(photo.astype(int) - expected_bgr[:, :, ::-1]).mean() > 10  # not RGB


def test_the_head_moves_and_the_zoom_changes(demo_frames: list[np.ndarray]) -> None:
    gray = [frame.mean(axis=2) for frame in demo_frames]
    steps = [np.abs(b - a).mean() for a, b in itertools.pairwise(gray)]
    assert min(steps) > 0.5  # something moves between every pair of frames
    # Zoomed in at 2 s: the middle of the frame shows less of the photo, so it differs
    # far more from the start than consecutive frames do.
    assert np.abs(gray[60] - gray[0]).mean() > 5 * np.median(steps)


def test_a_shadow_darkens_the_right_half_over_time(demo_frames: list[np.ndarray]) -> None:
    def right_over_left(frame: np.ndarray) -> float:
        return frame[:, 400:].mean() / frame[:, :240].mean()

    assert right_over_left(demo_frames[-1]) < 0.8 * right_over_left(demo_frames[0])


def test_existing_files_are_kept_and_generation_is_deterministic(
    demo: tuple[Path, Path], tmp_path: Path
) -> None:
    video, face = demo
    stamps = (video.stat().st_mtime_ns, face.stat().st_mtime_ns)
    assert make_demo_media(video.parent) == demo
    assert (video.stat().st_mtime_ns, face.stat().st_mtime_ns) == stamps
    again_video, again_face = make_demo_media(tmp_path / "fresh" / "folder")
    assert again_face.read_bytes() == face.read_bytes()
    assert again_video.read_bytes() == video.read_bytes()


def test_command_line_prints_the_two_paths(demo: tuple[Path, Path]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "faceswap_nb.demo_media", str(demo[0].parent)],
        capture_output=True, text=True, check=True, timeout=60,
    )
    assert result.stdout.splitlines() == [str(demo[0]), str(demo[1])]
