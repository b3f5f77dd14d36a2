"""The shapes on the wire: request bodies the server accepts and objects it answers.

Field names follow ``API.md`` (camelCase). Types are strict: ``"advanced": "yes"`` is
a 400, not a quiet ``True``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from faceswap_nb.server.keys import KeyRing
from faceswap_nb.server.store import JobRecord

__all__ = [
    "MAX_URL_LENGTH",
    "CreateJob",
    "Created",
    "ErrorBody",
    "Health",
    "JobInput",
    "JobOut",
    "JobPage",
    "Uploaded",
    "WebhookSecret",
    "job_to_wire",
]

MAX_URL_LENGTH = 4096


class JobInput(BaseModel):
    """What to swap: the target video and the source face, both by URL."""

    model_config = ConfigDict(extra="ignore")
    videoUrl: StrictStr = Field(max_length=MAX_URL_LENGTH, description="target video (http/https)")
    faceUrl: StrictStr = Field(max_length=MAX_URL_LENGTH, description="source face image (http/https)")
    advanced: StrictBool = Field(False, description="occlusion-aware processing")


class CreateJob(BaseModel):
    """Body of ``POST /v1/generate``."""

    model_config = ConfigDict(extra="ignore")
    model: StrictStr = Field(max_length=200, description="the model name; here `video/faceswap`")
    input: JobInput
    webhook: StrictStr | None = Field(None, max_length=MAX_URL_LENGTH, description="where to POST the finished job")


class Created(BaseModel):
    """Answer to a create: the new job's id and status."""

    jobId: str
    status: str


class ErrorBody(BaseModel):
    """Every error answer: a status word and a sentence saying what to fix."""

    status: str
    message: str


class JobOut(BaseModel):
    """The job object, as ``GET`` answers it and webhooks deliver it."""

    model_config = ConfigDict(extra="allow")
    jobId: str
    model: str
    status: str
    input: dict[str, Any]
    webhook: str | None = None
    output: dict[str, Any] | None = None
    date: int
    progress: float
    error: dict[str, str] | None = None
    usage: dict[str, float] | None = None
    createdAt: int
    startedAt: int | None = None
    finishedAt: int | None = None
    webhookAttempts: list[dict[str, Any]] = []
    warnings: list[str] = []


class JobPage(BaseModel):
    """One page of ``GET /v1/jobs``, newest first; pass ``nextCursor`` for the next."""

    jobs: list[JobOut]
    nextCursor: str | None


class Uploaded(BaseModel):
    """Answer to an upload: the URL to pass as ``videoUrl`` or ``faceUrl``."""

    url: str


class Health(BaseModel):
    """Liveness: the server answers and its version."""

    status: str
    version: str


class WebhookSecret(BaseModel):
    """The secret that signs this key's webhooks (Standard Webhooks, ``whsec_…``)."""

    secret: str


def job_to_wire(job: JobRecord, keys: KeyRing, origin: str) -> dict[str, Any]:
    """The job object of ``API.md`` for a stored job, with a fresh signed output link."""
    output_url = keys.output_link(job, origin)
    return {
        "jobId": job.id,
        "model": job.model,
        "status": job.status,
        "input": job.input,
        "webhook": job.webhook,
        "output": {"videoUrl": output_url} if output_url else None,
        "date": job.finished_at or job.created_at,
        "progress": round(job.progress, 4),
        "error": {"code": job.error_code, "message": job.error_message or ""} if job.error_code else None,
        "usage": (
            {"seconds": job.video_seconds, "cost": job.cost}
            if job.video_seconds is not None and job.cost is not None else None
        ),
        "createdAt": job.created_at,
        "startedAt": job.started_at,
        "finishedAt": job.finished_at,
        "webhookAttempts": job.webhook_attempts,
        "warnings": job.warnings,
    }
