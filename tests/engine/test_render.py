"""Rendering one face into a frame: only the face changes, every stage is timed."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from faceswap_nb.engine import render
from faceswap_nb.engine.eyes import LASH_STRETCH, eyelid_triangles, upper_lid_stretch
from faceswap_nb.engine.landmarks import face_width
from faceswap_nb.engine.models import mesh_triangles, mesh_triangles_near
from faceswap_nb.engine.render import (
    MOUTH_CORNER_ZONE,
    SPREAD_LAYERS,
    STRETCH_FROM,
    STRETCH_TO,
    Timings,
    render_face,
)
from faceswap_nb.engine.source import SourceFace
from faceswap_nb.engine.topology import (
    LEFT_EYE_RING,
    MOUTH_CORNERS,
    NOSTRILS,
    OUTER_LIPS_RING,
    RIGHT_EYE_RING,
    RIGHT_IRIS,
)
from faceswap_nb.engine.types import FaceObservation
from faceswap_nb.engine.warp import Region, disc_mask, polygon_mask
from tests.engine.conftest import with_eye_opening, with_tall_lids


def face_skin(face: FaceObservation, shape: tuple[int, ...], *, towards_nose: float = 0.5) -> np.ndarray:
    """Pixels on the way from the right eye to the nostrils: source skin after a swap."""
    eye = face.landmarks[list(RIGHT_EYE_RING)].mean(0)
    nose = face.landmarks[list(NOSTRILS)].mean(0)
    x, y = np.round(eye + towards_nose * (nose - eye)).astype(int)
    mask = np.zeros(shape[:2], bool)
    mask[y - 4 : y + 5, x - 4 : x + 5] = True
    return mask


def _darkest_centre(image: np.ndarray, where: np.ndarray) -> np.ndarray:
    """The centroid of the darkest fifth of the pixels in ``where``: in an eye, its pupil."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    darkest = where & (grey <= np.percentile(grey[where], 20))
    ys, xs = np.nonzero(darkest)
    return np.array([xs.mean(), ys.mean()])


Blink = tuple[np.ndarray, FaceObservation, np.ndarray, np.ndarray]


@pytest.fixture(scope="module")
def blink(astronaut_face: tuple[np.ndarray, FaceObservation], grace_source: SourceFace) -> Blink:
    """The astronaut's frame, her face, and the frame swapped with the right eye open and
    with it shut."""
    original, face = astronaut_face
    shut = FaceObservation(0, face.landmarks, face.depth, eye_closure=(1.0, 0.0))
    usual, blinking = original.copy(), original.copy()
    render_face(usual, face, grace_source, 0.1, Timings())
    render_face(blinking, shut, grace_source, 0.1, Timings())
    return original, face, usual, blinking


