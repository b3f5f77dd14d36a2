"""Blending: lay the lit face over the target window with the mask's weights."""

from __future__ import annotations

import numpy as np

from faceswap_nb.engine.types import Image, Mask


def alpha_blend(face: Image, target: Image, weight: Mask) -> Image:
    """``weight × face + (1 − weight) × target``, rounded back to uint8."""
    w = weight[..., None]
    mixed = face.astype(np.float32) * w + target.astype(np.float32) * (1.0 - w)
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
