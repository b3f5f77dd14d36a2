"""Quality of swapped videos, judged by dlib: identity, expression, pose, light, seams, flicker.

For each clip the original is analysed once (the target face at every sampled frame:
every frame, up to ``MAX_SAMPLES``), the engine's own analysis pass is read against it
(``analysis_figures``), and the judge reads a plain re-encode of it (``floor_figures``).
Then each photo is swapped in and the output is streamed beside the original, frame by
frame, measuring at the sampled frames (identity at ``IDENTITY_FRAMES`` of them,
because an embedding costs ~90 ms).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from numpy.typing import NDArray

from benchmarks import SwapFn, Target, paired_frames, read_frames, testdata_file, verdicts, video_rate
from benchmarks.evaluate import (
    Face,
    Judge,
    angle_difference,
    box_change,
    eye_aspect_ratio,
    head_pose,
    largest,
    lighting_correlation,
    match,
    mouth_opening,
    pearson,
    seam_ratio,
)
from benchmarks.sheets import ContactSheet, pick_frames
from faceswap_nb.engine.eyes import eye_openings

if TYPE_CHECKING:
    from faceswap_nb.engine.types import FaceObservation, Image

AnalyseFn = Callable[[Path], dict[int, list["FaceObservation"]]]
"""The engine's ``analyse_video``: the observations its render pass would get, by frame."""
ReencodeFn = Callable[[Path, Path], object]
"""The engine's ``encode.transcode``: the clip decoded and encoded as a swap writes it."""

CLIPS = (
    "retalking_face1.mp4",
    "liveportrait_d12_glasses.mp4",
    "fr_short_hamilton_clip.mp4",
    "dfl_Obama_speaking.mp4",
    "roop_target.mp4",
)
PHOTOS = ("roop_source.jpg", "fr_obama.jpg", "deepface_img24.jpg")

TARGETS = (
    Target("identity_median", "<=", 0.45, "median dlib distance, output face to source photo"),
    Target("identity_share", ">=", 0.95, "share of frames with the output nearer the source than the target"),
    Target("coverage", ">=", 0.98, "share of frames with a detectable target face showing the new identity"),
    Target("mouth_r", ">=", 0.9, "Pearson r of mouth opening, output vs original (talking clips)"),
    Target("mouth_mad", "<=", 0.05, "mean absolute difference of mouth opening"),
    Target("eye_r", ">=", 0.7, "Pearson r of eye aspect ratio (clips with blinks)"),
    Target("pose_mad_deg", "<=", 3.0, "worst of yaw/pitch/roll mean absolute difference, degrees"),
    Target("lighting_r", ">=", 0.85, "median per-frame r of blurred face lightness"),
    Target("seam_ratio", "<=", 1.15, "edge strength along the face outline, output / original"),
    Target("temporal_ratio", "<=", 1.25, "frame-to-frame change in the face box, output / original"),
)

MAX_SAMPLES = 300
"""Frames judged per clip at most. Every frame of the test clips: on the Hamilton
clip, whose target is on screen in a third of its frames, every 3rd frame left 34
judged frames, and its mouth r moved by ±0.2 between renders that differ only beside
the eyes."""
IDENTITY_FRAMES = 60
SAME_PERSON = 0.6
"""dlib's usual threshold: embeddings nearer than this are taken as one person."""
MIN_JUDGED = 12
"""Fewer judged frames than this and a run's figures are flagged as unreliable."""
_SCENE_CUT = 25.0
"""Mean grey change in the face box above which a frame pair is a cut, not flicker."""
_MIN_LANDMARK_WIDTH = 60.0
"""Jaw width (px) below which dlib's landmarks are too coarse to judge expression or pose."""
_TALKING_STD = 0.02
_BLINK_DEPTH = 0.7


@dataclass
class ClipAnalysis:
    """The target face in an original clip at each sampled frame, shared by all photos."""

    path: Path
    frames: int
    sampled: list[int]
    faces: dict[int, Face]
    identity: list[int]
    """Sampled frames (with a face) where identity is judged."""
    embeddings: dict[int, NDArray[np.float32]] = field(default_factory=dict)

    def embedding(self, index: int, image: Image, judge: Judge) -> NDArray[np.float32]:
        """The original face's embedding at ``index``, computed on first use."""
        if index not in self.embeddings:
            self.embeddings[index] = judge.embedding(image, self.faces[index])
        return self.embeddings[index]


