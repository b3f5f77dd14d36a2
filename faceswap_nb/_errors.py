"""Every exception faceswap_nb raises, in one tree.

    FaceswapError                 base; carries a stable ``code`` string
    ├── EngineError               the local engine could not produce a video
    │   ├── InvalidVideo          code "invalid_video"
    │   ├── InvalidImage          code "invalid_image"
    │   ├── NoFaceInSource        code "no_face_in_source"
    │   ├── NoFaceInVideo         code "no_face_in_video"
    │   ├── InputTooLarge         code "input_too_large"
    │   ├── OutputNotWritable     code "output_not_writable"
    │   └── ModelFilesMissing     code "model_files_missing"
    ├── APIError                  the job API answered with an error; ``status_code``, ``message``
    │   ├── AuthError             401/403: missing, wrong or revoked API key
    │   ├── InvalidRequest        400/409/422 and other 4xx: the request must be changed
    │   ├── NotFound              404: unknown job, or one that belongs to another key
    │   ├── RateLimited           429: ``retry_after`` seconds, when the server said
    │   └── ServerError           5xx: the server failed; safe GETs were retried first
    ├── ServerUnreachable         no answer at all (connection refused, DNS, timeout)
    ├── JobFailed                 the job ended failed/canceled; carries the ``job``
    ├── JobTimeout                ``wait`` gave up; carries the last ``job`` seen
    ├── WebhookVerificationError  a webhook's signature, timestamp or headers are wrong
    ├── CostLimitExceeded         a batch's estimate is over ``max_cost``; nothing was submitted
    └── LedgerError               a batch ledger is corrupt or belongs to another batch;
                                  nothing was submitted

The ``code`` is part of the public contract: the CLI prints it, the local server puts
it in a failed job's ``error.code``. The message says what to fix.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIError",
    "AuthError",
    "CostLimitExceeded",
    "EngineError",
    "FaceswapError",
    "InputTooLarge",
    "InvalidImage",
    "InvalidRequest",
    "InvalidVideo",
    "JobFailed",
    "JobTimeout",
    "LedgerError",
    "ModelFilesMissing",
    "NoFaceInSource",
    "NoFaceInVideo",
    "NotFound",
    "OutputNotWritable",
    "RateLimited",
    "ServerError",
    "ServerUnreachable",
    "WebhookVerificationError",
]


class FaceswapError(Exception):
    """Base of all faceswap_nb errors; ``code`` is a stable machine-readable word."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]"


class EngineError(FaceswapError):
    """The local engine could not turn its inputs into a video."""

    code = "engine_error"


class InvalidVideo(EngineError):
    """The target video cannot be read: not a video, truncated, empty or unsupported."""

    code = "invalid_video"


class InvalidImage(EngineError):
    """The source face file is not a readable image."""

    code = "invalid_image"


class NoFaceInSource(EngineError):
    """No face was found in the source photo."""

    code = "no_face_in_source"


class NoFaceInVideo(EngineError):
    """No face was found in any frame of the target video."""

    code = "no_face_in_video"


class InputTooLarge(EngineError):
    """An input exceeds the engine's limits (pixels, duration or frame count)."""

    code = "input_too_large"


class OutputNotWritable(EngineError):
    """The output path cannot be created or written."""

    code = "output_not_writable"


class ModelFilesMissing(EngineError):
    """A model file shipped with the package is missing or damaged."""

    code = "model_files_missing"


class APIError(FaceswapError):
    """The job API answered with an error status.

    ``status_code`` is the HTTP status and ``message`` the server's own sentence (from
    its ``{"status", "message"}`` body). The API key is never part of either.
    """

    code = "api_error"

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code

    def __str__(self) -> str:
        return f"HTTP {self.status_code}: {self.message} [{self.code}]"


class AuthError(APIError):
    """The API key is missing or not accepted (401/403): check ``FACESWAP_API_KEY``."""

    code = "unauthorized"


class InvalidRequest(APIError):
    """The server refused the request as malformed (400 and other 4xx): change it."""

    code = "invalid_request"


class NotFound(APIError):
    """No such job or file for this key (404)."""

    code = "not_found"


class RateLimited(APIError):
    """Too many requests or jobs in flight (429); ``retry_after`` is in seconds or None."""

    code = "rate_limited"

    def __init__(self, message: str, *, status_code: int = 429, retry_after: float | None = None) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class ServerError(APIError):
    """The server failed (5xx); GETs were already retried before this was raised."""

    code = "server_error"


class ServerUnreachable(FaceswapError):
    """No HTTP answer at all: connection refused, name not resolved, or timed out."""

    code = "unreachable"


class JobFailed(FaceswapError):
    """A job ended without a result (failed, error or canceled).

    ``job`` is the final job object; ``code`` is the server's ``error.code`` when it gave
    one (e.g. ``no_face_in_video``, ``content_policy``), otherwise the job's status.
    """

    code = "job_failed"

    def __init__(self, message: str, *, job: Any, code: str | None = None) -> None:
        super().__init__(message)
        self.job = job
        if code:
            self.code = code


class JobTimeout(FaceswapError):
    """``wait`` ran out of time; ``job`` is the last state seen (the job keeps running)."""

    code = "job_timeout"

    def __init__(self, message: str, *, job: Any) -> None:
        super().__init__(message)
        self.job = job


class WebhookVerificationError(FaceswapError):
    """A webhook delivery is not authentic: bad signature, stale timestamp or missing headers."""

    code = "invalid_signature"


class CostLimitExceeded(FaceswapError):
    """A batch would cost more than its ``max_cost``; it was refused before any submission.

    ``estimate`` and ``limit`` are the estimated total and the limit, in money units
    (None when the error was built without them).
    """

    code = "cost_limit_exceeded"

    def __init__(
        self, message: str, *, estimate: float | None = None, limit: float | None = None
    ) -> None:
        super().__init__(message)
        self.estimate = estimate
        self.limit = limit


class LedgerError(FaceswapError):
    """A batch ledger cannot be used: a corrupt line, or a ledger of another batch.

    Raised before anything is submitted. ``path`` is the ledger file and ``line`` the
    1-based line at fault, when there is one.
    """

    code = "ledger_error"

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
