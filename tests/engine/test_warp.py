"""Dense mesh warp: per-triangle affines, triangle-id rasterising, frame regions."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from faceswap_nb.engine.detect import FaceDetector
from faceswap_nb.engine.landmarks import FaceMesh, roi_from_detection, roi_from_landmarks
from faceswap_nb.engine.models import mesh_triangles
from faceswap_nb.engine.topology import INNER_LIPS_RING, LEFT_EYE_RING, RIGHT_EYE_RING
from faceswap_nb.engine.warp import (
    MeshWarp,
    Region,
    disc_mask,
    polygon_mask,
    triangle_affines,
    triangle_areas,
    triangle_ids,
)

RIGHT_EYE, LEFT_EYE, INNER_LIPS = list(RIGHT_EYE_RING), list(LEFT_EYE_RING), list(INNER_LIPS_RING)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="module")
def astronaut_mesh(astronaut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The astronaut's 468 mesh points and their depth."""
    mesh = FaceMesh()
    first = mesh(astronaut, roi_from_detection(FaceDetector()(astronaut)[0]))
    assert first is not None
    found = mesh(astronaut, roi_from_landmarks(first[0]))
    assert found is not None
    return found[0], found[1]


@pytest.fixture(scope="module")
def astronaut_region(astronaut: np.ndarray, astronaut_mesh: tuple[np.ndarray, np.ndarray]) -> Region:
    """The window around the astronaut's face that the warps work in."""
    region = Region.around(astronaut_mesh[0], astronaut.shape, margin=2.0)
    assert region is not None
    return region


def _inside(ring_points: np.ndarray, region: Region) -> np.ndarray:
    """Pixels of ``region`` strictly inside a closed ring of points (one pixel in)."""
    polygon = np.zeros((region.size[1], region.size[0]), np.uint8)
    corners = np.round(ring_points - [region.x0, region.y0]).astype(np.int32)
    cv2.fillPoly(polygon, [corners], 1)
    return cv2.erode(polygon, np.ones((3, 3), np.uint8)) > 0


class TestRegion:
    def test_grows_the_points_box_by_the_margin(self) -> None:
        points = np.array([[100.0, 50.0], [140.5, 90.2]], np.float32)

        region = Region.around(points, (480, 640, 3), margin=5.0)

        assert region == Region(95, 45, 147, 97)
        assert region.size == (52, 52)  # type: ignore[union-attr]

    def test_is_clipped_to_the_frame(self) -> None:
        points = np.array([[-30.0, -10.0], [700.0, 300.0]], np.float32)

        region = Region.around(points, (480, 640, 3), margin=10.0)

        assert region == Region(0, 0, 640, 311)

    @pytest.mark.parametrize(
        "points",
        [[[-100.0, 10.0], [-50.0, 60.0]],  # left of the frame
         [[10.0, 500.0], [60.0, 560.0]],  # below it
         [[639.5, 10.0], [700.0, 60.0]]],  # only a sliver inside
    )  # fmt: skip
    def test_is_none_off_frame(self, points: list[list[float]]) -> None:
        assert Region.around(np.array(points, np.float32), (480, 640, 3), margin=0.0) is None

    def test_of_is_a_view_of_the_window(self) -> None:
        image = np.zeros((20, 30, 3), np.uint8)
        region = Region(5, 2, 15, 12)

        region.of(image)[:] = 7

        assert region.of(image).shape == (10, 10, 3)
        assert image.sum() == 7 * 10 * 10 * 3


class TestTriangleAffines:
    def test_each_affine_maps_the_dst_triangle_onto_the_src_triangle(self) -> None:
        rng = np.random.default_rng(0)
        dst = rng.uniform(0, 200, (60, 2)).astype(np.float32)
        src = rng.uniform(0, 200, (60, 2)).astype(np.float32)
        triangles = rng.choice(60, size=(40, 3), replace=True)
        triangles = triangles[(triangles[:, 0] != triangles[:, 1]) & (triangles[:, 1] != triangles[:, 2])
                              & (triangles[:, 0] != triangles[:, 2])].astype(np.int32)  # fmt: skip

        affines = triangle_affines(dst, src, triangles)

        assert affines.shape == (len(triangles), 2, 3)
        homogeneous = np.concatenate([dst[triangles], np.ones((len(triangles), 3, 1))], axis=2)
        mapped = np.einsum("tij,tvj->tvi", affines, homogeneous)
        np.testing.assert_allclose(mapped, src[triangles], atol=0.05)

    def test_equal_meshes_give_identity_maps(self) -> None:
        points = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], np.float32)
        triangles = np.array([[0, 1, 2], [1, 3, 2]], np.int32)

        affines = triangle_affines(points, points, triangles)

        np.testing.assert_allclose(affines, [[[1, 0, 0], [0, 1, 0]]] * 2, atol=1e-4)

    def test_a_degenerate_triangle_gets_a_finite_map(self) -> None:
        points = np.array([[0, 0], [5, 5], [10, 10]], np.float32)  # collinear

        affines = triangle_affines(points, points, np.array([[0, 1, 2]], np.int32))

        assert affines.shape == (1, 2, 3)
        assert np.isfinite(affines).all()


