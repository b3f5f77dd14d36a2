"""The HTTP API of ``API.md``: ``create_app(settings)`` builds the FastAPI application.

Routes (all under ``/v1``, all but ``/health`` need ``x-api-key``):
``POST /generate``, ``GET /generate/{jobId}``, ``GET /generate?jobId=``,
``POST /generate/{jobId}/cancel``, ``GET /jobs``, ``POST /files``, ``GET /files/{id}``,
``GET /outputs/{jobId}.mp4`` (owner's key or the signed link), ``GET /webhooks/secret``,
``GET /health``. OpenAPI at ``/docs``. Every error body is ``{"status", "message"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Header, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from starlette.exceptions import HTTPException

from faceswap_nb._version import __version__
from faceswap_nb.server import fetch
from faceswap_nb.server.keys import KeyRing
from faceswap_nb.server.limits import BodySizeLimit, RateLimiter
from faceswap_nb.server.schemas import (
    Created,
    CreateJob,
    ErrorBody,
    Health,
    JobOut,
    JobPage,
    Uploaded,
    WebhookSecret,
    job_to_wire,
)
from faceswap_nb.server.settings import MODEL_NAME, ServerSettings
from faceswap_nb.server.store import IllegalTransition, JobRecord, JobStore, now_ms
from faceswap_nb.server.worker import DataPaths, Worker, own_upload_id

__all__ = ["create_app"]

log = logging.getLogger("faceswap_nb.server")

JSON_BODY_CAP = 256 * 1024
STATUS_WORDS = {400: "invalid_request", 401: "unauthorized", 404: "not_found",
                405: "method_not_allowed", 409: "conflict", 413: "too_large",
                429: "rate_limited", 500: "error"}
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 404, 409, 413, 429)
}


class ApiError(HTTPException):
    """An error answer; ``headers`` carries ``Retry-After`` for 429."""


class Services:
    """What the routes share: settings, store, keys, worker and the rate limiter."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.paths = DataPaths(settings.data_dir)
        self.paths.make()
        self.store = JobStore(self.paths.database)
        self.keys = KeyRing.load(settings.data_dir, settings.api_keys)
        self.worker = Worker(self.store, settings, self.paths, self.keys)
        self.limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)

    def wire(self, job: JobRecord) -> dict[str, Any]:
        return job_to_wire(job, self.keys, self.settings.origin)


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def _owner(
    request: Request,
    x_api_key: Annotated[str | None, Header(description="your API key")] = None,
) -> str:
    services = _services(request)
    owner = services.keys.owner(x_api_key)
    if owner is None:
        missing = "missing x-api-key header" if not x_api_key else "the x-api-key is not valid"
        raise ApiError(401, f"{missing}; send the key the server printed or was given")
    wait = services.limiter.retry_after(owner)
    if wait is not None:
        raise ApiError(429, f"too many requests; retry in {wait} s", headers={"Retry-After": str(wait)})
    return owner


Owner = Annotated[str, Depends(_owner)]
Svc = Annotated[Services, Depends(_services)]


