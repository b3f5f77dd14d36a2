"""Masks: the face silhouette and the soft weights the new face is blended with."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceswap_nb.engine.mask import (
    blend_weights,
    fill_holes,
    part_weights,
    skin_weights,
    smoothstep,
)

SIZE = 160
CENTRE = (80, 80)
RADIUS = 60
EYES = [(55, 60), (105, 60)]
EYE_RADIUS = 8
FACE_WIDTH = 120.0


def _disk(radius: int, centre: tuple[int, int] = CENTRE, size: int = SIZE) -> np.ndarray:
    canvas = np.zeros((size, size), np.uint8)
    cv2.circle(canvas, centre, radius, 1, thickness=-1)
    return canvas.astype(bool)


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    """A round synthetic face the mesh covers, with two eye holes."""
    covered = _disk(RADIUS)
    for eye in EYES:
        covered &= ~_disk(EYE_RADIUS, eye)
    return covered


@pytest.fixture(scope="module")
def weights(face: np.ndarray) -> np.ndarray:
    return blend_weights(face, FACE_WIDTH)


class TestFillHoles:
    def test_fills_the_holes_inside_the_face(self, face: np.ndarray) -> None:
        silhouette = fill_holes(face)

        assert silhouette.dtype == np.uint8
        assert set(np.unique(silhouette)) == {0, 1}
        np.testing.assert_array_equal(silhouette.astype(bool), _disk(RADIUS))

    def test_fills_every_separate_face(self) -> None:
        ring_a = _disk(20, (30, 30)) & ~_disk(8, (30, 30))
        ring_b = _disk(20, (110, 110)) & ~_disk(8, (110, 110))

        silhouette = fill_holes(ring_a | ring_b)

        np.testing.assert_array_equal(silhouette.astype(bool), _disk(20, (30, 30)) | _disk(20, (110, 110)))

    def test_a_notch_open_to_the_outside_is_not_a_hole(self) -> None:
        covered = np.zeros((50, 50), bool)
        covered[10:40, 10:40] = True
        covered[20:30, 10:25] = False  # cut in from the left edge

        silhouette = fill_holes(covered)

        np.testing.assert_array_equal(silhouette.astype(bool), covered)

    def test_nothing_covered_nothing_filled(self) -> None:
        assert fill_holes(np.zeros((10, 10), bool)).sum() == 0


class TestBlendWeights:
    def test_is_a_float32_weight_in_0_to_1(self, face: np.ndarray, weights: np.ndarray) -> None:
        assert weights.shape == face.shape and weights.dtype == np.float32
        assert weights.min() >= 0.0 and weights.max() <= 1.0

    def test_is_zero_outside_the_face(self, weights: np.ndarray) -> None:
        assert np.all(weights[~_disk(RADIUS)] == 0.0)

    def test_keeps_a_band_of_the_target_inside_the_outline(self, weights: np.ndarray) -> None:
        # inset = 4 % of the face width: the jaw and hairline stay the target's own.
        band = _disk(RADIUS) & ~_disk(RADIUS - 4)

        assert weights[band].max() < 0.02

    def test_is_one_deep_inside(self, weights: np.ndarray) -> None:
        deep = _disk(RADIUS - 20)
        for eye in EYES:
            deep &= ~_disk(EYE_RADIUS + 6, eye)

        np.testing.assert_allclose(weights[deep], 1.0, atol=1e-3)

    def test_ramps_up_monotonically_from_the_edge(self, weights: np.ndarray) -> None:
        ray = weights[110, :81]  # from outside the face to its centre, below the eyes

        assert ray[0] == 0.0 and ray[-1] == pytest.approx(1.0, abs=1e-3)
        assert np.all(np.diff(ray) >= -1e-6)
        assert 3 <= np.count_nonzero((ray > 0.05) & (ray < 0.95)) <= 25  # a ramp, not a step

    def test_is_small_inside_the_holes_and_rises_quickly_around_them(self, weights: np.ndarray) -> None:
        for x, y in EYES:
            assert weights[y, x] < 0.01
            assert weights[y, x + EYE_RADIUS + 5] > 0.95  # a narrow fade keeps lids crisp

    def test_scales_with_the_face(self, face: np.ndarray) -> None:
        narrow, wide = blend_weights(face, 60.0), blend_weights(face, 240.0)

        assert narrow[110, 40] > wide[110, 40]


class TestSkinWeights:
    def test_is_the_covered_area_without_occlusions(self) -> None:
        covered = np.array([[True, True, False]])
        occluded = np.array([[0.0, 1.0, 1.0]], np.float32)

        np.testing.assert_array_equal(skin_weights(covered), [[1.0, 1.0, 0.0]])
        np.testing.assert_array_equal(skin_weights(covered, occluded), [[1.0, 0.0, 0.0]])


class TestSmoothstep:
    def test_is_0_below_0_and_1_above_1(self) -> None:
        assert smoothstep(np.array([-3.0, 0.0, 1.0, 7.0])).tolist() == [0.0, 0.0, 1.0, 1.0]

    def test_rises_monotonically_and_flat_at_both_ends(self) -> None:
        x = np.linspace(0, 1, 101)
        y = smoothstep(x)

        assert np.all(np.diff(y) >= 0)
        assert y[50] == pytest.approx(0.5)
        assert y[1] < 0.001 and y[-2] > 0.999


@pytest.fixture(scope="module")
def lips() -> np.ndarray:
    """Synthetic lips: a flat ellipse below the face's centre."""
    canvas = np.zeros((SIZE, SIZE), np.uint8)
    cv2.ellipse(canvas, (80, 110), (24, 8), 0, 0, 360, 1, thickness=-1)
    return canvas.astype(bool)


class TestPartWeights:
    def test_is_one_on_the_part_and_zero_far_from_it(self, lips: np.ndarray) -> None:
        weight = part_weights(lips, FACE_WIDTH)

        assert weight.dtype == np.float32
        assert weight[110, 70:91].min() > 0.99
        assert weight[:80].max() == 0.0

    def test_fades_over_a_band_that_grows_with_the_face(self, lips: np.ndarray) -> None:
        narrow = part_weights(lips, FACE_WIDTH)
        wide = part_weights(lips, 2 * FACE_WIDTH)
        below = narrow[118:135, 80]

        assert np.all(np.diff(below) <= 1e-6)
        assert 0.0 < narrow[124, 80] < 1.0
        assert wide[124, 80] > narrow[124, 80]
