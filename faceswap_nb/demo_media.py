"""Public-domain demo inputs: a face photo and a short target video with sound.

Both are made from images that ship inside installed packages (nothing is downloaded):

- face photo: ``skimage.data.astronaut()`` — Eileen Collins, NASA (public domain);
- target video: matplotlib's sample ``grace_hopper.jpg`` — US Navy (public domain),
  animated into a 4 s, 30 fps, 640×480 clip with head motion (tilt and drift), a zoom
  in and out, a shadow sweeping over half the frame, and an AAC tone sweep.

Generation is deterministic. Run ``python -m faceswap_nb.demo_media FOLDER`` to write
them and print their paths.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import wave
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from faceswap_nb.engine.encode import VideoWriter
from faceswap_nb.engine.types import Frame, Image, VideoInfo

__all__ = ["make_demo_media"]

WIDTH, HEIGHT = 640, 480  # even, as H.264 4:2:0 needs
FPS = 30
SECONDS = 4
AUDIO_RATE = 44_100

# Where Grace Hopper's face is in the 512×600 sample photo, and how much to enlarge it so
# the frame stays inside the photo at every tilt, drift and zoom below.
_FACE_CENTRE = (262.0, 245.0)
_BASE_SCALE = 1.5


def make_demo_media(folder: Path) -> tuple[Path, Path]:
    """Write (or reuse) the demo target video and face photo in ``folder``.

    Returns:
        ``(target_video, face_image)``: ``folder/target.mp4`` and ``folder/face.jpg``.
        Files that already exist are kept as they are.

    Raises:
        ImportError: scikit-image or matplotlib (the ``[demo]`` extra) is missing.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    video, face = folder / "target.mp4", folder / "face.jpg"
    if not face.exists():
        _write_face_photo(face)
    if not video.exists():
        _write_target_video(video)
    return video, face


def _write_face_photo(path: Path) -> None:
    from skimage import data  # the [demo] extra; imported only when needed

    bgr = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    # Encode in memory and write once, so an interrupted run leaves no half a JPEG.
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise RuntimeError("OpenCV could not encode the demo face photo as JPEG")
    path.write_bytes(encoded.tobytes())


def _write_target_video(path: Path) -> None:
    from matplotlib import cbook  # the [demo] extra; imported only when needed

    photo = cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    frame_count = FPS * SECONDS
    info = VideoInfo(
        width=WIDTH,
        height=HEIGHT,
        average_rate=Fraction(FPS),
        time_base=Fraction(1, FPS),
        frame_count=frame_count,
        duration_seconds=float(SECONDS),
        rotation=0,
        has_audio=True,
        codec="h264",
    )
    with tempfile.TemporaryDirectory() as scratch:
        tone = Path(scratch) / "tone.wav"
        _write_tone_sweep(tone)
        # The WAV's PCM is not MP4 audio, so the writer encodes it to AAC.
        with VideoWriter(path, info, audio_source=tone) as writer:
            for index in range(frame_count):
                writer.write(Frame(index, _render_frame(photo, index / FPS), index))


def _render_frame(photo: Image, seconds: float) -> Image:
    """The photo at time ``seconds``: tilted, drifted, zoomed, then lit by a moving shadow."""
    angle = 6.0 * math.sin(2 * math.pi * seconds / 2.0)  # head tilt, degrees
    zoom = 1.0 + 0.25 * math.sin(math.pi * seconds / SECONDS)  # in, then back out
    centre = (
        _FACE_CENTRE[0] + 12.0 * math.sin(2 * math.pi * seconds / SECONDS),
        _FACE_CENTRE[1] + 6.0 * math.sin(2 * math.pi * seconds / 1.6),
    )
    matrix = cv2.getRotationMatrix2D(centre, angle, _BASE_SCALE * zoom)
    matrix[:, 2] += (WIDTH / 2 - centre[0], HEIGHT / 2 - centre[1])
    moved = cv2.warpAffine(
        photo, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101
    )
    return _apply_shadow(moved, seconds)


def _apply_shadow(image: Image, seconds: float) -> Image:
    """Darken the frame right of an edge that sweeps in from the right to the middle."""
    progress = seconds / SECONDS
    edge = WIDTH + 120 - progress * (WIDTH / 2 + 120)
    columns = np.arange(WIDTH, dtype=np.float32)
    shade = np.clip((columns - edge) / 120.0, 0.0, 1.0)
    gain = 1.0 - 0.55 * progress * shade
    lit = image.astype(np.float32) * gain[np.newaxis, :, np.newaxis]
    return np.clip(lit + 0.5, 0, 255).astype(np.uint8)


def _write_tone_sweep(path: Path) -> None:
    """A soft 220→880 Hz exponential sweep, as 16-bit mono WAV, as long as the video."""
    t = np.arange(SECONDS * AUDIO_RATE) / AUDIO_RATE
    low, high = 220.0, 880.0
    rate = math.log(high / low) / SECONDS
    phase = 2 * math.pi * low * (np.exp(rate * t) - 1) / rate
    fade = np.clip(np.minimum(t, SECONDS - t) / 0.05, 0.0, 1.0)  # no clicks at the ends
    samples = (0.2 * 32767 * fade * np.sin(phase)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(AUDIO_RATE)
        out.writeframes(samples.tobytes())


def main(argv: list[str] | None = None) -> None:
    """Command line: write the demo media into a folder and print their paths."""
    parser = argparse.ArgumentParser(
        prog="python -m faceswap_nb.demo_media", description=__doc__.splitlines()[0]
    )
    parser.add_argument("folder", type=Path, help="where to write target.mp4 and face.jpg")
    video, face = make_demo_media(parser.parse_args(argv).folder)
    print(video)
    print(face)


if __name__ == "__main__":
    main()
