"""The 468-point face mesh: rotated crops (ROIs) and the mesh model on real faces."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from skimage import data

from faceswap_nb.engine.detect import FaceDetector
from faceswap_nb.engine.landmarks import (
    LEFT_EYE_CORNER,
    RIGHT_EYE_CORNER,
    FaceMesh,
    Roi,
    face_width,
    roi_from_detection,
    roi_from_landmarks,
)
from faceswap_nb.engine.types import Detection


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="module")
def mesh() -> FaceMesh:
    return FaceMesh()


@pytest.fixture(scope="module")
def astronaut_face(astronaut: np.ndarray) -> Detection:
    return FaceDetector()(astronaut)[0]


@pytest.fixture(scope="module")
def astronaut_points(mesh: FaceMesh, astronaut: np.ndarray, astronaut_face: Detection) -> np.ndarray:
    """The astronaut's mesh, refined once from its own ROI (as the tracker does)."""
    first = mesh(astronaut, roi_from_detection(astronaut_face))
    assert first is not None
    second = mesh(astronaut, roi_from_landmarks(first[0]))
    assert second is not None
    return second[0]


def _apply(matrix: np.ndarray, point: tuple[float, float]) -> np.ndarray:
    return matrix @ np.array([point[0], point[1], 1.0])


def _synthetic_landmarks(angle: float, centre: tuple[float, float]) -> np.ndarray:
    """468 points filling a 100×140 box, eye corners level, then rolled by ``angle``."""
    rng = np.random.default_rng(7)
    upright = rng.uniform([-50, -70], [50, 70], size=(468, 2))
    upright[[0, 1]] = [[-50, -70], [50, 70]]  # pin the box's extent
    upright[RIGHT_EYE_CORNER] = [-30, -20]
    upright[LEFT_EYE_CORNER] = [30, -20]
    cos, sin = math.cos(angle), math.sin(angle)
    rolled = upright @ np.array([[cos, sin], [-sin, cos]])
    return (rolled + centre).astype(np.float32)


def _roll(points: np.ndarray) -> float:
    right, left = points[RIGHT_EYE_CORNER], points[LEFT_EYE_CORNER]
    return math.atan2(left[1] - right[1], left[0] - right[0])


class TestRoi:
    def test_the_roi_centre_maps_to_the_crop_centre(self) -> None:
        roi = Roi(cx=310.0, cy=-12.0, size=90.0, angle=0.7)

        np.testing.assert_allclose(_apply(roi.to_crop(192), (310.0, -12.0)), [96.0, 96.0])

    def test_the_roi_side_fills_the_crop(self) -> None:
        roi = Roi(cx=100.0, cy=50.0, size=40.0, angle=0.0)
        matrix = roi.to_crop(160)

        np.testing.assert_allclose(_apply(matrix, (80.0, 30.0)), [0.0, 0.0])
        np.testing.assert_allclose(_apply(matrix, (120.0, 70.0)), [160.0, 160.0])

    @pytest.mark.parametrize("angle", [0.0, 0.4, -1.2, math.pi / 2])
    def test_the_roll_direction_becomes_the_crop_horizontal(self, angle: float) -> None:
        roi = Roi(cx=200.0, cy=150.0, size=100.0, angle=angle)
        along = (200.0 + 25.0 * math.cos(angle), 150.0 + 25.0 * math.sin(angle))
        across = (200.0 - 25.0 * math.sin(angle), 150.0 + 25.0 * math.cos(angle))

        matrix = roi.to_crop(200)

        np.testing.assert_allclose(_apply(matrix, along), [150.0, 100.0], atol=1e-9)
        np.testing.assert_allclose(_apply(matrix, across), [100.0, 150.0], atol=1e-9)


    @pytest.mark.parametrize("angle", [0.0, 0.5, -2.0])
    def test_around_centres_a_rolled_box_on_the_points_and_scales_its_longer_side(
        self, angle: float
    ) -> None:
        # A 60 × 20 rectangle of points, rolled by ``angle`` around (300, 200).
        corners = np.array([[-30, -10], [30, -10], [30, 10], [-30, 10], [0, 0]], np.float32)
        roll = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        points = (corners @ roll.T + [300, 200]).astype(np.float32)

        roi = Roi.around(points, angle, scale=1.5)

        assert (roi.cx, roi.cy, roi.size, roi.angle) == pytest.approx((300, 200, 90, angle), abs=1e-3)
        in_crop = points @ roi.to_crop(90)[:, :2].T + roi.to_crop(90)[:, 2]
        np.testing.assert_allclose(in_crop[:4], [[15, 35], [75, 35], [75, 55], [15, 55]], atol=1e-3)


