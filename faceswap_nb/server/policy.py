"""Content policy: sexual content is refused before any face is swapped.

Frames sampled evenly across the target video, and the face image, go through the
explicit-content detector that ships inside ``nudenet`` (its ONNX model is in the wheel,
so nothing is downloaded). A job whose inputs show any :data:`BLOCKED_CLASSES` at or
above :data:`THRESHOLD` fails with code ``content_policy`` and produces no output.

No request field reaches this module: the blocked list can only be *extended*, by the
server's test-only ``content_policy_extra_classes`` setting, which lets tests prove the
refusal path on a harmless real clip.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from faceswap_nb._errors import FaceswapError

__all__ = [
    "BLOCKED_CLASSES",
    "SAMPLED_FRAMES",
    "THRESHOLD",
    "ContentPolicy",
    "ContentRefused",
    "Finding",
    "sample_indices",
    "violations",
]

BLOCKED_CLASSES = frozenset({
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "FEMALE_BREAST_EXPOSED",
    "BUTTOCKS_EXPOSED",
    "ANUS_EXPOSED",
})
# The detector's own demos draw boxes from 0.2; refusing from 0.45 keeps a margin against
# false positives (bare shoulders, skin-toned clothes) while exposed nudity scores far higher.
THRESHOLD = 0.45
SAMPLED_FRAMES = 12


class ContentRefused(FaceswapError):
    """The inputs show sexual content; the job is refused and nothing is produced."""

    code = "content_policy"


@dataclass(frozen=True)
class Finding:
    """One detector hit: its class, confidence and where it was seen."""

    label: str
    score: float
    where: str


class Detector(Protocol):
    """The part of ``nudenet.NudeDetector`` the policy uses."""

    def detect(self, image_path: Any) -> list[dict[str, Any]]: ...


def violations(
    findings: Iterable[Finding], blocked: frozenset[str], threshold: float = THRESHOLD
) -> list[Finding]:
    """The findings that break the policy: a blocked class at or above the threshold."""
    return [f for f in findings if f.label in blocked and f.score >= threshold]


def sample_indices(frame_count: int, samples: int = SAMPLED_FRAMES) -> list[int]:
    """Frame indices spread evenly over the clip, first and last frame included."""
    if frame_count <= 0:
        return []
    if frame_count <= samples:
        return list(range(frame_count))
    return sorted({round(i * (frame_count - 1) / (samples - 1)) for i in range(samples)})


class ContentPolicy:
    """Checks a job's two inputs; build once per process (loading the model takes ~0.2 s)."""

    def __init__(self, extra_classes: Sequence[str] = (), detector: Detector | None = None) -> None:
        self.blocked = BLOCKED_CLASSES | frozenset(extra_classes)
        if detector is None:
            from nudenet import NudeDetector

            detector = NudeDetector()
        self._detector = detector

    def findings(self, image: np.ndarray, where: str) -> list[Finding]:
        """Every detector hit in one BGR image."""
        return [
            Finding(str(hit["class"]), float(hit["score"]), where)
            for hit in self._detector.detect(np.ascontiguousarray(image))
        ]

    def check(self, video: Path, face: Path) -> None:
        """Refuse the job if the face image or any sampled frame breaks the policy.

        Raises:
            ContentRefused: naming the class found and where (never the image itself).
            InvalidVideo, InvalidImage: from the engine's decoders, as for a swap.
        """
        from faceswap_nb.engine import decode

        found = self.findings(decode.read_image(face), "the face image")
        wanted = sample_indices(decode.probe(video).frame_count)
        for frame in decode.read_frames(video):
            if violations(found, self.blocked) or not wanted or frame.index > wanted[-1]:
                break
            if frame.index in wanted:
                found += self.findings(frame.image, f"frame {frame.index} of the video")
        bad = violations(found, self.blocked)
        if bad:
            worst = max(bad, key=lambda f: f.score)
            raise ContentRefused(
                f"sexual content is not processed: {worst.label.lower().replace('_', ' ')} "
                f"detected in {worst.where} (confidence {worst.score:.2f}); "
                "no output was made"
            )
