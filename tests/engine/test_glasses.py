"""Glasses: whether a face wears them."""

from __future__ import annotations

import cv2
import numpy as np
from skimage import data

from faceswap_nb.engine.glasses import wears_glasses
from faceswap_nb.engine.source import SourceFace
from faceswap_nb.engine.topology import LEFT_EYE_RING, RIGHT_EYE_RING


class TestWearsGlasses:
    def test_grace_hopper_wears_glasses_and_the_astronaut_does_not(self, grace_source: SourceFace) -> None:
        astronaut = SourceFace.from_image(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))

        assert wears_glasses(grace_source.image, grace_source.points)
        assert not wears_glasses(astronaut.image, astronaut.points)

    def test_dark_frames_drawn_around_the_eyes_are_glasses(self) -> None:
        astronaut = SourceFace.from_image(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
        image, points = astronaut.image.copy(), astronaut.points
        width = np.ptp(points[:, 0])
        for ring in (RIGHT_EYE_RING, LEFT_EYE_RING):
            x, y, w, h = cv2.boundingRect(np.round(points[list(ring)]).astype(np.int32))
            pad = int(0.06 * width)
            cv2.rectangle(image, (x - pad, y - pad), (x + w + pad, y + h + pad), (20, 20, 20), max(2, int(0.03 * width)))

        assert wears_glasses(image, points)

    def test_a_face_too_small_to_judge_wears_none(self) -> None:
        points = np.zeros((468, 2), np.float32)  # every point in one pixel: width 0

        assert not wears_glasses(np.zeros((8, 8, 3), np.uint8), points)
