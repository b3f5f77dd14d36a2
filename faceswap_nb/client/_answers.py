"""Reading the job API's answers: error mapping, JSON bodies, ``Retry-After``.

I/O-free, shared by both clients through :mod:`faceswap_nb.client._base`. Every message
built here names the request by method, origin and path only, and has the API key
blanked out, so no exception can carry it.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

import httpx

from faceswap_nb._errors import (
    APIError,
    AuthError,
    InvalidRequest,
    NotFound,
    RateLimited,
    ServerError,
)
from faceswap_nb.client.models import Job, JobPage

__all__ = [
    "describe",
    "error_from_response",
    "job_from",
    "json_object",
    "origin",
    "parse_job",
    "parse_page",
    "parse_retry_after",
    "redact",
    "string_field",
    "unexpected_answer",
]


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def origin(url: httpx.URL) -> str:
    """``scheme://host[:port]`` of ``url``, without userinfo."""
    host = f"[{url.host}]" if ":" in url.host else url.host
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{host}{port}"


def describe(request: httpx.Request) -> str:
    """``METHOD origin/path`` for messages.

    Origin and path only: a query may hold a signed token, userinfo a password.
    """
    return f"{request.method} {origin(request.url)}{request.url.path}"


def redact(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` blanked out."""
    return text.replace(secret, "***") if secret else text


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    message = body.get("message") if isinstance(body, dict) else None
    text = " ".join((message if isinstance(message, str) else response.text).split())
    text = text or response.reason_phrase or "no message"
    return text if len(text) <= 300 else text[:299] + "…"


def error_from_response(response: httpx.Response, *, api_key: str | None) -> APIError:
    """The exception for an error answer whose body has been read.

    The message is the server's own sentence (from ``{"status", "message"}``, else the
    start of the body) and the request it answered; the key is blanked out even if a
    server echoes it.
    """
    status = response.status_code
    if response.is_redirect:
        location = response.headers.get("location")
        text = f"the server redirects to {location}; use that address as base_url"
    else:
        text = _server_message(response)
    message = f"{redact(text, api_key)} ({describe(response.request)})"
    if status in (401, 403):
        if not api_key:
            message += "; no API key was given: pass api_key= or set FACESWAP_API_KEY"
        return AuthError(message, status_code=status)
    if status == 404:
        return NotFound(message, status_code=status)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return RateLimited(message, status_code=status, retry_after=retry_after)
    if status >= 500:
        return ServerError(message, status_code=status)
    return InvalidRequest(message, status_code=status)


def unexpected_answer(response: httpx.Response, why: str) -> ServerError:
    """The error for a success answer that is not what the API promises.

    The body is left out of the message: it may echo anything, the key included.
    """
    content_type = response.headers.get("content-type", "no content type")
    return ServerError(
        f"unexpected answer from the server: {why} ({describe(response.request)} answered "
        f"{response.status_code}, {content_type})",
        status_code=response.status_code,
    )


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's body, which must be a JSON object."""
    try:
        body = response.json()
    except ValueError:
        raise unexpected_answer(response, "not JSON") from None
    if not isinstance(body, dict):
        raise unexpected_answer(response, "not a JSON object")
    return body


def job_from(data: Mapping[str, Any], response: httpx.Response) -> Job:
    """A Job from ``data``, read from ``response``; not a job is the server's error."""
    try:
        return Job.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise unexpected_answer(response, str(exc)) from None


def parse_job(response: httpx.Response) -> Job:
    """The job object an answer carries."""
    return job_from(json_object(response), response)


def parse_page(response: httpx.Response) -> JobPage:
    """A page of jobs: ``{"jobs": [...], "nextCursor": str | null}``."""
    body = json_object(response)
    jobs, cursor = body.get("jobs"), body.get("nextCursor")
    if not isinstance(jobs, list):
        raise unexpected_answer(response, "'jobs' is not a list")
    return JobPage(
        jobs=tuple(job_from(item, response) for item in jobs),
        next_cursor=cursor if isinstance(cursor, str) and cursor else None,
    )


def string_field(name: str) -> Callable[[httpx.Response], str]:
    """A parser for answers like ``{"url": "..."}`` that returns the non-empty string."""

    def parse(response: httpx.Response) -> str:
        value = json_object(response).get(name)
        if not isinstance(value, str) or not value:
            raise unexpected_answer(response, f"no '{name}'")
        return value

    return parse
