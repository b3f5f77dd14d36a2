"""Glasses: whether a face wears them, from a picture of it and its mesh.

A photo's glasses are warped onto the target like the rest of its face, drawn flat on
the target's skin; a target's glasses are covered by the new face, their frames cut at
its edge. Neither can be undone here, so the swap says so (see ``SwapReport.warnings``).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from faceswap_nb.engine.landmarks import face_width
from faceswap_nb.engine.light import to_lab
from faceswap_nb.engine.topology import LEFT_BROW, LEFT_EYE_RING, RIGHT_BROW, RIGHT_EYE_RING
from faceswap_nb.engine.types import Image, Points
from faceswap_nb.engine.warp import Region, polygon_mask

__all__ = ["wears_glasses"]

# Frames up to this fraction of the face width thick, within this fraction of it from
# the eyes, darker on average than their surroundings by this much (CIELAB L).
FRAME = 0.1
REACH = 0.16
DARKER = 6.0
MIN_WIDTH = 16  # pixels: smaller faces show no frames worth judging


def wears_glasses(image: Image, points: Points) -> bool:
    """Whether the face in ``image`` (its mesh ``points``) wears glasses with dark frames.

    Frames are thin dark lines around the eyes. The morphological black-hat of the
    lightness (how much darker a pixel is than the closing of its neighbourhood),
    averaged over a band from the lids to ``REACH`` face widths out, brows left aside,
    is 8.6 and 10.6 on the two framed photos at hand (deepface_img24, Grace Hopper) and
    2.8–3.9 on the eight without (lashes, lid creases, an older face's wrinkles). On
    video it finds Grace Hopper's glasses on every sampled frame of the demo clip, and
    nothing on the five test clips, whose one pair of glasses is clear and thin.
    """
    width = face_width(points)
    if width < MIN_WIDTH:
        return False
    size = int(FRAME * width) | 1
    # Only the band around the eyes is judged: the black-hat of a pixel reads two
    # kernels' width around it, and the blur four sigmas.
    around = Region.around(
        points[list(RIGHT_EYE_RING + LEFT_EYE_RING)], image.shape, margin=(REACH + 0.02) * width + 2 * size + 2
    )
    if around is None:
        return False
    lightness = cv2.GaussianBlur(to_lab(around.of(image))[..., 0], (0, 0), 0.005 * width)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    darker = cv2.morphologyEx(lightness, cv2.MORPH_BLACKHAT, kernel)
    eyes = polygon_mask(points, (RIGHT_EYE_RING, LEFT_EYE_RING), around).view(np.uint8)
    brows = polygon_mask(points, (RIGHT_BROW, LEFT_BROW), around).view(np.uint8)
    band = _grown(eyes, REACH * width) & ~_grown(eyes, 0.012 * width) & ~_grown(brows, 0.005 * width)
    return float(darker[band > 0].mean()) > DARKER if band.any() else False


def _grown(mask: NDArray[np.uint8], radius: float) -> NDArray[np.uint8]:
    size = 2 * max(1, round(radius)) + 1
    return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
