"""picture: frames cropped and shrunk straight from their YUV planes, and edited in them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from faceswap_nb.engine.landmarks import Roi
from faceswap_nb.engine.picture import (
    BT601,
    BT709,
    Yuv420,
    bgr_to_yuv_matrix,
    crop,
    grey_thumbnail,
    resized,
    yuv_to_bgr_matrix,
)


def _convert(yuv: tuple[int, int, int], weights: tuple[float, float], full_range: bool) -> np.ndarray:
    pixel = np.array([[yuv]], np.float32)
    return cv2.transform(pixel, yuv_to_bgr_matrix(weights, full_range))[0, 0]


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="module")
def astronaut_yuv(astronaut: np.ndarray) -> Yuv420:
    """The same picture as a decoder would hand it over: BT.601 limited-range planes."""
    height, width = astronaut.shape[:2]
    packed = cv2.cvtColor(astronaut, cv2.COLOR_BGR2YUV_I420)
    y = packed[:height]
    chroma = packed[height:].reshape(2, height // 2, width // 2)
    planes = [np.ascontiguousarray(p) for p in (y, chroma[0], chroma[1])]
    for plane in planes:
        plane.flags.writeable = False  # they are the decoder's buffers: never written
    return Yuv420(*planes, BT601, full_range=False)


class TestMatrix:
    @pytest.mark.parametrize("weights", [BT601, BT709])
    def test_limited_range_black_and_white_are_16_and_235(self, weights: tuple[float, float]) -> None:
        np.testing.assert_allclose(_convert((16, 128, 128), weights, False), [0, 0, 0], atol=0.01)
        np.testing.assert_allclose(_convert((235, 128, 128), weights, False), [255, 255, 255], atol=0.01)

    def test_full_range_uses_every_code(self) -> None:
        np.testing.assert_allclose(_convert((0, 128, 128), BT709, True), [0, 0, 0], atol=0.01)
        np.testing.assert_allclose(_convert((255, 128, 128), BT709, True), [255, 255, 255], atol=0.01)

    def test_bt601_red_is_red(self) -> None:
        # Studio-swing BT.601 red: Y 81, Cb 90, Cr 240.
        np.testing.assert_allclose(_convert((81, 90, 240), BT601, False), [0, 0, 255], atol=2.0)

    def test_the_two_matrices_disagree_on_saturated_colours(self) -> None:
        red601, red709 = _convert((81, 90, 240), BT601, False), _convert((81, 90, 240), BT709, False)
        assert np.abs(red601 - red709).max() > 20


class TestYuvPictures:
    def test_has_the_shape_of_the_bgr_frame(self, astronaut: np.ndarray, astronaut_yuv: Yuv420) -> None:
        assert astronaut_yuv.shape == astronaut.shape

    def test_a_rotated_crop_matches_the_same_crop_of_the_bgr_frame(
        self, astronaut: np.ndarray, astronaut_yuv: Yuv420
    ) -> None:
        matrix = Roi(240.0, 160.0, 180.0, 0.3).to_crop(192)

        planes_crop = crop(astronaut_yuv, matrix, (192, 192))
        from_planes, from_bgr = planes_crop.astype(int), crop(astronaut, matrix, (192, 192)).astype(int)

        assert planes_crop.shape == (192, 192, 3) and planes_crop.dtype == np.uint8

        assert np.abs(from_planes - from_bgr).mean() < 3.0
        assert np.abs((from_planes - from_bgr).mean((0, 1))).max() < 1.5  # no colour cast

    def test_a_crop_reaching_past_the_edge_repeats_the_edge(self, astronaut_yuv: Yuv420) -> None:
        matrix = Roi(5.0, 5.0, 64.0, 0.0).to_crop(64)

        corner = crop(astronaut_yuv, matrix, (64, 64))

        assert (corner[:20, :20].std(axis=(0, 1)) < 3).all()

    def test_shrinking_matches_an_area_resize_of_the_bgr_frame(
        self, astronaut: np.ndarray, astronaut_yuv: Yuv420
    ) -> None:
        small = resized(astronaut_yuv, (192, 192))

        assert small.shape == (192, 192, 3)
        assert np.abs(small.astype(int) - resized(astronaut, (192, 192)).astype(int)).mean() < 3.0

    def test_the_grey_thumbnail_matches_the_bgr_one(self, astronaut: np.ndarray, astronaut_yuv: Yuv420) -> None:
        from_planes = grey_thumbnail(astronaut_yuv, (64, 64))
        from_bgr = grey_thumbnail(astronaut, (64, 64))

        assert from_planes.shape == (64, 64) and from_planes.dtype == np.float32
        assert np.abs(from_planes - from_bgr).mean() < 2.0

    def test_colour_stays_registered_with_the_luma(self) -> None:
        # Saturated squares: a chroma plane off by a pixel would fringe every edge.
        squares = np.kron(np.indices((8, 8)).sum(0) % 3, np.ones((16, 16), int))
        palette = np.array([[40, 40, 220], [40, 200, 40], [220, 60, 40]], np.uint8)
        bgr = palette[squares]
        packed = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
        chroma = packed[128:].reshape(2, 64, 64)
        planes = Yuv420(packed[:128], chroma[0], chroma[1], BT601, full_range=False)
        matrix = Roi(64.0, 64.0, 96.0, 0.2).to_crop(128)

        error = np.abs(crop(planes, matrix, (128, 128)).astype(int) - crop(bgr, matrix, (128, 128)).astype(int))

        assert error.mean() < 6.0  # 4:2:0 softens colour edges by a pixel; 1 px off: ~16


@pytest.fixture
def editable(astronaut_yuv: Yuv420) -> Yuv420:
    """A writable copy of the astronaut's planes, as the render pass gets a frame."""
    planes = (astronaut_yuv.y, astronaut_yuv.u, astronaut_yuv.v)
    return Yuv420.packed(*planes, astronaut_yuv.weights, astronaut_yuv.full_range)


