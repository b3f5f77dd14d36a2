"""The result table of a batch: one typed row per pair, from the ledger and live jobs.

Columns (see ``RESULT_COLUMNS``): ids and inputs as ``string``; ``status`` a category of
``STATUSES``; ``submitted_at``/``started_at``/``finished_at`` as ``datetime64[ns, UTC]``;
``queue_time`` (start - submit) and ``run_time`` (finish - start) as ``timedelta64[ns]``;
seconds and money as ``float64``; ``warnings``, what the local engine noticed about a
pair's inputs (e.g. a smiling photo), ``; ``-joined; NA where a value is unknown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from faceswap_nb.batch.ledger import Ledger, PairRecord
from faceswap_nb.client.models import Job, is_terminal

__all__ = ["RESULT_COLUMNS", "STATUSES", "job_fields", "result_frame", "status_word"]

STATUSES = ("created", "processing", "completed", "failed", "canceled", "not_submitted")
RESULT_COLUMNS = (
    "job_id",
    "batch_id",
    "pair_id",
    "video",
    "face",
    "status",
    "submitted_at",
    "started_at",
    "finished_at",
    "queue_time",
    "run_time",
    "video_seconds",
    "billed_seconds",
    "unit_price",
    "est_cost",
    "actual_cost",
    "output_url",
    "local_path",
    "error_code",
    "error_message",
    "warnings",
)
_STRINGS = (
    "job_id",
    "batch_id",
    "pair_id",
    "video",
    "face",
    "output_url",
    "local_path",
    "error_code",
    "error_message",
    "warnings",
)
_TIMES = ("submitted_at", "started_at", "finished_at")
_SAME_AS = {"error": "failed", "cancelled": "canceled"}


def status_word(status: str) -> str:
    """A server status as one of ``STATUSES``: ``error`` is failed, an unknown one processing."""
    status = _SAME_AS.get(status, status)
    if status in STATUSES[:5]:
        return status
    return "failed" if is_terminal(status) else "processing"


def job_fields(job: Job) -> dict[str, Any]:
    """What a row (and a ``finished`` ledger line) keeps of a job, as JSON values."""
    return {
        "job_id": job.job_id,
        "status": status_word(job.status),
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "usage_seconds": job.usage.seconds if job.usage else None,
        "cost": job.usage.cost if job.usage else None,
        "output_url": job.output_url,
        "error_code": job.error.code if job.error else None,
        "error_message": job.error.message if job.error else None,
        "warnings": "; ".join(job.warnings) or None,
    }


def result_frame(
    estimates: pd.DataFrame, ledger: Ledger, live: Mapping[str, Mapping[str, Any]]
) -> pd.DataFrame:
    """The batch's table now: one row per row of ``estimates``, in order.

    Args:
        estimates: the batch's estimate frame (see :func:`~faceswap_nb.batch.estimate`).
        ledger: what was submitted, refused and finished.
        live: the latest :func:`job_fields` of jobs still running, by pair id.
    """
    first_row = {pid: i for i, pid in reversed(list(enumerate(estimates["pair_id"])))}
    rows = []
    for index, row in enumerate(estimates.itertuples(index=False)):
        record = ledger.pairs[row.pair_id]
        fields = _fields(row, record, live.get(row.pair_id), first_row[row.pair_id], index)
        rows.append(
            {
                "batch_id": ledger.batch_id,
                "pair_id": row.pair_id,
                "video": row.video,
                "face": row.face,
                **fields,
            }
        )
    frame = pd.DataFrame(
        rows, columns=[c for c in RESULT_COLUMNS if c not in ("queue_time", "run_time")]
    )
    for column in ("video_seconds", "billed_seconds", "unit_price", "est_cost"):
        frame[column] = estimates[column].to_numpy(dtype="float64")
    frame["actual_cost"] = pd.to_numeric(frame["actual_cost"], errors="coerce").astype("float64")
    for column in _STRINGS:
        frame[column] = frame[column].astype("string")
    frame["status"] = pd.Categorical(frame["status"], categories=STATUSES)
    for column in _TIMES:
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601").astype(
            "datetime64[ns, UTC]"
        )
    frame["queue_time"] = (frame["started_at"] - frame["submitted_at"]).astype("timedelta64[ns]")
    frame["run_time"] = (frame["finished_at"] - frame["started_at"]).astype("timedelta64[ns]")
    return frame[list(RESULT_COLUMNS)]


def _fields(
    row: Any, record: PairRecord, live: Mapping[str, Any] | None, first: int, index: int
) -> dict[str, Any]:
    """The job part of one row: from the job, the ledger, or why it was not submitted."""
    if index != first:
        return _not_submitted("duplicate", f"the same video and face as row {first}; run once")
    if record.finished is not None:
        return _from_job(record.finished, record)
    if record.job_id is not None:
        return _from_job(live or {"job_id": record.job_id, "status": "created"}, record)
    if record.refused is not None:
        return _not_submitted(record.refused["code"], record.refused["message"])
    if not pd.isna(row.problem):
        return _not_submitted("invalid_input", row.problem)
    return _not_submitted(None, None)


def _from_job(fields: Mapping[str, Any], record: PairRecord) -> dict[str, Any]:
    status = status_word(str(fields["status"]))
    ended = status in ("completed", "failed", "canceled")
    return {
        "job_id": fields["job_id"],
        "status": status,
        "submitted_at": fields.get("created_at") or record.submitted_at,
        "started_at": fields.get("started_at"),
        "finished_at": fields.get("finished_at") or (fields.get("at") if ended else None),
        "actual_cost": _number(fields.get("cost")),
        "output_url": fields.get("output_url"),
        "local_path": record.local_path,
        "error_code": fields.get("error_code"),
        "error_message": fields.get("error_message"),
        "warnings": fields.get("warnings"),
    }


def _not_submitted(code: str | None, message: str | None) -> dict[str, Any]:
    return {
        "job_id": None,
        "status": "not_submitted",
        "submitted_at": None,
        "started_at": None,
        "finished_at": None,
        "actual_cost": math.nan,
        "output_url": None,
        "local_path": None,
        "error_code": code,
        "error_message": message,
        "warnings": None,
    }


def _number(value: object) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok else math.nan  # type: ignore[arg-type]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="milliseconds")
