"""What a batch will cost before it runs: each video's duration times the price.

Durations are read with PyAV from the container's index, as the local server bills
them (the video stream's duration, else the container's). A URL is probed over HTTP
with range requests, so only the index and the first packets are fetched, not the
whole video (about 3-30 % of a small MP4 whose index is at its end, measured in
``tests/batch``). The local server's own upload URLs are read with the client's
``x-api-key``; the key goes to no other origin.

A pair that cannot be probed (missing file, bad URL, unsupported format) is kept, with
NaN seconds and the reason in ``problem``; such pairs are not submitted by a batch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import pandas as pd

from faceswap_nb.batch.money import (
    Pricing,
    billed_seconds,
    cost_micros,
    to_micros,
    to_money,
)
from faceswap_nb.batch.pairs import normalize_pairs
from faceswap_nb.client._answers import origin

__all__ = [
    "ESTIMATE_COLUMNS",
    "HasSettings",
    "Unprobeable",
    "estimate",
    "is_url",
    "probe_seconds",
    "resolve_pricing",
    "totals",
]

ESTIMATE_COLUMNS = (
    "video",
    "face",
    "pair_id",
    "duplicate",
    "video_seconds",
    "billed_seconds",
    "unit_price",
    "est_cost",
    "problem",
)
PROBE_TIMEOUT = 15.0
PROBE_THREADS = 8
# Demuxers FFmpeg picks for still images and text: a "video" of one picture, not a clip.
_NOT_VIDEO_FORMATS = frozenset({"image2", "image2pipe", "tty", "bin", "xbin", "adf", "idf"})


class HasSettings(Protocol):
    """A ``Client`` or ``AsyncClient``: only its ``settings`` (base URL and key) are read."""

    @property
    def settings(self) -> Any: ...


class Unprobeable(ValueError):
    """A video's duration cannot be read; the message says why, for the ``problem`` column."""


def is_url(location: str) -> bool:
    """Whether ``location`` names a URL (any ``scheme://``) rather than a local path."""
    scheme = urlsplit(location).scheme
    # "C:\\clips\\a.mp4" parses with scheme "c": a one-letter scheme is a drive.
    return len(scheme) > 1 and "://" in location


def resolve_pricing(price: float | None = None, pricing: Pricing | None = None) -> Pricing:
    """``pricing``, or a per-second ``price`` with exact seconds, or the default pricing.

    Raises:
        ValueError: both were given.
    """
    if price is not None and pricing is not None:
        raise ValueError("pass either price= or pricing=, not both")
    if pricing is not None:
        return pricing
    return Pricing(price_per_second=price) if price is not None else Pricing()


def estimate(
    pairs: pd.DataFrame | Iterable[Any],
    *,
    price: float | None = None,
    pricing: Pricing | None = None,
    client: HasSettings | None = None,
) -> pd.DataFrame:
    """The estimated cost of each pair: its video's seconds times the price.

    Args:
        pairs: see :func:`~faceswap_nb.batch.pairs.normalize_pairs`.
        price: money per second of video (exact seconds); or pass ``pricing``.
        pricing: price and rounding rule; default 0.10 per exact second.
        client: the client whose server's upload URLs may be read with its API key.

    Returns:
        One row per pair: ``video``, ``face``, ``pair_id``, ``duplicate``,
        ``video_seconds`` (NaN when unprobeable), ``billed_seconds``, ``unit_price``,
        ``est_cost`` and ``problem`` (NA, or why the pair cannot run).
        ``frame.attrs["totals"]`` is :func:`totals` of the frame.

    Raises:
        ValueError: ``pairs`` is malformed, or both ``price`` and ``pricing`` were given.
    """
    rule = resolve_pricing(price, pricing)
    frame = normalize_pairs(pairs)
    headers = _key_headers(client)
    videos = list(dict.fromkeys(frame["video"]))
    with ThreadPoolExecutor(max_workers=max(1, min(PROBE_THREADS, len(videos)))) as pool:
        probed = dict(zip(videos, pool.map(lambda video: _probe(video, headers), videos)))
    seconds = [probed[video][0] for video in frame["video"]]
    problems = [
        "; ".join(p for p in (probed[video][1], _face_problem(face)) if p) or None
        for video, face in zip(frame["video"], frame["face"])
    ]
    frame["video_seconds"] = pd.array(seconds, dtype="float64")
    frame["billed_seconds"] = [billed_seconds(s, rule.rounding) for s in seconds]
    frame["unit_price"] = rule.price_per_second
    frame["est_cost"] = [
        math.nan if math.isnan(s) else to_money(cost_micros(s, rule)) for s in seconds
    ]
    frame["problem"] = pd.array(problems, dtype="string")
    frame.loc[frame["problem"].notna(), ["video_seconds", "billed_seconds", "est_cost"]] = math.nan
    frame.attrs["pricing"] = rule.to_dict()
    frame.attrs["totals"] = totals(frame)
    return frame


