"""The source face: the photo's largest face, cropped, with its mesh and eye contours."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from faceswap_nb._errors import NoFaceInSource
from faceswap_nb.engine.detect import FaceDetector
from faceswap_nb.engine.eyes import EyeRefiner, eye_openings, irises_inside
from faceswap_nb.engine.glasses import wears_glasses
from faceswap_nb.engine.landmarks import FaceMesh, face_width, roi_from_detection, roi_from_landmarks
from faceswap_nb.engine.light import to_lab
from faceswap_nb.engine.mask import smoothstep
from faceswap_nb.engine.occlusion import appearance_occluders, feature_mask
from faceswap_nb.engine.topology import (
    EYES,
    LEFT_EYE_CORNER,
    MESH_POINTS,
    MOUTH_CORNERS,
    OUTER_LIPS_RING,
    RIGHT_EYE_CORNER,
    SMILE_FOLDS,
)
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
except identity median +0.01 to +0.03 on four runs of 15.

Within the band, what is not the photo's skin is left out altogether: fr_obama's
cheek, lit orange beside his ear, had drawn an orange streak down the near cheek of
the car clip. Full quality benchmark against the band alone: identity share passes on
9 runs of 14 instead of 8 (the glasses clip with fr_obama 93 → 95 %), mouth r on 12
instead of 11, mouth MAD on 9 instead of 11 and pose on 2 instead of 3 (the Hamilton
clip's 34 judged frames: mouth MAD 0.046 → 0.057 and 0.048 → 0.054; roop_target with
deepface_img24, 12 frames: pose 2.97 → 3.12°); identity median within ±0.01 off the
Hamilton clip."""
_UNLIKE_SOFTNESS = 0.01  # fraction of the face width
FOLD_BAND = 0.03
"""A broadly smiling photo's smile folds are lifted (``lift_smile_folds``) within this
fraction of its face width of the mesh's fold lines, fading out over as much again.
Full benchmark (all three photos smile broadly): mouth MAD passes on 10 runs of 15
instead of 9, eye r on 6 of 12 instead of 5, pose on 3 instead of 2; identity median
moves by −0.03 to +0.01; identity share passes on one run fewer (glasses clip with
fr_obama 97 → 90 %, dfl←roop_source 72 → 62 %). On the glasses clip, fr_obama's folds
had drawn two dark scars from nose to mouth across a face with its mouth wide open."""
SHUT_EYE = 0.1
"""A photo's eye less open than this (``eyes.eye_openings``) counts as shut: the target's
own eye shows there instead (its lids would be drawn over every frame's open eye). The
test photos' open eyes read 0.19–0.33, a broad smile's squint 0.14, an eye painted
shut 0.06–0.08."""
FOLD_WIDTH = 0.08
"""Creases narrower than this fraction of the face width are lifted: the smile folds,
not the shading of the cheek."""
_FOLD_TEXTURE = 0.01  # fraction of the face width: finer detail (pores, stubble) stays


@dataclass(frozen=True)
class SourceFace:
    """The source photo cropped around its largest face, that face's mesh (with its iris
    centres, as ``FaceObservation.landmarks``, held inside its eyes by
    ``eyes.irises_inside``), and how far
    each pixel of the crop lies inside the mesh's outline (``interior``: 0 on and
    outside it, 1 from ``OUTLINE_FADE`` face widths in)."""

    image: Image
    points: Points
    depth: NDArray[np.float32]
    interior: Mask
    photo_scale: float = 1.0
    """The crop's pixels per photo pixel: below 1 where a large photo was downscaled."""

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
        # Held once here, not at every frame: the photo's irises never move.
        crop_points = irises_inside(((points - offset) * scale).astype(np.float32))
        if _smiles_broadly(crop_points):
            crop = lift_smile_folds(crop, crop_points)
        return cls(
            np.ascontiguousarray(crop),
            crop_points,
            (found[1] * scale).astype(np.float32),
            _interior(crop, crop_points),
            scale,
        )

    @property
    def width_in_photo(self) -> float:
        """The face's width (``landmarks.face_width``) in the photo's own pixels: the
        finest detail the photo has of it."""
        return face_width(self.points) / self.photo_scale

    def at_width(self, width: float) -> tuple[Image, Mask, float]:
        """What to sample to draw the face ``width`` pixels wide: the crop and its
        ``interior`` at the coarsest halving still at least that wide, and that halving's
        scale (a crop point p lies at p × scale in it: ``cv2.pyrDown`` centres its pixel
        x on the finer image's pixel 2x).

        A bilinear warp that shrinks more than twofold skips pixels (a face drawn at 80 px
        from a 370-px photo reads one pixel in ~20), and the skipped detail shimmers from
        frame to frame; each halving is blurred first (``cv2.pyrDown``).
        """
        levels = int(np.floor(np.log2(max(face_width(self.points), 1.0) / max(width, 1.0))))
        levels = min(max(levels, 0), len(self._halvings) - 1)
        image, interior = self._halvings[levels]
        return image, interior, 0.5**levels

    @functools.cached_property
    def _halvings(self) -> list[tuple[Image, Mask]]:
        halvings = [(self.image, self.interior)]
        while min(halvings[-1][0].shape[:2]) >= 32:
            image, interior = halvings[-1]
            halvings.append((cv2.pyrDown(image), cv2.pyrDown(interior)))
        return halvings

    @functools.cached_property
    def shut_eyes(self) -> tuple[tuple[int, ...], ...]:
        """The rings of the photo's eyes that are shut (``SHUT_EYE``)."""
        return tuple(ring for (ring, _), opening in zip(EYES, eye_openings(self.points)) if opening < SHUT_EYE)

    @functools.cached_property
    def warnings(self) -> list[str]:
        """What about the photo will show in the result, said so the user can pick another.
        Looked for once (the glasses check reads the whole photo)."""
        middles = self.points[list(_INNER_LIP_MIDDLES)]
        expressions = []
        if _smiles_broadly(self.points):
            expressions.append("smiles broadly")
        if float(np.hypot(*(middles[1] - middles[0]))) > _OPEN_MOUTH * _mouth_width(self.points):
            expressions.append("has its mouth open")
        warnings = []
        if expressions:
            warnings.append(
                f"the source photo {' and '.join(expressions)}: its raised cheeks and creases will "
                "show around the target's mouth; a photo with a relaxed, closed mouth looks more natural"
            )
        if self.shut_eyes:
            warnings.append(
                "the source photo has its eyes shut (or one of them): the target's own eyes show "
                "there; a photo with open eyes looks more like its person"
            )
        if wears_glasses(self.image, self.points):
            warnings.append(
                "the source photo wears glasses: they are drawn onto the target's skin, flat, and "
                "turn with it; a photo without glasses looks more natural"
            )
        return warnings


