"""Every exception faceswap_nb raises, in one tree.

    FaceswapError                 base; carries a stable ``code`` string
    └── EngineError               the local engine could not produce a video
        ├── InvalidVideo          code "invalid_video"
        ├── InvalidImage          code "invalid_image"
        ├── NoFaceInSource        code "no_face_in_source"
        ├── NoFaceInVideo         code "no_face_in_video"
        ├── InputTooLarge         code "input_too_large"
        ├── OutputNotWritable     code "output_not_writable"
        └── ModelFilesMissing     code "model_files_missing"

The ``code`` is part of the public contract: the CLI prints it, the local server puts
it in a failed job's ``error.code``. The message says what to fix.
"""

from __future__ import annotations

__all__ = [
    "EngineError",
    "FaceswapError",
    "InputTooLarge",
    "InvalidImage",
    "InvalidVideo",
    "ModelFilesMissing",
    "NoFaceInSource",
    "NoFaceInVideo",
    "OutputNotWritable",
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
