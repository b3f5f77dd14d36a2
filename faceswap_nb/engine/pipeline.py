"""The face-swap pipeline: two streaming passes over the target video.

Pass 1 (analyse): decode → detect/track → 468-point mesh, for every face of every frame.
Then the tracks are linked into people, the face(s) to replace are chosen, and their
landmarks are smoothed over time with a zero-phase filter.
Pass 2 (render): decode → warp → light → mask → blend → encode, frame by frame.

Only landmarks (a few KB a frame) outlive a frame, so memory stays flat in clip length.
"""

from __future__ import annotations

import functools
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from faceswap_nb._errors import NoFaceInSource, NoFaceInVideo
from faceswap_nb._version import __version__
from faceswap_nb.engine import decode, encode
from faceswap_nb.engine.align import HOLE_RINGS, ShapeTransfer, hole_triangles
from faceswap_nb.engine.blend import alpha_blend
from faceswap_nb.engine.detect import FaceDetector
from faceswap_nb.engine.eyes import EyeRefiner
from faceswap_nb.engine.landmarks import FaceMesh, roi_from_detection, roi_from_landmarks
from faceswap_nb.engine.light import match_detail, transfer_lighting
from faceswap_nb.engine.mask import blend_weights, skin_weights
from faceswap_nb.engine.models import mesh_triangles
from faceswap_nb.engine.occlusion import OcclusionFinder
from faceswap_nb.engine.track import FaceTracker, by_frame, select, smooth
from faceswap_nb.engine.types import FaceObservation, Frame, Image, Points, SwapReport
from faceswap_nb.engine.warp import MeshWarp, Region, polygon_mask

Progress = Callable[[float], None]
FACE_CHOICES = ("largest", "all")
_ANALYSIS_SHARE = 0.35  # of the progress bar: pass 1 is cheaper than pass 2


@dataclass(frozen=True)
class SwapConfig:
    """Tuning knobs of the pipeline; the defaults are what the benchmarks were tuned with.

    What to do (``advanced``, ``faces``) is given to ``swap_video`` itself.
    """

    detect_every: int = 10
    smoothing_frames: float = 2.5
    expression_smoothing_frames: float = 0.7
    light_scale: float = 0.1
    shape_strength: float = 1.0
    limits: decode.Limits = decode.Limits()


@dataclass(frozen=True)
class SourceFace:
    """The source photo cropped around its largest face, and that face's mesh."""

    image: Image
    points: Points
    depth: NDArray[np.float32]

    @classmethod
    def from_image(cls, image: Image, *, max_face: int = 480) -> SourceFace:
        """Find the photo's largest face and crop it (downscaled so warps stay cheap).

        Raises:
            NoFaceInSource: the detector or the mesh finds no face.
        """
        detections = FaceDetector()(image)
        mesh = FaceMesh()
        found = mesh(image, roi_from_detection(detections[0])) if detections else None
        for _ in range(2):
            found = (mesh(image, roi_from_landmarks(found[0])) or found) if found else None
        if found is None:
            raise NoFaceInSource(
                "no face found in the source photo; use a photo where one face is clearly "
                "visible, frontal or three-quarter, at least ~80 px wide"
            )
        points = EyeRefiner()(image, found[0])
        region = Region.around(points, image.shape, margin=0.15 * float(np.ptp(points[:, 0])))
        assert region is not None
        scale = min(1.0, max_face / max(region.size))
        crop = region.of(image)
        if scale < 1.0:
            import cv2

            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        offset = np.array([region.x0, region.y0], np.float32)
        return cls(
            np.ascontiguousarray(crop),
            ((points - offset) * scale).astype(np.float32),
            (found[1] * scale).astype(np.float32),
        )