def sample_positions(frames: int, max_samples: int = MAX_SAMPLES) -> list[int]:
    """Every frame (sparser for long clips), from frame 1 so each has a predecessor."""
    step = max(1, math.ceil((frames - 1) / max_samples))
    return list(range(1, frames, step))[:max_samples]


def analyse_clip(path: Path, judge: Judge, max_samples: int = MAX_SAMPLES) -> ClipAnalysis:
    """Find the target face of the original at every sampled frame.

    The target is a person, not "the largest face of each frame" (which flips between
    people): dlib's embeddings group the faces of all sampled frames into people, and
    the person with the largest summed face area — what ``faces="largest"`` promises to
    swap — is the target wherever they appear.
    """
    _, count = video_rate(path)
    sampled = sample_positions(count, max_samples)
    wanted = set(sampled)
    found: list[tuple[int, Face, NDArray[np.float32]]] = []
    for index, image in enumerate(read_frames(path)):
        if index in wanted:
            found.extend((index, face, judge.embedding(image, face)) for face in judge.faces(image))
    people = group_people([embedding for _, _, embedding in found])
    prominence: dict[int, float] = {}
    for person, (_, face, _) in zip(people, found):
        prominence[person] = prominence.get(person, 0.0) + face.area
    target = max(prominence, key=prominence.__getitem__, default=-1)
    faces: dict[int, Face] = {}
    embeddings: dict[int, NDArray[np.float32]] = {}
    for person, (index, face, embedding) in zip(people, found):
        if person == target and (index not in faces or face.area > faces[index].area):
            faces[index], embeddings[index] = face, embedding
    identity = pick_frames(sorted(faces), IDENTITY_FRAMES)
    return ClipAnalysis(path, count, sampled, faces, identity, embeddings)


def group_people(embeddings: list[NDArray[np.float32]]) -> list[int]:
    """A person number for each embedding: greedy clustering at dlib's same-person distance."""
    centres: list[list[NDArray[np.float32]]] = []
    people = []
    for embedding in embeddings:
        distances = [min(float(np.linalg.norm(embedding - m)) for m in members) for members in centres]
        best = int(np.argmin(distances)) if distances else -1
        if best < 0 or distances[best] >= SAME_PERSON:
            centres.append([embedding])
            best = len(centres) - 1
        else:
            centres[best].append(embedding)
        people.append(best)
    return people


@dataclass
class Measurements:
    """Per-frame measurements of one run, turned into figures by ``run_figures``."""

    identity: list[tuple[float, float]] = field(default_factory=list)
    """(distance to source, distance to original face) at identity frames."""
    identity_missed: int = 0
    mouth: list[tuple[float, float]] = field(default_factory=list)
    eyes: list[tuple[float, float]] = field(default_factory=list)
    pose: list[NDArray[np.float64]] = field(default_factory=list)
    """Signed (yaw, pitch, roll) differences, output minus original."""
    lighting: list[float | None] = field(default_factory=list)
    seam: list[float | None] = field(default_factory=list)
    """``None`` where the frame gave no figure (a flat face, no edges on the outline)."""
    change: list[tuple[float, float]] = field(default_factory=list)
    output_frames: int = 0


def measure_run(
    clip: ClipAnalysis, output: Path, source: NDArray[np.float32] | None, judge: Judge,
    sheet: ContactSheet | None = None,
) -> Measurements:
    """Stream the original and the output side by side and measure the sampled frames;
    identity only with a ``source`` embedding, tiles only for a ``sheet``."""
    series = Measurements()
    previous: tuple[Image, Image] | None = None
    for index, original, result in paired_frames(clip.path, output):
        series.output_frames = index + 1
        face = clip.faces.get(index)
        if face is not None:
            if previous is not None:
                input_change = box_change(previous[0], original, face.box)
                series.change.append((input_change, box_change(previous[1], result, face.box)))
            _measure_frame(series, clip, index, (original, result), source, judge)
            if sheet is not None and sheet.wants(index):
                sheet.add(index, (original, result), face.box)
        previous = (original, result)
    return series


