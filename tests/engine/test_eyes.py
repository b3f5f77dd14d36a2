"""Eyes: the iris model redraws the lids (and only the lids); how open each eye is,
and how far it is shut compared with the face's usual opening."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from faceswap_nb.engine.detect import FaceDetector
from faceswap_nb.engine.eyes import (
    IRIS_MARGIN,
    LASH_STRETCH,
    LEFT_EYE_CONTOUR,
    LID_REACH,
    RIGHT_EYE_CONTOUR,
    EyeRefiner,
    eye_closure,
    eye_openings,
    eye_triangles,
    eyelid_triangles,
    irises_inside,
    relieved_lids,
    upper_lid_stretch,
)
from faceswap_nb.engine.landmarks import (
    FaceMesh,
    roi_from_detection,
    roi_from_landmarks,
)
from faceswap_nb.engine.topology import EYES, LEFT_BROW, LEFT_EYE_RING, RIGHT_BROW, RIGHT_EYE_RING
from faceswap_nb.engine.warp import triangle_areas
from tests.engine.conftest import with_eye_opening, with_eyes_painted_shut, with_tall_lids


@pytest.fixture(scope="module")
def astronaut() -> tuple[np.ndarray, np.ndarray]:
    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    mesh = FaceMesh()
    found = mesh(image, roi_from_detection(FaceDetector()(image)[0]))
    return image, mesh(image, roi_from_landmarks(found[0]))[0]


def _opening(points: np.ndarray, contour: tuple[int, ...]) -> float:
    upper, lower = points[contour[12]], points[contour[4]]
    return float(np.hypot(*(upper - lower)) / np.hypot(*(points[contour[0]] - points[contour[8]])))


def test_only_the_eye_contours_move_and_stay_close_to_the_mesh(astronaut):
    image, points = astronaut
    refined = EyeRefiner()(image, points)
    eyes = list(RIGHT_EYE_CONTOUR + LEFT_EYE_CONTOUR)
    others = np.setdiff1d(np.arange(468), eyes)
    assert np.array_equal(refined[others], points[others])
    eye_width = np.hypot(*(points[33] - points[133]))
    assert np.abs(refined[eyes] - points[eyes]).max() < 0.35 * eye_width
    assert not np.array_equal(refined[eyes], points[eyes])


def test_both_eyes_keep_their_orientation(astronaut):
    image, points = astronaut
    refined = EyeRefiner()(image, points)
    for contour in (RIGHT_EYE_CONTOUR, LEFT_EYE_CONTOUR):
        upper, lower = refined[contour[12]], refined[contour[4]]
        assert upper[1] < lower[1]  # the upper lid stays above the lower one
        assert 0.1 < _opening(refined, contour) < 0.6


def test_a_closed_eye_reads_more_closed_than_an_open_one(astronaut):
    image, points = astronaut
    closed = with_eyes_painted_shut(image, points)
    refiner = EyeRefiner()
    for contour in (RIGHT_EYE_CONTOUR, LEFT_EYE_CONTOUR):
        assert _opening(refiner(closed, points), contour) < _opening(refiner(image, points), contour)


def _across(points: np.ndarray, ring: tuple[int, ...], point: np.ndarray) -> float:
    """Where ``point`` lies along an eye's corner line: 0 at its outer corner, 1 at its inner."""
    corner, along = points[ring[0]], points[ring[8]] - points[ring[0]]
    return float((point - corner) @ along / (along @ along))


def test_each_iris_centre_comes_after_the_mesh_inside_its_eye(astronaut):
    image, points = astronaut
    refined = EyeRefiner()(image, points)

    assert refined.shape == (470, 2)
    for ring, iris in EYES:
        inside = cv2.pointPolygonTest(refined[list(ring)], tuple(map(float, refined[iris])), True)
        assert inside > 1.0  # pixels inside the lids
        assert 0.3 < _across(refined, ring, refined[iris]) < 0.7  # she looks at the camera


def test_an_iris_centre_follows_the_eye_as_it_looks_aside(astronaut):
    image, points = astronaut
    refiner = EyeRefiner()
    ahead = refiner(image, points)
    for shift in (-3.0, 3.0):
        aside = image.copy()
        moved = cv2.warpAffine(image, np.float32([[1, 0, shift], [0, 1, 0]]), image.shape[1::-1])
        for ring, _ in EYES:  # only what lies inside the lids moves
            eye = np.zeros(image.shape[:2], np.uint8)
            cv2.fillPoly(eye, [np.round(ahead[list(ring)]).astype(np.int32)], 1)
            aside[eye > 0] = moved[eye > 0]
        looked = refiner(aside, points)
        for _, iris in EYES:
            assert looked[iris] - ahead[iris] == pytest.approx([shift, 0.0], abs=1.0)


