"""Frames for the analysis pass, kept in the form the decoder gives them.

The face models only ever look at small pieces of a frame: a 192-pixel crop for the
mesh, 64 pixels per eye, a 192-pixel thumbnail for the detector. Converting a whole
720p 4:2:0 frame to BGR costs about as much as running the mesh on it, so the
analysis pass keeps the decoder's Y, U and V planes (``Yuv420``) and converts only
those pieces. Every function here also takes a plain BGR image (a photo, or a frame
whose pixel format has no fast path).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from faceswap_nb.engine.types import Image

__all__ = ["Picture", "Yuv420", "crop", "grey_thumbnail", "resized", "yuv_to_bgr_matrix"]

# (Kr, Kb) luma weights of the two matrices video uses in practice.
BT601 = (0.299, 0.114)
BT709 = (0.2126, 0.0722)


@functools.lru_cache(maxsize=8)
def yuv_to_bgr_matrix(weights: tuple[float, float], full_range: bool) -> NDArray[np.float32]:
    """3×4 affine map from 8-bit (Y, U, V, 1) to 8-bit (B, G, R), for ``cv2.transform``."""
    kr, kb = weights
    kg = 1.0 - kr - kb
    luma, chroma = (1.0, 1.0) if full_range else (255 / 219, 255 / 224)
    y_offset = 0.0 if full_range else 16.0
    # Rows B, G, R; columns Y, U (Cb), V (Cr), all as multiples of 255 (8-bit).
    gains = np.array(
        [
            [luma, chroma * 2 * (1 - kb), 0.0],
            [luma, -chroma * 2 * (1 - kb) * kb / kg, -chroma * 2 * (1 - kr) * kr / kg],
            [luma, 0.0, chroma * 2 * (1 - kr)],
        ]
    )
    offsets = -gains @ np.array([y_offset, 128.0, 128.0])
    return np.hstack([gains, offsets[:, None]]).astype(np.float32)


@dataclass(frozen=True)
class Yuv420:
    """A 4:2:0 frame as its three planes (chroma at half width and height).

    ``weights`` are the (Kr, Kb) of its YUV matrix (``BT601`` or ``BT709``). The planes
    may be views of the decoder's buffers; nothing here writes to them.
    """

    y: NDArray[np.uint8]
    u: NDArray[np.uint8]
    v: NDArray[np.uint8]
    weights: tuple[float, float]
    full_range: bool

    @property
    def matrix(self) -> NDArray[np.float32]:
        """The ``yuv_to_bgr_matrix`` of this frame."""
        return yuv_to_bgr_matrix(self.weights, self.full_range)

    @property
    def shape(self) -> tuple[int, int, int]:
        """As a BGR image of the frame would have it: (height, width, 3)."""
        height, width = self.y.shape
        return height, width, 3

    def to_bgr(self, y: NDArray[np.uint8], u: NDArray[np.uint8], v: NDArray[np.uint8]) -> Image:
        """Full-resolution Y, U, V pieces of the same size → BGR."""
        return cv2.transform(cv2.merge([y, u, v]), self.matrix)  # rounds and saturates


Picture = Image | Yuv420
"""A frame as the analysis pass gets it: BGR, or the decoder's 4:2:0 planes."""


def crop(picture: Picture, matrix: NDArray[np.float64], size: tuple[int, int]) -> Image:
    """BGR ``cv2.warpAffine`` of ``picture`` by ``matrix`` (frame → crop), edges replicated."""
    if isinstance(picture, np.ndarray):
        return cv2.warpAffine(picture, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # A chroma sample at plane pixel q sits at frame pixel 2q + 0.5 (sample centres).
    linear, shift = matrix[:, :2], matrix[:, 2]
    chroma_matrix = np.hstack([2 * linear, (shift + 0.5 * linear.sum(1))[:, None]])
    planes = [
        cv2.warpAffine(plane, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        for plane, m in ((picture.y, matrix), (picture.u, chroma_matrix), (picture.v, chroma_matrix))
    ]
    return picture.to_bgr(*planes)


def resized(picture: Picture, size: tuple[int, int]) -> Image:
    """The whole ``picture`` as BGR of ``size`` (width, height), area-averaged."""
    if isinstance(picture, np.ndarray):
        return cv2.resize(picture, size, interpolation=cv2.INTER_AREA)
    planes = [cv2.resize(plane, size, interpolation=cv2.INTER_AREA) for plane in (picture.y, picture.u, picture.v)]
    return picture.to_bgr(*planes)


def grey_thumbnail(picture: Picture, size: tuple[int, int], *, stride: int = 8) -> NDArray[np.float32]:
    """A small grey (0–255) version of the frame, from every ``stride``-th pixel."""
    if isinstance(picture, np.ndarray):
        grey = cv2.cvtColor(np.ascontiguousarray(picture[::stride, ::stride]), cv2.COLOR_BGR2GRAY)
        return cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    luma = cv2.resize(np.ascontiguousarray(picture.y[::stride, ::stride]), size, interpolation=cv2.INTER_AREA)
    if picture.full_range:
        return luma.astype(np.float32)
    return (luma.astype(np.float32) - 16.0) * (255 / 219)
