"""Lighting transfer: the target's low frequencies under the source face's detail."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from matplotlib import cbook
from skimage import data

from faceswap_nb.engine.light import (
    masked_blur,
    match_detail,
    to_lab,
    transfer_lighting,
)

FACE_WIDTH = 100.0


@pytest.fixture(scope="module")
def source_face() -> np.ndarray:
    """The astronaut's face, 110×100, as if already warped onto the target mesh."""
    astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    return np.ascontiguousarray(astronaut[70:180, 175:275])


@pytest.fixture(scope="module")
def target_face() -> np.ndarray:
    """Grace Hopper's face resized to the same window: other light, other detail."""
    photo = cv2.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    return cv2.resize(photo[130:330, 165:365], (100, 110), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def skin() -> np.ndarray:
    weight = np.zeros((110, 100), np.float32)
    cv2.ellipse(weight, (50, 55), (40, 48), 0, 0, 360, 1.0, thickness=-1)
    return weight


def _darker_and_tinted(image: np.ndarray) -> np.ndarray:
    lab = to_lab(image)
    lab[..., 0] *= 0.6
    lab[..., 1] += 10.0
    lab[..., 2] -= 8.0
    bgr = cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)
    return np.clip(bgr * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _high_pass(image: np.ndarray, where: np.ndarray) -> np.ndarray:
    lightness = to_lab(image)[..., 0]
    return (lightness - cv2.GaussianBlur(lightness, (0, 0), 2.0))[where]


class TestLab:
    def test_lightness_runs_from_0_to_100(self) -> None:
        lab = to_lab(np.array([[[0, 0, 0], [255, 255, 255]]], np.uint8))

        np.testing.assert_allclose(lab[0, :, 0], [0.0, 100.0], atol=0.01)


class TestMaskedBlur:
    def test_pixels_with_zero_weight_do_not_leak_in(self) -> None:
        lab = np.zeros((64, 96, 3), np.float32)
        lab[:, :48] = [100.0, 50.0, -50.0]  # a bright outside region, weight 0
        lab[:, 48:] = [20.0, 5.0, 10.0]
        weight = np.zeros((64, 96), np.float32)
        weight[:, 48:] = 1.0

        blurred = masked_blur(lab, weight, sigma=12.0)

        assert blurred.shape == lab.shape
        np.testing.assert_allclose(blurred[:, 48:], np.broadcast_to([20.0, 5.0, 10.0], (64, 48, 3)),
                                   atol=0.05)  # fmt: skip
        plain = cv2.GaussianBlur(lab, (0, 0), 12.0)
        assert plain[:, 48, 0] == pytest.approx(60.0, abs=5.0)  # what an unmasked blur does

    def test_averages_the_weighted_pixels(self) -> None:
        rng = np.random.default_rng(1)
        lab = rng.uniform(0, 100, (80, 80, 3)).astype(np.float32)
        weight = np.ones((80, 80), np.float32)

        blurred = masked_blur(lab, weight, sigma=40.0)

        # A blur this wide flattens noise to its mean.
        assert blurred.std(axis=(0, 1)).max() < 3.0
        np.testing.assert_allclose(blurred.mean(axis=(0, 1)), lab.mean(axis=(0, 1)), atol=1.0)

    def test_handles_odd_and_tiny_sizes(self) -> None:
        for height, width in [(37, 53), (3, 5)]:
            lab = np.full((height, width, 3), 42.0, np.float32)

            blurred = masked_blur(lab, np.ones((height, width), np.float32), sigma=4.0)

            assert blurred.shape == (height, width, 3)
            np.testing.assert_allclose(blurred, 42.0, atol=1e-3)


class TestTransferLighting:
    @pytest.fixture
    def warped(self, source_face: np.ndarray) -> np.ndarray:
        """The source face as a darker, tinted photo would give it."""
        return _darker_and_tinted(source_face)

    @pytest.fixture
    def lit(self, warped: np.ndarray, target_face: np.ndarray, skin: np.ndarray) -> np.ndarray:
        return transfer_lighting(warped, target_face, skin, FACE_WIDTH)

    def test_takes_the_targets_tone_and_light(
        self, warped: np.ndarray, lit: np.ndarray, target_face: np.ndarray, skin: np.ndarray
    ) -> None:
        inside = skin > 0

        assert lit.shape == warped.shape and lit.dtype == np.uint8
        target_mean = to_lab(target_face)[inside].mean(0)
        assert np.abs(to_lab(warped)[inside].mean(0) - target_mean).max() > 10  # a real change
        np.testing.assert_allclose(to_lab(lit)[inside].mean(0), target_mean, atol=1.5)

    def test_follows_the_targets_shading_across_the_face(
        self, lit: np.ndarray, target_face: np.ndarray, skin: np.ndarray
    ) -> None:
        # Low frequencies, not just the mean: compare the two blurred images pixel by pixel.
        inside = cv2.erode(skin, np.ones((9, 9), np.uint8)) > 0
        sigma = 0.1 * FACE_WIDTH

        lit_low = masked_blur(to_lab(lit), skin, sigma)[inside]
        target_low = masked_blur(to_lab(target_face), skin, sigma)[inside]
        assert np.abs(lit_low - target_low)[:, 0].mean() < 2.0

    def test_keeps_the_source_detail(
        self, warped: np.ndarray, lit: np.ndarray, target_face: np.ndarray, skin: np.ndarray
    ) -> None:
        inside = skin > 0

        detail = _high_pass(lit, inside)
        assert np.corrcoef(detail, _high_pass(warped, inside))[0, 1] > 0.9
        assert abs(np.corrcoef(detail, _high_pass(target_face, inside))[0, 1]) < 0.3

    def test_the_same_light_changes_nothing(self, source_face: np.ndarray, skin: np.ndarray) -> None:
        lit = transfer_lighting(source_face, source_face, skin, FACE_WIDTH)

        assert np.abs(lit.astype(int) - source_face.astype(int)).max() <= 1


class TestLightingZone:
    """A 10-pixel dark crease on a 100-pixel face: finer than the face-wide light."""

    SKIN = np.ones((110, 100), np.float32)

    @staticmethod
    def _creased(seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        face = np.clip(150 + rng.normal(0, 6, (110, 100, 1)), 0, 255).repeat(3, axis=2)
        face[:, 55:65] -= 40
        return face.astype(np.uint8)

    @staticmethod
    def _crease_depth(image: np.ndarray) -> float:
        rows = image[40:70].astype(float)
        return float(rows[:, 44:50].mean() - rows[:, 57:63].mean())

    @pytest.fixture
    def zone(self) -> np.ndarray:
        zone = np.zeros((110, 100), np.float32)
        zone[30:80, 40:80] = 1.0
        return zone

    def test_inside_the_zone_the_targets_shading_replaces_the_crease(self, zone: np.ndarray) -> None:
        creased = self._creased(1)
        smooth_target = np.full_like(creased, 150)

        everywhere = transfer_lighting(creased, smooth_target, self.SKIN, FACE_WIDTH)
        zoned = transfer_lighting(creased, smooth_target, self.SKIN, FACE_WIDTH, zone=zone, zone_scale=0.05)

        assert self._crease_depth(everywhere) > 0.7 * self._crease_depth(creased)  # too narrow for 0.1
        assert self._crease_depth(zoned) < 0.5 * self._crease_depth(creased)
        # The skin's own fine grain stays: the local mean moves, the noise does not.
        grain = (zoned[40:70, 44:50].astype(float) - creased[40:70, 44:50]).std()
        assert grain < 3.0

    def test_inside_the_zone_the_photos_creases_drop_even_where_the_target_has_none_finer(
        self, zone: np.ndarray
    ) -> None:
        creased = self._creased(6)
        smooth_target = np.full_like(creased, 150)

        at_zone_scale = transfer_lighting(creased, smooth_target, self.SKIN, FACE_WIDTH, zone=zone, zone_scale=0.2)
        detail_only = transfer_lighting(
            creased, smooth_target, self.SKIN, FACE_WIDTH, zone=zone, zone_scale=0.2, zone_detail=0.03
        )

        # The target's scale alone is too broad to take the 10-pixel crease away ...
        assert self._crease_depth(at_zone_scale) > 0.5 * self._crease_depth(creased)
        # ... but the photo keeps only what is finer than 3 pixels: grain, not creases.
        assert self._crease_depth(detail_only) < 0.25 * self._crease_depth(creased)
        grain = (detail_only[40:70, 44:50].astype(float) - creased[40:70, 44:50]).std()
        assert grain < 3.0

    def test_outside_the_zone_the_face_wide_light_is_unchanged(self, zone: np.ndarray) -> None:
        creased, target = self._creased(2), self._creased(3)[:, ::-1].copy()

        everywhere = transfer_lighting(creased, target, self.SKIN, FACE_WIDTH)
        zoned = transfer_lighting(creased, target, self.SKIN, FACE_WIDTH, zone=zone, zone_scale=0.05)

        outside = zone == 0
        np.testing.assert_array_equal(zoned[outside], everywhere[outside])
        assert np.abs(zoned[~outside].astype(int) - everywhere[~outside]).max() > 5

    def test_an_empty_zone_is_the_face_wide_light(self) -> None:
        creased, target = self._creased(4), self._creased(5)

        zoned = transfer_lighting(creased, target, self.SKIN, FACE_WIDTH, zone=np.zeros_like(self.SKIN))

        np.testing.assert_array_equal(zoned, transfer_lighting(creased, target, self.SKIN, FACE_WIDTH))


class TestMatchDetail:
    @staticmethod
    def _textured(seed: int, amplitude: float) -> np.ndarray:
        rng = np.random.default_rng(seed)
        base = np.full((120, 120, 3), 128.0)
        fine = rng.normal(0, amplitude, (120, 120, 1))
        coarse = cv2.resize(rng.normal(0, amplitude, (20, 20)), (120, 120))[..., None]
        return np.clip(base + fine + coarse, 0, 255).astype(np.uint8)

    @staticmethod
    def _energy(image: np.ndarray, sigma: float) -> float:
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
        return float((grey - cv2.GaussianBlur(grey, (0, 0), sigma)).std())

    def test_a_sharp_face_on_a_soft_video_is_softened_to_the_videos_level(self) -> None:
        sharp, soft = self._textured(1, 30.0), self._textured(2, 6.0)
        weight = np.ones((120, 120), np.float32)

        matched = match_detail(sharp, soft, weight)

        for sigma in (1.5, 4.0):
            assert self._energy(matched, sigma) < 0.6 * self._energy(sharp, sigma)
        assert self._energy(matched, 1.5) == pytest.approx(self._energy(soft, 1.5), rel=0.35)

    def test_detail_is_never_sharpened(self) -> None:
        soft, sharp = self._textured(3, 6.0), self._textured(4, 30.0)

        matched = match_detail(soft, sharp, np.ones((120, 120), np.float32))

        np.testing.assert_array_equal(matched, soft)

    def test_without_enough_skin_the_face_is_left_alone(self) -> None:
        sharp, soft = self._textured(5, 30.0), self._textured(6, 6.0)

        matched = match_detail(sharp, soft, np.zeros((120, 120), np.float32))

        np.testing.assert_array_equal(matched, sharp)