class TestEditingPlanes:
    def test_the_two_matrices_undo_each_other(self) -> None:
        for weights in (BT601, BT709):
            for full_range in (False, True):
                forward = np.vstack([yuv_to_bgr_matrix(weights, full_range), [0, 0, 0, 1]])
                backward = np.vstack([bgr_to_yuv_matrix(weights, full_range), [0, 0, 0, 1]])
                np.testing.assert_allclose(backward @ forward, np.eye(4), atol=1e-5)

    def test_a_packed_copy_is_one_i420_buffer_apart_from_the_decoders(
        self, astronaut: np.ndarray, astronaut_yuv: Yuv420, editable: Yuv420
    ) -> None:
        assert editable.i420 is not None
        np.testing.assert_array_equal(editable.i420, cv2.cvtColor(astronaut, cv2.COLOR_BGR2YUV_I420))
        editable.y[:] = 0
        editable.u[:] = 0

        assert editable.i420[:512].max() == 0 and editable.i420[512:640].max() == 0
        assert astronaut_yuv.y.max() > 0 and astronaut_yuv.u.max() > 0

    def test_a_window_is_exactly_that_part_of_the_whole_frame(self, astronaut_yuv: Yuv420) -> None:
        whole = astronaut_yuv.bgr_window((0, 0, 512, 512))

        for box in [(100, 60, 300, 260), (0, 0, 64, 32), (448, 500, 512, 512)]:
            x0, y0, x1, y1 = box
            np.testing.assert_array_equal(astronaut_yuv.bgr_window(box), whole[y0:y1, x0:x1])

    def test_a_window_matches_the_bgr_frame(self, astronaut: np.ndarray, astronaut_yuv: Yuv420) -> None:
        window = astronaut_yuv.bgr_window((100, 60, 300, 260)).astype(int)
        original = astronaut[60:260, 100:300].astype(int)

        assert np.abs(window - original).mean() < 3.0
        assert np.abs((window - original).mean((0, 1))).max() < 1.5  # no colour cast

    def test_paste_writes_the_changed_pixels_and_keeps_every_other_one(self, editable: Yuv420) -> None:
        box = (100, 60, 300, 260)
        before = (editable.y.copy(), editable.u.copy(), editable.v.copy())
        image = editable.bgr_window(box)
        image[50:101, 41:120] = (30, 160, 220)  # odd edges: chroma samples half inside
        changed = np.zeros(image.shape[:2], np.uint8)
        changed[50:101, 41:120] = 1

        editable.paste(box, image, changed)

        written = editable.bgr_window(box)[50:101, 41:120].astype(int)
        assert np.abs(written - (30, 160, 220)).mean() < 2.0
        luma = np.ones(before[0].shape, bool)
        luma[110:161, 141:220] = False
        np.testing.assert_array_equal(editable.y[luma], before[0][luma])
        chroma = np.ones(before[1].shape, bool)
        chroma[55:81, 70:110] = False  # every sample with a changed pixel among its 2 × 2
        for plane, old in ((editable.u, before[1]), (editable.v, before[2])):
            np.testing.assert_array_equal(plane[chroma], old[chroma])
            assert (plane[55:81, 70:110] != old[55:81, 70:110]).mean() > 0.9
