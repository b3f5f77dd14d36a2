"""Notebook widgets: a panel that submits a face-swap job, watches it and shows the result,
and a panel that follows a batch of jobs (``BatchPanel``).

Import it explicitly (it needs ``ipywidgets``, part of the base install)::

    from faceswap_nb.widgets import JobPanel

    panel = JobPanel()     # FACESWAP_BASE_URL, or the embedded local server
    panel

Importing this package does no work: no client is built, no server started, and
nothing in ``asyncio`` is patched (the panel never uses ``nest_asyncio``; see
``faceswap_nb.widgets._watch`` for why).
"""

from __future__ import annotations

from faceswap_nb.widgets._inputs import InputProblem
from faceswap_nb.widgets.batch_panel import BatchPanel
from faceswap_nb.widgets.display import result_view, thumbnail_png, video_seconds
from faceswap_nb.widgets.panel import CONSENT, JobPanel

__all__ = [
    "CONSENT",
    "BatchPanel",
    "InputProblem",
    "JobPanel",
    "result_view",
    "thumbnail_png",
    "video_seconds",
]
