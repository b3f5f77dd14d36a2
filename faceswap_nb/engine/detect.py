"""Face detection: MediaPipe BlazeFace (full range) — anchors, box decoding, weighted NMS.

The model sees a 192×192 letterboxed copy of the frame and scores 2304 anchors (a 48×48
grid, stride 4). Full range finds faces down to ~5 % of the frame height, which the
short-range model misses at 720p.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from faceswap_nb.engine import picture
from faceswap_nb.engine.models import ANALYSIS_THREADS, FACE_DETECTOR, TFLiteModel
from faceswap_nb.engine.picture import Picture
from faceswap_nb.engine.types import Detection

_INPUT = 192
_STRIDE = 4  # one anchor per cell of a 48×48 grid
_MIN_SCORE = 0.6
_NMS_IOU = 0.3


def ssd_anchors(size: int, layers: tuple[tuple[int, int], ...]) -> NDArray[np.float32]:
    """Anchor centres in [0, 1] of a square SSD input, in the model's output order.

    Args:
        size: input side in pixels.
        layers: (stride, anchors per cell) for each feature map, finest first.
    """
    grids = []
    for stride, per_cell in layers:
        cells = size // stride
        centres = (np.arange(cells, dtype=np.float32) + 0.5) / cells
        ys, xs = np.meshgrid(centres, centres, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        grids.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(grids)


def letterbox(
    image: Picture, size: int = _INPUT, value_range: tuple[float, float] = (-1.0, 1.0)
) -> tuple[NDArray[np.float32], float, float, float]:
    """Resize keeping the aspect ratio and pad to a square ``size`` RGB tensor.

    Pixel values are mapped linearly onto ``value_range``.

    Returns the (1, size, size, 3) RGB tensor, the scale and the x/y padding (in input
    pixels) needed to map model coordinates back to the frame.
    """
    height, width = image.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = picture.resized(image, (new_w, new_h))
    pad_x, pad_y = (size - new_w) / 2, (size - new_h) / 2
    canvas = np.zeros((size, size, 3), np.uint8)
    top, left = int(pad_y), int(pad_x)
    canvas[top : top + new_h, left : left + new_w] = resized
    low, high = value_range
    tensor = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB).astype(np.float32) * ((high - low) / 255.0) + low
    return tensor[None], scale, float(left), float(top)


def decode(
    raw_boxes: NDArray[np.float32], raw_scores: NDArray[np.float32], anchor_xy: NDArray[np.float32],
    *, size: int = _INPUT, min_score: float = _MIN_SCORE,
) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]:
    """Turn raw SSD outputs into boxes (N, 4: x0 y0 x1 y1), scores (N,), keypoints (N, K, 2).

    Coordinates are in [0, 1] of the model input; only anchors scoring at least
    ``min_score`` are kept.
    """
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores.reshape(-1), -80, 80)))
    keep = scores >= min_score
    raw = raw_boxes.reshape(len(anchor_xy), -1)[keep] / size
    num_keypoints = (raw.shape[1] - 4) // 2
    anchor = anchor_xy[keep]
    centre = raw[:, :2] + anchor
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = raw[:, 4:].reshape(len(raw), num_keypoints, 2) + anchor[:, None, :]
    return boxes, scores[keep], keypoints


def iou(box: NDArray[np.float32], others: NDArray[np.float32]) -> NDArray[np.float32]:
    """Intersection over union of one box against many (x0, y0, x1, y1)."""
    x0 = np.maximum(box[0], others[:, 0])
    y0 = np.maximum(box[1], others[:, 1])
    x1 = np.minimum(box[2], others[:, 2])
    y1 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(
    boxes: NDArray[np.float32], scores: NDArray[np.float32], keypoints: NDArray[np.float32]
) -> list[tuple[NDArray[np.float32], float, NDArray[np.float32]]]:
    """MediaPipe's weighted NMS: overlapping candidates are averaged by score, not dropped.

    Averaging steadies the box from frame to frame, which plain NMS does not.
    """
    order = np.argsort(-scores)
    remaining = order
    faces = []
    while remaining.size:
        overlap = iou(boxes[remaining[0]], boxes[remaining])
        group = remaining[overlap > _NMS_IOU]
        weights = scores[group][:, None]
        box = (boxes[group] * weights).sum(0) / weights.sum()
        points = (keypoints[group] * weights[:, :, None]).sum(0) / weights.sum()
        faces.append((box, float(scores[remaining[0]]), points))
        remaining = remaining[overlap <= _NMS_IOU]
    return faces


class FaceDetector:
    """Finds faces in a frame; call it with a BGR image."""

    def __init__(self, *, num_threads: int = ANALYSIS_THREADS) -> None:
        self._model = TFLiteModel(FACE_DETECTOR, num_threads=num_threads)
        self._anchors = ssd_anchors(_INPUT, ((_STRIDE, 1),))

    def __call__(self, image: Picture) -> list[Detection]:
        """Every face in ``image``, largest first, in frame pixels."""
        tensor, scale, pad_x, pad_y = letterbox(image)
        raw_boxes, raw_scores = self._model(tensor)
        boxes, scores, keypoints = decode(raw_boxes, raw_scores, self._anchors)
        found = []
        for box, score, points in weighted_nms(boxes, scores, keypoints):
            to_frame = np.array([pad_x, pad_y], np.float32)
            corners = (box.reshape(2, 2) * _INPUT - to_frame) / scale
            kps = ((points * _INPUT - to_frame) / scale).astype(np.float32)
            found.append(Detection(tuple(corners.ravel().tolist()), score, kps))
        return sorted(found, key=_area, reverse=True)


def _area(detection: Detection) -> float:
    x0, y0, x1, y1 = detection.box
    return (x1 - x0) * (y1 - y0)
