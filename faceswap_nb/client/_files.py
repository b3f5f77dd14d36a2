"""Writing a download so that the target is either complete or untouched."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_writer"]


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """A temporary file beside ``path`` that replaces it on success and vanishes on error.

    The temporary file lives in the same folder so that ``os.replace`` is a rename on one
    file system: a reader never sees half a video, and a failed or interrupted download
    leaves nothing behind (any previous file at ``path`` stays as it was).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        # BaseException too: a KeyboardInterrupt or a cancelled task must not leave a .part.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
