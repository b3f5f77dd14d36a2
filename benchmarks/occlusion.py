"""Occlusion: does an object in front of the face survive the swap?

A textured patch (flowers cut from a test photo) is composited over the lower-left
quarter of the face of a talking clip, following dlib's face box frame by frame. The
composited clip is written to disk and swapped; the occluder's mask is known exactly and
recomputed from the stored boxes while the output is streamed. A pixel of the occluder
survives when the output is within a small tolerance of the composited input there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from numpy.typing import NDArray

from benchmarks import (
    SwapFn,
    Target,
    VideoOut,
    paired_frames,
    read_frames,
    testdata_file,
    verdicts,
    video_rate,
)
from benchmarks.evaluate import Box, Judge, Landmarks, largest
from benchmarks.sheets import ContactSheet, pick_frames

if TYPE_CHECKING:
    from faceswap_nb.engine.types import Image

CLIP = "retalking_face1.mp4"
PHOTO = "roop_source.jpg"
OCCLUDER_PHOTO = "dfl_photo_000044.jpg"
_OCCLUDER_REGION = (0.14, 0.05, 0.40, 0.30)
"""Flowers and leaves, no skin: x0, y0, x1, y1 as fractions of the occluder photo."""
_TOLERANCE = 12.0
"""Mean absolute difference (0–255, averaged over BGR and a 3×3 neighbourhood) under
which an occluder pixel counts as kept; well above x264 noise at CRF 12–23."""
_SMOOTHING = 5

TARGETS = (
    Target("survival_advanced", ">=", 0.90, "share of occluder pixels kept with advanced=True"),
)


@dataclass
class OccludedClip:
    """A composited clip and what is needed to recompute its occluder mask per frame."""

    path: Path
    boxes: list[Box]
    """Smoothed face box per frame (the occluder follows it)."""
    points: list[Landmarks | None]
    """The un-occluded face's landmarks per frame (measurement stays inside the face)."""

    def occluder(self, index: int, shape: tuple[int, int]) -> NDArray[np.bool_]:
        """Where the occluder is in frame ``index``."""
        return occluder_mask(self.boxes[index], shape)

    def judged(self, index: int, shape: tuple[int, int]) -> NDArray[np.bool_]:
        """Occluder pixels inside the face, away from the occluder's edge (the only ones
        the engine could wrongly paint over, and free of chroma-subsampling bleed)."""
        points = self.points[index]
        if points is None:
            return np.zeros(shape, bool)
        face = np.zeros(shape, np.uint8)
        cv2.fillConvexPoly(face, cv2.convexHull(np.round(points).astype(np.int32)), 1)
        inner = cv2.erode(self.occluder(index, shape).astype(np.uint8), np.ones((5, 5), np.uint8))
        return (inner & face).astype(bool)


def occluder_mask(box: Box, shape: tuple[int, int]) -> NDArray[np.bool_]:
    """A rounded rectangle over the lower-left quarter of the face box, reaching a little
    past its left and bottom edges the way a hand or scarf would."""
    x0, y0, x1, y1 = box
    width, height = x1 - x0, y1 - y0
    left, right = x0 - 0.05 * width, x0 + 0.5 * width
    top, bottom = y0 + 0.5 * height, y1 + 0.1 * height
    radius = max(int(0.12 * width), 1)
    left, top, right, bottom = (int(round(v)) for v in (left, top, right, bottom))
    mask = np.zeros(shape, np.uint8)
    cv2.rectangle(mask, (left + radius, top), (right - radius, bottom), 1, -1)
    cv2.rectangle(mask, (left, top + radius), (right, bottom - radius), 1, -1)
    for x in (left + radius, right - radius):
        for y in (top + radius, bottom - radius):
            cv2.circle(mask, (x, y), radius, 1, -1)
    return mask.astype(bool)


def occluder_texture() -> Image:
    """The flowers patch cut from the occluder photo."""
    photo = cv2.imread(str(testdata_file("images", OCCLUDER_PHOTO)))
    height, width = photo.shape[:2]
    x0, y0, x1, y1 = _OCCLUDER_REGION
    return photo[int(y0 * height) : int(y1 * height), int(x0 * width) : int(x1 * width)]


