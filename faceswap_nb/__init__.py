"""faceswap_nb: submit, watch and analyse video face-swap jobs from Jupyter.

The local engine (``faceswap_nb.engine``, extra ``[engine]``) replaces the face in a
video on the CPU; its outputs are always marked as synthetic.
"""

from __future__ import annotations

from faceswap_nb._connect import connect
from faceswap_nb._errors import (
    APIError,
    AuthError,
    CostLimitExceeded,
    EngineError,
    FaceswapError,
    InputTooLarge,
    InvalidImage,
    InvalidRequest,
    InvalidVideo,
    JobFailed,
    JobTimeout,
    LedgerError,
    ModelFilesMissing,
    NoFaceInSource,
    NoFaceInVideo,
    NotFound,
    OutputNotWritable,
    RateLimited,
    ServerError,
    ServerUnreachable,
    WebhookVerificationError,
)
from faceswap_nb._version import __version__
from faceswap_nb.client import AsyncClient, Client, Job, JobStatus, verify_webhook

__all__ = [
    "APIError",
    "AsyncClient",
    "AuthError",
    "Client",
    "CostLimitExceeded",
    "EngineError",
    "FaceswapError",
    "InputTooLarge",
    "InvalidImage",
    "InvalidRequest",
    "InvalidVideo",
    "Job",
    "JobFailed",
    "JobStatus",
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
    "__version__",
    "connect",
    "verify_webhook",
]
