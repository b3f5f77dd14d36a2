"""Face tracking: following faces through frames, linking people, choosing, smoothing."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from matplotlib import cbook
from skimage import data

from faceswap_nb.engine.eyes import (
    LEFT_EYE_CONTOUR,
    RIGHT_EYE_CONTOUR,
    eyelid_triangles,
)
from faceswap_nb.engine.topology import (
    LEFT_BROW,
    LEFT_EYE_RING,
    LEFT_IRIS,
    RIGHT_BROW,
    RIGHT_EYE_RING,
    RIGHT_IRIS,
)
from faceswap_nb.engine.track import (
    EXPRESSIVE_POINTS,
    FaceTracker,
    Track,
    by_frame,
    expressive_points,
    link_people,
    select,
    signature,
    smooth,
)

SHIFT = np.array([3.0, 2.0])  # pixels per frame of the moving clip


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="module")
def grace_hopper() -> np.ndarray:
    image = cv2.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    return np.ascontiguousarray(image[:512, :512])


def _shifted(image: np.ndarray, k: int) -> np.ndarray:
    move = np.float32([[1, 0, SHIFT[0] * k], [0, 1, SHIFT[1] * k]])
    return cv2.warpAffine(image, move, image.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)


def _track_frames(frames: list[np.ndarray], detect_every: int = 10) -> list[Track]:
    tracker = FaceTracker(detect_every=detect_every)
    for index, frame in enumerate(frames):
        tracker.refine(frame, tracker.update(index, frame))
    return tracker.tracks


@pytest.fixture(scope="module")
def moving_tracks(astronaut: np.ndarray) -> list[Track]:
    """The tracks of 8 frames of the astronaut sliding right and down."""
    return _track_frames([_shifted(astronaut, k) for k in range(8)], detect_every=3)


def _square_face(x: float, y: float, side: float) -> np.ndarray:
    """468 synthetic landmarks filling a ``side``-pixel square at (x, y)."""
    rng = np.random.default_rng(int(x + 7 * y + 13 * side))
    points = rng.uniform(0, side, size=(468, 2))
    points[:2] = [[0, 0], [side, side]]  # pin the extent
    return (points + [x, y]).astype(np.float32)


def _unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=1024).astype(np.float32)
    return vector / np.linalg.norm(vector)


def _track(track_id: int, start: int, frames: int, side: float, sig: np.ndarray) -> Track:
    landmarks = [_square_face(10.0 * track_id, 0.0, side) for _ in range(frames)]
    depth = [np.zeros(468, np.float32) for _ in range(frames)]
    return Track(track_id, start, landmarks, depth, signature=sig)


class TestFaceTracker:
    def test_one_track_covers_every_frame_of_a_moving_face(self, moving_tracks: list[Track]) -> None:
        assert len(moving_tracks) == 1
        track = moving_tracks[0]
        assert (track.start, track.end) == (0, 8)
        assert len(track.depth) == 8
        assert all(points.shape == (470, 2) for points in track.landmarks)  # the mesh, then the irises

    def test_update_returns_the_frames_observations_and_refine_redraws_only_their_eyes(
        self, astronaut: np.ndarray
    ) -> None:
        tracker = FaceTracker()

        first = tracker.update(0, astronaut)
        second = tracker.update(1, astronaut)
        track = tracker.tracks[0]
        meshed = track.landmarks[1].copy()
        tracker.refine(astronaut, second)

        assert [(t.track_id, position) for t, position in first] == [(0, 0)]
        assert [(t.track_id, position) for t, position in second] == [(0, 1)]
        eyes = list(RIGHT_EYE_CONTOUR + LEFT_EYE_CONTOUR)
        others = np.setdiff1d(np.arange(468), eyes)
        np.testing.assert_array_equal(track.landmarks[1][others], meshed[others])
        assert np.abs(track.landmarks[1][eyes] - meshed[eyes]).max() > 0.1

    def test_what_refine_does_cannot_change_what_update_finds_next(self, astronaut: np.ndarray) -> None:
        # refine runs in another thread: whether it has finished when update reads the
        # track must not matter, or a swap would differ from run to run.
        frames = [_shifted(astronaut, k) for k in range(4)]
        plain, refined = FaceTracker(detect_every=100), FaceTracker(detect_every=100)
        refined._eyes = lambda image, points: points + np.float32([40.0, -25.0])  # a wild redraw

        for index, frame in enumerate(frames):
            plain.update(index, frame)
            refined.refine(frame, refined.update(index, frame))

        [followed], [unrefined] = refined.tracks, plain.tracks
        np.testing.assert_array_equal(followed.followed, unrefined.landmarks[-1])
        np.testing.assert_allclose(followed.landmarks[-1], unrefined.landmarks[-1] + [40.0, -25.0], atol=1e-3)

    def test_landmarks_follow_the_motion(self, moving_tracks: list[Track]) -> None:
        landmarks = moving_tracks[0].landmarks

        moved = [points.mean(0) - landmarks[0].mean(0) for points in landmarks]

        np.testing.assert_allclose(moved, [SHIFT * k for k in range(8)], atol=1.5)

    def test_each_track_gets_a_unit_signature(self, moving_tracks: list[Track]) -> None:
        sig = moving_tracks[0].signature

        assert sig is not None and sig.shape == (32 * 32,)
        assert np.linalg.norm(sig) == pytest.approx(1.0, abs=1e-4)

    def test_a_cut_to_a_blank_frame_ends_the_track(self, astronaut: np.ndarray) -> None:
        blank = np.full_like(astronaut, 128)

        tracks = _track_frames([astronaut] * 4 + [blank] * 3)

        assert [(t.start, t.end) for t in tracks] == [(0, 4)]

    def test_a_cut_to_another_face_starts_a_new_track(
        self, astronaut: np.ndarray, grace_hopper: np.ndarray
    ) -> None:
        tracks = _track_frames([astronaut] * 3 + [grace_hopper] * 3)

        assert [(t.start, t.end) for t in tracks] == [(0, 3), (3, 6)]
        jump = tracks[1].landmarks[0].mean(0) - tracks[0].landmarks[-1].mean(0)
        assert np.linalg.norm(jump) > 20  # the new track is on the new face

    def test_frequent_redetection_does_not_duplicate_a_followed_face(
        self, astronaut: np.ndarray
    ) -> None:
        tracks = _track_frames([astronaut] * 5, detect_every=1)

        assert [(t.start, t.end) for t in tracks] == [(0, 5)]

    @pytest.mark.testdata
    def test_two_people_two_tracks_and_largest_picks_the_bigger(self, testdata: Path) -> None:
        image = cv2.imread(str(testdata / "images" / "fr_two_people_obama_biden.jpg"))

        tracks = _track_frames([image] * 3)

        assert [(t.start, t.end) for t in tracks] == [(0, 3), (0, 3)]
        biggest = max(tracks, key=Track.prominence)
        assert select(tracks, "largest") == [biggest]
        assert select(tracks, "all") == tracks

    def test_no_face_no_track(self) -> None:
        noise = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)

        assert _track_frames([noise] * 3) == []


class TestSignature:
    def test_the_same_face_moved_keeps_its_signature(
        self, astronaut: np.ndarray, moving_tracks: list[Track]
    ) -> None:
        track = moving_tracks[0]

        later = signature(_shifted(astronaut, 6), track.landmarks[6])

        assert float(later @ track.signature) > 0.9  # type: ignore[operator]

    def test_another_face_looks_different(
        self, grace_hopper: np.ndarray, moving_tracks: list[Track]
    ) -> None:
        other = _track_frames([grace_hopper])[0]

        assert float(other.signature @ moving_tracks[0].signature) < 0.6  # type: ignore[operator]


class TestTrack:
    def test_end_box_and_prominence(self) -> None:
        track = _track(0, 5, 4, side=20.0, sig=_unit(0))

        assert track.end == 9
        np.testing.assert_allclose(track.box(), [0, 0, 20, 20])
        assert track.prominence() == pytest.approx(4 * 20 * 20)


class TestLinkPeople:
    def test_time_disjoint_tracks_that_look_alike_are_one_person(self) -> None:
        face = _unit(1)
        noisy = face + 0.2 * _unit(2)
        first, second = _track(0, 0, 5, 50, face), _track(1, 7, 5, 50, noisy / np.linalg.norm(noisy))

        link_people([first, second])

        assert first.person == second.person

    def test_time_disjoint_tracks_that_look_different_are_two_people(self) -> None:
        first, second = _track(0, 0, 5, 50, _unit(1)), _track(1, 5, 5, 50, _unit(2))

        link_people([first, second])

        assert first.person != second.person

    def test_tracks_seen_at_the_same_time_are_two_people_however_alike(self) -> None:
        face = _unit(1)
        first, second = _track(0, 0, 5, 50, face), _track(1, 3, 5, 50, face.copy())

        link_people([first, second])

        assert first.person != second.person

    def test_a_person_is_a_chain_of_tracks(self) -> None:
        face, other = _unit(1), _unit(9)
        tracks = [_track(0, 0, 3, 50, face), _track(1, 0, 6, 50, other),
                  _track(2, 4, 3, 50, face), _track(3, 8, 3, 50, face)]  # fmt: skip

        link_people(tracks)

        assert [t.person for t in tracks] == [0, 1, 0, 0]


class TestSelect:
    def test_largest_picks_the_most_prominent_track(self) -> None:
        big, small = _track(0, 0, 10, 100, _unit(1)), _track(1, 0, 10, 40, _unit(2))

        assert select([small, big], "largest") == [big]

    def test_largest_means_a_person_not_a_segment(self) -> None:
        # One person seen twice (2 × 8 frames × 50²) outweighs a longer single track (12 × 55²).
        face = _unit(1)
        person = [_track(0, 0, 8, 50, face), _track(1, 8, 8, 50, face)]
        other = _track(2, 0, 12, 55, _unit(2))
        assert other.prominence() > person[0].prominence()

        assert select([*person, other], "largest") == person

    def test_all_returns_every_track(self) -> None:
        tracks = [_track(0, 0, 10, 100, _unit(1)), _track(1, 0, 10, 40, _unit(2))]

        assert select(tracks, "all") == tracks

    @pytest.mark.parametrize("faces", ["largest", "all"])
    def test_no_tracks_nothing_selected(self, faces: str) -> None:
        assert select([], faces) == []


class TestSmooth:
    def test_reduces_jitter_of_a_still_face(self) -> None:
        rng = np.random.default_rng(4)
        still = _square_face(100, 100, 80)
        track = Track(0, 0, [still + rng.normal(0, 1.0, still.shape).astype(np.float32)
                             for _ in range(40)])  # fmt: skip
        before = np.std(np.stack(track.landmarks), axis=0).mean()

        smooth(track, sigma=2.0, expressive_sigma=2.0)

        after = np.std(np.stack(track.landmarks), axis=0).mean()
        assert after < 0.5 * before
        assert len(track.landmarks) == 40
        assert track.landmarks[0].dtype == np.float32

    def test_a_step_keeps_its_position_no_lag(self) -> None:
        # The face jumps 10 px between frames 9 and 10; a centred filter keeps the jump there.
        low, high = _square_face(0, 0, 60), _square_face(0, 0, 60) + 10.0
        track = Track(0, 0, [low] * 10 + [high] * 10)

        smooth(track, sigma=1.5, expressive_sigma=1.5)

        offsets = np.array([(points - low).mean() for points in track.landmarks])
        assert offsets[9] < 5.0 < offsets[10]
        assert offsets[9] + offsets[10] == pytest.approx(10.0, abs=1e-3)  # symmetric about 9.5
        assert offsets[0] == pytest.approx(0.0, abs=1e-3)
        assert offsets[-1] == pytest.approx(10.0, abs=1e-3)

    def test_leaves_short_tracks_and_zero_sigma_alone(self) -> None:
        rng = np.random.default_rng(5)
        points = [rng.normal(size=(468, 2)).astype(np.float32) for _ in range(5)]
        short, unsmoothed = Track(0, 0, points[:2]), Track(1, 0, list(points))

        smooth(short, sigma=2.0, expressive_sigma=2.0)
        smooth(unsmoothed, sigma=0.0, expressive_sigma=0.0)

        np.testing.assert_array_equal(np.stack(short.landmarks), np.stack(points[:2]))
        np.testing.assert_array_equal(np.stack(unsmoothed.landmarks), np.stack(points))


    def test_eyes_and_lips_keep_a_blink_the_rest_is_held_steady(self) -> None:
        rng = np.random.default_rng(6)
        still = _square_face(100, 100, 80)
        frames = [still + rng.normal(0, 1.0, still.shape).astype(np.float32) for _ in range(30)]
        for points in frames[14:17]:  # a three-frame blink moves the eye ring down
            points[list(RIGHT_EYE_RING), 1] += 8.0
        track = Track(0, 0, frames)

        smooth(track, sigma=3.0, expressive_sigma=0.7)

        eye = [p[list(RIGHT_EYE_RING), 1].mean() - 100 for p in track.landmarks]
        cheek = np.stack([p[~np.isin(np.arange(468), expressive_points())] for p in track.landmarks])
        assert eye[15] - eye[5] > 6.0
        assert np.std(cheek, axis=0).mean() < 0.3

    def test_the_irises_keep_a_quick_look_aside(self) -> None:
        still = np.vstack([_square_face(100, 100, 80), [[130.0, 130.0], [150.0, 130.0]]]).astype(np.float32)
        frames = [still.copy() for _ in range(30)]
        for points in frames[14:17]:  # a three-frame glance to the side
            points[[RIGHT_IRIS, LEFT_IRIS], 0] += 6.0

        smooth(track := Track(0, 0, frames), sigma=2.5, expressive_sigma=0.7, still_sigma=4.0)

        look = [p[RIGHT_IRIS, 0] - 130.0 for p in track.landmarks]
        assert look[15] > 4.5  # kept, not spread over the neighbouring frames

    def test_the_points_around_the_eyes_blink_with_them(self) -> None:
        still = _square_face(100, 100, 80)
        around = np.setdiff1d(eyelid_triangles(RIGHT_EYE_RING), RIGHT_EYE_RING)
        frames = [still.copy() for _ in range(30)]
        for points in frames[14:17]:
            points[list(RIGHT_EYE_RING), 1] += 8.0
            points[around, 1] += 4.0  # the lid's far edge follows the lid halfway

        smooth(track := Track(0, 0, frames), sigma=2.5, expressive_sigma=0.7, still_sigma=4.0)

        lid = [p[around, 1].mean() - still[around, 1].mean() for p in track.landmarks]
        assert set(EXPRESSIVE_POINTS) < set(expressive_points())
        assert lid[15] > 3.0  # kept, not spread over the neighbouring frames

    def test_a_still_face_is_held_steadier_a_moving_one_is_not_left_behind(self) -> None:
        rng = np.random.default_rng(7)
        face = _square_face(100, 100, 80)
        noise = [rng.normal(0, 1.0, face.shape).astype(np.float32) for _ in range(40)]
        still = [face + n for n in noise]
        # 4 px a frame on an 80 px face: 5 % of its width, beyond MOVING_TO.
        moving = [face + n + np.float32([4.0 * k, 0.0]) for k, n in enumerate(noise)]

        def smoothed(frames: list[np.ndarray], still_sigma: float) -> np.ndarray:
            track = Track(0, 0, [f.copy() for f in frames])
            smooth(track, sigma=2.5, expressive_sigma=0.7, still_sigma=still_sigma)
            return np.stack(track.landmarks)

        skin = ~np.isin(np.arange(468), expressive_points())
        jitter = [np.std(smoothed(still, s)[:, skin], axis=0).mean() for s in (0.0, 4.0)]
        assert jitter[1] < 0.85 * jitter[0]  # white noise: sqrt(2.5 / 4) = 0.79
        middle = slice(10, 30)
        np.testing.assert_allclose(smoothed(moving, 4.0)[middle], smoothed(moving, 0.0)[middle], atol=1e-3)


class TestByFrame:
    def test_indexes_every_observation_by_its_frame(self) -> None:
        first = _track(4, 2, 3, 50, _unit(1))
        second = _track(7, 3, 2, 30, _unit(2))

        frames = by_frame([first, second])

        assert sorted(frames) == [2, 3, 4]
        assert [o.track_id for o in frames[2]] == [4]
        assert [o.track_id for o in frames[3]] == [4, 7]
        assert [o.track_id for o in frames[4]] == [4, 7]
        assert frames[4][0].landmarks is first.landmarks[2]
        assert frames[4][1].landmarks is second.landmarks[1]
        assert frames[3][1].depth is second.depth[0]

    def test_no_tracks_no_frames(self) -> None:
        assert by_frame([]) == {}

    def test_each_observation_says_how_far_its_eyes_are_shut(self, astronaut: np.ndarray) -> None:
        points = _track_frames([astronaut])[0].landmarks[0]
        shut = points.copy()
        for ring in (RIGHT_EYE_RING, LEFT_EYE_RING):
            shut[list(ring), 1] = (points[ring[0], 1] + points[ring[8], 1]) / 2
        landmarks = [points] * 5 + [shut] + [points] * 4
        track = Track(0, 0, landmarks, [np.zeros(468, np.float32)] * len(landmarks))

        frames = by_frame([track])

        assert frames[5][0].eye_closure == (1.0, 1.0)
        assert all(frames[k][0].eye_closure == (0.0, 0.0) for k in frames if k != 5)

    def test_a_tracks_observations_share_its_resting_mesh(self, astronaut: np.ndarray) -> None:
        points = _track_frames([astronaut])[0].landmarks[0]
        raised = points.copy()
        raised[list(RIGHT_BROW + LEFT_BROW), 1] -= 6.0
        landmarks = [points] * 6 + [raised] * 3
        depth = [np.zeros(468, np.float32)] * len(landmarks)

        frames = by_frame([Track(0, 0, landmarks, depth)])

        rest = frames[0][0].rest
        assert rest is not None and rest.shape == (468, 3)
        assert all(frames[k][0].rest is rest for k in frames)
        np.testing.assert_allclose(rest[:, :2], points[:468], atol=1e-3)  # the usual brows, not the raised
