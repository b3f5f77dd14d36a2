"""The local CPU face-swap engine (extra ``faceswap_nb[engine]``).

``swap_video`` replaces the face in a video with the face of a photo, following the
target's pose, expression and lighting, and marks the output as synthetic.
"""

from __future__ import annotations

from faceswap_nb.engine.pipeline import FACE_CHOICES, SwapConfig, swap_video
from faceswap_nb.engine.types import SwapReport

__all__ = ["FACE_CHOICES", "SwapConfig", "SwapReport", "swap_video"]
