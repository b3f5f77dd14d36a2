"""The jobs of a batch as a tidy table: one (video, face) pair per row.

A pair is named by ``pair_id``, a stable hash of its video and face, so a batch can be
matched against its ledger after a restart. Pairs that repeat an earlier row are
flagged (``duplicate``), never dropped silently: the batch runs each pair once and
shows the repeats as not submitted.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

__all__ = ["PAIR_COLUMNS", "normalize_pairs", "pair_id"]

PAIR_COLUMNS = ("video", "face", "pair_id", "duplicate")
_PAIR_ID_LENGTH = 16


def pair_id(video: str, face: str) -> str:
    """The stable id of a (video, face) pair: 16 hex digits of a SHA-256."""
    digest = hashlib.sha256(f"{video}\0{face}".encode()).hexdigest()
    return digest[:_PAIR_ID_LENGTH]


def normalize_pairs(pairs: pd.DataFrame | Iterable[Any]) -> pd.DataFrame:
    """The pairs as a frame with columns ``video``, ``face``, ``pair_id``, ``duplicate``.

    Args:
        pairs: ``(video, face)`` tuples (or ``{"video", "face"}`` mappings), or a
            DataFrame with ``video`` and ``face`` columns (other columns are left
            out). Each value is a local path (``str`` or ``os.PathLike``) or a URL.

    Returns:
        One row per input pair, in order. ``duplicate`` is True for a pair that an
        earlier row already has.

    Raises:
        ValueError: the input is not a list of pairs or lacks a column, or a value is
            missing, empty or not a path or URL; the message names the row.
    """
    if isinstance(pairs, pd.DataFrame):
        rows = _rows_from_frame(pairs)
    elif isinstance(pairs, (str, bytes, os.PathLike)) or not isinstance(pairs, Iterable):
        raise ValueError(  # noqa: TRY004 - every malformed input is one ValueError
            "pairs must be a list of (video, face) tuples or a DataFrame with 'video' and "
            f"'face' columns, not {type(pairs).__name__}"
        )
    else:
        rows = [_row_from_item(index, item) for index, item in enumerate(pairs)]
    ids = [pair_id(video, face) for video, face in rows]
    frame = pd.DataFrame(
        {
            "video": pd.array([video for video, _ in rows], dtype="string"),
            "face": pd.array([face for _, face in rows], dtype="string"),
            "pair_id": pd.array(ids, dtype="string"),
        }
    )
    frame["duplicate"] = frame["pair_id"].duplicated(keep="first").astype(bool)
    return frame


def _rows_from_frame(frame: pd.DataFrame) -> list[tuple[str, str]]:
    missing = [name for name in ("video", "face") if name not in frame.columns]
    if missing:
        raise ValueError(
            f"the pairs DataFrame has no {' or '.join(repr(m) for m in missing)} column "
            f"(its columns: {', '.join(map(str, frame.columns)) or 'none'})"
        )
    return [
        (_location(label, "video", video), _location(label, "face", face))
        for label, video, face in zip(frame.index, frame["video"], frame["face"])
    ]


def _row_from_item(index: int, item: Any) -> tuple[str, str]:
    if isinstance(item, Mapping):
        if "video" not in item or "face" not in item:
            raise ValueError(f"pairs[{index}] needs both 'video' and 'face' keys")
        return _location(index, "video", item["video"]), _location(index, "face", item["face"])
    if isinstance(item, (str, bytes, os.PathLike)) or not isinstance(item, (tuple, list)):
        raise ValueError(  # noqa: TRY004 - every malformed input is one ValueError
            f"pairs[{index}] is {type(item).__name__} {item!r}; each pair is a (video, face) tuple"
        )
    if len(item) != 2:
        raise ValueError(f"pairs[{index}] has {len(item)} items; each pair is (video, face)")
    return _location(index, "video", item[0]), _location(index, "face", item[1])


def _location(row: object, column: str, value: object) -> str:
    """A path or URL as a non-empty string, or ValueError naming the row and column."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        shown = "missing" if value is None or _is_na(value) else f"{type(value).__name__} {value!r}"
        message = f"row {row}: {column} is {shown}; expected a file path or URL"
        raise ValueError(message)  # noqa: TRY004 - every malformed input is one ValueError
    if not value.strip():
        raise ValueError(f"row {row}: {column} is empty; expected a file path or URL")
    return value


def _is_na(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
