"""The panel's words, without widgets: status lines, time left, cost, history, advice.

Everything here is a pure function of its arguments (clocks are passed in), so the
texts a user reads are unit-tested without a kernel, a browser or a server.
"""

from __future__ import annotations

import html
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from faceswap_nb._errors import (
    APIError,
    AuthError,
    FaceswapError,
    InvalidRequest,
    JobFailed,
    JobTimeout,
    NotFound,
    RateLimited,
    ServerError,
    ServerUnreachable,
)
from faceswap_nb.client.models import Job

__all__ = [
    "COST_UNKNOWN",
    "UPLOADS_REFUSED",
    "ProgressClock",
    "StatusChange",
    "StatusHistory",
    "cost_text",
    "describe_error",
    "describe_failure",
    "describe_upload_error",
    "format_duration",
    "status_text",
]

UPLOADS_REFUSED = "this server does not accept uploads; paste a public URL"
COST_UNKNOWN = "cost: unknown until the server reports usage"

# What to do next, by the server's ``error.code``; the server's own message comes first.
_ADVICE = {
    "no_face_in_video": "choose a video in which a face is clearly visible",
    "no_face_in_source": "choose a photo with one clear, frontal face",
    "invalid_video": "check that the target is a playable video file",
    "invalid_image": "check that the face is a JPEG or PNG photo",
    "input_too_large": "use a shorter or smaller video",
    "content_policy": "this content is not accepted; choose other inputs",
    "url_not_allowed": "use a public http(s) URL, or upload the file",
    "fetch_failed": "check that the URL is right and publicly readable",
    "canceled": "submit again to start a new job",
    "cancelled": "submit again to start a new job",
    "interrupted": "the server stopped during the job; submit again",
}
_DEFAULT_ADVICE = "check the inputs and submit again"


def format_duration(seconds: float) -> str:
    """``seconds`` as ``m:ss``, or ``h:mm:ss`` from one hour on (whole seconds, never negative)."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressClock:
    """Estimates a job's time left from how fast its progress has moved so far.

    The rate is measured from the first progress value seen rather than from the
    submission, so time spent queued does not stretch the estimate. Times are any
    monotonic clock, in seconds.
    """

    MIN_SPAN = 1.0
    """Seconds of progress history needed before an estimate is offered."""

    def __init__(self) -> None:
        self._first: tuple[float, float] | None = None
        self._last: tuple[float, float] | None = None

    def observe(self, now: float, progress: float | None) -> None:
        """Record the progress (0..1) reported at ``now``; None (not reported) is ignored."""
        if progress is None:
            return
        # Progress that moves backwards (a retried job) makes the old baseline meaningless.
        if self._first is None or progress < self._first[1]:
            self._first = (now, progress)
        self._last = (now, progress)

    def time_left(self, now: float) -> float | None:
        """Seconds until progress reaches 1 at the rate seen so far; None while unknown."""
        if self._first is None or self._last is None:
            return None
        (start, first), (seen, last) = self._first, self._last
        if last >= 1:
            return 0.0
        if last <= first or seen - start < self.MIN_SPAN:
            return None
        rate = (last - first) / (seen - start)
        return max(0.0, (1 - last) / rate - (now - seen))


@dataclass(frozen=True)
class StatusChange:
    """One status the job entered, and when the panel saw it (local time)."""

    at: datetime
    status: str


class StatusHistory:
    """The last few status changes of a job, oldest first."""

    def __init__(self, size: int = 5) -> None:
        self._changes: deque[StatusChange] = deque(maxlen=size)

    def __iter__(self) -> Iterator[StatusChange]:
        return iter(self._changes)

    def __len__(self) -> int:
        return len(self._changes)

    def clear(self) -> None:
        """Forget every change (a new job starts)."""
        self._changes.clear()

    def record(self, status: str, at: datetime) -> bool:
        """Add ``status`` unless it is the current one; True when it was added."""
        if self._changes and self._changes[-1].status == status:
            return False
        self._changes.append(StatusChange(at, status))
        return True

    def html(self) -> str:
        """One line per change, ``HH:MM:SS status``, escaped for an HTML widget."""
        return "<br>".join(
            f"<code>{change.at:%H:%M:%S}</code> {html.escape(change.status)}"
            for change in self._changes
        )


def status_text(
    status: str,
    progress: float | None = None,
    elapsed: float | None = None,
    left: float | None = None,
) -> str:
    """``status: processing · 40% · elapsed 0:12 · about 0:18 left``; unknown parts are left out."""
    parts = [f"status: {status}"]
    if progress is not None:
        parts.append(f"{progress:.0%}")
    if elapsed is not None:
        parts.append(f"elapsed {format_duration(elapsed)}")
    if left is not None:
        parts.append(f"about {format_duration(left)} left")
    return " · ".join(parts)


def cost_text(video_seconds: float | None, price_per_second: float, job: Job | None = None) -> str:
    """The cost line: the server's usage when reported, else an estimate, else unknown.

    Args:
        video_seconds: the target video's length, when known (probed from a local file).
        price_per_second: the price of one second of video (no currency is known).
        job: the job, whose ``usage`` wins once the server reports it.
    """
    usage = job.usage if job is not None else None
    if usage is not None and usage.cost is not None:
        billed = f" for {usage.seconds:.1f} s" if usage.seconds is not None else ""
        return f"cost: {usage.cost:.2f}{billed} (reported by the server)"
    if video_seconds is None:
        return COST_UNKNOWN
    estimate = video_seconds * price_per_second
    return (
        f"estimated cost: {estimate:.2f} "
        f"({video_seconds:.1f} s of video × {price_per_second:g} per second)"
    )


def describe_failure(job: Job) -> str:
    """Why ``job`` ended without a result, in the server's words, and what to do."""
    code = job.error.code if job.error and job.error.code else job.status
    message = job.error.message if job.error and job.error.message else f"the job ended '{job.status}'"
    advice = _ADVICE.get(code, _DEFAULT_ADVICE)
    return f"job {job.status} [{code}]: {message} — {advice}"


def describe_error(exc: BaseException) -> str:
    """A one-line message for an error raised while talking to the server."""
    if isinstance(exc, JobFailed):
        if isinstance(exc.job, Job):
            return describe_failure(exc.job)
        return f"job failed [{exc.code}]: {exc.message} — {_ADVICE.get(exc.code, _DEFAULT_ADVICE)}"
    if isinstance(exc, AuthError):
        return f"the server refused the API key ({exc.message}): check FACESWAP_API_KEY"
    if isinstance(exc, ServerUnreachable):
        return f"no answer from the server — is the server running? ({exc.message})"
    if isinstance(exc, RateLimited):
        wait = f"{exc.retry_after:g} s" if exc.retry_after else "a moment"
        return f"the server is busy ({exc.message}): wait {wait} and submit again"
    if isinstance(exc, InvalidRequest):
        return f"the server refused the request: {exc.message}"
    if isinstance(exc, NotFound):
        return f"the server does not know it: {exc.message}"
    if isinstance(exc, ServerError):
        return f"the server failed ({exc.message}): try again in a moment"
    if isinstance(exc, JobTimeout):
        return f"{exc.message}"
    if isinstance(exc, FaceswapError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def describe_upload_error(exc: BaseException) -> str:
    """A message for a failed upload: no uploads here, too large, or the usual errors."""
    if isinstance(exc, APIError) and exc.status_code in (404, 405):
        return UPLOADS_REFUSED
    if isinstance(exc, APIError) and exc.status_code == 413:
        return f"the file is too large for this server ({exc.message}): use a smaller file"
    return describe_error(exc)