def create_app(settings: ServerSettings) -> FastAPI:
    """The API application; the worker runs while the app's lifespan is active."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services(settings)
        app.state.services = services
        for job_id in services.worker.recover():
            log.warning("job %s was interrupted by the last shutdown; marked failed", job_id)
        if services.keys.generated_key:
            print(f"faceswap-nb: generated an API key (kept in {settings.data_dir}/api-key): "
                  f"{services.keys.generated_key}", flush=True)
        task = asyncio.create_task(services.worker.run_forever())
        try:
            yield
        finally:
            task.cancel()
            await services.worker.stop()
            services.store.close()

    app = FastAPI(
        title="faceswap_nb local server", version=__version__, lifespan=lifespan,
        description="Video face-swap jobs on this machine's CPU. Every output is marked as "
        "synthetic; sexual content is refused.",
    )
    app.add_middleware(BodySizeLimit, cap_for=lambda path: (
        settings.max_upload_bytes + 64 * 1024 if path.rstrip("/") == "/v1/files" else JSON_BODY_CAP))
    _add_error_handlers(app)
    _add_job_routes(app)
    _add_file_routes(app)
    return app


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    word = STATUS_WORDS.get(status, "error" if status >= 500 else "invalid_request")
    return JSONResponse({"status": word, "message": message}, status_code=status, headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "invalid request"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {request.method} {request.url.path}; see /docs"
        return _error(exc.status_code, message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(400, "; ".join(_describe(e) for e in exc.errors()[:5]))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _error(500, "internal server error; the server log has the details")


def _describe(error: dict[str, Any]) -> str:
    """One validation error as ``where: what`` (``body.input.videoUrl: Field required``)."""
    where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
    if error.get("type") == "json_invalid":
        return "the body is not valid JSON"
    if error.get("type") == "model_attributes_type":
        return f"{where}: expected a JSON object"
    return f"{where}: {error.get('msg', 'invalid')}"


def _hash(body: CreateJob) -> str:
    return hashlib.sha256(json.dumps(body.model_dump(), sort_keys=True).encode()).hexdigest()


async def _check_input_url(services: Services, owner: str, field: str, url: str) -> str | None:
    """The upload id when ``url`` is one of the owner's uploads, None for a fetchable
    public URL; 400 otherwise."""
    own = own_upload_id(url, services.settings.origin)
    if own is not None:
        if services.store.get_file(own, owner) is None:
            raise ApiError(400, f"input.{field}: no uploaded file {own} for this key; upload it first")
        return own
    await _check_fetchable(services, f"input.{field}", url)
    return None


async def _check_fetchable(services: Services, where: str, url: str) -> None:
    """400 naming ``where`` unless the guard would let the server reach ``url``."""
    try:
        await fetch.validate_url(url, services.settings)
    except fetch.FetchError as error:
        raise ApiError(400, f"{where}: {error}") from None


def _repeated(job: JobRecord, request_hash: str) -> dict[str, str]:
    """The answer to a create that reuses an ``Idempotency-Key``: its job, or 409."""
    if job.request_hash != request_hash:
        raise ApiError(409, "this Idempotency-Key was already used for a different request")
    return {"jobId": job.id, "status": job.status}


def _add_job_routes(app: FastAPI) -> None:
    @app.post("/v1/generate", response_model=Created, responses=ERRORS, tags=["jobs"])
    async def create_job(
        body: CreateJob, owner: Owner, services: Svc,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> dict[str, str]:
        """Create a face-swap job; it runs in the background."""
        if body.model != MODEL_NAME:
            raise ApiError(400, f"unknown model {body.model!r}; this server runs {MODEL_NAME!r}")
        request_hash = _hash(body)
        # A repeated create answers with its first job before any check or limit: the
        # client may be re-attaching after a crash, and that must never cost a 429.
        if idempotency_key and (earlier := services.store.by_idempotency_key(owner, idempotency_key)):
            return _repeated(earlier, request_hash)
        uploads = {}
        for field in ("videoUrl", "faceUrl"):
            own = await _check_input_url(services, owner, field, getattr(body.input, field))
            if own is not None:
                uploads[field] = own
        if body.webhook is not None:
            await _check_fetchable(services, "webhook", body.webhook)
        if services.store.count_in_flight(owner) >= services.settings.max_jobs_in_flight:
            raise ApiError(429, f"{services.settings.max_jobs_in_flight} jobs are already queued or "
                           "running for this key; wait for one to finish", headers={"Retry-After": "5"})
        job, created = services.store.create(
            owner, model=body.model, input=body.input.model_dump(), webhook=body.webhook, uploads=uploads,
            idempotency_key=idempotency_key, request_hash=request_hash,
        )
        if not created:  # the same key arrived twice at once and the other request won
            return _repeated(job, request_hash)
        services.worker.notify()
        return {"jobId": job.id, "status": job.status}

    def _find(services: Services, owner: str, job_id: str) -> JobRecord:
        job = services.store.get(job_id, owner)
        if job is None:
            raise ApiError(404, f"no job {job_id} for this key")
        return job

    @app.get("/v1/generate/{job_id}", response_model=JobOut, responses=ERRORS, tags=["jobs"])
    async def get_job(job_id: str, owner: Owner, services: Svc) -> dict[str, Any]:
        """The job object (same as the webhook delivers)."""
        return services.wire(_find(services, owner, job_id))

    @app.get("/v1/generate", response_model=JobOut, responses=ERRORS, tags=["jobs"])
    async def get_job_by_query(
        owner: Owner, services: Svc, job_id: Annotated[str, Query(alias="jobId", max_length=100)],
    ) -> dict[str, Any]:
        """The job object, with the id as a query parameter."""
        return services.wire(_find(services, owner, job_id))

    @app.post("/v1/generate/{job_id}/cancel", response_model=JobOut, responses=ERRORS, tags=["jobs"])
    async def cancel_job(job_id: str, owner: Owner, services: Svc) -> dict[str, Any]:
        """Cancel a job that has not finished; nothing is billed."""
        _find(services, owner, job_id)
        try:
            job = services.store.transition(
                job_id, "canceled", error_code="canceled", error_message="canceled by the user")
        except IllegalTransition as exc:
            raise ApiError(409, f"job {job_id} already ended ({exc.current}); nothing to cancel") from None
        services.worker.cancel(job_id)
        return services.wire(job)

    @app.get("/v1/jobs", response_model=JobPage, responses=ERRORS, tags=["jobs"])
    async def list_jobs(
        owner: Owner, services: Svc,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
    ) -> dict[str, Any]:
        """This key's jobs, newest first."""
        # One row more than asked says whether another page follows.
        jobs = services.store.list(owner, limit=limit + 1, before_seq=int(cursor) if cursor else None)
        page = jobs[:limit]
        more = len(jobs) > limit
        return {"jobs": [services.wire(j) for j in page], "nextCursor": str(page[-1].seq) if more else None}

    @app.get("/v1/webhooks/secret", response_model=WebhookSecret, responses=ERRORS, tags=["webhooks"])
    async def webhook_secret(owner: Owner, services: Svc) -> dict[str, str]:
        """The secret that signs this key's webhook deliveries."""
        return {"secret": services.keys.webhook_secret(owner)}

    @app.get("/v1/health", response_model=Health, tags=["server"])
    async def health() -> dict[str, str]:
        """Liveness (no key needed)."""
        return {"status": "ok", "version": __version__}