class TestRenderFace:
    def test_replaces_the_face_inside_its_region_only(
        self, astronaut_face: tuple[np.ndarray, FaceObservation], grace_source: SourceFace
    ) -> None:
        original, face = astronaut_face
        frame = original.copy()
        timings = Timings()

        assert render_face(frame, face, grace_source, 0.1, timings) is True

        changed = np.abs(frame.astype(int) - original.astype(int)).max(axis=2) > 0
        x0, y0 = np.floor(face.landmarks.min(0)).astype(int) - 3
        x1, y1 = np.ceil(face.landmarks.max(0)).astype(int) + 3
        outside = np.ones_like(changed)
        outside[y0:y1, x0:x1] = False
        assert not changed[outside].any()
        assert changed[y0:y1, x0:x1].mean() > 0.3
        assert {"warp", "light", "mask", "blend"} <= set(timings)

    def test_where_the_photo_is_not_drawn_the_target_keeps_its_own_pixels(
        self, astronaut_face: tuple[np.ndarray, FaceObservation], grace_source: SourceFace
    ) -> None:
        original, face = astronaut_face
        interior = grace_source.interior.copy()
        middle = int(grace_source.points[list(NOSTRILS)].mean(0)[0])
        interior[:, :middle] = 0.0  # the photo's side left of the nose: never drawn
        half = dataclasses.replace(grace_source, interior=interior)
        frame = original.copy()

        render_face(frame, face, half, 0.1, Timings())

        changed = np.abs(frame.astype(int) - original.astype(int)).max(axis=2) > 0
        nose = face.landmarks[list(NOSTRILS)].mean(0)
        rows = slice(int(face.landmarks[:, 1].min()), int(face.landmarks[:, 1].max()))
        # What is left of the nose in the photo lands left of the nose in the frame.
        assert not changed[rows, : int(nose[0]) - 8].any()
        assert changed[rows, int(nose[0]) + 8 : int(face.landmarks[:, 0].max())].mean() > 0.3

    def test_the_targets_own_lips_and_mouth_corners_are_kept(
        self, astronaut_face: tuple[np.ndarray, FaceObservation], grace_source: SourceFace
    ) -> None:
        original, face = astronaut_face
        frame = original.copy()

        render_face(frame, face, grace_source, 0.1, Timings())

        whole = Region(0, 0, frame.shape[1], frame.shape[0])
        lips = polygon_mask(face.landmarks, (OUTER_LIPS_RING,), whole)
        radius = MOUTH_CORNER_ZONE * face_width(face.landmarks)
        corners = disc_mask(face.landmarks, MOUTH_CORNERS, radius, whole) & ~lips
        difference = np.abs(frame.astype(int) - original.astype(int)).max(axis=2)
        assert corners.sum() > 20
        assert difference[lips].mean() < 2.0
        assert difference[corners].mean() < 0.5
        assert difference[face_skin(face, frame.shape)].mean() > 10.0

    def test_the_eyes_are_the_photos_looking_where_the_target_looks(
        self, astronaut_face: tuple[np.ndarray, FaceObservation], grace_source: SourceFace
    ) -> None:
        original, face = astronaut_face
        corners = face.landmarks[[RIGHT_EYE_RING[0], RIGHT_EYE_RING[8]]]
        aside = 0.15 * (corners[1] - corners[0])  # the iris, 15 % of the eye's width inwards
        looking_aside = face.landmarks.copy()
        looking_aside[RIGHT_IRIS] += aside
        drawn = []
        for landmarks in (face.landmarks, looking_aside):
            frame = original.copy()
            render_face(frame, dataclasses.replace(face, landmarks=landmarks), grace_source, 0.1, Timings())
            drawn.append(frame)

        whole = Region(0, 0, original.shape[1], original.shape[0])
        eye = polygon_mask(face.landmarks, (RIGHT_EYE_RING,), whole)
        assert np.abs(drawn[0].astype(int) - original.astype(int)).max(axis=2)[eye].mean() > 10.0
        # The photo's dark iris nearly fills its eye, so the rim clips it as it moves.
        moved = _darkest_centre(drawn[1], eye) - _darkest_centre(drawn[0], eye)
        assert float(moved @ aside) / float(aside @ aside) > 0.3

    def test_an_eye_the_photo_has_shut_is_the_targets_own(
        self, astronaut_face: tuple[np.ndarray, FaceObservation], grace_source: SourceFace
    ) -> None:
        original, face = astronaut_face
        shut = with_eye_opening(grace_source.points, 0.0, (RIGHT_EYE_RING,))
        winking = dataclasses.replace(grace_source, points=shut)
        frame = original.copy()

        render_face(frame, face, winking, 0.1, Timings())

        whole = Region(0, 0, original.shape[1], original.shape[0])
        difference = np.abs(frame.astype(int) - original.astype(int)).max(axis=2)
        assert difference[polygon_mask(face.landmarks, (RIGHT_EYE_RING,), whole)].mean() < 2.0
        assert difference[polygon_mask(face.landmarks, (LEFT_EYE_RING,), whole)].mean() > 10.0

    def test_a_shut_eye_shows_the_targets_own_lids_and_nothing_else_changes(self, blink: Blink) -> None:
        original, face, usual, blinking = blink

        whole = Region(0, 0, original.shape[1], original.shape[0])
        right_eye = polygon_mask(face.landmarks, (RIGHT_EYE_RING,), whole)
        lids = cv2.dilate(right_eye.view(np.uint8), np.ones((9, 9), np.uint8)).view(bool) & ~right_eye
        changed = np.abs(blinking.astype(int) - usual.astype(int)).max(axis=2) > 0
        to_original = [np.abs(image.astype(int) - original.astype(int)).max(axis=2)[lids].mean()
                       for image in (usual, blinking)]
        assert to_original[1] < 0.5 * to_original[0]  # the lids are the astronaut's again
        left_eye = polygon_mask(face.landmarks, (LEFT_EYE_RING,), whole)
        assert not changed[left_eye].any()
        assert not changed[face_skin(face, original.shape, towards_nose=0.9)].any()

    def test_a_shut_eye_shows_the_targets_own_lid_crease_above_it_too(self, blink: Blink) -> None:
        original, face, usual, blinking = blink

        # The triangles above the upper lid that do not touch the eye: where a photo's
        # crease and eye make-up sit.
        upper = eyelid_triangles(RIGHT_EYE_RING, upper_only=True, layers=2)
        crease = [tuple(t) for t in upper.tolist() if not set(t) & set(RIGHT_EYE_RING)]
        whole = Region(0, 0, original.shape[1], original.shape[0])
        inside = polygon_mask(face.landmarks, tuple(crease), whole)
        assert inside.sum() > 50
        to_original = [np.abs(image.astype(int) - original.astype(int))[inside].mean() for image in (usual, blinking)]
        assert to_original[1] < 0.05 * to_original[0]  # the target's own, not a fade of the photo

    def test_lids_drawn_far_larger_than_the_photo_has_them_are_the_targets_own(
        self, astronaut_face: tuple[np.ndarray, FaceObservation], grace_source: SourceFace
    ) -> None:
        original, face = astronaut_face
        raised = with_tall_lids(face.landmarks, 1.5)
        tall_lids = FaceObservation(0, raised, face.depth)  # not a blink: eye_closure is 0
        assert np.all(upper_lid_stretch(raised, grace_source.points) > STRETCH_TO)
        usual, drawn = original.copy(), original.copy()

        render_face(usual, face, grace_source, 0.1, Timings())
        render_face(drawn, tall_lids, grace_source, 0.1, Timings())

        whole = Region(0, 0, original.shape[1], original.shape[0])
        for ring in (RIGHT_EYE_RING, LEFT_EYE_RING):
            eye = polygon_mask(face.landmarks, (ring,), whole)
            lids = cv2.dilate(eye.view(np.uint8), np.ones((9, 9), np.uint8)).view(bool) & ~eye
            to_original = [np.abs(image.astype(int) - original.astype(int)).max(axis=2)[lids].mean()
                           for image in (usual, drawn)]
            assert to_original[1] < 0.5 * to_original[0]

    def test_lids_the_photo_would_half_stretch_are_the_targets_near_the_eye_only(
        self, astronaut_face: tuple[np.ndarray, FaceObservation], grace_source: SourceFace
    ) -> None:
        original, face = astronaut_face
        raised = with_tall_lids(face.landmarks, 0.9)
        stretch = upper_lid_stretch(raised, grace_source.points).min()
        assert STRETCH_FROM + 0.3 < stretch < STRETCH_TO - 0.3  # shown at about half
        drawn = original.copy()

        render_face(drawn, FaceObservation(0, raised, face.depth), grace_source, 0.1, Timings())

        whole = Region(0, 0, original.shape[1], original.shape[0])
        difference = np.abs(drawn.astype(int) - original.astype(int)).max(axis=2)
        for ring in (RIGHT_EYE_RING, LEFT_EYE_RING):
            eye = polygon_mask(raised, (ring,), whole).view(np.uint8)
            zone = polygon_mask(raised, tuple(map(tuple, eyelid_triangles(ring, layers=2).tolist())), whole)
            from_eye = cv2.distanceTransform(1 - eye, cv2.DIST_L2, 3)
            lash_line = (from_eye > 0) & (from_eye <= 2)
            far_side = zone & (from_eye > 0.8 * from_eye[zone].max())
            # Not a cross-fade: the target's own lash line, and the photo's lid beyond.
            assert difference[lash_line].mean() < 2 and difference[far_side].mean() > 8

    def test_a_taller_lid_keeps_the_photos_lash_line_thin(
        self, astronaut_face: tuple[np.ndarray, FaceObservation], grace_source: SourceFace,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        original, face = astronaut_face
        # The photo's lash lines painted black, so their drawn thickness can be counted.
        lashes = grace_source.image.copy()
        for ring in (RIGHT_EYE_RING, LEFT_EYE_RING):
            upper = np.round(grace_source.points[list(ring[8:] + ring[:1])]).astype(np.int32)
            cv2.polylines(lashes, [upper], False, (0, 0, 0), 4)
        painted = dataclasses.replace(grace_source, image=lashes)
        raised = with_tall_lids(face.landmarks, 0.5)
        tall_lids = FaceObservation(0, raised, face.depth)
        stretch = upper_lid_stretch(raised, grace_source.points)
        # Taller than the relief allows, short of where the target's own lids show.
        assert np.all((stretch > LASH_STRETCH) & (stretch < STRETCH_FROM))

        def dark_on_lids() -> int:
            drawn = original.copy()
            render_face(drawn, tall_lids, painted, 0.1, Timings())
            grey = cv2.cvtColor(drawn, cv2.COLOR_BGR2GRAY)
            whole = Region(0, 0, original.shape[1], original.shape[0])
            count = 0
            for ring in (RIGHT_EYE_RING, LEFT_EYE_RING):
                triangles = tuple(map(tuple, eyelid_triangles(ring, upper_only=True).tolist()))
                lid = polygon_mask(raised, triangles, whole) & ~polygon_mask(raised, (ring,), whole)
                count += int((grey[lid] < 50).sum())
            return count

        relieved = dark_on_lids()
        monkeypatch.setattr(render, "relieved_lids", lambda points, photo_points: photo_points)
        stretched = dark_on_lids()

        assert 0 < relieved < 0.8 * stretched

    def test_a_patch_of_the_photo_spread_far_around_the_mouth_shows_the_targets_skin(
        self, astronaut_face: tuple[np.ndarray, FaceObservation], grace_source: SourceFace
    ) -> None:
        original, face = astronaut_face
        # The photo's mesh says its mouth's surroundings are bunched up (as a broad
        # smile's folds are): the warp must spread that patch over the target's.
        around = np.unique(mesh_triangles()[mesh_triangles_near(OUTER_LIPS_RING, SPREAD_LAYERS)])
        centre = grace_source.points[list(OUTER_LIPS_RING)].mean(0)
        bunched = grace_source.points.copy()
        bunched[around] = centre + 0.45 * (bunched[around] - centre)
        smiling = dataclasses.replace(grace_source, points=bunched)
        usual, drawn = original.copy(), original.copy()

        render_face(usual, face, grace_source, 0.1, Timings())
        render_face(drawn, face, smiling, 0.1, Timings())

        whole = Region(0, 0, original.shape[1], original.shape[0])
        lips = polygon_mask(face.landmarks, (OUTER_LIPS_RING,), whole)
        width = face_width(face.landmarks)
        near_mouth = disc_mask(face.landmarks, MOUTH_CORNERS, 0.2 * width, whole) & ~cv2.dilate(
            lips.view(np.uint8), np.ones((int(0.1 * width),) * 2, np.uint8)
        ).view(bool)
        to_original = [np.abs(image.astype(int) - original.astype(int)).max(axis=2)[near_mouth].mean()
                       for image in (usual, drawn)]
        assert to_original[1] < 0.5 * to_original[0]

    def test_an_off_frame_face_is_skipped(
        self, astronaut_face: tuple[np.ndarray, FaceObservation], grace_source: SourceFace
    ) -> None:
        original, face = astronaut_face
        gone = FaceObservation(0, face.landmarks + np.float32([1000, 0]), face.depth)
        frame = original.copy()

        assert render_face(frame, gone, grace_source, 0.1, Timings()) is False
        np.testing.assert_array_equal(frame, original)

    def test_a_face_half_out_of_the_frame_is_drawn_where_visible(
        self, astronaut_face: tuple[np.ndarray, FaceObservation], grace_source: SourceFace
    ) -> None:
        original, face = astronaut_face
        half = FaceObservation(0, face.landmarks - np.float32([225, 0]), face.depth)
        frame = original.copy()

        assert render_face(frame, half, grace_source, 0.1, Timings()) is True
        assert np.abs(frame.astype(int) - original.astype(int))[:, :60].max() > 0
