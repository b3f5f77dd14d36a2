"""Face measurements by tools the engine does not use, and the per-frame metrics on them.

dlib's HOG detector finds faces, its 68-point shape predictor places landmarks and its
ResNet model embeds identity (128-d; two photos of one person are usually < 0.6 apart).
Everything below ``Judge`` is plain NumPy/OpenCV on landmark arrays and frames, so the
metrics are unit-tested without dlib.

Landmark indices follow the iBUG 68-point scheme: jaw 0–16, brows 17–26, nose 27–35,
eyes 36–41 and 42–47, outer lips 48–59, inner lips 60–67.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from faceswap_nb.engine.types import Image

Box = tuple[float, float, float, float]
"""x0, y0, x1, y1 in frame pixels."""
Landmarks = NDArray[np.float32]
"""(68, 2) iBUG points in frame pixels."""

_DETECT_SIDE = 640
"""HOG detection runs on frames shrunk to this long side: its cost grows with pixels,
and faces in the test clips stay above the detector's ~80 px minimum at this size."""

# A generic head (millimetres) in camera axes — x right, y down, z away from the camera —
# for the points that move least with expression: nose tip, chin, outer eye corners,
# mouth corners (the usual six-point model).
_HEAD_MODEL = np.array(
    [(0, 0, 0), (0, 330, 65), (-225, -170, 135), (225, -170, 135), (-150, 150, 125), (150, 150, 125)],
    np.float64,
)
_HEAD_POINTS = [30, 8, 36, 45, 48, 54]
_HEAD_EYE_SPAN = 450.0
"""Distance between the model's outer eye corners."""


@dataclass(frozen=True)
class Face:
    """One face found by the judge: its detector box and 68 landmarks."""

    box: Box
    points: Landmarks

    @property
    def width(self) -> float:
        """Jaw width (points 0–16), the scale the metrics size their kernels by."""
        return float(np.linalg.norm(self.points[16] - self.points[0]))

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return (x1 - x0) * (y1 - y0)


class Judge:
    """dlib's detector, landmark predictor and embedding, loaded once (~100 MB)."""

    def __init__(self) -> None:
        import dlib
        import face_recognition_models as models

        self._dlib: Any = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(models.pose_predictor_model_location())
        self._embedder = dlib.face_recognition_model_v1(models.face_recognition_model_location())

    def faces(self, image: Image) -> list[Face]:
        """All frontal-ish faces in a BGR image, with landmarks at full resolution."""
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        scale = min(1.0, _DETECT_SIDE / max(image.shape[:2]))
        small = rgb
        if scale < 1.0:
            small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        rects: list[Any] = []
        for upsample in (0, 1):  # upsampling finds small faces but costs ~4x, so only on a miss
            rects = list(self._detector(small, upsample))
            if rects:
                break
        faces = []
        for rect in rects:
            box = (rect.left() / scale, rect.top() / scale, rect.right() / scale, rect.bottom() / scale)
            faces.append(Face(box, self._landmarks(rgb, box)))
        return faces

    def embedding(self, image: Image, face: Face) -> NDArray[np.float32]:
        """128-d identity embedding of ``face`` in the BGR ``image``."""
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        shape = self._predictor(rgb, self._rect(face.box))
        return np.asarray(self._embedder.compute_face_descriptor(rgb, shape), np.float32)

    def _landmarks(self, rgb: NDArray[np.uint8], box: Box) -> Landmarks:
        shape = self._predictor(rgb, self._rect(box))
        return np.array([(p.x, p.y) for p in shape.parts()], np.float32)

    def _rect(self, box: Box) -> Any:
        return self._dlib.rectangle(*(int(round(v)) for v in box))


def largest(faces: list[Face]) -> Face | None:
    """The face with the largest box (the engine's ``faces="largest"`` rule)."""
    return max(faces, key=lambda face: face.area, default=None)