class TestTriangleAreas:
    def test_are_the_areas_whichever_way_round_the_corners_go(self) -> None:
        points = np.array([[0, 0], [4, 0], [0, 3], [4, 3]], np.float32)
        triangles = np.array([[0, 1, 2], [0, 2, 1], [1, 3, 2]], np.int32)

        np.testing.assert_allclose(triangle_areas(points, triangles), [6.0, 6.0, 6.0])


class TestTriangleIds:
    def test_marks_covered_pixels_with_their_triangle(self) -> None:
        points = np.array([[0, 0], [20, 0], [0, 20], [20, 20]], np.float32)
        triangles = np.array([[0, 1, 2], [1, 3, 2]], np.int32)

        ids = triangle_ids(points, np.zeros(4, np.float32), triangles, Region(0, 0, 30, 30))

        assert ids.shape == (30, 30)
        assert ids[2, 2] == 0 and ids[18, 18] == 1
        assert ids[25, 25] == -1 and ids[5, 25] == -1

    @pytest.mark.parametrize("near", [0, 1])
    def test_the_nearer_triangle_wins_where_two_overlap(self, near: int) -> None:
        points = np.array([[0, 0], [20, 0], [0, 20], [2, 2], [22, 2], [2, 22]], np.float32)
        triangles = np.array([[0, 1, 2], [3, 4, 5]], np.int32)
        depth = np.full(6, 5.0, np.float32)
        depth[triangles[near]] = -5.0  # smaller depth is closer to the camera

        ids = triangle_ids(points, depth, triangles, Region(0, 0, 30, 30))

        assert ids[6, 6] == near

    def test_uses_the_regions_own_coordinates(self) -> None:
        points = np.array([[100, 100], [120, 100], [100, 120]], np.float32)

        ids = triangle_ids(points, np.zeros(3, np.float32), np.array([[0, 1, 2]], np.int32),
                           Region(95, 95, 125, 125))  # fmt: skip

        assert ids[7, 7] == 0 and ids[0, 0] == -1

    def test_a_coarse_map_has_one_cell_per_step_pixels(self) -> None:
        points = np.array([[0, 0], [20, 0], [0, 20], [20, 20]], np.float32)
        triangles = np.array([[0, 1, 2], [1, 3, 2]], np.int32)

        ids = triangle_ids(points, np.zeros(4, np.float32), triangles, Region(0, 0, 31, 30), step=2)

        assert ids.shape == (15, 16)
        assert ids[1, 1] == 0 and ids[8, 8] == 1 and ids[13, 14] == -1