def lift_smile_folds(image: Image, points: Points) -> Image:
    """``image`` with the dark creases along the smile folds of its face lifted.

    A smile's folds, laid on a target that does not smile, read as scars from nose to
    mouth, the most visible flaw of a smiling photo. Within ``FOLD_BAND`` of the fold
    lines (but not on the lips), every crease narrower than ``FOLD_WIDTH`` is filled
    to the brightness of its sides (a morphological closing), while the skin's texture
    finer than that stays. Only brightens.
    """
    width = face_width(points)
    lines = np.ones(image.shape[:2], np.uint8)
    for fold in SMILE_FOLDS:
        cv2.polylines(lines, [np.round(points[list(fold)]).astype(np.int32)], False, 0)
    band = FOLD_BAND * width
    weight = 1.0 - smoothstep((cv2.distanceTransform(lines, cv2.DIST_L2, 3) - band) / band)
    outside_lips = np.ones(image.shape[:2], np.uint8)
    cv2.fillPoly(outside_lips, [np.round(points[list(OUTER_LIPS_RING)]).astype(np.int32)], 0)
    weight *= smoothstep(cv2.distanceTransform(outside_lips, cv2.DIST_L2, 3) / band)
    pixels = image.astype(np.float32)
    shading = cv2.GaussianBlur(pixels, (0, 0), _FOLD_TEXTURE * width)
    size = int(FOLD_WIDTH * width) | 1
    filled = cv2.morphologyEx(shading, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    lifted = pixels + (filled - shading) * weight[..., None]
    return np.clip(lifted + 0.5, 0, 255).astype(np.uint8)


def _mouth_width(points: Points) -> float:
    corners = points[list(MOUTH_CORNERS)]
    return float(np.hypot(*(corners[1] - corners[0])))


def _smiles_broadly(points: Points) -> bool:
    eye_distance = float(np.hypot(*(points[LEFT_EYE_CORNER] - points[RIGHT_EYE_CORNER])))
    return _mouth_width(points) > _BROAD_SMILE * eye_distance


def _interior(image: Image, points: Points) -> Mask:
    """0 on and outside the convex outline of ``points``, rising smoothly to 1 at
    ``OUTLINE_FADE`` face widths inside it; in that band, 0 also where the photo is not
    its face's skin (``occlusion.appearance_occluders``: hair, an ear, a shadowed edge)."""
    outline = np.zeros(image.shape[:2], np.uint8)
    cv2.fillConvexPoly(outline, np.round(cv2.convexHull(points[:MESH_POINTS])).astype(np.int32), 1)
    depth = cv2.distanceTransform(outline, cv2.DIST_L2, 3)
    width = face_width(points)
    interior = smoothstep(depth / (OUTLINE_FADE * width)).astype(np.float32)
    whole = Region(0, 0, image.shape[1], image.shape[0])
    skin = (interior >= 1.0) & ~feature_mask(points, whole, width)
    unlike = appearance_occluders(to_lab(image), skin) & (interior > 0.0) & (interior < 1.0)
    # Doubled after the blur, so what is flagged goes entirely and its surroundings fade.
    soft = cv2.GaussianBlur(unlike.astype(np.float32), (0, 0), max(1.0, _UNLIKE_SOFTNESS * width))
    return (interior * (1.0 - np.clip(2.0 * soft, 0.0, 1.0))).astype(np.float32)