def track_face(clip: Path, judge: Judge) -> tuple[list[Box], list[Landmarks | None]]:
    """dlib's face box in every frame, smoothed over time, and the landmarks.

    A frame without a detection keeps the previous box so the occluder never vanishes.
    """
    raw: list[Box] = []
    points: list[Landmarks | None] = []
    for image in read_frames(clip):
        face = largest(judge.faces(image))
        points.append(None if face is None else face.points)
        if face is not None or raw:
            raw.append(face.box if face is not None else raw[-1])
    if not raw:
        raise ValueError(f"dlib finds no face in {clip.name}")
    boxes = np.array([raw[0]] * (len(points) - len(raw)) + raw, np.float64)
    kernel = np.ones(_SMOOTHING) / _SMOOTHING
    padded = np.pad(boxes, ((_SMOOTHING // 2, _SMOOTHING // 2), (0, 0)), mode="edge")
    smooth = np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(4)], axis=1)
    return [tuple(box) for box in smooth.tolist()], points


def composite_clip(clip: Path, out: Path, judge: Judge) -> OccludedClip:
    """Write ``clip`` with the occluder pasted over each frame; returns how to find it again."""
    boxes, points = track_face(clip, judge)
    occluded = OccludedClip(out, boxes, points)
    texture = occluder_texture()
    rate, _ = video_rate(clip)
    with VideoOut(out, rate) as writer:
        for index, image in enumerate(read_frames(clip)):
            mask = occluded.occluder(index, image.shape[:2])
            ys, xs = np.nonzero(mask)
            y0, x0 = ys.min(), xs.min()
            size = (int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1)
            patch = cv2.resize(texture, size, interpolation=cv2.INTER_AREA)
            image = image.copy()
            image[ys, xs] = patch[ys - y0, xs - x0]
            writer.write(image)
    return occluded


def survival(occluded: OccludedClip, output: Path) -> float | None:
    """Share of judged occluder pixels (all frames) where ``output`` keeps the occluder."""
    kept = total = 0
    for index, composited, result in paired_frames(occluded.path, output):
        where = occluded.judged(index, composited.shape[:2])
        if not where.any():
            continue
        difference = cv2.absdiff(composited, result).mean(axis=2, dtype=np.float32)
        close = cv2.blur(difference, (3, 3)) < _TOLERANCE
        kept += int(close[where].sum())
        total += int(where.sum())
    return kept / total if total else None


def _sheet(occluded: OccludedClip, outputs: dict[str, Path], path: Path) -> str:
    """Composited input beside each output at six frames."""
    frames = pick_frames([i for i, points in enumerate(occluded.points) if points is not None])
    sheet = ContactSheet(f"{CLIP} with occluder", ("composited", *outputs), frames)
    streams = [read_frames(occluded.path), *(read_frames(output) for output in outputs.values())]
    for index, images in enumerate(zip(*streams)):
        if sheet.wants(index):
            sheet.add(index, images, occluded.boxes[index])
    return str(sheet.save(path))


def run_occlusion(swap: SwapFn, out_dir: Path) -> dict[str, Any]:
    """Composite, swap in advanced and default mode, and measure what survives."""
    judge = Judge()
    clip = testdata_file("videos", CLIP)
    work = out_dir / "videos"
    work.mkdir(parents=True, exist_ok=True)
    occluded = composite_clip(clip, work / f"{clip.stem}__occluded.mp4", judge)
    figures: dict[str, Any] = {"clip": clip.stem, "photo": Path(PHOTO).stem}
    # What would "survive" if the engine replaced the occluder with the face behind it:
    # the floor that a survival figure must be read against.
    figures["survival_if_erased"] = survival(occluded, clip)
    outputs = {}
    for mode, advanced in (("advanced", True), ("default", False)):
        output = work / f"{clip.stem}__occluded__{mode}.mp4"
        started = time.perf_counter()
        report = swap(occluded.path, testdata_file("images", PHOTO), output, advanced=advanced)
        figures[f"swap_seconds_{mode}"] = round(time.perf_counter() - started, 2)
        figures[f"coverage_{mode}"] = report.coverage
        figures[f"survival_{mode}"] = survival(occluded, output)
        outputs[mode] = output
    figures["sheet"] = _sheet(occluded, outputs, out_dir / "sheets" / f"{clip.stem}__occluded.png")
    return {"figures": figures, "targets": verdicts(TARGETS, [figures])}


def format_occlusion(figures: dict[str, Any]) -> str:
    """One line: survival in each mode and the erased floor."""
    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.1%}"

    return (
        f"occluder kept: advanced {pct(figures.get('survival_advanced'))}, "
        f"default {pct(figures.get('survival_default'))} "
        f"(if erased: {pct(figures.get('survival_if_erased'))})"
    )
