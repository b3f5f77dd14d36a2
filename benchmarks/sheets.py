"""Contact sheets: a PNG grid of face crops, one row per sampled frame, one column per video.

A sheet is filled while a benchmark streams its videos (only small tiles are kept), so
a reviewer can see at a glance what the figures describe.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from benchmarks.evaluate import Box
    from faceswap_nb.engine.types import Image

_TILE = 224
_LABEL = 22
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def pick_frames(candidates: Sequence[int], count: int = 6) -> list[int]:
    """``count`` frame indices spread evenly over ``candidates`` (all of them if fewer)."""
    if len(candidates) <= count:
        return list(candidates)
    positions = np.linspace(0, len(candidates) - 1, count).round().astype(int)
    return [candidates[p] for p in positions]


def face_tile(image: Image, box: Box | None, size: int = _TILE) -> Image:
    """A square tile: the face with a generous margin, or the whole frame when no box."""
    if box is None:
        height, width = image.shape[:2]
        side, cx, cy = max(height, width), width / 2, height / 2
    else:
        side = 2.2 * max(box[2] - box[0], box[3] - box[1])
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    # Pad with black so crops at the frame edge keep the face centred.
    half = int(side / 2)
    padded = cv2.copyMakeBorder(image, half, half, half, half, cv2.BORDER_CONSTANT)
    x0, y0 = int(cx), int(cy)
    crop = padded[y0 : y0 + 2 * half, x0 : x0 + 2 * half]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


class ContactSheet:
    """Collects tiles for chosen frames, then writes them as one PNG.

    Args:
        title: written across the top (e.g. ``"retalking_face1 <- roop_source"``).
        columns: one label per video shown side by side (e.g. ``("original", "result")``).
        frames: the frame indices to show, one row each.
    """

    def __init__(self, title: str, columns: Sequence[str], frames: Sequence[int]) -> None:
        self.title = title
        self.columns = list(columns)
        self.frames = list(frames)
        self._rows: dict[int, list[Image]] = {}

    def wants(self, index: int) -> bool:
        """Whether frame ``index`` is one of the sheet's rows and not yet filled."""
        return index in self.frames and index not in self._rows

    def add(self, index: int, images: Sequence[Image], box: Box | None) -> None:
        """Keep one row: the same face crop of each video at frame ``index``."""
        self._rows[index] = [face_tile(image, box) for image in images]

    def render(self) -> Image:
        """The sheet as a BGR image (rows in frame order)."""
        width = _TILE * len(self.columns)
        header = np.full((2 * _LABEL + 8, width, 3), 255, np.uint8)
        cv2.putText(header, self.title, (6, _LABEL - 4), _FONT, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        for column, label in enumerate(self.columns):
            origin = (column * _TILE + 6, 2 * _LABEL)
            cv2.putText(header, label, origin, _FONT, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        rows = [header]
        for index in sorted(self._rows):
            row = np.hstack(self._rows[index])
            cv2.putText(row, f"#{index}", (6, _TILE - 8), _FONT, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
            rows.append(row)
        return np.vstack(rows)

    def save(self, path: str | Path) -> Path:
        """Write the sheet as PNG, creating the folder; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), self.render())
        return path
