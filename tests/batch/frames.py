"""Synthetic result frames, shaped like ``run_batch``'s, for tests without a server."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

STATUSES = ["created", "processing", "completed", "failed", "canceled", "not_submitted"]
COLUMNS = [
    "job_id", "batch_id", "pair_id", "video", "face", "status", "submitted_at", "started_at",
    "finished_at", "video_seconds", "billed_seconds", "unit_price", "est_cost", "actual_cost",
    "output_url", "local_path", "error_code", "error_message", "warnings",
]
T0 = pd.Timestamp("2025-03-01 12:00:00", tz="UTC")


def _at(seconds: float | None) -> pd.Timestamp | Any:
    return pd.NaT if seconds is None else T0 + pd.Timedelta(seconds=seconds)


def result_frame(rows: list[dict[str, Any]] | None = None) -> pd.DataFrame:
    """A result frame: each row is ``status`` plus overrides; the defaults fill the rest.

    Times are seconds after ``T0``: ``submitted``, ``started``, ``finished``.
    """
    rows = rows if rows is not None else default_rows()
    records = []
    for number, row in enumerate(rows, 1):
        row = dict(row)
        status = row.pop("status")
        submitted, started, finished = (row.pop(k, None) for k in ("submitted", "started", "finished"))
        seconds = row.pop("video_seconds", 4.0)
        submitted_ok = status != "not_submitted"
        record = {
            "job_id": f"job-{number:04d}" if submitted_ok else None,
            "batch_id": "batch-1",
            "pair_id": f"pair{number:04d}",
            "video": f"/media/clip{number}.mp4",
            "face": f"/media/face{number % 2}.jpg",
            "status": status,
            "submitted_at": _at(submitted if submitted is not None else (0.0 if submitted_ok else None)),
            "started_at": _at(started),
            "finished_at": _at(finished),
            "video_seconds": seconds,
            "billed_seconds": seconds,
            "unit_price": 0.10,
            "est_cost": round(seconds * 0.10, 6),
            "actual_cost": round(seconds * 0.10, 6) if status == "completed" else np.nan,
            "output_url": f"http://127.0.0.1:1/v1/outputs/job-{number:04d}.mp4" if status == "completed" else None,
            "local_path": None,
            "error_code": "no_face_in_video" if status == "failed" else None,
            "error_message": "no face found in the video" if status == "failed" else None,
            "warnings": None,
        }
        record.update(row)
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=COLUMNS)
    frame["status"] = pd.Categorical(frame["status"], categories=STATUSES)
    for name in ("submitted_at", "started_at", "finished_at"):
        frame[name] = pd.to_datetime(frame[name], utc=True).astype("datetime64[ns, UTC]")
    frame["queue_time"] = (frame["started_at"] - frame["submitted_at"]).astype("timedelta64[ns]")
    frame["run_time"] = (frame["finished_at"] - frame["started_at"]).astype("timedelta64[ns]")
    for name in ("job_id", "batch_id", "pair_id", "video", "face", "output_url", "local_path",
                 "error_code", "error_message", "warnings"):
        frame[name] = frame[name].astype("string")
    for name in ("video_seconds", "billed_seconds", "unit_price", "est_cost", "actual_cost"):
        frame[name] = frame[name].astype("float64")
    return frame


def default_rows() -> list[dict[str, Any]]:
    """Five jobs: two completed, one failed, one processing, one never submitted."""
    return [
        {"status": "completed", "video_seconds": 4.0, "started": 1.0, "finished": 11.0},
        {"status": "completed", "video_seconds": 2.5, "started": 11.0, "finished": 17.0},
        {"status": "failed", "video_seconds": 3.0, "started": 17.0, "finished": 18.0},
        {"status": "processing", "video_seconds": 6.0, "started": 18.0},
        {"status": "not_submitted", "video_seconds": 1.0},
    ]
