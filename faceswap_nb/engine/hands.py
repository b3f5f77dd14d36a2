"""Hands in front of the face: MediaPipe palm detection + 21 hand landmarks → a mask.

Hands are the most common occluder and the hardest for colour cues (skin in front of
skin), so they get their own model. The mask is drawn from the landmarks: a filled
palm polygon and a thick stroke along every finger bone.

The palm detector is the costly model; a hand already found is followed into the next
frame by the landmark model alone, from a ROI around its last landmarks (MediaPipe's
own hand-tracking scheme), so the detector need not run on every frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

from faceswap_nb.engine.detect import decode, letterbox, ssd_anchors, weighted_nms
from faceswap_nb.engine.landmarks import Roi
from faceswap_nb.engine.models import HAND_LANDMARKS, PALM_DETECTOR, TFLiteModel
from faceswap_nb.engine.types import Image, Mask, Points

_PALM_INPUT = 192
_PALM_MIN_SCORE = 0.5
_HAND_MIN_PRESENCE = 0.5
_WRIST, _MIDDLE_MCP = 0, 2  # palm keypoints that set the hand's direction
_HAND_WRIST, _HAND_MIDDLE_BASE = 0, 9  # the same two among the 21 hand landmarks
_FOLLOW_SCALE = 2.0  # ROI side / the hand's extent when following it (MediaPipe's value)
_PALM = (0, 1, 5, 9, 13, 17)
FINGERS = ((0, 1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))


def hand_roi(landmarks: Points) -> Roi:
    """The ROI that follows a hand into the next frame: around its 21 landmarks, rotated
    so the fingers point up, with room for the hand to move and open."""
    wrist, middle = landmarks[_HAND_WRIST], landmarks[_HAND_MIDDLE_BASE]
    angle = float(np.arctan2(middle[1] - wrist[1], middle[0] - wrist[0])) + np.pi / 2
    return Roi.around(landmarks, angle, _FOLLOW_SCALE)


def palm_roi(box: NDArray[np.float32], keypoints: Points) -> Roi:
    """The hand's ROI from a palm: rotated so the fingers point up, grown to hold them."""
    wrist, middle = keypoints[_WRIST], keypoints[_MIDDLE_MCP]
    angle = float(np.arctan2(middle[1] - wrist[1], middle[0] - wrist[0])) + np.pi / 2
    size = float(max(box[2] - box[0], box[3] - box[1])) * 2.6
    centre = (box[:2] + box[2:]) / 2
    # The fingers extend beyond the palm: shift the centre half a palm towards them.
    up = np.array([np.sin(angle), -np.cos(angle)], np.float32)
    centre = centre + up * (size / 2.6) * 0.5
    return Roi(float(centre[0]), float(centre[1]), size, angle)


class HandFinder:
    """Finds hands in a frame and returns their landmarks."""

    def __init__(self) -> None:
        self._palms = TFLiteModel(PALM_DETECTOR)
        self._landmarks = TFLiteModel(HAND_LANDMARKS)
        self._anchors = ssd_anchors(_PALM_INPUT, ((8, 2), (16, 6)))

    def palms(self, image: Image) -> list[Roi]:
        """ROIs of every palm in ``image``."""
        tensor, scale, pad_x, pad_y = letterbox(image, _PALM_INPUT, (0.0, 1.0))
        raw_boxes, raw_scores = self._palms(tensor)
        boxes, scores, keypoints = decode(
            raw_boxes, raw_scores, self._anchors, size=_PALM_INPUT, min_score=_PALM_MIN_SCORE
        )
        offset = np.array([pad_x, pad_y], np.float32)
        rois = []
        for box, _, points in weighted_nms(boxes, scores, keypoints):
            frame_box = ((box.reshape(2, 2) * _PALM_INPUT - offset) / scale).ravel()
            frame_points = (points * _PALM_INPUT - offset) / scale
            rois.append(palm_roi(frame_box.astype(np.float32), frame_points.astype(np.float32)))
        return rois

    def landmarks(self, image: Image, roi: Roi) -> Points | None:
        """21 hand landmarks in frame pixels, or None when the ROI holds no hand."""
        side = self._landmarks.input_size[0]
        to_crop = roi.to_crop(side)
        crop = cv2.warpAffine(image, to_crop, (side, side), borderMode=cv2.BORDER_CONSTANT)
        tensor = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32)[None] / 255.0
        raw, presence, *_ = self._landmarks(tensor)
        if float(presence.ravel()[0]) < _HAND_MIN_PRESENCE:
            return None
        points = raw.reshape(21, 3)[:, :2]
        to_frame = cv2.invertAffineTransform(to_crop)
        return (points @ to_frame[:, :2].T + to_frame[:, 2]).astype(np.float32)

    def __call__(
        self, image: Image, following: Sequence[Points] = (), *, detect: bool = True
    ) -> list[Points]:
        """Landmarks of every hand in ``image``.

        Args:
            following: hands found in the previous frame (landmarks in ``image``'s
                pixels), looked for again around where they were.
            detect: also run the palm detector, for hands not followed yet.
        """
        found = [self.landmarks(image, hand_roi(hand)) for hand in following]
        hands = [points for points in found if points is not None]
        for roi in self.palms(image) if detect else []:
            if any(_inside(roi, hand) for hand in hands):
                continue  # a hand already followed
            points = self.landmarks(image, roi)
            if points is not None:
                hands.append(points)
        return hands


def _inside(roi: Roi, hand: Points) -> bool:
    lo, hi = hand.min(0), hand.max(0)
    return bool(lo[0] <= roi.cx <= hi[0] and lo[1] <= roi.cy <= hi[1])


def hand_mask(hands: list[Points], shape: tuple[int, int], offset: tuple[int, int]) -> Mask:
    """A mask of ``shape`` (height, width) covering every hand; ``offset`` is its origin."""
    mask = np.zeros(shape, np.uint8)
    for points in hands:
        local = np.round(points - np.array(offset, np.float32)).astype(np.int32)
        # Finger thickness scales with the hand: a fraction of the wrist-to-knuckle length.
        thickness = max(3, int(np.hypot(*(points[9] - points[0])) * 0.35))
        cv2.fillConvexPoly(mask, cv2.convexHull(local[list(_PALM)]), 1)
        for finger in FINGERS:
            cv2.polylines(mask, [local[list(finger)]], False, 1, thickness, cv2.LINE_AA)
            cv2.circle(mask, tuple(int(v) for v in local[finger[-1]]), thickness // 2, 1, -1)
    return mask.astype(np.float32)
