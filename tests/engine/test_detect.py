"""Face detection: anchor grid, box decoding, weighted NMS and the BlazeFace detector."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from faceswap_nb.engine import detect
from faceswap_nb.engine.detect import FaceDetector, iou, ssd_anchors, weighted_nms
from faceswap_nb.engine.types import Detection

# The astronaut's face in skimage.data.astronaut() (512×512): between the eyes, above the mouth.
ASTRONAUT_FACE_CENTRE = (225.0, 120.0)
GRID = 48  # 192-pixel input, stride 4


def anchors() -> np.ndarray:
    """The face detector's anchors: one per cell of the 48×48 grid."""
    return ssd_anchors(192, ((4, 1),))


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def _raw_outputs(strong: dict[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Model outputs where only the anchors in ``strong`` score high (logit 5)."""
    raw_boxes = np.zeros((1, GRID * GRID, 16), np.float32)
    raw_scores = np.full((1, GRID * GRID, 1), -10.0, np.float32)
    for index, box in strong.items():
        raw_boxes[0, index] = box
        raw_scores[0, index] = 5.0
    return raw_boxes, raw_scores


def _contains(box: tuple[float, float, float, float], point: tuple[float, float]) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def _area(detection: Detection) -> float:
    x0, y0, x1, y1 = detection.box
    return (x1 - x0) * (y1 - y0)


class TestAnchors:
    def test_one_anchor_per_cell_of_the_48_by_48_grid(self) -> None:
        grid = anchors()

        assert grid.shape == (GRID * GRID, 2)
        assert grid.dtype == np.float32

    def test_first_anchor_is_the_centre_of_the_top_left_cell(self) -> None:
        np.testing.assert_allclose(anchors()[0], [1 / 96, 1 / 96], rtol=1e-6)

    def test_anchors_are_row_major_x_varies_fastest(self) -> None:
        grid = anchors()

        np.testing.assert_allclose(grid[1], [3 / 96, 1 / 96], rtol=1e-6)
        np.testing.assert_allclose(grid[GRID], [1 / 96, 3 / 96], rtol=1e-6)
        np.testing.assert_allclose(grid[-1], [95 / 96, 95 / 96], rtol=1e-6)

    def test_anchors_lie_inside_the_unit_square(self) -> None:
        grid = anchors()

        assert grid.min() > 0 and grid.max() < 1

    def test_layers_follow_each_other_finest_first_with_repeats_per_cell(self) -> None:
        grid = ssd_anchors(16, ((4, 2), (8, 3)))

        assert grid.shape == (4 * 4 * 2 + 2 * 2 * 3, 2)
        np.testing.assert_allclose(grid[0], grid[1])  # two anchors share the first cell
        np.testing.assert_allclose(grid[:2], [[1 / 8, 1 / 8]] * 2)
        np.testing.assert_allclose(grid[2], [3 / 8, 1 / 8])
        np.testing.assert_allclose(grid[32:35], [[1 / 4, 1 / 4]] * 3)  # the coarse layer
        np.testing.assert_allclose(grid[-1], [3 / 4, 3 / 4])


class TestDecode:
    def test_one_strong_anchor_gives_one_box_around_it(self) -> None:
        row, col = 10, 20
        raw = np.zeros(16, np.float32)
        raw[:4] = [9.6, -4.8, 48.0, 24.0]  # centre offset (px), width, height (px of 192)
        raw[4:6] = [-12.0, -6.0]  # first keypoint, relative to the anchor
        raw_boxes, raw_scores = _raw_outputs({row * GRID + col: raw})

        boxes, scores, keypoints = detect.decode(raw_boxes, raw_scores, anchors())

        assert boxes.shape == (1, 4) and scores.shape == (1,) and keypoints.shape == (1, 6, 2)
        cx, cy = (col + 0.5) / GRID + 0.05, (row + 0.5) / GRID - 0.025
        np.testing.assert_allclose(boxes[0], [cx - 0.125, cy - 0.0625, cx + 0.125, cy + 0.0625],
                                   atol=1e-6)  # fmt: skip
        assert scores[0] == pytest.approx(1 / (1 + np.exp(-5.0)))
        np.testing.assert_allclose(
            keypoints[0, 0], [(col + 0.5) / GRID - 0.0625, (row + 0.5) / GRID - 0.03125], atol=1e-6
        )
        np.testing.assert_allclose(keypoints[0, 1], [(col + 0.5) / GRID, (row + 0.5) / GRID], atol=1e-6)

    def test_weak_anchors_are_dropped(self) -> None:
        raw_boxes, raw_scores = _raw_outputs({})

        boxes, scores, keypoints = detect.decode(raw_boxes, raw_scores, anchors())

        assert boxes.shape == (0, 4) and scores.shape == (0,) and keypoints.shape == (0, 6, 2)

    def test_huge_logits_do_not_overflow(self) -> None:
        raw_boxes, raw_scores = _raw_outputs({0: np.zeros(16, np.float32)})
        raw_scores[0, 1] = -1e6
        raw_scores[0, 0] = 1e6

        with np.errstate(over="raise"):
            _, scores, _ = detect.decode(raw_boxes, raw_scores, anchors())

        assert scores.tolist() == [pytest.approx(1.0)]


class TestIou:
    def test_known_overlaps(self) -> None:
        box = np.array([0.0, 0.0, 2.0, 2.0])
        others = np.array(
            [[0.0, 0.0, 2.0, 2.0],  # identical
             [1.0, 0.0, 3.0, 2.0],  # half of each: 2 / (4 + 4 - 2)
             [5.0, 5.0, 6.0, 6.0],  # disjoint
             [2.0, 0.0, 4.0, 2.0],  # touching edges
             [0.5, 0.5, 1.5, 1.5]]  # inside: 1 / 4
        )  # fmt: skip

        np.testing.assert_allclose(iou(box, others), [1.0, 1 / 3, 0.0, 0.0, 0.25])

    def test_degenerate_boxes_do_not_divide_by_zero(self) -> None:
        point = np.array([1.0, 1.0, 1.0, 1.0])

        with np.errstate(divide="raise", invalid="raise"):
            value = iou(point, point[None])

        assert value.tolist() == [0.0]


class TestWeightedNms:
    def test_overlapping_boxes_merge_into_their_score_weighted_mean(self) -> None:
        boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.1, 0.1, 1.1, 1.1]], np.float32)
        scores = np.array([0.6, 0.9], np.float32)
        keypoints = np.stack([np.zeros((6, 2)), np.ones((6, 2))]).astype(np.float32)

        faces = weighted_nms(boxes, scores, keypoints)

        assert len(faces) == 1
        box, score, points = faces[0]
        np.testing.assert_allclose(box, [0.06, 0.06, 1.06, 1.06], atol=1e-6)
        assert score == pytest.approx(0.9)  # the best candidate's score, not the mean
        np.testing.assert_allclose(points, np.full((6, 2), 0.6), atol=1e-6)

    def test_separate_boxes_are_kept_best_first(self) -> None:
        boxes = np.array(
            [[0.0, 0.0, 0.2, 0.2], [0.5, 0.5, 0.9, 0.9], [0.01, 0.0, 0.21, 0.2]], np.float32
        )
        scores = np.array([0.7, 0.95, 0.8], np.float32)
        keypoints = np.zeros((3, 6, 2), np.float32)

        faces = weighted_nms(boxes, scores, keypoints)

        assert [round(score, 2) for _, score, _ in faces] == [0.95, 0.8]
        np.testing.assert_allclose(faces[0][0], boxes[1])

    def test_no_candidates_no_faces(self) -> None:
        assert weighted_nms(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 6, 2))) == []


class TestFaceDetector:
    def test_finds_the_one_face_of_the_astronaut(
        self, detector: FaceDetector, astronaut: np.ndarray
    ) -> None:
        faces = detector(astronaut)

        assert len(faces) == 1
        face = faces[0]
        assert _contains(face.box, ASTRONAUT_FACE_CENTRE)
        assert 60 < face.box[2] - face.box[0] < 200
        assert face.score >= 0.6
        assert face.keypoints.shape == (6, 2)

    def test_keypoints_sit_on_the_face_right_eye_on_the_image_left(
        self, detector: FaceDetector, astronaut: np.ndarray
    ) -> None:
        face = detector(astronaut)[0]
        right_eye, left_eye, nose, mouth = face.keypoints[:4]

        for point in (right_eye, left_eye, nose, mouth):
            assert _contains(face.box, tuple(point))
        assert right_eye[0] < left_eye[0]
        assert max(right_eye[1], left_eye[1]) < nose[1] < mouth[1]

    @pytest.mark.parametrize(
        ("height", "width", "x", "y"), [(512, 912, 300, 0), (640, 540, 20, 90)], ids=["wide", "tall"]
    )
    def test_boxes_are_in_frame_pixels_whatever_the_letterbox(
        self, detector: FaceDetector, astronaut: np.ndarray, height: int, width: int, x: int, y: int
    ) -> None:
        # Other shapes are padded differently; the box must follow the face, not the pad.
        frame = np.full((height, width, 3), 128, np.uint8)
        frame[y : y + 512, x : x + 512] = astronaut

        plain, placed = detector(astronaut), detector(frame)

        assert len(placed) == 1
        tolerance = 0.08 * (plain[0].box[2] - plain[0].box[0])
        np.testing.assert_allclose(np.array(placed[0].box) - [x, y, x, y], plain[0].box, atol=tolerance)
        np.testing.assert_allclose(placed[0].keypoints - [x, y], plain[0].keypoints, atol=tolerance)

    def test_finds_nothing_in_a_blank_grey_image(self, detector: FaceDetector) -> None:
        assert detector(np.full((480, 640, 3), 128, np.uint8)) == []

    @pytest.mark.testdata
    def test_finds_both_people_largest_first(self, detector: FaceDetector, testdata: Path) -> None:
        image = cv2.imread(str(testdata / "images" / "fr_two_people_obama_biden.jpg"))

        faces = detector(image)

        assert len(faces) == 2
        assert _area(faces[0]) >= _area(faces[1])
        a, b = (np.array(f.box, np.float32) for f in faces)
        assert iou(a, b[None])[0] == 0.0