class TestRoiFromLandmarks:
    @pytest.mark.parametrize("angle", [0.0, 0.35, -0.6])
    def test_recovers_the_roll_centre_and_size_of_a_rolled_face(self, angle: float) -> None:
        points = _synthetic_landmarks(angle, centre=(320.0, 240.0))

        roi = roi_from_landmarks(points)

        assert roi.angle == pytest.approx(angle, abs=1e-5)
        assert (roi.cx, roi.cy) == (pytest.approx(320.0, abs=1e-3), pytest.approx(240.0, abs=1e-3))
        assert roi.size == pytest.approx(140.0 * 1.5, rel=1e-4)

    def test_the_crop_holds_every_landmark(self) -> None:
        points = _synthetic_landmarks(0.5, centre=(100.0, 80.0))
        roi = roi_from_landmarks(points)

        crop = points @ roi.to_crop(192)[:, :2].T + roi.to_crop(192)[:, 2]

        assert crop.min() > 0 and crop.max() < 192


class TestFaceWidth:
    def test_is_the_geometric_mean_of_the_box_sides(self) -> None:
        points = np.array([[10, 20], [40, 20], [10, 140], [25, 80]], np.float32)

        assert face_width(points) == pytest.approx(math.sqrt(30 * 120))

    @pytest.mark.parametrize("degrees", [15, 30, 45, 90])
    def test_hardly_changes_when_the_head_rolls(
        self, astronaut_points: np.ndarray, degrees: float
    ) -> None:
        points = astronaut_points
        turn = math.radians(degrees)
        rotation = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])

        rolled = (points @ rotation.T).astype(np.float32)

        assert face_width(rolled) == pytest.approx(face_width(points), rel=0.1)


class TestRoiFromDetection:
    def test_is_a_square_larger_than_the_box_rolled_by_the_eyes(self) -> None:
        keypoints = np.zeros((6, 2), np.float32)
        keypoints[0], keypoints[1] = [40.0, 50.0], [60.0, 70.0]  # eyes on a 45° line
        detection = Detection((20.0, 30.0, 80.0, 110.0), 0.9, keypoints)

        roi = roi_from_detection(detection)

        assert (roi.cx, roi.cy) == (50.0, 70.0)
        assert roi.size == pytest.approx(80.0 * 1.5)
        assert roi.angle == pytest.approx(math.pi / 4)


class TestFaceMesh:
    def test_returns_468_points_on_the_astronauts_face(
        self, mesh: FaceMesh, astronaut: np.ndarray, astronaut_face: Detection
    ) -> None:
        found = mesh(astronaut, roi_from_detection(astronaut_face))

        assert found is not None
        points, depth, presence = found
        assert points.shape == (468, 2) and points.dtype == np.float32
        assert depth.shape == (468,) and depth.dtype == np.float32
        assert presence >= 0.5
        x0, y0, x1, y1 = astronaut_face.box
        margin = 0.15 * (x1 - x0)  # the mesh reaches the chin, a little below the box
        assert np.all(points >= [x0 - margin, y0 - margin])
        assert np.all(points <= [x1 + margin, y1 + margin])

    def test_eye_corners_are_level_and_apart_on_an_upright_face(
        self, astronaut_points: np.ndarray, astronaut_face: Detection
    ) -> None:
        points = astronaut_points
        right, left = points[RIGHT_EYE_CORNER], points[LEFT_EYE_CORNER]

        assert right[0] < left[0]
        assert abs(_roll(points)) < math.radians(10)
        assert left[0] - right[0] > 0.4 * (astronaut_face.box[2] - astronaut_face.box[0])

    def test_follows_a_rolled_face(
        self, mesh: FaceMesh, astronaut: np.ndarray, astronaut_points: np.ndarray
    ) -> None:
        # Turn the picture 25° about the face; the mesh's eye line must turn with it.
        upright = astronaut_points
        turn = cv2.getRotationMatrix2D((225.0, 120.0), -25.0, 1.0)  # clockwise on screen
        rolled_image = cv2.warpAffine(astronaut, turn, (512, 512), borderMode=cv2.BORDER_REFLECT)
        expected = upright @ turn[:, :2].T.astype(np.float32) + turn[:, 2].astype(np.float32)

        found = mesh(rolled_image, roi_from_landmarks(expected))

        assert found is not None
        assert _roll(found[0]) == pytest.approx(_roll(upright) + math.radians(25), abs=0.05)
        assert np.median(np.linalg.norm(found[0] - expected, axis=1)) < 2.0

    def test_a_pass_from_its_own_landmarks_is_stable(
        self, mesh: FaceMesh, astronaut: np.ndarray, astronaut_points: np.ndarray
    ) -> None:
        again = mesh(astronaut, roi_from_landmarks(astronaut_points))

        assert again is not None
        assert np.median(np.linalg.norm(again[0] - astronaut_points, axis=1)) < 2.0

    @pytest.mark.parametrize("texture", ["noise", "grey", "stripes"])
    def test_says_no_face_on_a_crop_without_one(self, mesh: FaceMesh, texture: str) -> None:
        rng = np.random.default_rng(3)
        image = {
            "noise": rng.integers(0, 256, (480, 640, 3), dtype=np.uint8),
            "grey": np.full((480, 640, 3), 128, np.uint8),
            "stripes": np.repeat((np.arange(640) // 16 % 2 * 255).astype(np.uint8), 3)
            .reshape(1, 640, 3).repeat(480, 0),
        }[texture]

        assert mesh(image, Roi(320.0, 240.0, 200.0, 0.0)) is None
