"""What both clients share, without any I/O: settings, requests, answers and retries.

``Client`` and ``AsyncClient`` only send the requests built here, sleep as long as the
functions here say, and hand the answers back to be parsed here, so the twins cannot
drift apart (one retry rule, one terminal-status set, one error mapping).
"""

from __future__ import annotations

import mimetypes
import os
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import IO, Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from faceswap_nb._errors import (
    APIError,
    InvalidRequest,
    JobFailed,
    JobTimeout,
    NotFound,
    ServerError,
    ServerUnreachable,
)
from faceswap_nb._version import __version__
from faceswap_nb.client._answers import (
    describe,
    error_from_response,
    job_from,
    json_object,
    origin,
    parse_job,
    parse_page,
    parse_retry_after,
    redact,
    string_field,
)
from faceswap_nb.client.models import Job, JobPage

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_GET_JOB_PATH",
    "DEFAULT_MODEL",
    "MAX_POLL_INTERVAL",
    "MAX_REDIRECTS",
    "POLL_INTERVAL",
    "BaseClient",
    "Call",
    "RetryPolicy",
    "Settings",
    "WaitState",
    "retry_delay",
]

DEFAULT_BASE_URL = "http://127.0.0.1:8765/v1"
DEFAULT_MODEL = "video/faceswap"
DEFAULT_GET_JOB_PATH = "/generate/{jobId}"
POLL_INTERVAL = 0.5
MAX_POLL_INTERVAL = 5.0
MAX_REDIRECTS = 5
# Failures before the request was written: even a create may be sent again after these.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures worth another try for a request that is safe to repeat.
TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """When, and after how long, a request is sent again.

    Attributes:
        max_attempts: sends in all, the first one included (1 turns retrying off).
        base_delay: seconds before the first retry, doubled for each further one.
        max_delay: cap on the doubled delay.
        retry_after_cap: the longest ``Retry-After`` honoured. A server asking for a
            longer wait gets its error raised instead, so the caller decides.
        jitter: the fraction of each backoff delay taken off at random (0 none, 1 "full
            jitter"), so that many clients do not retry in step.
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    retry_after_cap: float = 60.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.base_delay, self.max_delay, self.retry_after_cap) < 0:
            raise ValueError("retry delays cannot be negative")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def delay(
        self,
        attempt: int,
        status: int | None = None,
        retry_after: float | None = None,
        *,
        rand: Callable[[], float] = random.random,
    ) -> float | None:
        """Seconds to wait before retrying a request that is safe to repeat, or None to stop.

        Args:
            attempt: how many sends have failed so far (1 after the first).
            status: the HTTP status of the failed answer; None when there was no answer.
            retry_after: the server's ``Retry-After``, in seconds, when it sent one.
            rand: numbers in [0, 1) for the jitter (tests pass a fixed one).
        """
        retryable = status is None or status == 429 or 500 <= status <= 599
        if attempt >= self.max_attempts or not retryable:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.retry_after_cap else None
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return backoff * (1 - self.jitter * rand())


@dataclass(frozen=True)
class Settings:
    """How a client reaches the job API; built from arguments, then the environment.

    Attributes:
        base_url: the API root, ``{origin}/v1`` (``FACESWAP_BASE_URL``); the default is
            the local server.
        api_key: sent as ``x-api-key`` (``FACESWAP_API_KEY``); never shown in a repr,
            log line or error message.
        model: the model name sent with every create (``FACESWAP_MODEL``).
        get_job_path: the path of "get a job" under ``base_url``, with ``{jobId}``.
        timeout: an ``httpx.Timeout`` or seconds for every phase of a request.
        retry: when requests are sent again, see :class:`RetryPolicy`.
    """

    base_url: str = DEFAULT_BASE_URL
    api_key: str | None = None
    model: str = DEFAULT_MODEL
    get_job_path: str = DEFAULT_GET_JOB_PATH
    timeout: httpx.Timeout | float = field(default_factory=lambda: httpx.Timeout(30.0, connect=5.0))
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        try:
            url = httpx.URL(self.base_url)
        except httpx.InvalidURL as exc:
            raise ValueError(f"base_url is not a URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL}")
        if "{jobId}" not in self.get_job_path:
            raise ValueError("get_job_path must contain '{jobId}', e.g. '/generate/{jobId}'")
        # Frozen: normalise through object.__setattr__, once, at construction.
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        object.__setattr__(self, "timeout", httpx.Timeout(self.timeout))

    def __repr__(self) -> str:
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        shown["api_key"] = "***" if self.api_key else None
        return "Settings(" + ", ".join(f"{name}={value!r}" for name, value in shown.items()) + ")"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``FACESWAP_BASE_URL``, ``FACESWAP_API_KEY`` and ``FACESWAP_MODEL``.

        Overrides that are None are ignored, so unset arguments fall back to the
        environment and then to the defaults; empty variables count as unset.
        """
        env = os.environ if environ is None else environ
        names = {
            "base_url": "FACESWAP_BASE_URL",
            "api_key": "FACESWAP_API_KEY",
            "model": "FACESWAP_MODEL",
        }
        values: dict[str, Any] = {name: env[var] for name, var in names.items() if env.get(var)}
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls(**values)


