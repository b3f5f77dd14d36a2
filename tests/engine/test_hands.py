"""Hand finding: palms → 21 landmarks → a mask that covers the hand."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceswap_nb.engine.decode import read_image
from faceswap_nb.engine.hands import HandFinder, hand_mask, hand_roi, palm_roi


def _upright_hand() -> np.ndarray:
    """21 synthetic landmarks: wrist at the bottom, five fingers pointing up."""
    hand = np.zeros((21, 2), np.float32)
    hand[0] = (50, 90)
    for finger, x in zip(range(5), (20, 35, 50, 65, 80)):
        joints = [1, 5, 9, 13, 17][finger]
        for k in range(4):
            hand[joints + k] = (x, 70 - 12 * k)
    return hand


def test_palm_roi_points_the_fingers_up_and_reaches_beyond_the_palm():
    box = np.array([100, 100, 140, 140], np.float32)
    wrist_below = np.array([[120, 140], [0, 0], [120, 100]] + [[0, 0]] * 4, np.float32)
    roi = palm_roi(box, wrist_below)
    assert roi.angle == pytest.approx(0.0, abs=1e-6)
    assert roi.cy < 120  # shifted towards the fingers
    assert roi.size == pytest.approx(40 * 2.6)
    wrist_left = np.array([[100, 120], [0, 0], [140, 120]] + [[0, 0]] * 4, np.float32)
    assert palm_roi(box, wrist_left).angle == pytest.approx(np.pi / 2, abs=1e-6)


@pytest.mark.parametrize("degrees", [0, 90, 200])
def test_hand_roi_holds_the_whole_hand_with_its_fingers_up(degrees):
    turn = np.radians(degrees)
    rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]], np.float32)
    hand = (_upright_hand() - 50) @ rotation.T + 300

    roi = hand_roi(hand)

    crop = hand @ roi.to_crop(224)[:, :2].T + roi.to_crop(224)[:, 2]
    assert crop.min() > 0 and crop.max() < 224  # every landmark inside, with room
    assert crop[12, 1] < crop[0, 1]  # the middle fingertip above the wrist
    assert abs(crop[12, 0] - crop[0, 0]) < 1.0


def test_hand_mask_covers_palm_and_fingers_in_region_coordinates():
    hand = _upright_hand()
    mask = hand_mask([hand + 100], (100, 100), (100, 100))
    assert mask[80, 50] == 1.0  # palm
    assert mask[40, 50] == 1.0  # middle finger
    assert mask[5, 5] == 0.0


def test_no_hands_no_mask():
    assert hand_mask([], (10, 10), (0, 0)).max() == 0.0


def test_finds_the_hand_on_the_chin(testdata):
    image = read_image(testdata / "images" / "inspireface_woman_hand_on_chin.png")
    hands = HandFinder()(image)
    assert len(hands) == 1
    height, width = image.shape[:2]
    centre = hands[0].mean(0)
    assert centre[1] > height * 0.6 and centre[0] < width * 0.5  # lower left of the photo


def test_finds_no_hand_in_a_plain_image():
    assert HandFinder()(np.full((300, 300, 3), 128, np.uint8)) == []


def test_a_found_hand_is_followed_into_the_next_frame_without_the_palm_detector(testdata):
    image = read_image(testdata / "images" / "inspireface_woman_hand_on_chin.png")
    finder = HandFinder()
    [hand] = finder(image)
    moved = cv2.warpAffine(image, np.float32([[1, 0, 15], [0, 1, -10]]), image.shape[1::-1])

    followed = finder(moved, [hand], detect=False)

    assert len(followed) == 1
    size = np.ptp(hand, axis=0).max()
    assert np.abs(followed[0] - (hand + [15, -10])).max() < 0.1 * size


def test_without_the_detector_only_followed_hands_are_found(testdata):
    image = read_image(testdata / "images" / "inspireface_woman_hand_on_chin.png")
    finder = HandFinder()
    [hand] = finder(image)

    assert finder(image, detect=False) == []
    assert len(finder(image, [hand])) == 1  # the detector's palm is the followed hand
    plain = np.full((300, 300, 3), 128, np.uint8)
    assert finder(plain, [hand * 0.2], detect=False) == []  # a lost hand is dropped
