"""Alignment: the target mesh takes the source's proportions, not its pose or expression."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from faceswap_nb.engine.align import ShapeTransfer, fan, hole_triangles, rest_shape, similarity_3d
from faceswap_nb.engine.detect import FaceDetector
from faceswap_nb.engine.eyes import EyeRefiner
from faceswap_nb.engine.landmarks import (
    FaceMesh,
    roi_from_detection,
    roi_from_landmarks,
)
from faceswap_nb.engine.topology import (
    EYES,
    INNER_LIPS_RING,
    LEFT_BROW,
    LEFT_EYE_RING,
    MESH_POINTS,
    OUTER_LIPS_RING,
    RIGHT_BROW,
    RIGHT_EYE_RING,
)


@pytest.fixture(scope="module")
def astronaut_mesh() -> tuple[np.ndarray, np.ndarray]:
    """The astronaut's mesh with its iris centres (470, 2), as the tracker gives them,
    and the mesh's depth (468,)."""
    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    mesh = FaceMesh()
    found = mesh(image, roi_from_detection(FaceDetector()(image)[0]))
    found = mesh(image, roi_from_landmarks(found[0]))
    return EyeRefiner()(image, found[0]), found[1]


def _resting(points: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """One frame's mesh as its track's resting mesh (468, 3)."""
    return np.column_stack([points[:MESH_POINTS], depth]).astype(np.float64)


def _rotation(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def test_similarity_3d_recovers_scale_rotation_and_shift():
    rng = np.random.default_rng(1)
    source = rng.normal(size=(50, 3))
    target = 1.7 * source @ _rotation(0.4).T + np.array([3.0, -2.0, 5.0])
    scale, rotation, shift = similarity_3d(source, target)
    assert scale == pytest.approx(1.7)
    assert np.allclose(rotation, _rotation(0.4))
    assert np.allclose(shift, [3.0, -2.0, 5.0])


def test_a_fan_fills_a_ring_with_n_minus_2_triangles_sharing_its_first_point():
    triangles = fan(RIGHT_EYE_RING)
    assert triangles.shape == (len(RIGHT_EYE_RING) - 2, 3)
    assert np.all(triangles[:, 0] == RIGHT_EYE_RING[0])
    assert len(hole_triangles()) == len(INNER_LIPS_RING) - 2


def test_the_same_face_keeps_its_shape(astronaut_mesh):
    points, depth = astronaut_mesh
    moved = ShapeTransfer(points, depth)(points, depth)
    assert np.abs(moved - points).max() < 0.01


def test_strength_zero_keeps_the_target(astronaut_mesh):
    points, depth = astronaut_mesh
    other = points * np.float32([1.1, 0.9])
    assert np.allclose(ShapeTransfer(other, depth, strength=0.0)(points, depth), points)


def test_pose_and_size_of_the_target_are_kept_and_the_outline_stays(astronaut_mesh):
    points, depth = astronaut_mesh
    # Each iris centre sits at its eye ring's depth.
    iris_depth = [depth[list(ring)].mean() for ring, _ in EYES]
    source = np.column_stack([points, np.concatenate([depth, iris_depth])])
    centre = points.mean(0)
    wider_eyes = points.copy()
    for ring in (RIGHT_EYE_RING,):
        wider_eyes[list(ring)] += (points[list(ring)].mean(0) - centre) * 0.15
    # The source differs only by its eye position; the target is the astronaut turned
    # and scaled, which the fit must absorb.
    turned = (1.3 * source @ _rotation(0.2).T)[:, :2].astype(np.float32) + 40
    turned_depth = (1.3 * source[:MESH_POINTS] @ _rotation(0.2).T)[:, 2].astype(np.float32)
    result = ShapeTransfer(wider_eyes, depth)(turned, turned_depth)
    hull = cv2.convexHull(turned[:MESH_POINTS]).reshape(-1, 2)
    outline = [i for i, p in enumerate(turned[:MESH_POINTS]) if np.min(np.hypot(*(hull - p).T)) < 0.5]
    assert np.abs(result[outline] - turned[outline]).max() < 0.5
    eye = list(RIGHT_EYE_RING)
    assert np.linalg.norm(result[eye].mean(0) - turned[eye].mean(0)) > 1.0


def test_the_lips_keep_the_targets_opening(astronaut_mesh):
    points, depth = astronaut_mesh
    smiling = points.copy()
    lower = [i for i in INNER_LIPS_RING + OUTER_LIPS_RING if points[i, 1] > points[list(INNER_LIPS_RING), 1].mean()]
    smiling[lower, 1] += 12  # the source's mouth is wide open
    result = ShapeTransfer(smiling, depth)(points, depth)
    gap_before = points[14, 1] - points[13, 1]
    gap_after = result[14, 1] - result[13, 1]
    assert gap_after == pytest.approx(gap_before, abs=0.5)


def test_the_lips_stay_where_the_target_has_them_while_the_rest_takes_the_sources_shape(astronaut_mesh):
    points, depth = astronaut_mesh
    centre = points.mean(0)
    wider = (centre + (points - centre) * np.float32([1.15, 1.0])).astype(np.float32)
    result = ShapeTransfer(wider, depth)(points, depth)
    lips = list(INNER_LIPS_RING + OUTER_LIPS_RING)
    eye = list(RIGHT_EYE_RING)

    assert np.abs(result[lips] - points[lips]).max() < 1e-4
    assert np.linalg.norm(result[eye].mean(0) - points[eye].mean(0)) > 1.0


def test_the_irises_move_with_their_eyes_so_the_look_stays_the_targets(astronaut_mesh):
    points, depth = astronaut_mesh
    centre = points.mean(0)
    wider = (centre + (points - centre) * np.float32([1.15, 1.0])).astype(np.float32)
    target = points.copy()
    for ring, iris in EYES:  # the target looks a little aside
        target[iris] = points[list(ring)].mean(0) + [1.5, -0.5]

    result = ShapeTransfer(wider, depth)(target, depth)

    assert result.shape == (470, 2)
    for ring, iris in EYES:
        moved = result[list(ring)] - target[list(ring)]
        np.testing.assert_allclose(moved, moved.mean(0)[None].repeat(len(ring), 0), atol=1e-3)  # rigid
        np.testing.assert_allclose(result[iris] - target[iris], moved.mean(0), atol=1e-3)
        assert np.linalg.norm(moved.mean(0)) > 1.0


def _with_brows_raised(points: np.ndarray, lift: float) -> np.ndarray:
    raised = points.copy()
    raised[list(RIGHT_BROW + LEFT_BROW), 1] -= lift
    return raised


def test_the_resting_mesh_is_the_usual_face_whatever_the_pose(astronaut_mesh):
    points, depth = astronaut_mesh
    face = _resting(points, depth)
    frames = []
    for k in range(9):
        mesh = face.copy()
        if k % 3 == 0:  # a third of the frames raise the brows
            mesh[list(RIGHT_BROW + LEFT_BROW), 1] -= 6.0
        frames.append((1.0 + 0.05 * k) * mesh @ _rotation(0.05 * (k - 4)).T + [3.0 * k, -2.0 * k, 0.0])

    rest = rest_shape([f[:, :2].astype(np.float32) for f in frames], [f[:, 2].astype(np.float32) for f in frames])

    scale, rotation, shift = similarity_3d(face, rest)
    np.testing.assert_allclose(scale * face @ rotation.T + shift, rest, atol=0.05)


@pytest.fixture(scope="module")
def wider_face(astronaut_mesh) -> ShapeTransfer:
    """A photo whose face is 15 % wider than the astronaut's."""
    points, depth = astronaut_mesh
    centre = points.mean(0)
    wider = (centre + (points - centre) * np.float32([1.15, 1.0])).astype(np.float32)
    return ShapeTransfer(wider, depth)


def test_the_brows_rise_with_the_targets(astronaut_mesh, wider_face):
    points, depth = astronaut_mesh
    brows = list(RIGHT_BROW + LEFT_BROW)

    rest = _resting(points, depth)

    at_rest = wider_face(points, depth, rest)
    raised = wider_face(_with_brows_raised(points, 5.0), depth, rest)

    assert np.abs(at_rest[brows] - points[brows]).max() > 1.0  # they take the photo's shape
    np.testing.assert_allclose(raised[brows] - at_rest[brows], [[0.0, -5.0]] * len(brows), atol=0.3)


def test_in_a_blink_the_brows_leave_their_dip_to_the_lids(astronaut_mesh, wider_face):
    points, depth = astronaut_mesh
    brows = list(RIGHT_BROW + LEFT_BROW)
    dipped = _with_brows_raised(points, -3.0)
    rest = _resting(points, depth)
    at_rest = wider_face(points, depth, rest)

    followed = wider_face(dipped, depth, rest, brows=1.0) - at_rest
    held = wider_face(dipped, depth, rest, brows=0.0) - at_rest

    assert followed[brows, 1].mean() == pytest.approx(3.0, abs=0.2)
    assert held[brows, 1].mean() < 0.7 * 3.0  # the smoothed shape difference takes a third back


def test_the_brows_movement_leaves_the_eyes_alone(astronaut_mesh, wider_face):
    points, depth = astronaut_mesh
    raised = _with_brows_raised(points, 5.0)
    eyes = list(RIGHT_EYE_RING + LEFT_EYE_RING) + [iris for _, iris in EYES]

    rest = _resting(points, depth)

    np.testing.assert_allclose(
        wider_face(raised, depth, rest, brows=1.0)[eyes], wider_face(raised, depth, rest, brows=0.0)[eyes], atol=0.05
    )


def test_without_a_resting_mesh_the_brows_are_not_given_back(astronaut_mesh, wider_face):
    points, depth = astronaut_mesh
    raised = _with_brows_raised(points, 5.0)

    np.testing.assert_array_equal(wider_face(raised, depth), wider_face(raised, depth, _resting(points, depth), brows=0.0))