class TestIrisesInside:
    def test_an_iris_in_the_middle_of_its_eye_stays_where_it_is(self, astronaut):
        image, points = astronaut
        refined = EyeRefiner()(image, points)
        np.testing.assert_array_equal(irises_inside(refined), refined)

    def test_an_iris_drawn_outside_its_eye_is_brought_inside_and_nothing_else_moves(self, astronaut):
        image, points = astronaut
        refined = EyeRefiner()(image, points)
        stray = refined.copy()
        for ring, iris in EYES:  # past the outer corner, above the brow
            stray[iris] = refined[ring[0]] + 1.5 * (refined[ring[0]] - refined[ring[8]]) - [0.0, 30.0]

        held = irises_inside(stray)

        np.testing.assert_array_equal(held[:468], stray[:468])
        for ring, iris in EYES:
            assert _across(held, ring, held[iris]) == pytest.approx(IRIS_MARGIN, abs=1e-4)
            assert cv2.pointPolygonTest(held[list(ring)], tuple(map(float, held[iris])), True) > 0.5

    def test_on_a_shut_eye_the_iris_lies_between_the_lids(self, astronaut):
        image, points = astronaut
        shut = with_eye_opening(EyeRefiner()(image, points), 0.0)
        held = irises_inside(shut)
        for ring, iris in EYES:
            corners = held[[ring[0], ring[8]]]
            assert held[iris][1] == pytest.approx(corners[:, 1].mean(), abs=0.5)


def test_the_eyes_triangles_fan_from_the_iris_and_fill_the_eye_once(astronaut):
    image, points = astronaut
    refined = EyeRefiner()(image, points)
    triangles = eye_triangles()

    assert len(triangles) == len(RIGHT_EYE_RING) + len(LEFT_EYE_RING)
    for ring, iris in EYES:
        fan = triangles[(triangles == iris).any(axis=1)]
        assert len(fan) == len(ring) and set(fan.ravel()) == {iris, *ring}
        area = triangle_areas(refined, fan).sum()
        assert area == pytest.approx(cv2.contourArea(refined[list(ring)]), rel=1e-3)


class TestEyeOpenings:
    def test_an_open_eye_reads_about_a_quarter_and_a_squeezed_one_less(self, astronaut):
        image, points = astronaut
        refined = EyeRefiner()(image, points)

        open_ = eye_openings(refined)
        half = eye_openings(with_eye_opening(refined, 0.5))

        assert open_.shape == (2,)
        assert np.all((open_ > 0.15) & (open_ < 0.4))
        np.testing.assert_allclose(half, open_ / 2, rtol=0.05)

    def test_the_faces_size_and_roll_do_not_change_it(self, astronaut):
        _, points = astronaut
        turn = np.radians(30)
        rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])

        moved = (3.0 * points @ rotation.T + [40, -20]).astype(np.float32)

        np.testing.assert_allclose(eye_openings(moved), eye_openings(points), rtol=1e-3)


class TestEyeClosure:
    def test_a_blink_closes_from_zero_to_one_and_open_frames_stay_zero(self, astronaut):
        _, points = astronaut
        factors = [1.0] * 10 + [0.8, 0.4, 0.7] + [1.0] * 10 + [0.95]
        track = [with_eye_opening(points, f) for f in factors]

        closure = eye_closure(track)

        assert closure.shape == (len(factors), 2)
        assert np.all(closure[:10] == 0) and np.all(closure[13:] == 0)  # 0.95: still open
        assert np.all(closure[11] == 1.0)  # 0.4 of the usual opening: shut
        assert np.all((closure[10] > 0) & (closure[10] < 1) & (closure[12] > closure[10]))

    def test_a_squint_held_for_most_of_the_track_is_the_faces_usual_opening(self, astronaut):
        _, points = astronaut
        track = [with_eye_opening(points, 0.5)] * 8 + [points] * 2

        assert np.all(eye_closure(track) == 0)

    def test_one_frame_and_degenerate_eyes_are_never_shut(self, astronaut):
        _, points = astronaut
        flat = with_eye_opening(points, 0.0)

        assert np.all(eye_closure([points]) == 0)
        assert np.all(eye_closure([flat, flat, flat]) == 0)


