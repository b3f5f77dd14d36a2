"""Talk to a video face-swap job API: the hosted service or the local server.

``Client`` blocks; ``AsyncClient`` is its asyncio twin with the same methods (``aclose``
instead of ``close``). Both read ``FACESWAP_BASE_URL``, ``FACESWAP_API_KEY`` and
``FACESWAP_MODEL`` when built, never at import::

    with Client() as client:
        job = client.create_job(video_url, face_url)
        done = client.wait(job.job_id, timeout=600)
        client.download(done, "swapped.mp4")
"""

from __future__ import annotations

from faceswap_nb.client._async import AsyncClient
from faceswap_nb.client._base import RetryPolicy, Settings
from faceswap_nb.client._sync import Client
from faceswap_nb.client.models import (
    Job,
    JobErrorInfo,
    JobPage,
    JobStatus,
    Usage,
    is_terminal,
)
from faceswap_nb.client.webhooks import verify_webhook

__all__ = [
    "AsyncClient",
    "Client",
    "Job",
    "JobErrorInfo",
    "JobPage",
    "JobStatus",
    "RetryPolicy",
    "Settings",
    "Usage",
    "is_terminal",
    "verify_webhook",
]
