"""Plain data passed between the engine's stages.

Arrays are NumPy; images are ``uint8`` BGR (OpenCV's order), height × width × 3, always
upright (decode applies rotation metadata). Points are ``float32`` (N, 2) pixel
coordinates (x, y) in the frame they belong to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from faceswap_nb.engine.picture import Picture

Image = NDArray[np.uint8]
"""H×W×3 BGR frame or photo."""
Mask = NDArray[np.float32]
"""H×W weights in [0, 1]."""
Points = NDArray[np.float32]
"""(N, 2) pixel coordinates."""


@dataclass(frozen=True)
class VideoInfo:
    """What the decoder learned about a video before reading its frames."""

    width: int
    """Displayed width (after rotation)."""
    height: int
    """Displayed height (after rotation)."""
    average_rate: Fraction
    """Nominal frame rate (e.g. 30000/1001)."""
    time_base: Fraction
    """Time base of the video stream's timestamps."""
    frame_count: int
    """Number of frames (counted by the container, or estimated when it does not say)."""
    duration_seconds: float
    rotation: int
    """Clockwise degrees the player turns the stored picture (0, 90, 180, 270)."""
    has_audio: bool
    codec: str
    planes_matrix: tuple[float, float] | None = None
    """When the frames are 8-bit 4:2:0 in limited range and even-sized: the (Kr, Kb)
    weights of their YUV matrix (``picture.BT601`` or ``BT709``). The swap then edits
    the decoder's planes and the output keeps this matrix; otherwise (None) frames go
    through BGR and the output is BT.709."""


@dataclass(frozen=True)
class Frame:
    """One decoded, upright frame and its original timestamp."""

    index: int
    image: Picture
    """BGR, or the decoder's planes (``read_frames(..., planes=True)``)."""
    pts: int | None
    """Presentation timestamp in ``VideoInfo.time_base`` units (kept, so VFR survives)."""


@dataclass(frozen=True)
class Detection:
    """A face box from the detector, in frame pixels."""

    box: tuple[float, float, float, float]
    """x0, y0, x1, y1."""
    score: float
    keypoints: Points
    """Six BlazeFace keypoints: right eye, left eye, nose tip, mouth, right ear, left ear."""


@dataclass
class FaceObservation:
    """A tracked face in one frame: its mesh points and the track it belongs to."""

    track_id: int
    landmarks: Points
    """(470, 2) in frame pixels, smoothed over time: the 468 mesh points, then the two
    iris centres (``topology.RIGHT_IRIS``, ``LEFT_IRIS``)."""
    depth: NDArray[np.float32]
    """(468,) relative depth of each mesh point (larger is further from the camera)."""
    eye_closure: tuple[float, float] = (0.0, 0.0)
    """(right, left): 0 while the eye is as open as usual for this face, 1 when shut."""
    rest: NDArray[np.float64] | None = None
    """The track's resting mesh (468, 3; ``align.rest_shape``), one array shared by all
    its observations; None for a face seen on its own."""


@dataclass
class SwapReport:
    """What ``swap_video`` did: counts, durations, timings and warnings."""

    frames: int
    frames_swapped: int
    video_seconds: float
    output: str
    stage_seconds: dict[str, float] = field(default_factory=dict)
    """Time spent in each stage; stages run in parallel threads, so the sum can exceed
    the wall time."""
    warnings: list[str] = field(default_factory=list)

    @property
    def coverage(self) -> float:
        """Share of frames in which a face was replaced."""
        return self.frames_swapped / self.frames if self.frames else 0.0

    def summary(self) -> str:
        """One line for humans: counts, coverage and the slowest stages."""
        slowest = sorted(self.stage_seconds.items(), key=lambda kv: -kv[1])[:3]
        stages = ", ".join(f"{name} {secs:.1f}s" for name, secs in slowest)
        return (
            f"{self.frames_swapped}/{self.frames} frames swapped "
            f"({self.coverage:.0%}), {self.video_seconds:.1f}s of video -> {self.output}"
            + (f" [{stages}]" if stages else "")
            + (f"; {len(self.warnings)} warning(s)" if self.warnings else "")
        )
