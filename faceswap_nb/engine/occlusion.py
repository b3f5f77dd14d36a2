"""Occlusion-aware mode: find what is in front of the target face, so it stays in front.

Two cues, combined:

* **hands** — MediaPipe palm detection + hand landmarks in the face's neighbourhood;
  skin in front of skin defeats colour cues, so hands get a model of their own;
* **appearance** — the target's skin is modelled per frame (robust median and spread of
  its CIELAB colour over the mesh, away from brows, eyes, lips and nostrils); pixels far
  from it (microphones, hair, glasses frames, scarves, props) are occluders.

The mask is cleaned with small morphology, softened at its edge and smoothed over time
per track, so the occluder's outline neither flickers nor shows a hard cut.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from faceswap_nb.engine.hands import HandFinder, hand_mask
from faceswap_nb.engine.light import to_lab
from faceswap_nb.engine.topology import (
    LEFT_BROW,
    LEFT_EYE_RING,
    NOSTRILS,
    OUTER_LIPS_RING,
    RIGHT_BROW,
    RIGHT_EYE_RING,
)
from faceswap_nb.engine.types import Image, Mask, Points
from faceswap_nb.engine.warp import Region

# Mesh points around the parts of a face whose colour is not skin.
FEATURES = (RIGHT_BROW, LEFT_BROW, RIGHT_EYE_RING, LEFT_EYE_RING, OUTER_LIPS_RING, NOSTRILS)
_CHROMA_LIMIT = 4.5  # robust standard deviations from the skin's colour
_DARK_SPREADS = 3.5  # shading spreads L widely: only much darker than the skin counts
_DARK_MARGIN = 20.0  # L units, at least
_MIN_SPREAD = 2.0
_STATISTICS_SAMPLES = 4000
_TEMPORAL_KEEP = 0.5
PALM_EVERY = 2
"""The palm detector runs on every ``PALM_EVERY``-th frame of a face; hands it found
are followed in between by the landmark model alone. The detector was 12 of the ~20 ms
a frame that advanced mode adds, following a hand costs ~4; and a hand reaching for
the face shows in the searched crop (0.6 face widths around it) before it covers it."""


def feature_mask(points: Points, region: Region, face_width: float) -> NDArray[np.bool_]:
    """Brows, eyes, lips and nostrils (grown a little), where non-skin colour is normal."""
    width, height = region.size
    mask = np.zeros((height, width), np.uint8)
    offset = np.array([region.x0, region.y0], np.float32)
    for group in FEATURES:
        hull = cv2.convexHull(np.round(points[list(group)] - offset).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 1)
    grow = max(1, int(0.04 * face_width))
    return cv2.dilate(mask, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)) > 0


def appearance_occluders(lab: NDArray[np.float32], skin: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Pixels whose colour is far from the face's own skin.

    Args:
        lab: the target window in CIELAB.
        skin: where the face's skin should be (mesh-covered, not a feature).
    """
    samples = lab[skin]
    if len(samples) < 50:
        return np.zeros(lab.shape[:2], bool)
    # A few thousand pixels pin the median and its spread as well as all of them (a
    # 720p face has ~40 000), at a tenth of the sorting.
    samples = samples[:: max(1, len(samples) // _STATISTICS_SAMPLES)]
    median = np.median(samples, axis=0)
    spread = np.maximum(1.4826 * np.median(np.abs(samples - median), axis=0), _MIN_SPREAD)
    chroma = np.hypot((lab[..., 1] - median[1]) / spread[1], (lab[..., 2] - median[2]) / spread[2])
    dark_limit = median[0] - max(_DARK_SPREADS * spread[0], _DARK_MARGIN)
    return (chroma > _CHROMA_LIMIT) | (lab[..., 0] < dark_limit)


def unlike_skin(
    image: Image, points: Points, region: Region, covered: NDArray[np.bool_], face_width: float
) -> NDArray[np.bool_]:
    """Mesh-covered pixels of ``region`` whose colour is not the face's skin.

    The mesh can spill over hair or background (the far cheek of a turned head); in
    advanced mode the lighting takes no statistics there. The default mode does not look:
    leaving these pixels out of its lighting changed neither the lighting correlation
    (0.93) nor the orange patch on the three-quarter clip's far cheek, for 1–2 ms a frame.
    """
    skin = covered & ~feature_mask(points, region, face_width)
    return appearance_occluders(to_lab(region.of(image)), skin) & covered


def clean(mask: NDArray[np.bool_], face_width: float) -> Mask:
    """Drop speckles, close gaps and soften the edge of a raw occluder mask."""
    size = max(3, int(0.03 * face_width) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    opened = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    closed = cv2.morphologyEx(opened, cv2.MORPH_CLOSE, kernel)
    grown = cv2.dilate(closed, kernel)
    return cv2.GaussianBlur(grown.astype(np.float32), (0, 0), max(1.0, size / 3))


def hand_search_region(region: Region, shape: tuple[int, ...]) -> Region | None:
    """Where ``OcclusionFinder`` looks for hands over the face in ``region``.

    Hands far from the face cannot cover it; a crop around the face is cheaper to
    search and shows the hand larger to the palm detector.
    """
    width, height = region.size
    corners = np.array([[region.x0, region.y0], [region.x1, region.y1]], np.float32)
    return Region.around(corners, shape, margin=0.6 * max(width, height))


class OcclusionFinder:
    """Per-frame occluder masks for tracked faces, smoothed over time per track."""

    def __init__(self) -> None:
        self._hands = HandFinder()
        self._previous: dict[int, tuple[Region, Mask]] = {}
        # Per track: frames seen so far, and the hands found in the last (frame pixels).
        self._followed: dict[int, tuple[int, list[Points]]] = {}

    def __call__(
        self, frame: Image, track_id: int, points: Points, region: Region,
        covered: NDArray[np.bool_], face_width: float,
    ) -> Mask:
        """How much each pixel of ``region`` is occluded (0 = face, 1 = occluder)."""
        raw = unlike_skin(frame, points, region, covered, face_width)
        hands = hand_mask(self._hands_near(frame, track_id, region),
                          (region.size[1], region.size[0]), (region.x0, region.y0))
        mask = np.maximum(clean(raw, face_width), hands)
        return self._steady(track_id, region, mask)

    def _hands_near(self, frame: Image, track_id: int, region: Region) -> list[Points]:
        around = hand_search_region(region, frame.shape)
        if around is None:
            return []
        seen, followed = self._followed.get(track_id, (0, []))
        offset = np.array([around.x0, around.y0], np.float32)
        in_crop = self._hands(
            np.ascontiguousarray(around.of(frame)),
            [hand - offset for hand in followed],
            detect=seen % PALM_EVERY == 0,
        )
        hands = [points + offset for points in in_crop]
        self._followed[track_id] = (seen + 1, hands)
        return hands

    def _steady(self, track_id: int, region: Region, mask: Mask) -> Mask:
        previous = self._previous.get(track_id)
        self._previous[track_id] = (region, mask)
        if previous is None:
            return mask
        old_region, old_mask = previous
        shifted = np.zeros_like(mask)
        x0, y0 = max(region.x0, old_region.x0), max(region.y0, old_region.y0)
        x1, y1 = min(region.x1, old_region.x1), min(region.y1, old_region.y1)
        if x1 <= x0 or y1 <= y0:
            return mask
        shifted[y0 - region.y0 : y1 - region.y0, x0 - region.x0 : x1 - region.x0] = old_mask[
            y0 - old_region.y0 : y1 - old_region.y0, x0 - old_region.x0 : x1 - old_region.x0
        ]
        # Fading the last mask out (never in) keeps an occluder's moving edge covered
        # without letting the mask flicker from frame to frame.
        steady = np.maximum(mask, _TEMPORAL_KEEP * shifted)
        self._previous[track_id] = (region, steady)
        return steady