def _add_file_routes(app: FastAPI) -> None:
    @app.post("/v1/files", response_model=Uploaded, responses=ERRORS, tags=["files"])
    async def upload(owner: Owner, services: Svc, file: Annotated[UploadFile, File()]) -> dict[str, str]:
        """Upload a local video or image; use the answered URL in a job."""
        name = Path(file.filename or "upload").name[:200]
        incoming = services.paths.files / f".incoming-{uuid.uuid4()}"
        try:
            size = await asyncio.to_thread(_save, file, incoming)
            if size == 0:
                raise ApiError(400, "file: the upload is empty")
            record = services.store.add_file(owner, name, size)
            incoming.replace(services.paths.files / record.id)
        finally:
            incoming.unlink(missing_ok=True)
        return {"url": f"{services.settings.origin}/v1/files/{record.id}"}

    @app.get("/v1/files/{file_id}", responses=ERRORS, tags=["files"], response_class=FileResponse)
    async def get_file(file_id: str, owner: Owner, services: Svc) -> FileResponse:
        """Download one of this key's uploads."""
        record = services.store.get_file(file_id, owner)
        path = services.paths.files / file_id
        if record is None or not path.exists():
            raise ApiError(404, f"no uploaded file {file_id} for this key")
        return FileResponse(path, filename=record.name)

    @app.api_route("/v1/outputs/{job_id}.mp4", methods=["GET", "HEAD"], responses=ERRORS,
                   tags=["jobs"], response_class=FileResponse)
    async def get_output(
        request: Request, job_id: str, services: Svc,
        expires: int | None = None, token: str | None = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> FileResponse:
        """A finished video, seekable (HTTP Range); the owner's key or the job's signed link."""
        job = services.store.get(job_id)
        signed = (expires is not None and token is not None and expires >= now_ms() // 1000
                  and services.keys.output_token_valid(job_id, expires, token))
        if job is None or not (signed or services.keys.owner(x_api_key) == job.owner):
            raise ApiError(404, f"no output for job {job_id} (unknown job, wrong key or expired link)")
        path = services.paths.output(job_id)
        if job.status != "completed" or not job.output_file or not path.exists():
            raise ApiError(404, f"job {job_id} has no output (status {job.status}, or past retention)")
        return FileResponse(path, media_type="video/mp4", filename=f"{job_id}.mp4")


def _save(file: UploadFile, dest: Path) -> int:
    with dest.open("wb") as out:
        shutil.copyfileobj(file.file, out, length=1024 * 1024)
    return dest.stat().st_size