def _measure_frame(
    series: Measurements,
    clip: ClipAnalysis,
    index: int,
    pair: tuple[Image, Image],
    source: NDArray[np.float32] | None,
    judge: Judge,
) -> None:
    """Add one sampled frame's measurements; expression needs the swapped face found."""
    original, result = pair
    face = clip.faces[index]
    series.lighting.append(lighting_correlation(original, result, face.points))
    series.seam.append(seam_ratio(original, result, face.points))
    swapped = match(judge.faces(result), face.box)
    if source is not None and index in clip.identity:
        if swapped is None:
            series.identity_missed += 1
        else:
            embedding = judge.embedding(result, swapped)
            to_target = clip.embedding(index, original, judge)
            distances = (np.linalg.norm(embedding - source), np.linalg.norm(embedding - to_target))
            series.identity.append((float(distances[0]), float(distances[1])))
    if swapped is None or face.width < _MIN_LANDMARK_WIDTH:
        return
    series.mouth.append((mouth_opening(face.points), mouth_opening(swapped.points)))
    series.eyes.append((eye_aspect_ratio(face.points), eye_aspect_ratio(swapped.points)))
    size = original.shape[:2]
    series.pose.append(angle_difference(head_pose(swapped.points, size), head_pose(face.points, size)))


def _mean(values: list[float] | NDArray[Any]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def _identity_figures(series: Measurements) -> dict[str, Any]:
    judged = np.array(series.identity).reshape(-1, 2)
    closer = judged[:, 0] < judged[:, 1]
    detectable = len(judged) + series.identity_missed
    return {
        "identity_frames": len(judged),
        "identity_median": float(np.median(judged[:, 0])) if len(judged) else None,
        "identity_share": _mean(closer),
        "original_distance_median": float(np.median(judged[:, 1])) if len(judged) else None,
        "coverage": float(closer.sum() / detectable) if detectable else None,
    }


def _expression_figures(series: Measurements) -> dict[str, Any]:
    mouth = np.array(series.mouth).reshape(-1, 2)
    eyes = np.array(series.eyes).reshape(-1, 2)
    pose = np.array(series.pose).reshape(-1, 3)
    talking = len(mouth) > 2 and mouth[:, 0].std() > _TALKING_STD
    blinking = len(eyes) > 2 and eyes[:, 0].min() < _BLINK_DEPTH * np.median(eyes[:, 0])
    pose_means = np.abs(pose).mean(axis=0) if len(pose) else None
    return {
        "judged_frames": len(mouth),
        "mouth_std": float(mouth[:, 0].std()) if len(mouth) else None,
        "mouth_r": pearson(mouth[:, 0], mouth[:, 1]) if talking else None,
        "mouth_mad": _mean(np.abs(mouth[:, 0] - mouth[:, 1])),
        "eye_r": pearson(eyes[:, 0], eyes[:, 1]) if blinking else None,
        "eye_mad": _mean(np.abs(eyes[:, 0] - eyes[:, 1])),
        "pose_mad_deg": float(pose_means.max()) if pose_means is not None else None,
        "pose_mad_yaw_pitch_roll": pose_means.round(2).tolist() if pose_means is not None else None,
        # A steady signed offset (e.g. the photo's own head turn leaking through) rather
        # than poor tracking shows here as a bias close to the mean absolute difference.
        "pose_bias_yaw_pitch_roll": pose.mean(axis=0).round(2).tolist() if len(pose) else None,
    }


def run_figures(series: Measurements) -> dict[str, Any]:
    """All figures of one run (``None`` where a figure does not apply or had no data)."""
    change = np.array(series.change).reshape(-1, 2)
    change = change[change[:, 0] < _SCENE_CUT]
    figures = {**_identity_figures(series), **_expression_figures(series)}
    lighting = [value for value in series.lighting if value is not None]
    figures["lighting_r"] = float(np.median(lighting)) if lighting else None
    figures["seam_ratio"] = _mean([value for value in series.seam if value is not None])
    input_change, output_change = change.sum(axis=0)
    figures["temporal_ratio"] = float(output_change / input_change) if input_change > 0 else None
    figures["output_frames"] = series.output_frames
    return figures


def photo_embedding(photo: Path, judge: Judge) -> NDArray[np.float32]:
    """Embedding of the largest face in a photo.

    Raises:
        ValueError: when dlib finds no face in it.
    """
    image = cv2.imread(str(photo))
    face = largest(judge.faces(image)) if image is not None else None
    if face is None:
        raise ValueError(f"dlib finds no face in {photo.name}")
    return judge.embedding(image, face)


def run_pair(swap: SwapFn, clip: ClipAnalysis, photo: Path, judge: Judge, out_dir: Path) -> dict[str, Any]:
    """Swap ``photo`` into ``clip`` and judge the result; returns the run's figures."""
    name = f"{clip.path.stem}__{photo.stem}"
    output = out_dir / "videos" / f"{name}.mp4"
    output.parent.mkdir(parents=True, exist_ok=True)
    row: dict[str, Any] = {"clip": clip.path.stem, "photo": photo.stem, "frames": clip.frames}
    row.update(sampled_frames=len(clip.sampled), target_found=len(clip.faces))
    started = time.perf_counter()
    report = swap(clip.path, photo, output)
    row["swap_seconds"] = round(time.perf_counter() - started, 2)
    row.update(report_coverage=report.coverage, frames_swapped=report.frames_swapped)
    row["engine_warnings"] = list(report.warnings)
    started = time.perf_counter()
    source = photo_embedding(photo, judge)
    title = f"{clip.path.stem} <- {photo.stem}"
    sheet = ContactSheet(title, ("original", "result"), pick_frames(sorted(clip.faces)))
    row.update(run_figures(measure_run(clip, output, source, judge, sheet)))
    row["sheet"] = str(sheet.save(out_dir / "sheets" / f"{name}.png"))
    row["measure_seconds"] = round(time.perf_counter() - started, 2)
    row["notes"] = _notes(row, clip, source)
    return row


def _notes(row: dict[str, Any], clip: ClipAnalysis, source: NDArray[np.float32]) -> list[str]:
    """The judge's caveats on a run; voids the identity share when photo and clip show
    the same person (the output cannot then be nearer one than the other)."""
    notes = []
    if row["output_frames"] != clip.frames:
        notes.append(f"output has {row['output_frames']} frames, original {clip.frames}")
    if row["judged_frames"] < MIN_JUDGED:
        notes.append(f"only {row['judged_frames']} frames judged (< {MIN_JUDGED}): unreliable")
    distances = [float(np.linalg.norm(embedding - source)) for embedding in clip.embeddings.values()]
    row["source_to_target_distance"] = float(np.median(distances)) if distances else None
    if row["source_to_target_distance"] is not None and row["source_to_target_distance"] < SAME_PERSON:
        row["identity_share"] = row["coverage"] = None
        notes.append("photo and target look like one person: identity share and coverage n/a")
    return notes


def analysis_figures(clip: ClipAnalysis, observations: dict[int, list[FaceObservation]]) -> dict[str, Any]:
    """How well the engine's own analysis reads the original's blinks.

    Over the frames where the judge reads expression (as in ``measure_run``), the Pearson
    r of the engine's eye openings (``eyes.eye_openings``, both eyes' mean) against the
    judge's eye aspect ratio on the original, on clips with blinks (as ``eye_r``). The
    photo's eyes are drawn where the analysis reads the lids, so a swap's eye r can
    hardly beat this. (The mouth has no such figure: the swap keeps the target's own
    lips, whatever the mesh reads.)
    """
    pairs = []
    for index, face in sorted(clip.faces.items()):
        if face.width < _MIN_LANDMARK_WIDTH:
            continue
        x0, y0, x1, y1 = face.box
        centres = [(observation, observation.landmarks.mean(axis=0)) for observation in observations.get(index, [])]
        inside = [observation for observation, (x, y) in centres if x0 <= x <= x1 and y0 <= y <= y1]
        if inside:
            pairs.append((eye_aspect_ratio(face.points), float(eye_openings(inside[0].landmarks).mean())))
    eyes = np.array(pairs).reshape(-1, 2)
    blinking = len(eyes) > 2 and eyes[:, 0].min() < _BLINK_DEPTH * np.median(eyes[:, 0])
    return {
        "clip": clip.path.stem,
        "analysed_frames": len(eyes),
        "analysis_eye_r": pearson(eyes[:, 0], eyes[:, 1]) if blinking else None,
    }


FLOOR_FIGURES = ("mouth_r", "mouth_mad", "eye_r", "pose_mad_deg", "lighting_r", "seam_ratio", "temporal_ratio")


def floor_figures(clip: ClipAnalysis, reencode: ReencodeFn, judge: Judge, out_dir: Path) -> dict[str, Any]:
    """The judge's figures for the clip re-encoded as a swap encodes it, with no face
    changed: what the judge's own noise leaves of each target on this clip.

    dlib's landmarks move with the encoder's noise alone. A swap cannot score better
    than this by more than chance; where the floor misses a target (mouth r on a clip of
    small faces behind a microphone), that target cannot be met there.
    """
    output = out_dir / "floor" / f"{clip.path.stem}.mp4"
    output.parent.mkdir(parents=True, exist_ok=True)
    reencode(clip.path, output)
    # Nobody was swapped in: identity means nothing.
    figures = run_figures(measure_run(clip, output, None, judge))
    return {"clip": clip.path.stem, **{name: figures[name] for name in FLOOR_FIGURES}}


def plan(quick: bool) -> list[tuple[str, tuple[str, ...]]]:
    """Clips and the photos swapped into each: all three, or one per clip in quick mode."""
    if quick:
        return [(clip, (PHOTOS[i % len(PHOTOS)],)) for i, clip in enumerate(CLIPS)]
    return [(clip, PHOTOS) for clip in CLIPS]


def run_quality(
    swap: SwapFn, out_dir: Path, quick: bool = False, analyse: AnalyseFn | None = None,
    reencode: ReencodeFn | None = None,
) -> dict[str, Any]:
    """Every clip × photo run of ``plan``: per-run figures and per-target verdicts; with
    ``analyse``, also each clip's ``analysis_figures``, and with ``reencode`` its
    ``floor_figures``."""
    judge = Judge()
    runs, analysis, floor = [], [], []
    for clip_name, photos in plan(quick):
        clip = analyse_clip(testdata_file("videos", clip_name), judge)
        if analyse is not None:
            analysis.append(analysis_figures(clip, analyse(clip.path)))
        if reencode is not None:
            floor.append(floor_figures(clip, reencode, judge, out_dir))
        for photo_name in photos:
            try:
                runs.append(run_pair(swap, clip, testdata_file("images", photo_name), judge, out_dir))
            except Exception as error:  # noqa: BLE001 - one failing run must not hide the others' figures
                runs.append({"clip": clip.path.stem, "photo": Path(photo_name).stem, "error": repr(error)})
    return {"runs": runs, "analysis": analysis, "floor": floor, "targets": verdicts(TARGETS, runs)}


_COLUMNS = (
    ("identity_median", "id.med", "{:.2f}"),
    ("identity_share", "id.shr", "{:.0%}"),
    ("coverage", "cover", "{:.0%}"),
    ("mouth_r", "mouth.r", "{:.2f}"),
    ("mouth_mad", "m.mad", "{:.3f}"),
    ("eye_r", "eye.r", "{:.2f}"),
    ("pose_mad_deg", "pose°", "{:.1f}"),
    ("lighting_r", "light", "{:.2f}"),
    ("seam_ratio", "seam", "{:.2f}"),
    ("temporal_ratio", "flick", "{:.2f}"),
    ("judged_frames", "n", "{:d}"),
)


def _cell(figure: str, value: float | None, fmt: str) -> str:
    """``value`` in a table column, marked with ``!`` when it misses its target."""
    target = next((target for target in TARGETS if target.figure == figure), None)
    failed = target is not None and target.passes(value) is False
    return f"{('-' if value is None else fmt.format(value)) + ('!' if failed else ' '):>9}"


def format_runs(runs: list[dict[str, Any]]) -> str:
    """A compact table, one line per run; a failed target is marked with ``!``."""
    lines = [f"{'clip <- photo':40}" + "".join(f"{label:>9}" for _, label, _ in _COLUMNS)]
    for run in runs:
        name = f"{run['clip'][:22]} <- {run['photo'][:14]}"
        if "error" in run:
            lines.append(f"{name:40} ERROR {run['error'][:80]}")
            continue
        lines.append(f"{name:40}" + "".join(_cell(figure, run.get(figure), fmt) for figure, _, fmt in _COLUMNS))
    for run in runs:
        lines.extend(f"  {run['clip']} <- {run['photo']}: {note}" for note in run.get("notes", []))
    return "\n".join(lines)


def format_analysis(rows: list[dict[str, Any]]) -> str:
    """One line per clip: how well the engine's analysis reads blinks (``analysis_figures``)."""
    lines = ["blinks as the engine's own analysis reads them, r against the judge on the original:"]
    for row in rows:
        r = row["analysis_eye_r"]
        lines.append(f"  {row['clip']:32} {'-' if r is None else f'{r:.2f}':>5}   ({row['analysed_frames']} frames)")
    return "\n".join(lines)


def format_floor(rows: list[dict[str, Any]]) -> str:
    """One line per clip: the judge on a plain re-encode (``floor_figures``), in the runs'
    columns; a figure that misses its target even there is marked with ``!``."""
    columns = [column for column in _COLUMNS if column[0] in FLOOR_FIGURES]
    lines = [
        "the judge on each clip re-encoded with no face changed (its floor):",
        f"  {'clip':38}" + "".join(f"{label:>9}" for _, label, _ in columns),
    ]
    for row in rows:
        lines.append(f"  {row['clip']:38}" + "".join(_cell(figure, row.get(figure), fmt) for figure, _, fmt in columns))
    return "\n".join(lines)