def box_iou(first: Box, second: Box) -> float:
    """Intersection over union of two boxes."""
    x0, y0 = max(first[0], second[0]), max(first[1], second[1])
    x1, y1 = min(first[2], second[2]), min(first[3], second[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    areas = (first[2] - first[0]) * (first[3] - first[1]) + (second[2] - second[0]) * (second[3] - second[1])
    union = areas - inter
    return inter / union if union > 0 else 0.0


def match(faces: list[Face], box: Box, min_iou: float = 0.3) -> Face | None:
    """The face overlapping ``box`` most, if it overlaps at least ``min_iou``."""
    best = max(faces, key=lambda face: box_iou(face.box, box), default=None)
    return best if best is not None and box_iou(best.box, box) >= min_iou else None


def pearson(first: NDArray[Any] | list[float], second: NDArray[Any] | list[float]) -> float | None:
    """Pearson correlation, or ``None`` when either series is constant or too short."""
    x, y = np.asarray(first, np.float64).ravel(), np.asarray(second, np.float64).ravel()
    if x.size < 3 or x.std() < 1e-9 or y.std() < 1e-9:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def _distance(points: Landmarks, one: int, two: int) -> float:
    return float(np.linalg.norm(points[one] - points[two]))


def mouth_opening(points: Landmarks) -> float:
    """Inner-lip gap (pairs 61–67, 62–66, 63–65) over mouth width (corners 48–54)."""
    gap = np.mean([_distance(points, 61, 67), _distance(points, 62, 66), _distance(points, 63, 65)])
    return float(gap / max(_distance(points, 48, 54), 1e-6))


def eye_aspect_ratio(points: Landmarks) -> float:
    """Soukupová–Čech eye aspect ratio, averaged over both eyes (~0.3 open, < 0.2 shut)."""
    ratios = []
    for first in (36, 42):
        p = [first + k for k in range(6)]
        height = _distance(points, p[1], p[5]) + _distance(points, p[2], p[4])
        ratios.append(height / max(2 * _distance(points, p[0], p[3]), 1e-6))
    return float(np.mean(ratios))


def head_pose(points: Landmarks, frame_size: tuple[int, int]) -> NDArray[np.float64]:
    """(yaw, pitch, roll) in degrees from a generic head model fitted to six landmarks.

    Args:
        points: the face's landmarks.
        frame_size: (height, width) of the frame; the focal length is taken as the width.
    """
    height, width = frame_size
    camera = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1]], np.float64)
    image_points = points[_HEAD_POINTS].astype(np.float64)
    # Start from a frontal head at the distance its eye span implies: without a guess the
    # solver sometimes lands on the mirrored solution (roll near 180°) on turned faces.
    eye_span = max(float(np.linalg.norm(points[45] - points[36])), 1.0)
    depth = width * _HEAD_EYE_SPAN / eye_span
    centre = image_points.mean(axis=0)
    offset = (centre - np.array([width / 2, height / 2])) * depth / width
    translation = np.array([[offset[0]], [offset[1]], [depth]])
    _, rotation, _ = cv2.solvePnP(
        _HEAD_MODEL, image_points, camera, None, np.zeros((3, 1)), translation, True, cv2.SOLVEPNP_ITERATIVE
    )
    matrix, _ = cv2.Rodrigues(rotation)
    pitch, yaw, roll = cv2.RQDecomp3x3(matrix)[0]
    return np.array([yaw, pitch, roll])


def angle_difference(first: NDArray[np.float64], second: NDArray[np.float64]) -> NDArray[np.float64]:
    """Signed angle differences ``first - second`` in degrees, wrapped into [-180, 180)
    so that 179° vs −179° is −2°, not 358°."""
    return (np.asarray(first) - np.asarray(second) + 180.0) % 360.0 - 180.0


