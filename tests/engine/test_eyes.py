"""Eye refinement: the iris model redraws the lids, and only the lids."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from faceswap_nb.engine.detect import FaceDetector
from faceswap_nb.engine.eyes import LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR, EyeRefiner
from faceswap_nb.engine.landmarks import FaceMesh, roi_from_detection, roi_from_landmarks


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
    closed = image.copy()
    for contour in (RIGHT_EYE_CONTOUR, LEFT_EYE_CONTOUR):
        ring = points[list(contour)]
        x0, y0 = ring.min(0).astype(int) - 3
        x1, y1 = ring.max(0).astype(int) + 3
        skin = image[y0 - 12 : y0 - 4, x0:x1].mean(axis=(0, 1))
        closed[y0:y1, x0:x1] = skin  # paint the eye over with lid-coloured skin
        cv2.line(closed, (x0, (y0 + y1) // 2 + 2), (x1, (y0 + y1) // 2 + 2), (40, 30, 30), 2)
    refiner = EyeRefiner()
    for contour in (RIGHT_EYE_CONTOUR, LEFT_EYE_CONTOUR):
        assert _opening(refiner(closed, points), contour) < _opening(refiner(image, points), contour)
