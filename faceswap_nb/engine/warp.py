"""Dense warp of the source face onto the target's mesh.

Every triangle of the 468-point mesh has its own affine map from the target frame back
into the source photo. Rasterising a triangle-id map once per face and sampling with a
single ``cv2.remap`` is ~6× faster than warping triangle by triangle. The mesh has holes
for the eyes and the inner mouth, so those pixels stay the target's own: blinks, gaze,
teeth and tongue follow the target video.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from faceswap_nb.engine.types import Image, Points

_SUBPIXEL_BITS = 4


@dataclass(frozen=True)
class Region:
    """An axis-aligned window of the frame: ``frame[y0:y1, x0:x1]``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @classmethod
    def around(cls, points: Points, shape: tuple[int, ...], margin: float) -> Region | None:
        """The box of ``points`` grown by ``margin`` pixels, clipped to the frame."""
        lo = np.floor(points.min(0) - margin).astype(int)
        hi = np.ceil(points.max(0) + margin).astype(int) + 1
        x0, y0 = max(lo[0], 0), max(lo[1], 0)
        x1, y1 = min(hi[0], shape[1]), min(hi[1], shape[0])
        return cls(int(x0), int(y0), int(x1), int(y1)) if x1 - x0 > 2 and y1 - y0 > 2 else None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.x1 - self.x0, self.y1 - self.y0

    def of(self, image: NDArray) -> NDArray:
        """The view of ``image`` inside this region."""
        return image[self.y0 : self.y1, self.x0 : self.x1]


def triangle_affines(dst: Points, src: Points, triangles: NDArray[np.int32]) -> NDArray[np.float32]:
    """(T, 2, 3) affine maps taking each destination triangle onto its source triangle."""
    dst_tri = dst[triangles].astype(np.float64)
    src_tri = src[triangles].astype(np.float64)
    design = np.concatenate([dst_tri, np.ones((*dst_tri.shape[:2], 1))], axis=2)
    # Degenerate (zero-area) triangles rasterise to nothing; a tiny ridge keeps solve happy.
    design += np.eye(3)[None] * 1e-6
    return np.linalg.solve(design, src_tri).transpose(0, 2, 1).astype(np.float32)


def triangle_ids(
    dst: Points, depth: NDArray[np.float32], triangles: NDArray[np.int32], region: Region
) -> NDArray[np.int32]:
    """Which triangle covers each pixel of ``region`` (-1: none), nearest drawn last.

    Drawing far triangles first makes the visible side win where a turned head folds
    the mesh over itself.
    """
    width, height = region.size
    ids = np.full((height, width), -1, np.int32)
    offset = np.array([region.x0, region.y0], np.float32)
    corners = np.round((dst[triangles] - offset) * (1 << _SUBPIXEL_BITS)).astype(np.int32)
    order = np.argsort(-depth[triangles].mean(1))
    for t in order:
        cv2.fillConvexPoly(ids, corners[t], int(t), cv2.LINE_8, _SUBPIXEL_BITS)
    return ids


def warp_face(
    source: Image,
    source_points: Points,
    dst_points: Points,
    dst_depth: NDArray[np.float32],
    triangles: NDArray[np.int32],
    region: Region,
) -> tuple[Image, NDArray[np.bool_]]:
    """The source face drawn on the target mesh inside ``region``, and where it landed."""
    ids = triangle_ids(dst_points, dst_depth, triangles, region)
    covered = ids >= 0
    affines = triangle_affines(dst_points, source_points, triangles)
    xs = np.arange(region.x0, region.x1, dtype=np.float32)[None, :]
    ys = np.arange(region.y0, region.y1, dtype=np.float32)[:, None]
    chosen = affines[np.where(covered, ids, 0)]
    map_x = chosen[..., 0, 0] * xs + chosen[..., 0, 1] * ys + chosen[..., 0, 2]
    map_y = chosen[..., 1, 0] * xs + chosen[..., 1, 1] * ys + chosen[..., 1, 2]
    warped = cv2.remap(
        source, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return warped, covered