def _crop(
    points: Landmarks, shape: tuple[int, ...], margin: float
) -> tuple[slice, slice, NDArray[np.float32]]:
    """Rows, columns and crop-local points of the landmarks' bounding box grown by ``margin`` px."""
    x0, y0 = np.floor(points.min(axis=0) - margin).astype(int)
    x1, y1 = np.ceil(points.max(axis=0) + margin).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, shape[1]), min(y1, shape[0])
    return slice(y0, y1), slice(x0, x1), points - np.array([x0, y0], np.float32)


def _kernel(size: float) -> NDArray[np.uint8]:
    side = max(3, int(round(size)) | 1)
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))


def lighting_correlation(original: Image, output: Image, points: Landmarks) -> float | None:
    """Pearson r of the blurred LAB lightness of output vs original inside the face.

    The face is the convex hull of the original's landmarks, eroded by ~4 % of the face
    width so that the jaw edge (where a swap may legitimately differ) does not count; the
    blur (sigma = face width / 10) keeps shading and drops texture, which a swap changes.
    """
    width = float(np.linalg.norm(points[16] - points[0]))
    sigma = max(width / 10, 1.0)
    rows, cols, local = _crop(points, original.shape, 3 * sigma)
    face = np.zeros(original[rows, cols].shape[:2], np.uint8)
    cv2.fillConvexPoly(face, cv2.convexHull(np.round(local).astype(np.int32)), 1)
    face = cv2.erode(face, _kernel(0.04 * width)).astype(bool)
    lightness = []
    for image in (original, output):
        lab = cv2.cvtColor(image[rows, cols], cv2.COLOR_BGR2LAB)[..., 0].astype(np.float32)
        lightness.append(cv2.GaussianBlur(lab, (0, 0), sigma)[face])
    return pearson(lightness[0], lightness[1])


def face_outline(points: Landmarks) -> NDArray[np.float32]:
    """Closed outline of the whole face: jaw 0–16, then the brows (26→17) lifted into a
    forehead arc by a quarter of the brow-to-chin height, along the face's own up axis."""
    brows = points[17:27]
    up = brows.mean(axis=0) - points[8]
    height = float(np.linalg.norm(up))
    lift = up / max(height, 1e-6) * 0.25 * height
    return np.concatenate([points[0:17], (brows + lift)[::-1]]).astype(np.float32)


def seam_band(points: Landmarks, shape: tuple[int, int]) -> NDArray[np.bool_]:
    """A thin band (~3 % of the face width, >= 3 px) along ``face_outline`` in an image of ``shape``."""
    width = float(np.linalg.norm(points[16] - points[0]))
    inside = np.zeros(shape, np.uint8)
    cv2.fillPoly(inside, [np.round(face_outline(points)).astype(np.int32)], 1)
    kernel = _kernel(0.03 * width)
    return cv2.dilate(inside, kernel) > cv2.erode(inside, kernel)


def mean_gradient(image: Image, where: NDArray[np.bool_]) -> float:
    """Mean Sobel gradient magnitude of the grayscale image over ``where``."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    magnitude = cv2.magnitude(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
    return float(magnitude[where].mean()) if where.any() else 0.0


def seam_ratio(original: Image, output: Image, points: Landmarks) -> float | None:
    """Edge strength along the face outline, output over original (1 = no added seam)."""
    width = float(np.linalg.norm(points[16] - points[0]))
    rows, cols, local = _crop(points, original.shape, 0.5 * width)
    band = seam_band(local, original[rows, cols].shape[:2])
    reference = mean_gradient(original[rows, cols], band)
    return mean_gradient(output[rows, cols], band) / reference if reference > 0 else None


def box_change(previous: Image, current: Image, box: Box) -> float:
    """Mean absolute grayscale change between two frames inside ``box``."""
    x0, y0 = max(int(box[0]), 0), max(int(box[1]), 0)
    x1, y1 = min(int(box[2]), current.shape[1]), min(int(box[3]), current.shape[0])
    if x1 <= x0 or y1 <= y0:
        return 0.0
    before, after = (
        cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY).astype(np.int16)
        for image in (previous, current)
    )
    return float(np.abs(after - before).mean())
