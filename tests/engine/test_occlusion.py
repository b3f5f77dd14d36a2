"""Occlusion-aware mode: what covers the target face must stay in front of the new face."""

from __future__ import annotations

import numpy as np
import pytest

from faceswap_nb.engine.occlusion import (
    PALM_EVERY,
    OcclusionFinder,
    appearance_occluders,
    clean,
    feature_mask,
    unlike_skin,
)
from faceswap_nb.engine.warp import Region
from tests.media import GRACE_HOPPER, astronaut


def _skin_patch(seed: int = 0) -> np.ndarray:
    """A 120×120 CIELAB patch of noisy skin-coloured pixels with smooth shading."""
    rng = np.random.default_rng(seed)
    lab = np.empty((120, 120, 3), np.float32)
    shading = np.linspace(-12, 12, 120, dtype=np.float32)[None, :]
    lab[..., 0] = 65 + shading + rng.normal(0, 2, (120, 120))
    lab[..., 1] = 15 + rng.normal(0, 1.5, (120, 120))
    lab[..., 2] = 18 + rng.normal(0, 1.5, (120, 120))
    return lab


def test_a_coloured_object_on_skin_is_an_occluder_and_shaded_skin_is_not():
    lab = _skin_patch()
    lab[40:80, 40:80] = (55, -40, 30)  # a green object
    found = appearance_occluders(lab, np.ones((120, 120), bool))
    assert found[45:75, 45:75].mean() > 0.99
    outside = np.ones((120, 120), bool)
    outside[35:85, 35:85] = False
    assert found[outside].mean() < 0.01


def test_a_dark_object_with_skin_like_chroma_is_an_occluder():
    lab = _skin_patch()
    lab[10:30, :, 0] = 15  # dark hair across the forehead, brownish chroma
    found = appearance_occluders(lab, np.ones((120, 120), bool))
    assert found[12:28].mean() > 0.95
    assert found[40:].mean() < 0.01


def test_too_little_skin_to_model_finds_nothing():
    lab = _skin_patch()
    assert not appearance_occluders(lab, np.zeros((120, 120), bool)).any()