def totals(frame: pd.DataFrame) -> dict[str, Any]:
    """Totals of an estimate or result frame, over the pairs a batch runs.

    Duplicates and pairs with a ``problem`` are counted but not summed. Sums of money
    are exact (added as micro-units). ``actual_cost`` is included for result frames.
    """
    runnable = (
        ~frame["duplicate"].astype(bool)
        if "duplicate" in frame
        else pd.Series(True, index=frame.index)
    )
    if "problem" in frame:
        runnable &= frame["problem"].isna()
    chosen = frame[runnable]
    result: dict[str, Any] = {
        "pairs": len(frame),
        "runnable": int(runnable.sum()),
        "duplicates": int(frame["duplicate"].sum()) if "duplicate" in frame else 0,
        "unprobeable": int(frame["problem"].notna().sum()) if "problem" in frame else 0,
        "video_seconds": float(chosen["video_seconds"].sum()),
        "billed_seconds": float(chosen["billed_seconds"].sum()),
        "est_cost": _money_sum(chosen["est_cost"]),
    }
    if "actual_cost" in frame:
        result["actual_cost"] = _money_sum(frame["actual_cost"])
    return result


def probe_seconds(
    location: str, *, headers: dict[str, str] | None = None, timeout: float = PROBE_TIMEOUT
) -> float:
    """The billed duration of the video at a local path or http(s) URL, in seconds.

    Reads the container's index with PyAV (range requests for URLs); nothing is decoded.

    Raises:
        Unprobeable: missing or empty file, bad URL, not a video, or no duration.
    """
    import av  # the [engine] extra; imported here so pricing works without it

    source = _checked_source(location)
    options = {"headers": "".join(f"{k}: {v}\r\n" for k, v in headers.items())} if headers else {}
    try:
        container = av.open(
            source, options=options, timeout=(timeout, timeout), metadata_errors="replace"
        )
    except av.FFmpegError as error:
        raise Unprobeable(f"video: not a readable video ({error.strerror}): {location}") from None
    except OSError as error:
        raise Unprobeable(
            f"video: cannot be read ({error.strerror or error}): {location}"
        ) from None
    with container:
        if container.format.name in _NOT_VIDEO_FORMATS or container.format.name.endswith("_pipe"):
            raise Unprobeable(
                f"video: an image or text file ({container.format.name}), not a video: {location}"
            )
        streams = [
            s
            for s in container.streams.video
            if not s.disposition & av.stream.Disposition.attached_pic
        ]
        if not streams:
            raise Unprobeable(f"video: has no video stream: {location}")
        stream = streams[0]
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        if container.duration:
            return float(container.duration / av.time_base)
    raise Unprobeable(f"video: its duration is unknown (none in the container): {location}")


def _checked_source(location: str) -> str:
    """The string PyAV should open, or Unprobeable for a bad URL or an unusable file."""
    if is_url(location):
        parts = urlsplit(location)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise Unprobeable(f"video: not an http(s) URL: {location}")
        return location
    path = Path(location).expanduser()
    if not path.exists():
        raise Unprobeable(f"video: file not found: {location}")
    if not path.is_file():
        raise Unprobeable(f"video: not a file: {location}")
    if path.stat().st_size == 0:
        raise Unprobeable(f"video: empty file: {location}")
    return os.fspath(path)


def _probe(video: str, headers_for: dict[str, dict[str, str]]) -> tuple[float, str | None]:
    headers = headers_for.get(_origin_of(video)) if is_url(video) else None
    try:
        return probe_seconds(video, headers=headers), None
    except Unprobeable as problem:
        return math.nan, str(problem)


def _face_problem(face: str) -> str | None:
    """Why a face image cannot be used, found without reading it; None when it looks fine."""
    if is_url(face):
        parts = urlsplit(face)
        return (
            None
            if parts.scheme in ("http", "https") and parts.netloc
            else f"face: not an http(s) URL: {face}"
        )
    path = Path(face).expanduser()
    if not path.is_file():
        return f"face: file not found: {face}"
    return f"face: empty file: {face}" if path.stat().st_size == 0 else None


def _key_headers(client: HasSettings | None) -> dict[str, dict[str, str]]:
    """``{origin: headers}``: the API key, for the client's own origin only."""
    if client is None or not getattr(client.settings, "api_key", None):
        return {}
    return {origin(httpx.URL(client.settings.base_url)): {"x-api-key": client.settings.api_key}}


def _origin_of(url: str) -> str:
    try:
        return origin(httpx.URL(url))
    except httpx.InvalidURL:
        return ""


def _money_sum(values: pd.Series) -> float:
    return to_money(sum(to_micros(float(v)) for v in values if not pd.isna(v)))
