"""Face tracking over a whole clip: detect, follow with the mesh, link, choose, smooth.

The first pass of the pipeline feeds every frame to ``FaceTracker``. A face is detected
once, then followed by re-cropping the mesh from its previous landmarks (cheap and
steady); detection runs again every few frames, after a scene cut, and whenever a track
is lost. The iris model then redraws the eyelids of each new observation
(``FaceTracker.refine``): following a face needs only the mesh, so the pipeline runs
the two in different threads, one frame apart. Tracks of the same person broken by a cut or an occlusion are linked by a small
appearance signature so that "the most prominent face" means a person, not a segment.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import gaussian_filter1d

from faceswap_nb.engine import picture
from faceswap_nb.engine.align import rest_shape
from faceswap_nb.engine.detect import FaceDetector, iou
from faceswap_nb.engine.eyes import EyeRefiner, eye_closure, eyelid_triangles
from faceswap_nb.engine.landmarks import (
    FaceMesh,
    face_width,
    roi_from_detection,
    roi_from_landmarks,
)
from faceswap_nb.engine.picture import Picture
from faceswap_nb.engine.topology import (
    INNER_LIPS_RING,
    LEFT_EYE_CORNER,
    LEFT_EYE_RING,
    MESH_POINTS,
    OUTER_LIPS_RING,
    RIGHT_EYE_CORNER,
    RIGHT_EYE_RING,
)
from faceswap_nb.engine.types import FaceObservation, Points

_CUT_THRESHOLD = 40.0  # mean absolute change of a 64×36 grey thumbnail, 0–255
_DUPLICATE_IOU = 0.5
_LINK_SIMILARITY = 0.6
EXPRESSIVE_POINTS = list(LEFT_EYE_RING + RIGHT_EYE_RING + INNER_LIPS_RING + OUTER_LIPS_RING)
MOVING_FROM, MOVING_TO = 0.01, 0.03
"""Head speed, as a share of the face's width per frame, from which the skin's
smoothing eases from ``still_sigma`` down to ``sigma`` (see ``smooth``)."""


@functools.cache
def expressive_points() -> NDArray[np.int_]:
    """The points smoothed lightly: eyes, lips, and the mesh points around the eyes.
    Those last move with the lids; smoothed like the skin, they fall behind a blink and
    the lids between stretch (which shows the target's own, see ``render``).
    Read-only (cached)."""
    around_eyes = [eyelid_triangles(ring).ravel() for ring in (RIGHT_EYE_RING, LEFT_EYE_RING)]
    points = np.unique(np.concatenate([np.array(EXPRESSIVE_POINTS), *around_eyes]))
    points.flags.writeable = False
    return points


@dataclass
class Track:
    """One face followed over consecutive frames ``start … start + len - 1``."""

    track_id: int
    start: int
    landmarks: list[Points] = field(default_factory=list)
    depth: list[NDArray[np.float32]] = field(default_factory=list)
    signature: NDArray[np.float32] | None = None
    person: int = -1
    followed: Points | None = None
    """The last frame's mesh as the model drew it, before ``refine`` redrew its eyes:
    the tracker follows from this, so that ``refine``, running in another thread,
    cannot change what it finds next (a swap gives the same result every run)."""

    @property
    def end(self) -> int:
        """Index of the frame after the last one."""
        return self.start + len(self.landmarks)

    def last_mesh(self) -> Points:
        """``followed``, or the last landmarks of a track made without the tracker."""
        return self.followed if self.followed is not None else self.landmarks[-1]

    def box(self) -> NDArray[np.float32]:
        """The last frame's mesh bounding box (x0, y0, x1, y1)."""
        points = self.last_mesh()
        return np.concatenate([points.min(0), points.max(0)])

    def prominence(self) -> float:
        """Sum over frames of the face's box area: big and long-lived faces win."""
        return float(sum(np.prod(p.max(0) - p.min(0)) for p in self.landmarks))


def signature(image: Picture, landmarks: Points) -> NDArray[np.float32]:
    """A 32×32 grey, eye-aligned, normalised patch of the face: cheap re-identification."""
    right, left = landmarks[RIGHT_EYE_CORNER], landmarks[LEFT_EYE_CORNER]
    eye_distance = float(np.hypot(*(left - right)))
    centre = (right + left) / 2
    angle = np.degrees(np.arctan2(left[1] - right[1], left[0] - right[0]))
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, 14.0 / eye_distance)
    matrix[:, 2] += np.array([16.0, 12.0]) - centre
    patch = picture.crop(image, matrix, (32, 32))
    grey = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY).astype(np.float32)
    grey -= grey.mean()
    return (grey / (np.linalg.norm(grey) + 1e-6)).ravel()


