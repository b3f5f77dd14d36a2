"""What the job API answers with: jobs, their statuses, and pages of jobs.

Parsing is tolerant on purpose: a hosted service documents fewer fields than the local
server sends, and either may add fields later. Missing or wrong-typed optional fields
become ``None``, unknown statuses are kept as plain strings, and the whole answer stays
available as ``Job.raw``. Only an answer that is not a job at all (no ``jobId``) is
refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any

__all__ = ["Job", "JobErrorInfo", "JobPage", "JobStatus", "Usage", "is_terminal"]


class JobStatus(str, Enum):
    """The statuses known today; servers may send others, which mean "not done yet"."""

    CREATED = "created"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    ERROR = "error"
    CANCELED = "canceled"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """Whether a job with this status will never change again."""
        return is_terminal(self)


_TERMINAL = frozenset({"completed", "failed", "error", "canceled", "cancelled"})


def is_terminal(status: str) -> bool:
    """Whether ``status`` ends a job: completed, failed, error, canceled or cancelled.

    Any other value, including one this version has never heard of, is "not done yet",
    so a server that adds a status such as ``queued`` keeps working.
    """
    return status in _TERMINAL


@dataclass(frozen=True)
class JobErrorInfo:
    """Why a job failed, as the server put it (``error`` in the job object)."""

    code: str | None
    message: str | None


@dataclass(frozen=True)
class Usage:
    """What a job was billed: ``seconds`` of video and their ``cost`` (no currency)."""

    seconds: float | None
    cost: float | None


@dataclass(frozen=True)
class Job:
    """One face-swap job as the server last described it.

    Attributes:
        job_id: the server's id (a UUID string).
        status: an open string; compare with :class:`JobStatus` members or use
            :attr:`is_terminal` rather than listing values.
        model, input, webhook: what the job was created with, when the server says.
        output_url: ``output.videoUrl``, the result video; short-lived.
        progress: 0.0–1.0 while processing, when the server reports it.
        error: the server's ``{"code", "message"}`` on failure.
        usage: the billed seconds and cost, when the server reports them.
        warnings: what the local engine noticed about the inputs (e.g. a smiling source
            photo), for the user to act on; empty when the server says nothing.
        date, created_at, started_at, finished_at: timezone-aware UTC datetimes
            (milliseconds since the epoch on the wire).
        raw: the whole answer, unknown fields included.
    """

    job_id: str
    status: str
    model: str | None = None
    input: dict[str, Any] = field(default_factory=dict)
    webhook: str | None = None
    output_url: str | None = None
    progress: float | None = None
    error: JobErrorInfo | None = None
    usage: Usage | None = None
    date: datetime | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    warnings: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_terminal(self) -> bool:
        """Whether the job has ended (completed, failed, error or canceled)."""
        return is_terminal(self.status)

    @property
    def is_completed(self) -> bool:
        """Whether the job ended with a result."""
        return self.status == JobStatus.COMPLETED

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Job:
        """Parse a job object, e.g. a ``GET`` answer or a verified webhook payload.

        Raises:
            TypeError: ``data`` is not a mapping.
            ValueError: ``data`` has no string ``jobId``.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"a job object must be a JSON object, not {type(data).__name__}")
        job_id = data.get("jobId")
        if not isinstance(job_id, str) or not job_id:
            raise ValueError("the job object has no 'jobId'")
        output = _mapping(data.get("output"))
        return cls(
            job_id=job_id,
            status=_string(data.get("status")) or "unknown",
            model=_string(data.get("model")),
            input=dict(_mapping(data.get("input"))),
            webhook=_string(data.get("webhook")),
            output_url=_string(output.get("videoUrl")),
            progress=_number(data.get("progress")),
            error=_error(data.get("error")),
            usage=_usage(data.get("usage")),
            date=_datetime(data.get("date")),
            created_at=_datetime(data.get("createdAt")),
            started_at=_datetime(data.get("startedAt")),
            finished_at=_datetime(data.get("finishedAt")),
            warnings=_strings(data.get("warnings")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class JobPage:
    """One page of :meth:`Client.list_jobs`; pass ``next_cursor`` back for the next."""

    jobs: tuple[Job, ...]
    next_cursor: str | None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str))


def _number(value: object) -> float | None:
    # bool is an int subclass, but `true` is never a meaningful number here.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _datetime(value: object) -> datetime | None:
    millis = _number(value)
    if millis is None:
        return None
    try:
        return datetime.fromtimestamp(millis / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _error(value: object) -> JobErrorInfo | None:
    if not isinstance(value, Mapping):
        return None
    return JobErrorInfo(code=_string(value.get("code")), message=_string(value.get("message")))


def _usage(value: object) -> Usage | None:
    if not isinstance(value, Mapping):
        return None
    return Usage(seconds=_number(value.get("seconds")), cost=_number(value.get("cost")))
