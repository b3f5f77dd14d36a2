"""The benchmark metrics on synthetic landmarks and frames (dlib only where marked)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from benchmarks import Target, verdicts
from benchmarks.evaluate import (
    _HEAD_MODEL,
    _HEAD_POINTS,
    angle_difference,
    box_change,
    box_iou,
    eye_aspect_ratio,
    face_outline,
    head_pose,
    lighting_correlation,
    mouth_opening,
    pearson,
    seam_band,
    seam_ratio,
)
from benchmarks.occlusion import occluder_mask
from benchmarks.quality import Measurements, run_figures, sample_positions
from benchmarks.sheets import ContactSheet, pick_frames


def synthetic_face(
    cx: float = 100, cy: float = 100, r: float = 50, gap: float = 0.0, lid: float = 6.0
) -> np.ndarray:
    """68 iBUG points of a cartoon face: jaw radius ``r``, inner-lip ``gap``, eyelid half-height ``lid``."""
    p = np.zeros((68, 2), np.float32)
    for i in range(17):  # jaw: a half circle from the left ear, under the chin, to the right ear
        angle = math.pi - i * math.pi / 16
        p[i] = (cx + r * math.cos(angle), cy + r * math.sin(angle))
    p[17:27] = np.stack([np.linspace(cx - 0.8 * r, cx + 0.8 * r, 10), np.full(10, cy - 0.5 * r)], axis=1)
    p[27:31] = np.stack([np.full(4, cx), np.linspace(cy - 0.4 * r, cy, 4)], axis=1)
    p[31:36] = np.stack([np.linspace(cx - 0.2 * r, cx + 0.2 * r, 5), np.full(5, cy + 0.1 * r)], axis=1)
    for first, ex in ((36, cx - 0.4 * r), (42, cx + 0.4 * r)):
        ey, half = cy - 0.3 * r, 0.15 * r
        p[first : first + 6] = [(ex - half, ey), (ex - half / 3, ey - lid), (ex + half / 3, ey - lid),
                                (ex + half, ey), (ex + half / 3, ey + lid), (ex - half / 3, ey + lid)]
    my, half = cy + 0.5 * r, 0.4 * r
    angles = np.linspace(math.pi, -math.pi, 12, endpoint=False)
    p[48:60] = [(cx + half * math.cos(a), my + 0.2 * r * math.sin(a)) for a in angles]
    p[48], p[54] = (cx - half, my), (cx + half, my)
    inner = [(-0.3, 0), (-0.1, -1), (0, -1), (0.1, -1), (0.3, 0), (0.1, 1), (0, 1), (-0.1, 1)]
    p[60:68] = [(cx + dx * r, my + dy * gap / 2) for dx, dy in inner]
    return p


def test_pearson_perfect_inverse_and_undefined() -> None:
    x = np.arange(10.0)
    assert pearson(x, 3 * x + 1) == pytest.approx(1.0)
    assert pearson(x, -x) == pytest.approx(-1.0)
    assert pearson(x, np.ones(10)) is None
    assert pearson([1.0, 2.0], [1.0, 2.0]) is None


def test_mouth_opening_is_gap_over_width() -> None:
    assert mouth_opening(synthetic_face(gap=0.0)) == pytest.approx(0.0, abs=1e-6)
    assert mouth_opening(synthetic_face(r=50, gap=10.0)) == pytest.approx(10.0 / 40.0, rel=1e-4)
    # Scale-free: the same face twice as large opens the same amount.
    assert mouth_opening(synthetic_face(r=100, gap=20.0)) == pytest.approx(0.25, rel=1e-4)


def test_eye_aspect_ratio_falls_when_eyes_shut() -> None:
    open_eyes, shut = eye_aspect_ratio(synthetic_face(lid=6.0)), eye_aspect_ratio(synthetic_face(lid=0.5))
    assert open_eyes == pytest.approx(2 * 6.0 / 15.0, rel=1e-4)  # (2h + 2h) / (2 * eye width)
    assert shut < 0.2 < open_eyes


def test_head_pose_recovers_a_known_yaw() -> None:
    camera = np.array([[640, 0, 320], [0, 640, 240], [0, 0, 1]], np.float64)
    points = synthetic_face(320, 240)
    for yaw in (0.0, 20.0):
        rotation = cv2.Rodrigues(np.array([0.0, math.radians(yaw), 0.0]))[0]
        turn = cv2.Rodrigues(rotation)[0]
        projected, _ = cv2.projectPoints(_HEAD_MODEL, turn, np.array([0.0, 0.0, 3000.0]), camera, None)
        points[_HEAD_POINTS] = projected.reshape(-1, 2)
        assert head_pose(points, (480, 640)) == pytest.approx([yaw, 0.0, 0.0], abs=0.5)


def test_angle_difference_wraps() -> None:
    assert angle_difference(np.array([179.0]), np.array([-179.0])) == pytest.approx([-2.0])
    assert angle_difference(np.array([-170.0]), np.array([170.0])) == pytest.approx([20.0])


def test_box_iou() -> None:
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == pytest.approx(1.0)
    assert box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert box_iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0


def test_seam_band_is_a_thin_ring_along_the_outline() -> None:
    points = synthetic_face(100, 100, 50)
    band = seam_band(points, (200, 200))
    outline = face_outline(points)
    assert outline.shape == (27, 2)
    assert band[int(points[8][1]), int(points[8][0])]  # the chin lies on the band
    assert not band[100, 100]  # the middle of the face does not
    assert 3 <= band[:, 100].sum() <= 12  # crosses the band twice, ~3 % of 100 px each


def _face_frame(points: np.ndarray, flip: bool = False) -> np.ndarray:
    """A frame lit from one side (a lightness ramp) with a darker face-shaped blob."""
    ramp = np.linspace(60, 200, 200, dtype=np.float32)
    image = np.tile(ramp[::-1] if flip else ramp, (200, 1))
    face = np.zeros((200, 200), np.uint8)
    cv2.fillPoly(face, [np.round(face_outline(points)).astype(np.int32)], 1)
    image[face > 0] *= 0.8
    return cv2.cvtColor(image.astype(np.uint8), cv2.COLOR_GRAY2BGR)


def test_lighting_and_seam_are_perfect_on_identical_frames_and_fail_when_changed() -> None:
    points = synthetic_face()
    frame = _face_frame(points)
    assert lighting_correlation(frame, frame.copy(), points) == pytest.approx(1.0)
    assert seam_ratio(frame, frame.copy(), points) == pytest.approx(1.0)
    assert lighting_correlation(frame, _face_frame(points, flip=True), points) < 0
    pasted = frame.copy()
    cv2.fillPoly(pasted, [np.round(face_outline(points)).astype(np.int32)], (250, 250, 250))
    assert seam_ratio(frame, pasted, points) > 1.15


def test_box_change() -> None:
    still = np.full((50, 50, 3), 100, np.uint8)
    assert box_change(still, still, (10, 10, 40, 40)) == 0.0
    assert box_change(still, still + 10, (10, 10, 40, 40)) == pytest.approx(10.0)


def test_sample_positions_every_frame_capped() -> None:
    assert sample_positions(10) == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    long = sample_positions(1000, max_samples=120)
    assert 100 <= len(long) <= 120 and long[0] == 1 and long[1] - long[0] == 9


def test_run_figures_skip_scene_cuts_and_flag_flicker() -> None:
    series = Measurements(change=[(2.0, 2.0), (2.0, 4.0), (80.0, 1.0)])  # the last pair is a cut
    assert run_figures(series)["temporal_ratio"] == pytest.approx(1.5)
    series = Measurements(identity=[(0.3, 0.8), (0.5, 0.4)], identity_missed=2)
    figures = run_figures(series)
    assert figures["identity_share"] == pytest.approx(0.5)
    assert figures["coverage"] == pytest.approx(0.25)


def test_targets_and_verdicts() -> None:
    target = Target("seam_ratio", "<=", 1.15, "")
    assert target.passes(1.0) and not target.passes(1.3) and target.passes(None) is None
    verdict = verdicts((target,), [{"seam_ratio": 1.0}, {"seam_ratio": None}, {"seam_ratio": 1.3}])[0]
    counts = (verdict["passed"], verdict["failed"], verdict["not_applicable"])
    assert counts == (1, 1, 1) and verdict["pass"] is False


def test_occluder_covers_the_lower_left_quarter() -> None:
    mask = occluder_mask((100, 100, 200, 200), (300, 300))
    assert mask[170, 130] and not mask[130, 130] and not mask[170, 180]


def test_contact_sheet_renders_one_row_per_frame() -> None:
    sheet = ContactSheet("t", ("original", "result"), pick_frames(list(range(100)), 3))
    assert sheet.frames == [0, 50, 99]
    frame = np.zeros((120, 160, 3), np.uint8)
    for index in sheet.frames:
        assert sheet.wants(index)
        sheet.add(index, (frame, frame), (40, 30, 100, 90))
    assert sheet.render().shape[0] > 3 * sheet.render().shape[1] / 2


def test_judge_finds_and_embeds_a_real_face(source_photo) -> None:
    pytest.importorskip("dlib")
    from benchmarks.evaluate import Judge, largest

    judge = Judge()
    image = cv2.imread(str(source_photo))
    face = largest(judge.faces(image))
    assert face is not None and face.width > 100
    embedding = judge.embedding(image, face)
    assert embedding.shape == (128,)
    assert np.linalg.norm(judge.embedding(image, face) - embedding) < 1e-4


def test_group_people_puts_near_embeddings_together_and_far_ones_apart():
    from benchmarks.quality import group_people

    a, b = np.zeros(128, np.float32), np.zeros(128, np.float32)
    b[0] = 1.0
    near_a = a.copy()
    near_a[1] = 0.2
    assert group_people([a, b, near_a, b]) == [0, 1, 0, 1]
