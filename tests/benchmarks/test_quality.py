"""The quality benchmark's reading of the engine's own analysis, and its floor (the judge
on a plain re-encode), on synthetic faces."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from benchmarks.evaluate import Face
from benchmarks.quality import (
    FLOOR_FIGURES,
    ClipAnalysis,
    analysis_figures,
    floor_figures,
    format_analysis,
    format_floor,
)
from faceswap_nb.engine.encode import transcode
from faceswap_nb.engine.topology import LEFT_EYE_RING, RIGHT_EYE_RING
from faceswap_nb.engine.types import FaceObservation
from tests.media import write_clip

BOX = (50.0, 50.0, 150.0, 150.0)


def judged_face(half_height: float, jaw: float = 100.0) -> Face:
    """68 landmarks whose eyes are 30 px wide and ``half_height`` px open either side
    (eye aspect ratio ``half_height / 15``), on a jaw ``jaw`` px wide."""
    points = np.full((68, 2), 100.0, np.float32)
    points[0], points[16] = (100 - jaw / 2, 120), (100 + jaw / 2, 120)
    for first, x in ((36, 70.0), (42, 110.0)):
        h = half_height
        points[first : first + 6] = [
            (x, 95), (x + 10, 95 - h), (x + 20, 95 - h), (x + 30, 95), (x + 20, 95 + h), (x + 10, 95 + h)
        ]
    return Face(BOX, points)


def observed_face(half_height: float, centre: tuple[float, float] = (100.0, 100.0)) -> FaceObservation:
    """A 470-point mesh around ``centre`` whose eye rings are ellipses 30 px wide and
    ``half_height`` px open either side (opening ``π half_height / 60``)."""
    points = np.tile(np.float32(centre), (470, 1))
    for ring, dx in ((RIGHT_EYE_RING, -15.0), (LEFT_EYE_RING, 15.0)):
        for k, index in enumerate(ring):
            angle = k * math.pi / 8
            points[index] = (centre[0] + dx + 15 * math.cos(angle), centre[1] - 5 + half_height * math.sin(angle))
    return FaceObservation(0, points, np.zeros(468, np.float32))


def clip_of(faces: dict[int, Face]) -> ClipAnalysis:
    return ClipAnalysis(Path("blinks.mp4"), len(faces) + 1, sorted(faces), faces, [])


OPENINGS = [4.5, 4.6, 4.4, 1.0, 2.0, 4.5, 4.7, 4.3, 1.2, 4.5]  # two blinks


def test_an_analysis_that_follows_every_blink_scores_one() -> None:
    clip = clip_of({i: judged_face(h) for i, h in enumerate(OPENINGS)})
    observations = {i: [observed_face(h)] for i, h in enumerate(OPENINGS)}

    figures = analysis_figures(clip, observations)

    assert figures["clip"] == "blinks"
    assert figures["analysed_frames"] == len(OPENINGS)
    assert figures["analysis_eye_r"] > 0.999


def test_an_analysis_that_misses_the_blinks_scores_low() -> None:
    clip = clip_of({i: judged_face(h) for i, h in enumerate(OPENINGS)})
    steady = {i: [observed_face(4.5 + 0.1 * (i % 3))] for i in range(len(OPENINGS))}

    assert analysis_figures(clip, steady)["analysis_eye_r"] < 0.3


def test_only_frames_where_the_judge_reads_expression_and_the_engine_saw_that_face_count() -> None:
    faces = {i: judged_face(h) for i, h in enumerate(OPENINGS)}
    faces[10] = judged_face(1.0, jaw=40.0)  # too small for the judge's landmarks
    observations = {i: [observed_face(h)] for i, h in enumerate(OPENINGS) if i != 2}
    observations[3] = [observed_face(4.5, centre=(300.0, 300.0))]  # someone else, outside the box

    assert analysis_figures(clip_of(faces), observations)["analysed_frames"] == len(OPENINGS) - 2


def test_a_clip_without_blinks_has_no_figure() -> None:
    clip = clip_of({i: judged_face(4.5 + 0.1 * (i % 2)) for i in range(8)})
    observations = {i: [observed_face(4.5 + 0.1 * (i % 2))] for i in range(8)}

    figures = analysis_figures(clip, observations)

    assert figures["analysis_eye_r"] is None
    assert "-" in format_analysis([figures]).splitlines()[1]


def test_the_report_gives_each_clip_its_figure_and_frame_count() -> None:
    text = format_analysis([{"clip": "glasses", "analysed_frames": 182, "analysis_eye_r": 0.4812}])

    assert "glasses" in text and "0.48" in text and "182 frames" in text


# --- the judge's floor: a plain re-encode of the clip ---------------------------------------

MOUTH_HEIGHTS = [4, 10, 16, 8, 2, 12, 18, 6, 14, 4, 10, 16, 8, 2, 12, 18, 6, 14]


class BarJudge:
    """Stands in for dlib on frames whose only "mouth" is a white bar: its height is the
    inner-lip gap of an otherwise fixed 68-point face 100 px wide. Never embeds."""

    def faces(self, image: np.ndarray) -> list[Face]:
        rows = np.flatnonzero((image[..., 1] > 200).any(axis=1))
        gap = float(np.ptp(rows) + 1) if len(rows) else 0.0
        points = judged_face(4.5).points.copy()
        points[0], points[16] = (50.0, 120.0), (150.0, 120.0)
        points[30], points[8] = (100.0, 100.0), (100.0, 150.0)
        points[48], points[54] = (80.0, 130.0), (120.0, 130.0)
        for top, bottom in ((61, 67), (62, 66), (63, 65)):
            points[top], points[bottom] = (100.0, 130.0 - gap / 2), (100.0, 130.0 + gap / 2)
        return [Face(BOX, points)]

    def embedding(self, image: np.ndarray, face: Face) -> np.ndarray:
        raise AssertionError("the floor must not judge identity: nobody was swapped in")


def bar_frames(heights: list[int]) -> list[np.ndarray]:
    frames = []
    for height in heights:
        frame = np.full((200, 200, 3), 90, np.uint8)
        frame[100 - height // 2 : 100 - height // 2 + height, 80:120] = 255
        frames.append(frame)
    return frames


def bar_clip(tmp_path: Path) -> ClipAnalysis:
    path = write_clip(tmp_path / "bars.mp4", bar_frames(MOUTH_HEIGHTS))
    judge = BarJudge()
    faces = {index: judge.faces(frame)[0] for index, frame in enumerate(bar_frames(MOUTH_HEIGHTS)) if index}
    return ClipAnalysis(path, len(MOUTH_HEIGHTS), sorted(faces), faces, sorted(faces)[:5])


def test_the_floor_judges_a_plain_re_encode_of_the_clip(tmp_path: Path) -> None:
    floor = floor_figures(bar_clip(tmp_path), transcode, BarJudge(), tmp_path)  # type: ignore[arg-type]

    assert floor["clip"] == "bars"
    assert floor["mouth_r"] > 0.99 and floor["mouth_mad"] < 0.01
    assert floor["pose_mad_deg"] == pytest.approx(0.0, abs=1e-6)
    assert set(floor) == {"clip", *FLOOR_FIGURES}  # no identity figures


def test_the_floor_shows_what_the_re_encode_loses(tmp_path: Path) -> None:
    def mouths_inverted(video: Path, out: Path) -> None:
        write_clip(out, bar_frames([20 - height for height in MOUTH_HEIGHTS]))

    floor = floor_figures(bar_clip(tmp_path), mouths_inverted, BarJudge(), tmp_path)  # type: ignore[arg-type]

    assert floor["mouth_r"] < -0.99


def test_the_floor_report_marks_a_figure_that_misses_its_target_even_there() -> None:
    row = {"clip": "hamilton", "mouth_r": 0.873, "mouth_mad": 0.025, "eye_r": 0.875, "pose_mad_deg": 1.96,
           "lighting_r": None, "seam_ratio": 1.0, "temporal_ratio": 0.98}

    line = format_floor([row]).splitlines()[2]

    assert "hamilton" in line and "0.87!" in line and "0.88 " in line and "2.0 " in line
