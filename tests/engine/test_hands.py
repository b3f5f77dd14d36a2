"""Hand finding: palms → 21 landmarks → a mask that covers the hand."""

from __future__ import annotations

import numpy as np
import pytest

from faceswap_nb.engine.decode import read_image
from faceswap_nb.engine.hands import HandFinder, hand_mask, palm_roi


def test_palm_roi_points_the_fingers_up_and_reaches_beyond_the_palm():
    box = np.array([100, 100, 140, 140], np.float32)
    wrist_below = np.array([[120, 140], [0, 0], [120, 100]] + [[0, 0]] * 4, np.float32)
    roi = palm_roi(box, wrist_below)
    assert roi.angle == pytest.approx(0.0, abs=1e-6)
    assert roi.cy < 120  # shifted towards the fingers
    assert roi.size == pytest.approx(40 * 2.6)
    wrist_left = np.array([[100, 120], [0, 0], [140, 120]] + [[0, 0]] * 4, np.float32)
    assert palm_roi(box, wrist_left).angle == pytest.approx(np.pi / 2, abs=1e-6)


def test_hand_mask_covers_palm_and_fingers_in_region_coordinates():
    hand = np.zeros((21, 2), np.float32)
    hand[0] = (50, 90)
    for finger, x in zip(range(5), (20, 35, 50, 65, 80)):
        joints = [1, 5, 9, 13, 17][finger]
        count = 4
        for k in range(count):
            hand[joints + k] = (x, 70 - 12 * k)
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
