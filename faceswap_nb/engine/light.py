"""Lighting: give the warped source face the target's shading and skin tone.

The face is split into a low-frequency part (shading, skin tone, the colour of the
light) and the detail above it (identity: skin texture, brows, creases). The result is
the source's detail on the target's low frequencies, per colour channel, with a blur
about a tenth of the face wide: the scene's light falls on the new face, the photo's
does not. (Working in BGR rather than CIELAB gave the same lighting correlation on the
benchmarks and saves three colour conversions a frame.)
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from faceswap_nb.engine.types import Image

_DOWNSAMPLE = 4


def masked_blur(image: NDArray[np.float32], weight: NDArray[np.float32], sigma: float) -> NDArray[np.float32]:
    """Gaussian blur that only averages pixels where ``weight`` > 0 (normalised convolution).

    Work happens at a quarter of the resolution: only low frequencies survive the blur,
    so nothing is lost and the cost drops sixteenfold.
    """
    height, width = weight.shape
    small = (max(1, width // _DOWNSAMPLE), max(1, height // _DOWNSAMPLE))
    w_small = cv2.resize(weight, small, interpolation=cv2.INTER_AREA)
    weighted = cv2.multiply(image, cv2.merge([weight] * image.shape[2]), dtype=cv2.CV_32F)
    image_small = cv2.resize(weighted, small, interpolation=cv2.INTER_AREA)
    s = max(sigma / _DOWNSAMPLE, 0.5)
    num = cv2.GaussianBlur(image_small, (0, 0), s, borderType=cv2.BORDER_REPLICATE)
    den = cv2.GaussianBlur(w_small, (0, 0), s, borderType=cv2.BORDER_REPLICATE)
    mean = num / np.maximum(den, 1e-4)[..., None]
    return cv2.resize(mean, (width, height), interpolation=cv2.INTER_LINEAR)


def to_lab(image: Image) -> NDArray[np.float32]:
    """BGR uint8 → float CIELAB (L 0–100)."""
    return cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_BGR2LAB)


def transfer_lighting(
    warped: Image, target: Image, weight: NDArray[np.float32], face_width: float,
    *, scale: float = 0.1, zone: NDArray[np.float32] | None = None, zone_scale: float = 0.05,
    zone_detail: float | None = None,
) -> Image:
    """``warped`` with its low frequencies replaced by ``target``'s, inside ``weight``.

    Args:
        warped: the source face already warped onto the target mesh.
        target: the same window of the target frame.
        weight: where both images show face skin (1) and where not (0).
        face_width: in pixels; the blur's sigma is ``scale × face_width``.
        zone: where (0–1) the face takes the target's frequencies below the finer
            ``zone_scale`` and only the photo's detail finer than ``zone_detail``
            (default: ``zone_scale``). Around the mouth, a photo's creases (a smile's
            folds) are broader than its skin texture: there the target's own show.
    """
    # Both blurs share the weight, so the difference of the blurs is the blur of the
    # difference: one blur instead of two.
    difference = cv2.subtract(target, warped, dtype=cv2.CV_32F)
    shift = masked_blur(difference, weight, scale * face_width)
    if zone is not None:
        x, y, width, height = cv2.boundingRect((zone > 0).view(np.uint8))
        box = (slice(y, y + height), slice(x, x + width))
        if width:
            inside = weight[box]
            target_low = masked_blur(target[box].astype(np.float32), inside, zone_scale * face_width)
            detail = zone_scale if zone_detail is None else zone_detail
            photo_low = masked_blur(warped[box].astype(np.float32), inside, detail * face_width)
            shift[box] += zone[box][..., None] * (target_low - photo_low - shift[box])
    return cv2.add(warped, shift, dtype=cv2.CV_8U)


def match_detail(
    face: Image, target: Image, weight: NDArray[np.float32], *, scales: tuple[float, ...] = (1.5, 3.0)
) -> Image:
    """Soften the face's detail to the target's level where the target is softer.

    A sharp photo laid on a soft, compressed video looks pasted on, and its pores,
    creases and stubble shimmer as the face moves. For each scale (finest first), the
    energy of the detail below that blur radius, measured on grey inside ``weight``, is
    brought down to the target's. Detail is never sharpened. The second scale cuts
    flicker on textured sources (a beard on the glasses clip: 1.52 → 1.37) for an
    identity cost of at most +0.04 (benchmarks); a 4 px scale cut more flicker but
    cost more identity.
    """
    inside = (weight > 0.5).astype(np.uint8)
    if cv2.countNonZero(inside) < 50:
        return face
    target_grey = _grey(target)
    for sigma in scales:
        ratio = _detail(target_grey, inside, sigma) / max(_detail(_grey(face), inside, sigma), 1e-3)
        if ratio < 1.0:
            blurred = cv2.GaussianBlur(face, (0, 0), sigma)
            face = cv2.addWeighted(face, ratio, blurred, 1.0 - ratio, 0.0)
    return face


def _grey(image: Image) -> NDArray[np.float32]:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)


def _detail(grey: NDArray[np.float32], where: NDArray[np.uint8], sigma: float) -> float:
    """Standard deviation, inside ``where``, of what a blur of ``sigma`` removes."""
    _, std = cv2.meanStdDev(grey - cv2.GaussianBlur(grey, (0, 0), sigma), mask=where)
    return float(std[0, 0])
