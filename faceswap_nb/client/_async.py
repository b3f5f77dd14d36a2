"""``AsyncClient``: the job API over ``httpx.AsyncClient``, the native twin of ``Client``.

Only sending and sleeping live here; what to send, how to read the answer and when to
retry come from :mod:`faceswap_nb.client._base`, shared with ``Client``.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from faceswap_nb.client._base import (
    MAX_REDIRECTS,
    POLL_INTERVAL,
    BaseClient,
    Call,
    Settings,
    WaitState,
)
from faceswap_nb.client._files import atomic_writer
from faceswap_nb.client.models import Job, JobPage

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self needs Python 3.11

__all__ = ["AsyncClient"]

T = TypeVar("T")


class AsyncClient(BaseClient):
    """An asyncio client for the video face-swap job API; the twin of ``Client``.

    Args:
        base_url: the API root (default ``FACESWAP_BASE_URL``, then the local server).
        api_key: sent as ``x-api-key`` (default ``FACESWAP_API_KEY``).
        model: the model name for new jobs (default ``FACESWAP_MODEL``, then
            ``video/faceswap``).
        settings: everything at once; the arguments above still override it. Without
            it the environment is read here, when the client is built.
        transport: an ``httpx`` transport, e.g. ``httpx.MockTransport`` in tests.

    Use it as an async context manager, or await :meth:`aclose` when done.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        model: str | None = None,
        settings: Settings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, api_key, model=model, settings=settings)
        self._http = httpx.AsyncClient(transport=transport, timeout=self.settings.timeout)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def create_job(
        self,
        video_url: str,
        face_url: str,
        *,
        advanced: bool = False,
        webhook: str | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        """Start a job that puts the face of ``face_url`` into the video at ``video_url``.

        A create is sent again only when no connection could be opened; after a timeout
        the job may exist, and :class:`~faceswap_nb.ServerUnreachable` says so. Pass the
        same ``idempotency_key`` when trying again, so a server that honours the
        ``Idempotency-Key`` header answers with the first job instead of starting another.

        Args:
            advanced: occlusion-aware processing (hands and hair stay in front).
            webhook: a URL the server POSTs the final job object to.
            idempotency_key: defaults to a fresh UUID.

        Raises:
            RateLimited: the server refused before doing anything; waiting
                ``retry_after`` seconds and calling again is safe.
            InvalidRequest, AuthError, ServerError, ServerUnreachable: see their docs.
        """
        return await self._run(
            self._create_call(
                video_url,
                face_url,
                advanced=advanced,
                webhook=webhook,
                idempotency_key=idempotency_key,
            )
        )

    async def get_job(self, job_id: str) -> Job:
        """The job as the server describes it now."""
        return await self._run(self._get_job_call(job_id))

    async def cancel(self, job_id: str) -> Job:
        """Ask the server to stop a job; returns the job as it is after the request."""
        return await self._run(self._cancel_call(job_id))

    async def list_jobs(self, *, limit: int = 50, cursor: str | None = None) -> JobPage:
        """One page of this key's jobs; pass ``page.next_cursor`` for the next one."""
        return await self._run(self._list_call(limit, cursor))

    async def health(self) -> dict[str, Any]:
        """The server's health report, as it sends it."""
        return await self._run(self._health_call())

    async def webhook_secret(self) -> str:
        """The ``whsec_…`` secret this key's webhooks are signed with."""
        return await self._run(self._secret_call())

    async def upload(self, path: str | os.PathLike[str]) -> str:
        """Upload a local file and return its URL, for ``create_job``.

        Raises:
            NotFound, InvalidRequest: the server does not accept uploads (404/405);
                put the file somewhere public and pass its URL instead.
        """
        path = Path(path)
        # Blocking reads from local disk, as httpx's multipart stream does them anyway.
        with path.open("rb") as file:  # noqa: ASYNC230
            return await self._run(self._upload_call(path.name, file))

    async def wait(
        self,
        job_id: str,
        *,
        timeout: float | None,
        on_update: Callable[[Job], object] | None = None,
        poll_interval: float = POLL_INTERVAL,
    ) -> Job:
        """Poll a job until it completes; the interval grows from ``poll_interval`` to 5 s.

        Args:
            timeout: seconds to wait in all; None waits as long as it takes.
            on_update: called with the job when first seen and whenever its status or
                progress changes; a coroutine it returns is awaited.

        Raises:
            JobFailed: the job ended failed, error or canceled; ``code`` is the server's
                ``error.code``, else the status.
            JobTimeout: the time ran out; ``job`` is the last state seen.
        """
        state = WaitState(
            job_id, timeout=timeout, poll_interval=poll_interval, now=time.monotonic()
        )
        while True:
            job = await self.get_job(job_id)
            if state.observe(job) and on_update is not None:
                result = on_update(job)
                if inspect.isawaitable(result):
                    await result
            if state.finished(job):
                return job
            delay = state.next_sleep(time.monotonic())
            if delay is None:
                raise state.timed_out()
            await asyncio.sleep(delay)

    async def download(self, job_or_url: Job | str, path: str | os.PathLike[str]) -> Path:
        """Save a job's output video (or any URL) to ``path``, all or nothing.

        The ``x-api-key`` header goes only to the API's own origin. The file appears
        complete or not at all: it is written beside ``path`` and renamed at the end.
        """
        target = Path(path)
        response = await self._open(self._download_url(job_or_url))
        try:
            if not response.is_success:
                await response.aread()
                raise self._error(response)
            with atomic_writer(target) as file:
                async for chunk in response.aiter_bytes():
                    file.write(chunk)
        except httpx.TransportError as exc:
            raise self._unreachable(response.request, exc, idempotent=True) from exc
        finally:
            await response.aclose()
        return target

    async def _open(self, url: str) -> httpx.Response:
        """GET ``url`` as a stream, following redirects (the key stays on our origin)."""
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._send(self._download_request(url), idempotent=True, stream=True)
            target = self._redirect_target(response)
            if target is None:
                return response
            await response.aclose()
            url = target
        raise self._too_many_redirects(response)

    async def _run(self, call: Call[T]) -> T:
        response = await self._send(call.request, idempotent=call.idempotent)
        return self._finish(call, response)

    async def _send(
        self, request: httpx.Request, *, idempotent: bool, stream: bool = False
    ) -> httpx.Response:
        """Send ``request``, again while the retry policy says so; error answers are returned."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                delay = self._retry_delay(attempt, exc, idempotent=idempotent)
                if delay is None:
                    raise self._unreachable(request, exc, idempotent=idempotent) from exc
            else:
                delay = self._retry_delay(attempt, response, idempotent=idempotent)
                if delay is None:
                    return response
                await response.aclose()
            await asyncio.sleep(delay)
