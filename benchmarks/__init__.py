"""Benchmarks of the local engine: quality (judged by dlib), occlusion, speed and memory.

Run them with ``python -m benchmarks`` (see ``benchmarks/README.md``). This package holds
what every benchmark shares: where the test media live, the signature of the swap
function being judged, the targets, and streaming video I/O with PyAV (whole videos are
never held in memory).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import av
import cv2
import numpy as np

if TYPE_CHECKING:
    # Only for annotations: importing the engine package here would make every
    # benchmark (and the metric tests) depend on the engine importing cleanly.
    from typing_extensions import Self

    from faceswap_nb.engine.types import Image, SwapReport

__all__ = [
    "TESTDATA",
    "MissingTestdata",
    "SwapFn",
    "Target",
    "VideoOut",
    "paired_frames",
    "read_frames",
    "testdata_file",
    "verdicts",
    "video_rate",
]

TESTDATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "testdata"
"""The real face photos and videos beside the project (never copied into it)."""


class MissingTestdata(RuntimeError):
    """A test photo or video the benchmark needs is not on this machine."""


def testdata_file(kind: str, name: str) -> Path:
    """Path of ``../shared/testdata/<kind>/<name>``.

    Raises:
        MissingTestdata: when the file is absent, saying where it was looked for.
    """
    path = TESTDATA / kind / name
    if not path.is_file():
        raise MissingTestdata(f"test media not found: ../shared/testdata/{kind}/{name}")
    return path


class SwapFn(Protocol):
    """The engine's ``swap_video`` signature; benchmarks take it as a parameter so that
    stand-ins (a plain copy, deliberately damaged copies) can validate the metrics."""

    def __call__(
        self,
        video: str | Path,
        face: str | Path,
        out: str | Path,
        *,
        advanced: bool = False,
        faces: str = "largest",
        progress: Callable[..., Any] | None = None,
    ) -> SwapReport: ...


_COMPARE = {"<=": operator.le, ">=": operator.ge}


@dataclass(frozen=True)
class Target:
    """A figure's pass mark, e.g. ``Target("seam_ratio", "<=", 1.15, "…")``."""

    figure: str
    op: str
    threshold: float
    meaning: str

    def passes(self, value: float | None) -> bool | None:
        """Whether ``value`` meets the target; ``None`` when the figure does not apply."""
        if value is None or not np.isfinite(value):
            return None
        return bool(_COMPARE[self.op](value, self.threshold))

    def describe(self) -> str:
        """``seam_ratio <= 1.15``."""
        return f"{self.figure} {self.op} {self.threshold:g}"


def verdicts(targets: tuple[Target, ...], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Judge each target over rows of figures (one row per run).

    Returns one entry per target: the values, how many rows passed, failed or did not
    apply, and ``pass`` — true when at least one row applied and none failed.
    """
    results = []
    for target in targets:
        values = [row.get(target.figure) for row in rows]
        checks = [target.passes(value) for value in values]
        failed, passed = checks.count(False), checks.count(True)
        results.append(
            {
                "target": target.describe(),
                "figure": target.figure,
                "meaning": target.meaning,
                "values": values,
                "passed": passed,
                "failed": failed,
                "not_applicable": checks.count(None),
                "pass": None if passed + failed == 0 else failed == 0,
            }
        )
    return results


def read_frames(path: str | Path) -> Iterator[Image]:
    """Decode a video's frames one by one as contiguous BGR arrays (dlib needs contiguous)."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield np.ascontiguousarray(frame.to_ndarray(format="bgr24"))


def paired_frames(first: str | Path, second: str | Path) -> Iterator[tuple[int, Image, Image]]:
    """Decode two videos in lockstep, yielding ``(index, first_frame, second_frame)``.

    Stops at the shorter video. A second frame of another size is resized to the
    first's, so that pixel comparisons stay defined (the caller checks frame counts).
    """
    for index, (one, two) in enumerate(zip(read_frames(first), read_frames(second))):
        if two.shape != one.shape:
            two = cv2.resize(two, (one.shape[1], one.shape[0]), interpolation=cv2.INTER_AREA)
        yield index, one, two


def video_rate(path: str | Path) -> tuple[Fraction, int]:
    """Nominal frame rate and frame count of a video (counting frames when unknown)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = Fraction(stream.average_rate or 25)
        count = stream.frames
    if not count:
        count = sum(1 for _ in read_frames(path))
    return rate, count


class VideoOut:
    """Write BGR frames to an H.264 file with PyAV; a context manager.

    Args:
        path: where to write (``.mp4``).
        rate: frame rate.
        crf: x264 quality; the default is near-lossless because these files are the
            *inputs* of later measurements and must not add visible codec noise.
    """

    def __init__(self, path: str | Path, rate: Fraction, crf: int = 12) -> None:
        self._container = av.open(str(path), mode="w")
        self._stream = self._container.add_stream("libx264", rate=rate)
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": str(crf), "preset": "veryfast"}
        self._opened = False

    def write(self, image: Image) -> None:
        """Append one frame (all frames must share the first frame's even size)."""
        if not self._opened:
            self._stream.height, self._stream.width = image.shape[:2]
            self._opened = True
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        self._container.mux(self._stream.encode(frame))

    def close(self) -> None:
        """Flush the encoder and close the file."""
        if self._opened:
            self._container.mux(self._stream.encode(None))
        self._container.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
