"""faceswap_nb: submit, watch and analyse video face-swap jobs from Jupyter.

The local engine (``faceswap_nb.engine``, extra ``[engine]``) replaces the face in a
video on the CPU; its outputs are always marked as synthetic.
"""

from __future__ import annotations

from faceswap_nb._errors import (
    APIError,
    AuthError,
    EngineError,
    FaceswapError,
    InputTooLarge,
    InvalidImage,
    InvalidRequest,
    InvalidVideo,
    JobFailed,
    JobTimeout,
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

__all__ = [
    "APIError",
    "AuthError",
    "EngineError",
    "FaceswapError",
    "InputTooLarge",
    "InvalidImage",
    "InvalidRequest",
    "InvalidVideo",
    "JobFailed",
    "JobTimeout",
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
]
