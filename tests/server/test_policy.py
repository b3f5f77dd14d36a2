"""The content policy: the decision rule, the sampling, and the real detector on real media."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from faceswap_nb.server.policy import (
    BLOCKED_CLASSES,
    THRESHOLD,
    ContentPolicy,
    ContentRefused,
    Finding,
    sample_indices,
    violations,
)
from tests.media import write_clip


def test_exposed_sexual_body_parts_are_blocked_and_faces_are_not() -> None:
    assert {"FEMALE_GENITALIA_EXPOSED", "MALE_GENITALIA_EXPOSED", "FEMALE_BREAST_EXPOSED",
            "BUTTOCKS_EXPOSED", "ANUS_EXPOSED"} == BLOCKED_CLASSES
    assert not BLOCKED_CLASSES & {"FACE_FEMALE", "FACE_MALE", "FEET_EXPOSED", "FEMALE_BREAST_COVERED"}


@pytest.mark.parametrize(("label", "score", "refused"), [
    ("FEMALE_BREAST_EXPOSED", THRESHOLD, True),
    ("FEMALE_BREAST_EXPOSED", THRESHOLD - 0.01, False),
    ("MALE_GENITALIA_EXPOSED", 0.99, True),
    ("FEMALE_BREAST_COVERED", 0.99, False),
    ("FACE_FEMALE", 0.99, False),
])
def test_a_blocked_class_at_or_above_the_threshold_is_a_violation(label: str, score: float, refused: bool) -> None:
    found = [Finding(label, score, "frame 3")]

    assert bool(violations(found, BLOCKED_CLASSES)) is refused


def test_samples_spread_over_the_whole_clip() -> None:
    assert sample_indices(0) == []
    assert sample_indices(5) == [0, 1, 2, 3, 4]
    picked = sample_indices(1000, samples=12)
    assert len(picked) == 12 and picked[0] == 0 and picked[-1] == 999


def test_extra_classes_extend_the_list_and_cannot_shorten_it() -> None:
    policy = ContentPolicy(["FACE_MALE"], detector=_Fake([]))

    assert policy.blocked == BLOCKED_CLASSES | {"FACE_MALE"}


class _Fake:
    """A detector that reports ``hits`` on bright images only (test double)."""

    def __init__(self, hits: list[dict[str, Any]]) -> None:
        self.hits = hits

    def detect(self, image: np.ndarray) -> list[dict[str, Any]]:
        return self.hits if image.mean() > 128 else []


def test_a_violation_in_a_video_frame_is_refused_and_named(tmp_path: Path) -> None:
    video = write_clip(tmp_path / "v.mp4", [np.full((64, 64, 3), v, np.uint8) for v in (10,) * 20 + (200,) * 20])
    face = tmp_path / "f.png"
    cv2.imwrite(str(face), np.full((64, 64, 3), 50, np.uint8))
    detector = _Fake([{"class": "BUTTOCKS_EXPOSED", "score": 0.9, "box": [0, 0, 1, 1]}])

    with pytest.raises(ContentRefused, match=r"buttocks exposed detected in frame \d+ of the video") as err:
        ContentPolicy(detector=detector).check(video, face)

    assert err.value.code == "content_policy"


def test_a_clip_without_findings_passes(tmp_path: Path) -> None:
    video = write_clip(tmp_path / "v.mp4", [np.full((64, 64, 3), 10, np.uint8)] * 20)
    face = tmp_path / "f.png"
    cv2.imwrite(str(face), np.full((64, 64, 3), 50, np.uint8))

    ContentPolicy(detector=_Fake([{"class": "ANUS_EXPOSED", "score": 0.99}])).check(video, face)


@pytest.mark.testdata
def test_the_real_detector_passes_a_clean_talking_clip(talking_clip: Path, testdata: Path) -> None:
    ContentPolicy().check(talking_clip, testdata / "images" / "fr_obama.jpg")


@pytest.mark.testdata
def test_the_real_detector_refuses_when_a_harmless_class_is_blocked(talking_clip: Path, testdata: Path) -> None:
    policy = ContentPolicy(["FACE_FEMALE", "FACE_MALE"])

    with pytest.raises(ContentRefused, match="face (fe)?male detected"):
        policy.check(talking_clip, testdata / "images" / "fr_obama.jpg")