Pending = list[tuple[Track, int]]
"""Observations awaiting eye refinement: (track, position in its landmark list)."""


class FaceTracker:
    """Follows every face through a clip, one frame at a time.

    ``update`` follows the faces into a frame and returns the new observations;
    ``refine`` redraws their eyes. ``refine`` may run in another thread than ``update``
    (each owns its models) as long as each frame's ``refine`` follows its ``update``.
    """

    def __init__(self, *, detect_every: int = 10) -> None:
        self.detect_every = detect_every
        self.tracks: list[Track] = []
        self._active: list[Track] = []
        self._detector = FaceDetector()
        self._mesh = FaceMesh()
        self._eyes = EyeRefiner()
        self._thumbnail: NDArray[np.float32] | None = None

    def update(self, index: int, image: Picture) -> Pending:
        """Advance every track to frame ``index`` and start tracks for new faces.

        Returns the observations made in this frame, for ``refine``.
        """
        if self._is_cut(image):
            self._active = []
        lost = False
        for track in list(self._active):
            found = self._mesh(image, roi_from_landmarks(track.last_mesh()))
            if found is None:
                self._active.remove(track)
                lost = True
                continue
            track.landmarks.append(found[0])
            track.depth.append(found[1])
            track.followed = found[0]
        if lost or not self._active or index % self.detect_every == 0:
            self._detect(index, image)
        self._drop_duplicates()
        return [(track, len(track.landmarks) - 1) for track in self._active if track.end == index + 1]

    def refine(self, image: Picture, pending: Pending) -> None:
        """Redraw the eyelids of ``pending`` observations (made on ``image``) in place."""
        for track, position in pending:
            track.landmarks[position] = self._eyes(image, track.landmarks[position])

    def _is_cut(self, image: Picture) -> bool:
        thumbnail = picture.grey_thumbnail(image, (64, 36))
        previous, self._thumbnail = self._thumbnail, thumbnail
        return previous is not None and float(np.abs(thumbnail - previous).mean()) > _CUT_THRESHOLD

    def _detect(self, index: int, image: Picture) -> None:
        boxes = [t.box() for t in self._active]
        for detection in self._detector(image):
            box = np.array(detection.box, np.float32)
            if boxes and iou(box, np.array(boxes)).max() > 0.2:
                continue
            found = self._mesh(image, roi_from_detection(detection))
            if found is not None:
                # A second pass from the mesh's own ROI is much more precise than the box.
                found = self._mesh(image, roi_from_landmarks(found[0])) or found
                track = Track(len(self.tracks), index, [found[0]], [found[1]], followed=found[0])
                track.signature = signature(image, found[0])
                self.tracks.append(track)
                self._active.append(track)
                boxes.append(track.box())

    def _drop_duplicates(self) -> None:
        kept: list[Track] = []
        for track in sorted(self._active, key=lambda t: t.start):
            if all(iou(track.box(), other.box()[None])[0] < _DUPLICATE_IOU for other in kept):
                kept.append(track)
        for track in self._active:
            if track not in kept:
                del track.landmarks[-1]
                del track.depth[-1]
        self._active = kept


