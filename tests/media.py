"""Media the tests make for themselves, from public-domain images shipped in packages."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
from matplotlib import cbook
from skimage import data

GRACE_HOPPER = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
"""A portrait photo (US Navy, public domain): the usual source face of the tests."""


def astronaut(side: int = 512) -> np.ndarray:
    """scikit-image's astronaut photo (NASA, public domain), BGR, ``side`` pixels square."""
    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    return image if side == 512 else cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)


def write_clip(path: Path, frames: list[np.ndarray], fps: int = 10, *, rotation: int = 0) -> Path:
    """Encode BGR ``frames`` as a small H.264 MP4 (no audio) at ``path``.

    ``rotation`` is the clockwise turn a player must apply, as a phone records it: the
    stored pictures are turned the other way, so the video shows ``frames`` upright.
    """
    stored = [np.ascontiguousarray(np.rot90(image, k=rotation // 90)) for image in frames]
    height, width = stored[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "18", "preset": "ultrafast"}
        if rotation:
            stream.set_display_rotation(-rotation)  # PyAV counts counter-clockwise
        for image in stored:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        container.mux(stream.encode(None))
    return path