def prefetched(frames: Iterator[Frame], depth: int = 4) -> Iterator[Frame]:
    """Decode ahead in a background thread while the caller works on earlier frames.

    PyAV releases the GIL while decoding, so this overlaps decoding with tracking and
    rendering; ``depth`` bounds the frames held in memory. Errors reach the caller.
    """
    handoff: queue.Queue[Frame | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for frame in frames:
                while not stop.is_set():
                    try:
                        handoff.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put(None)
        except BaseException as error:  # noqa: BLE001 - handed over and re-raised below
            handoff.put(error)

    worker = threading.Thread(target=produce, name="faceswap-decode", daemon=True)
    worker.start()
    try:
        while (item := handoff.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


class _Timings(dict[str, float]):
    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self[name] = self.get(name, 0.0) + time.perf_counter() - start


@functools.lru_cache(maxsize=1)
def _triangles_with_holes() -> NDArray[np.int32]:
    return np.concatenate([mesh_triangles(), hole_triangles()])


def face_width(points: Points) -> float:
    """Face size in pixels: the geometric mean of the mesh box sides (roughly roll-invariant)."""
    return float(np.sqrt(np.prod(np.ptp(points, axis=0))))


def render_face(
    frame: Image, face: FaceObservation, source: SourceFace, config: SwapConfig,
    timings: _Timings, occlusion: OcclusionFinder | None = None,
    shape: ShapeTransfer | None = None,
) -> bool:
    """Replace one face in ``frame`` in place; False when it is off-frame.

    With an ``occlusion`` finder, whatever covers the target face stays in front; with a
    ``shape`` transfer, the face takes the source's proportions.
    """
    region = Region.around(face.landmarks, frame.shape, margin=2.0)
    if region is None:
        return False
    width = face_width(face.landmarks)
    target = region.of(frame)
    with timings.stage("align"):
        points = shape(face.landmarks, face.depth) if shape is not None else face.landmarks
    with timings.stage("warp"):
        warp = MeshWarp(points, face.depth, _triangles_with_holes(), region)
        warped = warp.sample(source.image, source.points)
        # The target's own eyes and inner mouth, moved to where the reshaped mesh has them.
        holes = warp.sample(frame, face.landmarks)
        in_holes = polygon_mask(points, HOLE_RINGS, region)
        covered = warp.silhouette() & ~in_holes
    occluded = None
    if occlusion is not None:
        with timings.stage("occlusion"):
            occluded = occlusion(frame, face.track_id, face.landmarks, region, covered, width)
    with timings.stage("light"):
        skin = skin_weights(covered, occluded)
        lit = transfer_lighting(warped, target, skin, width, scale=config.light_scale)
        lit = match_detail(lit, target, skin)
    with timings.stage("mask"):
        weight = blend_weights(covered | in_holes, width)
        if occluded is not None:
            weight *= 1.0 - occluded
    with timings.stage("blend"):
        face_image = target.copy()
        np.copyto(face_image, holes, where=in_holes[..., None])
        np.copyto(face_image, lit, where=covered[..., None])
        target[:] = alpha_blend(face_image, target, weight)
    return True


def _analyse(
    video: Path, faces: str, config: SwapConfig, frames: int, progress: Progress,
    timings: _Timings,
) -> tuple[dict[int, list[FaceObservation]], int]:
    tracker = FaceTracker(detect_every=config.detect_every)
    count = 0
    frame_iter = prefetched(decode.read_frames(video, config.limits))
    while True:
        with timings.stage("decode"):
            frame = next(frame_iter, None)
        if frame is None:
            break
        with timings.stage("track"):
            tracker.update(frame.index, frame.image)
        count += 1
        progress(_ANALYSIS_SHARE * min(count / max(frames, 1), 1.0))
    chosen = select(tracker.tracks, faces)
    for track in chosen:
        smooth(track, config.smoothing_frames, config.expression_smoothing_frames)
    return by_frame(chosen), count


def _rendered(
    video: Path, faces_by_frame: dict[int, list[FaceObservation]], source: SourceFace,
    config: SwapConfig, occlusion: OcclusionFinder | None, report: SwapReport,
    timings: _Timings,
) -> Iterator[Frame]:
    shape = None
    if config.shape_strength > 0:
        shape = ShapeTransfer(source.points, source.depth, strength=config.shape_strength)
    for frame in prefetched(decode.read_frames(video, config.limits)):
        swapped = [
            render_face(frame.image, face, source, config, timings, occlusion, shape)
            for face in faces_by_frame.get(frame.index, [])
        ]
        report.frames += 1
        report.frames_swapped += any(swapped)
        yield frame


def _render(
    video: Path, writer: encode.VideoWriter, faces_by_frame: dict[int, list[FaceObservation]],
    source: SourceFace, config: SwapConfig, occlusion: OcclusionFinder | None,
    progress: Progress, timings: _Timings, analysed: int,
) -> SwapReport:
    # Three threads: decoding, rendering and encoding each work on their own frame.
    # x264 leaves part of the second core idle; rendering fills it.
    report = SwapReport(frames=0, frames_swapped=0, video_seconds=0.0, output="")
    rendered = _rendered(video, faces_by_frame, source, config, occlusion, report, timings)
    for written, frame in enumerate(prefetched(rendered, depth=2), start=1):
        with timings.stage("encode"):
            writer.write(frame)
        progress(_ANALYSIS_SHARE + (1 - _ANALYSIS_SHARE) * min(written / max(analysed, 1), 1.0))
    return report


def swap_video(
    video: str | os.PathLike[str],
    face: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    advanced: bool = False,
    faces: str = "largest",
    progress: Progress | None = None,
    config: SwapConfig | None = None,
) -> SwapReport:
    """Replace the face in ``video`` with the largest face of the photo ``face``.

    Args:
        video: target video file (any container/codec FFmpeg reads).
        face: source photo.
        out: where the MP4 goes; written atomically, nothing is left on failure.
        advanced: keep hands, hair and objects in front of the face (occlusion-aware).
        faces: ``"largest"`` (the most prominent person of the clip) or ``"all"``.
        progress: called with the fraction done, 0.0 → 1.0.

    Raises:
        InvalidVideo, InvalidImage, NoFaceInSource, NoFaceInVideo, InputTooLarge,
        OutputNotWritable: each with a message that says what to fix.
    """
    if faces not in FACE_CHOICES:
        raise ValueError(f"faces must be one of {FACE_CHOICES}, not {faces!r}")
    config = config or SwapConfig()
    progress = progress or (lambda fraction: None)
    video, out = Path(video), Path(out)
    timings = _Timings()
    info = decode.probe(video, config.limits)
    source = SourceFace.from_image(decode.read_image(Path(face), config.limits))
    metadata = encode.synthetic_metadata(__version__)
    # Opening the writer first reports an unwritable output before the long analysis;
    # any failure inside the block deletes its temporary file.
    with encode.VideoWriter(out, info, audio_source=video, metadata=metadata) as writer:
        faces_by_frame, analysed = _analyse(video, faces, config, info.frame_count, progress, timings)
        if not faces_by_frame:
            raise NoFaceInVideo(
                f"no face found in any of the {analysed} frames of {video.name}; the target "
                "video needs a visible face (at least ~40 px wide)"
            )
        occlusion = OcclusionFinder() if advanced else None
        report = _render(
            video, writer, faces_by_frame, source, config, occlusion, progress, timings, analysed
        )
        report.video_seconds = info.duration_seconds
        report.output = str(out)
        report.warnings.extend(writer.warnings)
    report.stage_seconds = dict(timings)
    return report
