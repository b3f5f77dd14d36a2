"""The source face: the photo's largest face, cropped, with its mesh and eye contours."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from faceswap_nb._errors import NoFaceInSource
from faceswap_nb.engine.detect import FaceDetector
from faceswap_nb.engine.eyes import EyeRefiner
from faceswap_nb.engine.landmarks import FaceMesh, face_width, roi_from_detection, roi_from_landmarks
from faceswap_nb.engine.mask import smoothstep
from faceswap_nb.engine.topology import LEFT_EYE_CORNER, MOUTH_CORNERS, RIGHT_EYE_CORNER
from faceswap_nb.engine.types import Image, Mask, Points
from faceswap_nb.engine.warp import Region

# The photo's own expression survives the swap as creases around the target's mouth.
# Mesh ratios of the test and demo photos: relaxed mouths are 0.50–0.68 eye-corner
# distances wide and 0.01–0.05 of their width open; broad smiles 0.75–0.87 wide,
# open mouths 0.13–0.26.
_BROAD_SMILE = 0.72
_OPEN_MOUTH = 0.12
_INNER_LIP_MIDDLES = (13, 14)
OUTLINE_FADE = 0.06
"""The photo is drawn fully only deeper than this fraction of its face width inside its
mesh's outline, fading to nothing at the outline. The outline's triangles reach the
photo's ears, earrings and hair, and on a target turned 3/4 those triangles cover a
wide band of the near cheek (an earring showed as a dark spot on every frame of the
car clip with roop_source). Full benchmark: unchanged within a judged frame or 0.01,
except identity median +0.01 to +0.03 on four runs of 15."""


@dataclass(frozen=True)
class SourceFace:
    """The source photo cropped around its largest face, that face's mesh, and how far
    each pixel of the crop lies inside the mesh's outline (``interior``: 0 on and
    outside it, 1 from ``OUTLINE_FADE`` face widths in)."""

    image: Image
    points: Points
    depth: NDArray[np.float32]
    interior: Mask

    @classmethod
    def from_image(cls, image: Image, *, max_face: int = 480) -> SourceFace:
        """Find the photo's largest face and crop it (downscaled so warps stay cheap).

        Raises:
            NoFaceInSource: the detector or the mesh finds no face.
        """
        detections = FaceDetector()(image)
        mesh = FaceMesh()
        found = mesh(image, roi_from_detection(detections[0])) if detections else None
        for _ in range(2):
            found = (mesh(image, roi_from_landmarks(found[0])) or found) if found else None
        if found is None:
            raise NoFaceInSource(
                "no face found in the source photo; use a photo where one face is clearly "
                "visible, frontal or three-quarter, at least ~80 px wide"
            )
        points = EyeRefiner()(image, found[0])
        region = Region.around(points, image.shape, margin=0.15 * float(np.ptp(points[:, 0])))
        assert region is not None  # a mesh never fits inside two pixels
        scale = min(1.0, max_face / max(region.size))
        crop = region.of(image)
        if scale < 1.0:
            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        offset = np.array([region.x0, region.y0], np.float32)
        crop_points = ((points - offset) * scale).astype(np.float32)
        return cls(
            np.ascontiguousarray(crop),
            crop_points,
            (found[1] * scale).astype(np.float32),
            _interior(crop_points, crop.shape),
        )

    @property
    def warnings(self) -> list[str]:
        """What about the photo will show in the result, said so the user can pick another."""
        corners = self.points[list(MOUTH_CORNERS)]
        middles = self.points[list(_INNER_LIP_MIDDLES)]
        mouth_width = float(np.hypot(*(corners[1] - corners[0])))
        eye_distance = float(np.hypot(*(self.points[LEFT_EYE_CORNER] - self.points[RIGHT_EYE_CORNER])))
        expressions = []
        if mouth_width > _BROAD_SMILE * eye_distance:
            expressions.append("smiles broadly")
        if float(np.hypot(*(middles[1] - middles[0]))) > _OPEN_MOUTH * mouth_width:
            expressions.append("has its mouth open")
        if not expressions:
            return []
        warning = (
            f"the source photo {' and '.join(expressions)}: its smile lines and creases will "
            "show around the target's mouth; a photo with a relaxed, closed mouth looks more natural"
        )
        return [warning]


def _interior(points: Points, shape: tuple[int, ...]) -> Mask:
    """0 on and outside the convex outline of ``points``, rising smoothly to 1 at
    ``OUTLINE_FADE`` face widths inside it."""
    outline = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(outline, np.round(cv2.convexHull(points)).astype(np.int32), 1)
    depth = cv2.distanceTransform(outline, cv2.DIST_L2, 3)
    return smoothstep(depth / (OUTLINE_FADE * face_width(points))).astype(np.float32)
