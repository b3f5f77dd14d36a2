"""Masks: where the new face is drawn, and how softly its edges fade into the frame.

The outline fades over a band inside the face (a fraction of its width) so the jaw,
hairline and temples of the target stay untouched; the mouth's hole keeps a narrow
fade so the lips stay crisp. The target's lips are kept with a soft band
around them (``part_weights``).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from faceswap_nb.engine.types import Mask


def smoothstep(x: NDArray[np.floating]) -> NDArray[np.floating]:
    """0 below 0, 1 above 1, and a smooth S between: a ramp without a visible edge."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def fill_holes(covered: NDArray[np.bool_]) -> NDArray[np.uint8]:
    """The face's outer silhouette: ``covered`` with its holes (the mouth) filled."""
    contours, _ = cv2.findContours(covered.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    silhouette = np.zeros(covered.shape, np.uint8)
    cv2.drawContours(silhouette, contours, -1, 1, thickness=cv2.FILLED)
    return silhouette


def blend_weights(
    covered: NDArray[np.bool_], face_width: float, *, inset: float = 0.04, fade: float = 0.08,
    hole_fade: float = 1.5,
) -> Mask:
    """Per-pixel weight of the new face: 0 outside, 1 well inside, smooth in between.

    Args:
        covered: pixels the warped mesh reaches.
        face_width: in pixels; ``inset`` and ``fade`` are fractions of it.
        hole_fade: blur (pixels) at the edge of the holes (the mouth).
    """
    silhouette = fill_holes(covered)
    inside = cv2.distanceTransform(silhouette, cv2.DIST_L2, 3)
    start = inset * face_width
    outer = smoothstep((inside - start) / max(fade * face_width, 1.0))
    holes = cv2.GaussianBlur(covered.astype(np.float32), (0, 0), hole_fade)
    return (outer * holes).astype(np.float32)


def part_weights(part: NDArray[np.bool_], face_width: float, *, grow: float = 0.04) -> Mask:
    """A soft weight over a part of the face (e.g. the lips) and a band around it.

    Args:
        part: the part's pixels.
        face_width: in pixels; ``grow`` is a fraction of it: the weight is 1 up to half
            of it beyond the part's edge and fades to 0 at twice it.
    """
    radius = max(grow * face_width, 1.0)
    weight = np.zeros(part.shape, np.float32)
    x, y, width, height = cv2.boundingRect(part.view(np.uint8))
    if width == 0:
        return weight
    # Only the part's box, grown to where the weight reaches 0, needs the distances.
    pad = int(np.ceil(2 * radius)) + 1
    rows = slice(max(y - pad, 0), y + height + pad)
    cols = slice(max(x - pad, 0), x + width + pad)
    distance = cv2.distanceTransform((~part[rows, cols]).view(np.uint8), cv2.DIST_L2, 3)
    weight[rows, cols] = 1.0 - smoothstep((distance - radius / 2) / (1.5 * radius))
    return weight


def skin_weights(covered: NDArray[np.bool_], occluded: Mask | None = None) -> Mask:
    """Where the lighting statistics may be taken: mesh-covered, not occluded."""
    weight = covered.astype(np.float32)
    return weight if occluded is None else weight * (1.0 - occluded)