def retry_delay(
    policy: RetryPolicy,
    attempt: int,
    outcome: httpx.Response | httpx.TransportError,
    *,
    idempotent: bool,
) -> float | None:
    """Seconds to wait before sending a request again, or None when ``outcome`` is final.

    A request that is not ``idempotent`` (create, cancel, upload) is sent again only when
    it never left: its connection could not be opened. After a timeout or an error
    answer it may have been acted on, so sending it again could start a second job.
    """
    if isinstance(outcome, httpx.TransportError):
        if isinstance(outcome, NEVER_SENT) or (idempotent and isinstance(outcome, TRANSIENT)):
            return policy.delay(attempt)
        return None
    if not idempotent:
        return None
    retry_after = parse_retry_after(outcome.headers.get("retry-after"))
    return policy.delay(attempt, outcome.status_code, retry_after)


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API operation: the request, whether it may be repeated, how to read the answer."""

    request: httpx.Request
    parse: Callable[[httpx.Response], T]
    idempotent: bool
    # How an error answer becomes an exception, when it needs more than the usual mapping.
    error: Callable[[httpx.Response], APIError] | None = None


class WaitState:
    """The bookkeeping of one ``wait``: its deadline, the poll interval and the last job."""

    def __init__(
        self, job_id: str, *, timeout: float | None, poll_interval: float, now: float
    ) -> None:
        if poll_interval <= 0:
            raise ValueError("poll_interval must be positive")
        self.job_id = job_id
        self.timeout = timeout
        self.deadline = None if timeout is None else now + timeout
        self.interval = poll_interval
        self.last: Job | None = None

    def observe(self, job: Job) -> bool:
        """Record ``job``; True when it is the first seen or its status or progress moved."""
        previous, self.last = self.last, job
        return previous is None or (job.status, job.progress) != (previous.status, previous.progress)

    def finished(self, job: Job) -> bool:
        """True when ``job`` completed, False while it runs; raises JobFailed when it failed."""
        if not job.is_terminal:
            return False
        if job.is_completed:
            return True
        detail = f": {job.error.message}" if job.error and job.error.message else ""
        code = job.error.code if job.error and job.error.code else job.status
        raise JobFailed(f"job {job.job_id} ended '{job.status}'{detail}", job=job, code=code)

    def next_sleep(self, now: float) -> float | None:
        """Seconds to sleep before the next poll, or None when the time is up."""
        delay = self.interval
        # Gentle backoff: quick answers for short jobs, few requests for long ones.
        self.interval = min(MAX_POLL_INTERVAL, self.interval * 1.5)
        if self.deadline is None:
            return delay
        remaining = self.deadline - now
        return min(delay, remaining) if remaining > 0 else None

    def timed_out(self) -> JobTimeout:
        """The error for a wait that ran out of time, carrying the last job seen."""
        status = self.last.status if self.last else "unknown"
        return JobTimeout(
            f"job {self.job_id} is still '{status}' after {self.timeout:g} s; it keeps running "
            "on the server: wait again, or cancel it",
            job=self.last,
        )


class BaseClient:
    """Request building and answer parsing shared by ``Client`` and ``AsyncClient``."""

    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        *,
        model: str | None,
        settings: Settings | None,
    ) -> None:
        overrides = {"base_url": base_url, "api_key": api_key, "model": model}
        if settings is None:
            self.settings = Settings.from_env(**overrides)
        else:
            self.settings = replace(
                settings, **{k: v for k, v in overrides.items() if v is not None}
            )

    def __repr__(self) -> str:
        key = "'***'" if self.settings.api_key else "None"
        return (
            f"{type(self).__name__}(base_url={self.settings.base_url!r}, "
            f"model={self.settings.model!r}, api_key={key})"
        )

    def _headers(self, *, with_key: bool = True) -> dict[str, str]:
        headers = {"accept": "application/json", "user-agent": f"faceswap_nb/{__version__}"}
        if with_key and self.settings.api_key:
            headers["x-api-key"] = self.settings.api_key
        return headers

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Request:
        return httpx.Request(
            method, self.settings.base_url + path, headers=self._headers(), **kwargs
        )

    def _job_path(self, job_id: str) -> str:
        if not isinstance(job_id, str) or not job_id.strip():
            raise ValueError(f"a job id is a non-empty string, not {job_id!r}")
        # Quoted whole, so an id cannot climb out of its path segment.
        return self.settings.get_job_path.replace("{jobId}", quote(job_id, safe=""))

    def _create_call(
        self,
        video_url: str,
        face_url: str,
        *,
        advanced: bool,
        webhook: str | None,
        idempotency_key: str | None,
    ) -> Call[Job]:
        sent: dict[str, Any] = {
            "model": self.settings.model,
            "input": {"videoUrl": video_url, "faceUrl": face_url, "advanced": advanced},
        }
        if webhook is not None:
            sent["webhook"] = webhook
        request = self._request("POST", "/generate", json=sent)
        request.headers["idempotency-key"] = idempotency_key or str(uuid.uuid4())

        def parse(response: httpx.Response) -> Job:
            # The answer is only {"jobId", "status"}: fill in what was asked for.
            return job_from({**sent, **json_object(response)}, response)

        return Call(request, parse, idempotent=False)

    def _get_job_call(self, job_id: str) -> Call[Job]:
        return Call(self._request("GET", self._job_path(job_id)), parse_job, idempotent=True)

    def _cancel_call(self, job_id: str) -> Call[Job]:
        self._job_path(job_id)
        path = f"/generate/{quote(job_id, safe='')}/cancel"
        return Call(self._request("POST", path), parse_job, idempotent=False)

    def _list_call(self, limit: int, cursor: str | None) -> Call[JobPage]:
        params: dict[str, str | int] = (
            {"limit": limit} if cursor is None else {"limit": limit, "cursor": cursor}
        )
        return Call(self._request("GET", "/jobs", params=params), parse_page, idempotent=True)

    def _health_call(self) -> Call[dict[str, Any]]:
        return Call(self._request("GET", "/health"), json_object, idempotent=True)

    def _secret_call(self) -> Call[str]:
        return Call(
            self._request("GET", "/webhooks/secret"), string_field("secret"), idempotent=True
        )

    def _upload_call(self, name: str, file: IO[bytes]) -> Call[str]:
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        request = self._request("POST", "/files", files={"file": (name, file, content_type)})
        return Call(request, string_field("url"), idempotent=False, error=self._upload_error)

    def _finish(self, call: Call[T], response: httpx.Response) -> T:
        if not response.is_success:
            raise (call.error or self._error)(response)
        return call.parse(response)

    def _upload_error(self, response: httpx.Response) -> APIError:
        if response.status_code not in (404, 405):
            return self._error(response)
        message = (
            f"this server does not accept uploads; pass a public URL ({describe(response.request)})"
        )
        cls = NotFound if response.status_code == 404 else InvalidRequest
        return cls(message, status_code=response.status_code)

    def _error(self, response: httpx.Response) -> APIError:
        return error_from_response(response, api_key=self.settings.api_key)

    def _retry_delay(
        self, attempt: int, outcome: httpx.Response | httpx.TransportError, *, idempotent: bool
    ) -> float | None:
        return retry_delay(self.settings.retry, attempt, outcome, idempotent=idempotent)

    def _unreachable(
        self, request: httpx.Request, exc: httpx.TransportError, *, idempotent: bool
    ) -> ServerUnreachable:
        what = "timed out" if isinstance(exc, httpx.TimeoutException) else "got no answer"
        detail = redact(str(exc) or type(exc).__name__, self.settings.api_key)
        message = f"{describe(request)} {what} ({detail})"
        if not idempotent and not isinstance(exc, NEVER_SENT):
            message += (
                "; the server may have received it (a create is safe to repeat with the same "
                "idempotency_key)"
            )
        return ServerUnreachable(message)

    def _download_url(self, job_or_url: Job | str) -> str:
        if isinstance(job_or_url, Job):
            if job_or_url.output_url is None:
                raise ValueError(
                    f"job {job_or_url.job_id} has no output video (status '{job_or_url.status}')"
                )
            job_or_url = job_or_url.output_url
        # A relative output URL is relative to the API's origin.
        return str(httpx.URL(self.settings.base_url).join(job_or_url))

    def _download_request(self, url: str) -> httpx.Request:
        target = httpx.URL(url)
        # The key goes only to the API's own origin: not to a CDN, not even via a redirect.
        same_origin = origin(target) == origin(httpx.URL(self.settings.base_url))
        headers = {**self._headers(with_key=same_origin), "accept": "*/*"}
        return httpx.Request("GET", target, headers=headers)

    def _redirect_target(self, response: httpx.Response) -> str | None:
        if not response.has_redirect_location:
            return None
        return str(response.url.join(response.headers["location"]))

    def _too_many_redirects(self, response: httpx.Response) -> ServerError:
        return ServerError(
            f"more than {MAX_REDIRECTS} redirects ({describe(response.request)})",
            status_code=response.status_code,
        )
