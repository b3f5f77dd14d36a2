"""The 468-point face mesh: crop a rotated square around the face, run the model, map back.

The crop (a region of interest, ROI) comes from a detection on the first frame of a
track and from the previous frame's mesh afterwards, which is both cheaper and steadier
than detecting again.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from faceswap_nb.engine import picture
from faceswap_nb.engine.models import ANALYSIS_THREADS, FACE_MESH, TFLiteModel
from faceswap_nb.engine.picture import Picture
from faceswap_nb.engine.topology import LEFT_EYE_CORNER, RIGHT_EYE_CORNER
from faceswap_nb.engine.types import Detection, Points

_ROI_SCALE = 1.5
_MIN_PRESENCE = 0.5


@dataclass(frozen=True)
class Roi:
    """A rotated square in frame pixels: centre, side length and roll in radians."""

    cx: float
    cy: float
    size: float
    angle: float

    @classmethod
    def around(cls, points: Points, angle: float, scale: float) -> Roi:
        """The square, rolled by ``angle``, around ``points`` seen in that roll: centred
        on their box, its side ``scale`` times the box's longer side."""
        cos, sin = np.cos(angle), np.sin(angle)
        roll = np.array([[cos, -sin], [sin, cos]], np.float32)
        rolled = points @ roll
        lo, hi = rolled.min(0), rolled.max(0)
        centre = roll @ ((lo + hi) / 2)
        return cls(float(centre[0]), float(centre[1]), float((hi - lo).max()) * scale, angle)

    def to_crop(self, side: int) -> NDArray[np.float64]:
        """2×3 affine matrix mapping frame pixels into a ``side``-pixel crop."""
        scale = side / self.size
        cos, sin = np.cos(self.angle) * scale, np.sin(self.angle) * scale
        return np.array(
            [
                [cos, sin, side / 2 - cos * self.cx - sin * self.cy],
                [-sin, cos, side / 2 + sin * self.cx - cos * self.cy],
            ]
        )


def face_width(points: Points) -> float:
    """Face size in pixels: the geometric mean of the mesh box sides (roughly roll-invariant)."""
    return float(np.sqrt(np.prod(np.ptp(points, axis=0))))


def roi_from_detection(detection: Detection) -> Roi:
    """Square ROI around a detector box, rolled so the eyes are level."""
    x0, y0, x1, y1 = detection.box
    right_eye, left_eye = detection.keypoints[0], detection.keypoints[1]
    angle = float(np.arctan2(left_eye[1] - right_eye[1], left_eye[0] - right_eye[0]))
    size = max(x1 - x0, y1 - y0) * _ROI_SCALE
    return Roi((x0 + x1) / 2, (y0 + y1) / 2, size, angle)


def roi_from_landmarks(landmarks: Points) -> Roi:
    """Square ROI around a previous mesh, in the mesh's own rolled frame."""
    right, left = landmarks[RIGHT_EYE_CORNER], landmarks[LEFT_EYE_CORNER]
    angle = float(np.arctan2(left[1] - right[1], left[0] - right[0]))
    return Roi.around(landmarks, angle, _ROI_SCALE)


class FaceMesh:
    """Runs the 468-point mesh on a ROI of a frame."""

    def __init__(self, *, num_threads: int = ANALYSIS_THREADS) -> None:
        self._model = TFLiteModel(FACE_MESH, num_threads=num_threads)
        self._side = self._model.input_size[0]

    def __call__(
        self, image: Picture, roi: Roi
    ) -> tuple[Points, NDArray[np.float32], float] | None:
        """Mesh points (468, 2) in frame pixels, their depth (468,) and presence score.

        Returns ``None`` when the model says the crop holds no face (the track is lost).
        """
        to_crop = roi.to_crop(self._side)
        crop = picture.crop(image, to_crop, (self._side, self._side))
        tensor = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32)[None] / 255.0
        raw, presence_logit = self._model(tensor)
        presence = float(1.0 / (1.0 + np.exp(-np.clip(presence_logit.ravel()[0], -80, 80))))
        if presence < _MIN_PRESENCE:
            return None
        mesh = raw.reshape(468, 3)
        to_frame = cv2.invertAffineTransform(to_crop)
        points = mesh[:, :2] @ to_frame[:, :2].T.astype(np.float32) + to_frame[:, 2].astype(
            np.float32
        )
        depth = mesh[:, 2] * np.float32(roi.size / self._side)
        return points.astype(np.float32), depth.astype(np.float32), presence
