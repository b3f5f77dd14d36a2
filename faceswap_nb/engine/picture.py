"""Frames kept in the form the decoder gives them.

The face models only ever look at small pieces of a frame: a 192-pixel crop for the
mesh, 64 pixels per eye, a 192-pixel thumbnail for the detector. Converting a whole
720p 4:2:0 frame to BGR costs about as much as running the mesh on it, so the
analysis pass keeps the decoder's Y, U and V planes (``Yuv420``) and converts only
those pieces. The render pass likewise converts only a window around the faces
(``Yuv420.bgr_window``) and writes the new face back into the planes
(``Yuv420.paste``), which go to the encoder as they are. Every function here also
takes a plain BGR image (a photo, or a frame whose pixel format has no fast path).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from faceswap_nb.engine.types import Image

__all__ = ["Picture", "Yuv420", "bgr_to_yuv_matrix", "crop", "grey_thumbnail", "resized", "yuv_to_bgr_matrix"]

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


@functools.lru_cache(maxsize=8)
def bgr_to_yuv_matrix(weights: tuple[float, float], full_range: bool) -> NDArray[np.float32]:
    """3×4 affine map from 8-bit (B, G, R, 1) to 8-bit (Y, U, V): ``yuv_to_bgr_matrix``
    inverted."""
    forward = np.vstack([yuv_to_bgr_matrix(weights, full_range).astype(np.float64), [0.0, 0.0, 0.0, 1.0]])
    return np.linalg.inv(forward)[:3].astype(np.float32)


@dataclass(frozen=True)
class Yuv420:
    """A 4:2:0 frame as its three planes (chroma at half width and height).

    ``weights`` are the (Kr, Kb) of its YUV matrix (``BT601`` or ``BT709``). The planes
    may be views of the decoder's buffers, which nothing may write to; a frame the
    render pass edits is a ``packed`` copy, whose planes share one I420 buffer.
    """

    y: NDArray[np.uint8]
    u: NDArray[np.uint8]
    v: NDArray[np.uint8]
    weights: tuple[float, float]
    full_range: bool
    i420: NDArray[np.uint8] | None = None
    """The (height × 3/2, width) buffer that ``y``, ``u`` and ``v`` are views of, when
    they share one (``packed``): what the encoder takes without another copy."""

    @classmethod
    def packed(
        cls, y: NDArray[np.uint8], u: NDArray[np.uint8], v: NDArray[np.uint8],
        weights: tuple[float, float], full_range: bool,
    ) -> Yuv420:
        """A writable copy of even-sized planes, laid out as one I420 buffer."""
        height, width = y.shape
        buffer = np.empty((height * 3 // 2, width), np.uint8)
        flat = buffer.reshape(-1)
        chroma = (height // 2) * (width // 2)
        planes = (
            flat[: height * width].reshape(height, width),
            flat[height * width : height * width + chroma].reshape(height // 2, width // 2),
            flat[height * width + chroma :].reshape(height // 2, width // 2),
        )
        for plane, source in zip(planes, (y, u, v)):
            plane[...] = source
        return cls(*planes, weights, full_range, buffer)

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

    def bgr_window(self, box: tuple[int, int, int, int]) -> Image:
        """The frame's pixels in ``box`` (x0, y0, x1, y1; even corners) as BGR.

        Chroma is interpolated as over the whole frame: one chroma sample beyond the box
        on each side is read where the frame has it.
        """
        x0, y0, x1, y1 = box
        rows, cols = self.u.shape
        # Chroma window, grown by an apron of one sample where the frame goes on.
        cx0, cy0 = max(x0 // 2 - 1, 0), max(y0 // 2 - 1, 0)
        cx1, cy1 = min(x1 // 2 + 1, cols), min(y1 // 2 + 1, rows)
        size = (2 * (cx1 - cx0), 2 * (cy1 - cy0))
        left, top = x0 - 2 * cx0, y0 - 2 * cy0
        u, v = (
            cv2.resize(plane[cy0:cy1, cx0:cx1], size, interpolation=cv2.INTER_LINEAR)[
                top : top + y1 - y0, left : left + x1 - x0
            ]
            for plane in (self.u, self.v)
        )
        return self.to_bgr(self.y[y0:y1, x0:x1], u, v)

    def paste(self, box: tuple[int, int, int, int], image: Image, changed: NDArray[np.uint8]) -> None:
        """Write the BGR ``image`` of ``box`` (as ``bgr_window``) into the planes where
        ``changed`` (non-zero); every other pixel keeps its decoded value exactly.

        A chroma sample takes the mean of its 2 × 2 pixels when any of them changed.
        """
        x0, y0, x1, y1 = box
        yuv = cv2.transform(image, bgr_to_yuv_matrix(self.weights, self.full_range))
        y, u, v = cv2.split(yuv)
        cv2.copyTo(y, changed, self.y[y0:y1, x0:x1])
        half = ((x1 - x0) // 2, (y1 - y0) // 2)
        # Any changed pixel of four lifts the 2 × 2 mean of 0/255 above 0.
        touched = cv2.resize(changed * np.uint8(255), half, interpolation=cv2.INTER_AREA)
        for full, plane in ((u, self.u), (v, self.v)):
            chroma = cv2.resize(full, half, interpolation=cv2.INTER_AREA)
            cv2.copyTo(chroma, touched, plane[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2])


Picture = Image | Yuv420
"""A frame as the swap's passes get it: BGR, or the decoder's 4:2:0 planes."""


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
