"""Blending: the lit face laid over the target with per-pixel weights."""

from __future__ import annotations

import numpy as np
import pytest

from faceswap_nb.engine.blend import alpha_blend


@pytest.fixture
def images() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    face = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    target = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    return face, target


def test_weight_zero_keeps_the_target(images: tuple[np.ndarray, np.ndarray]) -> None:
    face, target = images

    np.testing.assert_array_equal(alpha_blend(face, target, np.zeros((6, 8), np.float32)), target)


def test_weight_one_is_the_face(images: tuple[np.ndarray, np.ndarray]) -> None:
    face, target = images

    np.testing.assert_array_equal(alpha_blend(face, target, np.ones((6, 8), np.float32)), face)


def test_half_weight_is_the_mean_within_rounding() -> None:
    face = np.full((1, 3, 3), 255, np.uint8)
    target = np.array([[[0] * 3, [100] * 3, [254] * 3]], np.uint8)

    mixed = alpha_blend(face, target, np.full((1, 3), 0.5, np.float32))

    assert mixed.dtype == np.uint8
    assert np.abs(mixed[0, :, 0].astype(int) - [127.5, 177.5, 254.5]).max() <= 0.5


def test_weights_apply_per_pixel(images: tuple[np.ndarray, np.ndarray]) -> None:
    face, target = images
    weight = np.zeros((6, 8), np.float32)
    weight[:, 4:] = 1.0

    mixed = alpha_blend(face, target, weight)

    np.testing.assert_array_equal(mixed[:, :4], target[:, :4])
    np.testing.assert_array_equal(mixed[:, 4:], face[:, 4:])


def test_does_not_modify_its_inputs(images: tuple[np.ndarray, np.ndarray]) -> None:
    face, target = images
    before = face.copy(), target.copy()

    alpha_blend(face, target, np.full((6, 8), 0.3, np.float32))

    np.testing.assert_array_equal(face, before[0])
    np.testing.assert_array_equal(target, before[1])