def test_clean_drops_speckles_and_keeps_blobs_with_a_soft_edge():
    raw = np.zeros((100, 100), bool)
    raw[30:60, 30:60] = True
    raw[80, 10] = raw[5, 90] = True
    mask = clean(raw, face_width=100)
    assert mask[45, 45] == pytest.approx(1.0, abs=1e-3)
    assert mask[80, 10] < 0.05 and mask[5, 90] < 0.05
    edge = mask[45, 20:40]
    assert np.all(np.diff(edge) >= -1e-6) and 0.05 < edge[len(edge) // 2] < 0.95


def test_feature_mask_covers_brows_eyes_lips_and_nostrils_only():
    points = np.zeros((468, 2), np.float32)
    points[:] = (10, 10)  # everything else far away in a corner
    for index, xy in {70: (40, 40), 63: (50, 38), 105: (60, 40), 55: (45, 44)}.items():
        points[index] = xy
    region = Region(0, 0, 100, 100)
    mask = feature_mask(points, region, face_width=50)
    assert mask[40, 50]
    assert not mask[80, 80]


def test_the_mask_fades_out_over_frames_instead_of_vanishing():
    finder = OcclusionFinder.__new__(OcclusionFinder)
    finder._previous = {}
    region = Region(0, 0, 20, 20)
    first = np.ones((20, 20), np.float32)
    assert finder._steady(1, region, first).min() == 1.0
    second = finder._steady(1, region, np.zeros((20, 20), np.float32))
    assert np.allclose(second, 0.5)
    third = finder._steady(1, region, np.zeros((20, 20), np.float32))
    assert np.allclose(third, 0.25)


def test_the_mask_of_one_track_does_not_leak_into_another():
    finder = OcclusionFinder.__new__(OcclusionFinder)
    finder._previous = {}
    region = Region(0, 0, 20, 20)
    finder._steady(1, region, np.ones((20, 20), np.float32))
    assert finder._steady(2, region, np.zeros((20, 20), np.float32)).max() == 0.0


def test_the_palm_detector_runs_every_other_frame_and_hands_are_followed_between(testdata):
    from faceswap_nb.engine.decode import read_image

    image = read_image(testdata / "images" / "inspireface_woman_hand_on_chin.png")
    finder = OcclusionFinder()
    detections = []
    palms = finder._hands.palms
    finder._hands.palms = lambda crop: detections.append(crop.shape) or palms(crop)
    face = Region(188, 314, 604, 731)  # the face the hand rests under

    found = [finder._hands_near(image, 7, face) for _ in range(2 * PALM_EVERY)]
    other_face = finder._hands_near(image, 8, face)

    assert [len(hands) for hands in found] == [1] * (2 * PALM_EVERY)
    assert len(detections) == 2 + 1  # frames 0 and PALM_EVERY of track 7, frame 0 of 8
    assert len(other_face) == 1
    size = np.ptp(found[0][0], axis=0).max()
    assert np.hypot(*(found[1][0].mean(0) - found[0][0].mean(0))) < 0.05 * size  # the same hand


def _clip_with_occluder(folder):
    """A 12-frame clip of the astronaut, a coffee-texture disc over the lower-left face."""
    from fractions import Fraction

    import cv2
    from skimage import data

    from faceswap_nb.engine.encode import VideoWriter
    from faceswap_nb.engine.types import Frame, VideoInfo

    face = astronaut()
    texture = cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR)[100:160, 200:260]
    info = VideoInfo(512, 512, Fraction(10), Fraction(1, 10), 12, 1.2, 0, False, "h264")
    path = folder / "occluded.mp4"
    masks = []
    with VideoWriter(path, info) as writer:
        for index in range(12):
            shift = np.float32([[1, 0, index], [0, 1, index / 2]])
            image = cv2.warpAffine(face, shift, (512, 512), borderMode=cv2.BORDER_REPLICATE)
            disc = np.zeros((512, 512), np.uint8)
            cv2.circle(disc, (203 + index, 140 + index // 2), 16, 1, -1)
            y, x = np.nonzero(disc)
            image[y, x] = texture[(y - y.min()) % 60, (x - x.min()) % 60]
            masks.append(disc.astype(bool))
            writer.write(Frame(index, image, index))
    return path, masks


def _surviving_share(out, originals, masks):
    import av

    kept = []
    with av.open(str(out)) as container:
        for frame, original, mask in zip(container.decode(video=0), originals, masks):
            diff = np.abs(frame.to_ndarray(format="bgr24").astype(int) - original.astype(int)).mean(2)
            kept.append((diff[mask] < 12).mean())
    return float(np.mean(kept))


def test_advanced_mode_keeps_an_object_in_front_of_the_face_and_default_does_not(tmp_path):
    import av

    from faceswap_nb.engine import swap_video

    clip, masks = _clip_with_occluder(tmp_path)
    with av.open(str(clip)) as container:
        originals = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    source = GRACE_HOPPER
    advanced = swap_video(clip, source, tmp_path / "advanced.mp4", advanced=True)
    default = swap_video(clip, source, tmp_path / "default.mp4")
    assert advanced.frames_swapped == default.frames_swapped == 12
    kept_by_advanced = _surviving_share(tmp_path / "advanced.mp4", originals, masks)
    kept_by_default = _surviving_share(tmp_path / "default.mp4", originals, masks)
    assert kept_by_advanced >= 0.9
    # Default mode paints over it; only the occluder's shading, which the lighting
    # follows, keeps about half of its pixels within the 12 levels counted as kept.
    assert kept_by_default < kept_by_advanced - 0.3


def test_unlike_skin_finds_hair_over_the_mesh_but_not_the_face(astronaut_face):
    import cv2

    frame, face = astronaut_face
    region = Region.around(face.landmarks, frame.shape, margin=2.0)
    width, height = region.size
    hull = cv2.convexHull(np.round(face.landmarks - [region.x0, region.y0]).astype(np.int32))
    covered = np.zeros((height, width), np.uint8)
    cv2.fillConvexPoly(covered, hull, 1)
    covered = covered.astype(bool)
    band = np.zeros_like(covered)
    band[8:16] = True  # a dark fringe of hair across the forehead
    hairy = frame.copy()
    region.of(hairy)[band & covered] = (20, 25, 30)

    found = unlike_skin(hairy, face.landmarks, region, covered, face_width=100.0)

    assert found[band & covered].mean() > 0.9
    cheeks = covered.copy()
    cheeks[: height // 2] = False
    assert found[cheeks].mean() < 0.1
    assert not found[~covered].any()