class TestMeshWarp:
    @pytest.mark.parametrize("step", [1, 2])
    def test_sampling_through_its_own_mesh_reproduces_the_image(
        self, astronaut: np.ndarray, astronaut_mesh: tuple[np.ndarray, np.ndarray],
        astronaut_region: Region, step: int,
    ) -> None:
        points, depth = astronaut_mesh
        region = astronaut_region
        warp = MeshWarp(points, depth, mesh_triangles(), region, step=step)

        warped = warp.sample(astronaut, points)
        covered = warp.silhouette()

        assert warped.shape == (*covered.shape, 3) and warped.dtype == np.uint8
        assert covered.shape == (region.size[1], region.size[0])
        assert covered.mean() > 0.5
        inner = cv2.erode(covered.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        error = np.abs(warped.astype(int) - region.of(astronaut).astype(int))[inner]
        assert error.mean() < 1.0

    def test_samples_each_image_where_its_own_points_are(
        self, astronaut: np.ndarray, astronaut_mesh: tuple[np.ndarray, np.ndarray], astronaut_region: Region
    ) -> None:
        # The source photo is the frame moved by (7, -4): the warp must undo the move,
        # and the same warp must still sample the unmoved frame correctly.
        points, depth = astronaut_mesh
        move = np.float32([[1, 0, 7], [0, 1, -4]])
        source = cv2.warpAffine(astronaut, move, (530, 530))
        region = astronaut_region
        target = region.of(astronaut).astype(int)
        warp = MeshWarp(points, depth, mesh_triangles(), region)
        inner = cv2.erode(warp.silhouette().astype(np.uint8), np.ones((5, 5), np.uint8)) > 0

        moved_back = warp.sample(source, points + np.float32([7, -4]))
        unmoved = warp.sample(source, points)
        frame = warp.sample(astronaut, points)

        assert np.abs(moved_back.astype(int) - target)[inner].mean() < 1.0
        assert np.abs(unmoved.astype(int) - target)[inner].mean() > 5.0
        assert np.abs(frame.astype(int) - target)[inner].mean() < 1.0

    def test_samples_a_photo_and_its_mask_alike_in_one_go(
        self, astronaut: np.ndarray, astronaut_mesh: tuple[np.ndarray, np.ndarray], astronaut_region: Region
    ) -> None:
        points, depth = astronaut_mesh
        region = astronaut_region
        warp = MeshWarp(points, depth, mesh_triangles(), region)
        ramp = np.linspace(0.0, 1.0, astronaut.shape[1], dtype=np.float32)
        mask = np.repeat(ramp[None, :], astronaut.shape[0], axis=0)
        moved = points + np.float32([5, 3])

        photo, weights = warp.sample_all((astronaut, mask), moved)

        np.testing.assert_array_equal(photo, warp.sample(astronaut, moved))
        np.testing.assert_array_equal(weights, warp.sample(mask, moved))
        assert weights.dtype == np.float32 and weights.shape == photo.shape[:2]

    @pytest.mark.parametrize("ring", [RIGHT_EYE, LEFT_EYE], ids=["right eye", "left eye"])
    def test_the_mesh_alone_leaves_the_open_eyes_uncovered(
        self, astronaut_mesh: tuple[np.ndarray, np.ndarray], astronaut_region: Region, ring: list[int]
    ) -> None:
        points, depth = astronaut_mesh
        region = astronaut_region

        covered = MeshWarp(points, depth, mesh_triangles(), region, step=1).silhouette()

        eye = _inside(points[ring], region)
        assert eye.sum() > 20
        assert not covered[eye].any()

    def test_per_triangle_paints_each_pixel_with_its_triangles_value(
        self, astronaut_mesh: tuple[np.ndarray, np.ndarray]
    ) -> None:
        points, depth = astronaut_mesh
        triangles = mesh_triangles()
        region = Region.around(points, (512, 512, 3), margin=4.0)
        warp = MeshWarp(points, depth, triangles, region, step=1)
        values = np.arange(len(triangles), dtype=np.float32) + 1

        painted = warp.per_triangle(values)

        def expected(step: int) -> np.ndarray:
            ids = triangle_ids(points, depth, triangles, region, step)
            cells = np.where(ids >= 0, ids + 1, 0)  # the value of each cell's triangle
            width, height = region.size
            return np.repeat(np.repeat(cells, step, axis=0), step, axis=1)[:height, :width]

        np.testing.assert_array_equal(painted, expected(1))
        coarse = MeshWarp(points, depth, triangles, region, step=2).per_triangle(values)
        np.testing.assert_array_equal(coarse, expected(2))  # one value per 2 × 2 pixels

    def test_polygon_mask_finds_the_mouth_between_the_lips(
        self, astronaut_mesh: tuple[np.ndarray, np.ndarray], astronaut_region: Region
    ) -> None:
        points, _ = astronaut_mesh
        region = astronaut_region

        mouth = polygon_mask(points, (tuple(INNER_LIPS),), region)

        assert _inside(points[INNER_LIPS], region)[mouth].size > 0
        assert mouth[_inside(points[INNER_LIPS], region)].all()
        assert not polygon_mask(points, (tuple(INNER_LIPS),), Region(0, 0, 10, 10)).any()


class TestDiscMask:
    def test_covers_the_pixels_within_the_radius_of_each_centre(self) -> None:
        points = np.array([[20.0, 30.0], [70.5, 40.25], [0.0, 0.0]], np.float32)
        region = Region(10, 10, 110, 80)

        mask = disc_mask(points, (0, 1), 6.0, region)

        ys, xs = np.mgrid[region.y0 : region.y1, region.x0 : region.x1]
        near = [np.hypot(xs - x, ys - y) for x, y in points[:2]]
        assert mask[(near[0] < 5.0) | (near[1] < 5.0)].all()
        assert not mask[(near[0] > 7.0) & (near[1] > 7.0)].any()

    def test_is_empty_when_the_centres_lie_outside_the_region(self) -> None:
        points = np.array([[500.0, 500.0]], np.float32)

        assert not disc_mask(points, (0,), 6.0, Region(0, 0, 50, 50)).any()