def link_people(tracks: list[Track]) -> None:
    """Give tracks of the same person the same ``person`` number.

    Two tracks are linked when they never overlap in time and their signatures
    correlate; a person is a chain of such tracks.
    """
    people: list[list[Track]] = []
    for track in sorted(tracks, key=lambda t: t.start):
        best, best_score = None, _LINK_SIMILARITY
        for members in people:
            if any(m.end > track.start and track.end > m.start for m in members):
                continue
            score = max(float(m.signature @ track.signature) for m in members)  # type: ignore[operator]
            if score > best_score:
                best, best_score = members, score
        if best is None:
            best = []
            people.append(best)
        best.append(track)
        track.person = people.index(best)


def select(tracks: list[Track], faces: str) -> list[Track]:
    """The tracks to swap: the most prominent person's (``largest``) or every one (``all``)."""
    if not tracks:
        return []
    if faces == "all":
        return list(tracks)
    link_people(tracks)
    totals: dict[int, float] = {}
    for track in tracks:
        totals[track.person] = totals.get(track.person, 0.0) + track.prominence()
    chosen = max(totals, key=totals.__getitem__)
    return [t for t in tracks if t.person == chosen]


def smooth(track: Track, sigma: float, expressive_sigma: float, still_sigma: float = 0.0) -> None:
    """Zero-phase temporal smoothing of a track's landmarks, in place.

    The whole track is known before rendering, so a centred Gaussian removes the mesh's
    jitter without the lag a causal filter would add. The eyes and lips carry blinks,
    looks and speech, which last a few frames, so they get the lighter
    ``expressive_sigma`` (``expressive_points`` and the irises); everything else, the
    heavier ``sigma`` that keeps the skin from shimmering. Where the head moves slower
    than ``MOVING_FROM`` face widths a frame, the skin's sigma grows to ``still_sigma``
    (when larger): a still face shows every bit of jitter, a fast one would be left
    behind by a wide filter.
    """
    if len(track.landmarks) < 3:
        return
    stacked = np.stack(track.landmarks)
    smoothed = stacked.copy()
    steady = np.ones(stacked.shape[1], bool)
    steady[expressive_points()] = False
    steady[MESH_POINTS:] = False  # the irises: a look is as quick as a blink
    for where, width in ((steady, sigma), (~steady, expressive_sigma)):
        if width > 0:
            smoothed[:, where] = gaussian_filter1d(stacked[:, where], width, axis=0, mode="nearest")
    if still_sigma > sigma:
        still = gaussian_filter1d(stacked[:, steady], still_sigma, axis=0, mode="nearest")
        widths = np.array([face_width(points) for points in still], np.float32)
        speed = np.linalg.norm(np.gradient(still, axis=0), axis=2).mean(1) / np.maximum(widths, 1.0)
        # Eased over a couple of frames, so the switch itself cannot be seen.
        moving = np.clip((speed - MOVING_FROM) / (MOVING_TO - MOVING_FROM), 0.0, 1.0)
        moving = gaussian_filter1d(moving, 2.0, mode="nearest")[:, None, None]
        smoothed[:, steady] = still + moving * (smoothed[:, steady] - still)
    track.landmarks = list(smoothed.astype(np.float32))


def by_frame(tracks: Iterable[Track]) -> dict[int, list[FaceObservation]]:
    """Index the tracks' observations by frame number for the rendering pass, with how
    far each eye is shut and the track's resting mesh (both measured on the whole track,
    so call after ``smooth``)."""
    frames: dict[int, list[FaceObservation]] = {}
    for track in tracks:
        closure = eye_closure(track.landmarks)
        rest = rest_shape(track.landmarks, track.depth)
        for offset, (points, depth) in enumerate(zip(track.landmarks, track.depth)):
            shut = (float(closure[offset, 0]), float(closure[offset, 1]))
            frames.setdefault(track.start + offset, []).append(
                FaceObservation(track.track_id, points, depth, shut, rest)
            )
    return frames