class TestUpperLidStretch:
    def test_the_photos_own_mesh_however_moved_is_not_stretched(self, astronaut):
        _, points = astronaut
        turn = np.radians(-20)
        rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
        moved = (0.4 * points @ rotation.T + [100, 30]).astype(np.float32)

        np.testing.assert_allclose(upper_lid_stretch(points, points), [1.0, 1.0])
        np.testing.assert_allclose(upper_lid_stretch(moved, points), [1.0, 1.0], rtol=1e-4)

    def test_a_closing_eye_stretches_its_upper_lid(self, astronaut):
        _, points = astronaut

        stretch = upper_lid_stretch(with_eye_opening(points, 0.3), points)

        assert np.all(stretch > 1.5)

    def test_the_upper_lid_is_the_triangles_on_the_lid_from_corner_to_corner(self, astronaut):
        _, points = astronaut
        for ring in (RIGHT_EYE_RING, LEFT_EYE_RING):
            lid = eyelid_triangles(ring, upper_only=True)
            everything = eyelid_triangles(ring)

            upper = ring[8:] + ring[:1]  # from the inner corner over the eye to the outer one
            assert all(set(triangle) & set(upper) for triangle in lid.tolist())
            assert len(lid) < len(everything)
            assert points[lid].mean(axis=(0, 1))[1] < points[list(ring)].mean(0)[1]

    def test_each_layer_adds_the_triangles_touching_the_last(self):
        for ring in (RIGHT_EYE_RING, LEFT_EYE_RING):
            first, second = eyelid_triangles(ring), eyelid_triangles(ring, layers=2)

            assert {tuple(t) for t in first.tolist()} < {tuple(t) for t in second.tolist()}
            beyond = [t for t in second.tolist() if not set(t) & set(ring)]
            assert beyond and all(set(t) & set(first.ravel().tolist()) for t in beyond)


class TestRelievedLids:
    def test_lids_drawn_as_the_photo_has_them_leave_the_photo_as_it_is(self, astronaut):
        _, points = astronaut
        turn = np.radians(15)
        rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
        moved = (0.5 * points @ rotation.T + [40, 80]).astype(np.float32)

        assert np.array_equal(relieved_lids(points, points), points)
        assert np.array_equal(relieved_lids(moved, points), points)

    def test_a_taller_lid_draws_more_of_the_photos_lid_and_stretches_it_less(self, astronaut):
        _, points = astronaut
        tall = with_tall_lids(points, 0.3)

        relieved = relieved_lids(tall, points)

        moved = set(np.flatnonzero(np.any(relieved != points, axis=1)).tolist())
        lids = {}
        for ring, brow in ((RIGHT_EYE_RING, RIGHT_BROW), (LEFT_EYE_RING, LEFT_BROW)):
            lids[ring] = set(np.setdiff1d(eyelid_triangles(ring, upper_only=True, layers=2), ring + brow).tolist())
            assert moved & lids[ring]
        assert moved <= set.union(*lids.values())  # rings, brows and the rest stay
        for ring, brow in ((RIGHT_EYE_RING, RIGHT_BROW), (LEFT_EYE_RING, LEFT_BROW)):
            centre = points[list(ring)].mean(0)
            up = points[list(brow)].mean(0) - centre
            up /= np.hypot(*up)
            mine = sorted(moved & lids[ring])
            assert np.all((relieved[mine] - points[mine]) @ up > 0)  # away from the eye
            assert np.all((relieved[mine] - centre) @ up < ((points[list(brow)] - centre) @ up).max())
        before, after = upper_lid_stretch(tall, points), upper_lid_stretch(tall, relieved)
        assert np.all(before > LASH_STRETCH) and np.all(after < 0.8 * before)

    def test_the_lid_never_reaches_the_brow_however_tall_it_is_drawn(self, astronaut):
        _, points = astronaut

        relieved = relieved_lids(with_tall_lids(points, 5.0), points)

        for ring, brow in ((RIGHT_EYE_RING, RIGHT_BROW), (LEFT_EYE_RING, LEFT_BROW)):
            lashes = points[list(ring[9:])]
            brow_points = points[list(brow)]
            lid = np.setdiff1d(eyelid_triangles(ring, upper_only=True, layers=2), ring + brow)
            for index in lid:
                nearest = lashes[np.argmin(np.hypot(*(lashes - points[index]).T))]
                before = np.hypot(*(points[index] - nearest))
                after = np.hypot(*(relieved[index] - nearest))
                to_brow = np.hypot(*(brow_points - nearest).T).min()
                assert after <= before + LID_REACH * max(to_brow - before, 0.0) + 1e-3
