"""``JobPanel``: choose a video and a face, submit a job, watch it, and see the result.

The panel is an ``ipywidgets.VBox``. Submitting creates the job with the (blocking)
client — a create is quick — and starts an asyncio task on the kernel's loop that polls
the job, so the kernel stays free while the job runs::

    panel = JobPanel()          # a client for FACESWAP_BASE_URL, or the local server
    panel                       # show it; or fill it from code:
    panel.set_inputs(video="clip.mp4", face="face.jpg")
    panel.consent.value = True
    panel.submit.click()
    job = panel.wait(600)       # Run-All notebooks; `await panel.task` in async code
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import ipywidgets as widgets

from faceswap_nb._errors import FaceswapError
from faceswap_nb.client.models import Job
from faceswap_nb.widgets._inputs import InputProblem, MediaInput, is_web_url
from faceswap_nb.widgets._status import (
    ProgressClock,
    StatusHistory,
    cost_text,
    describe_error,
    describe_failure,
    describe_upload_error,
    status_text,
)
from faceswap_nb.widgets._watch import JobClient, Watcher
from faceswap_nb.widgets.display import (
    EMBED_LIMIT,
    SYNTHETIC_NOTE,
    note_html,
    result_view,
)

__all__ = ["CONSENT", "JobPanel"]

CONSENT = "I have the consent of the person whose face I use"
ADVANCED_HELP = (
    "occlusion-aware: hands, hair and objects in front of the face stay in "
    "front of the new face (slower)"
)
_BAR_STYLES = {"completed": "success", "failed": "danger", "error": "danger"}
W = TypeVar("W", bound=widgets.DOMWidget)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _classed(widget: W, name: str) -> W:
    """``widget`` with the stable CSS class ``name`` (what browser tests look for)."""
    widget.add_class(name)
    return widget


class JobPanel(widgets.VBox):
    """A notebook panel that runs one face-swap job at a time on a job API server.

    Args:
        client: a :class:`~faceswap_nb.Client`; None calls :func:`faceswap_nb.connect`
            (``FACESWAP_BASE_URL``, else the embedded local server).
        price_per_second: the price of one second of video, for the estimate shown
            before submitting (the server's reported usage replaces it later).
        results_dir: where results are saved; relative paths are taken from the
            working directory, which in a kernel is the notebook's folder, so the
            browser can fetch the file through Jupyter.
        embed_limit: videos up to this many bytes are embedded; larger ones are linked.
        poll_interval: seconds between the first polls (it grows to 2 s).

    Attributes:
        job: the last state seen of the last job, or None.
        task: the asyncio task following it on the kernel's loop (``await panel.task``);
            None when no loop was running at submit, as in a plain script, where
            :meth:`wait` does the following.
        error: what stopped the watcher early (server gone, key refused), or None.
        result_path: the downloaded result video, once there.
    """

    def __init__(
        self,
        client: JobClient | None = None,
        *,
        price_per_second: float = 0.10,
        results_dir: str | os.PathLike[str] = "fsnb-results",
        embed_limit: int = EMBED_LIMIT,
        poll_interval: float = 0.5,
    ) -> None:
        if client is None:
            from faceswap_nb._connect import connect

            client = connect()
        self.client: JobClient = client
        self.price_per_second = price_per_second
        self.results_dir = Path(results_dir)
        self.embed_limit = embed_limit
        self.poll_interval = poll_interval
        self.job: Job | None = None
        self.task: asyncio.Task[Job] | None = None
        self.error: Exception | None = None
        self.result_path: Path | None = None
        self._running = False
        self._started = self._ended_at = 0.0
        self._watcher: Watcher | None = None
        self._job_seconds: float | None = None
        self._original: Path | str | None = None
        self._clock = ProgressClock()
        self._history = StatusHistory()
        # The panel's clock, in seconds; tests replace it to make time pass.
        self._now: Callable[[], float] = time.monotonic
        super().__init__(children=self._build(), layout=widgets.Layout(width="100%"))
        self.add_class("fsnb-panel")

    def __repr__(self) -> str:
        status = self.job.status if self.job else "idle"
        job_id = self.job.job_id if self.job else None
        settings = getattr(self.client, "settings", None)
        server = getattr(settings, "base_url", type(self.client).__name__)
        return f"JobPanel(job={job_id!r}, status={status!r}, server={server!r})"

    def _build(self) -> list[widgets.Widget]:
        """Make the child widgets; returns the panel's rows, top to bottom."""
        self.cost = _classed(widgets.HTML(html.escape(cost_text(None, self.price_per_second))), "fsnb-cost")
        self.message = _classed(widgets.HTML(), "fsnb-message")
        self.video = MediaInput("video", upload=self._upload, report=self._say,
                                on_change=self._inputs_changed)
        self.face = MediaInput("face", upload=self._upload, report=self._say,
                               on_change=self._inputs_changed)
        self.video_url, self.face_url = self.video.text, self.face.text
        self.advanced = _classed(widgets.Checkbox(
            description="advanced", indent=False, layout=widgets.Layout(width="auto"),
        ), "fsnb-advanced")
        self.webhook = _classed(widgets.Text(
            description="webhook (optional)", placeholder="https://… receives the finished job",
            style={"description_width": "initial"}, layout=widgets.Layout(width="100%"),
        ), "fsnb-webhook")
        self.consent = _classed(widgets.Checkbox(
            description=CONSENT, indent=False, layout=widgets.Layout(width="auto"),
        ), "fsnb-consent")
        self.submit = _classed(widgets.Button(
            description="Submit", button_style="primary", disabled=True,
            tooltip="tick the consent box first",
        ), "fsnb-submit")
        self.cancel = _classed(widgets.Button(description="Cancel", disabled=True), "fsnb-cancel")
        self.status = _classed(widgets.HTML(status_text("idle")), "fsnb-status")
        self.progress = _classed(widgets.FloatProgress(value=0.0, min=0.0, max=1.0), "fsnb-progress")
        self.history = _classed(widgets.HTML(), "fsnb-history")
        self.result = _classed(widgets.VBox(layout=widgets.Layout(width="100%")), "fsnb-result")
        self.consent.observe(lambda _change: self._sync_buttons(), names="value")
        self.submit.on_click(self._on_submit)
        self.cancel.on_click(self._on_cancel)
        return [
            widgets.HTML("<b>Face swap</b>: put the face from a photo into a video"),
            self.video.row, self.face.row,
            widgets.HBox([self.video.preview, self.face.preview]),
            widgets.HBox([self.advanced, widgets.HTML(note_html(ADVANCED_HELP))]),
            self.webhook, self.cost, self.consent, widgets.HTML(note_html(SYNTHETIC_NOTE)),
            widgets.HBox([self.submit, self.cancel]),
            self.status, self.progress, self.message, self.history, self.result,
        ]

    # -- inputs ---------------------------------------------------------------------

    def set_inputs(
        self,
        video: str | os.PathLike[str] | None = None,
        face: str | os.PathLike[str] | None = None,
    ) -> None:
        """Fill the inputs from code: each an http(s) URL, or a local file (uploaded now).

        Raises:
            InputProblem: a value is neither a URL nor an existing file.
            the client's errors from the upload (NotFound/InvalidRequest: this server
            takes no uploads; pass a public URL). The panel shows the message too.
        """
        for field, value in ((self.video, video), (self.face, face)):
            if value is None:
                continue
            text = os.fspath(value)
            try:
                self._set_input(field, text)
            except (InputProblem, FaceswapError, OSError) as exc:
                self._say(_input_error(field, exc))
                raise

    @staticmethod
    def _set_input(field: MediaInput, text: str) -> None:
        if is_web_url(text):
            field.text.value = text
            return
        path = Path(text).expanduser()
        if not path.is_file():
            raise InputProblem(field.not_usable(text))
        field.use_file(path)

    def _upload(self, path: Path) -> str:
        return self.client.upload(path)

    def _inputs_changed(self) -> None:
        if not self._running:
            self.cost.value = html.escape(cost_text(self.video.seconds, self.price_per_second))
            self._say("")

    def _webhook_url(self) -> str | None:
        value = self.webhook.value.strip()
        if not value:
            return None
        if not is_web_url(value):
            raise InputProblem(f"webhook: {value[:80]!r} is not an http(s) URL (or leave it empty)")
        return value

    # -- submit and cancel ----------------------------------------------------------

    def _on_submit(self, _button: widgets.Button | None = None) -> None:
        if self._running:
            return  # a second click while a job runs does nothing
        if not self.consent.value:
            self._say(f"tick “{CONSENT}” first")
            return
        urls: list[str] = []
        for field in (self.video, self.face):
            try:
                urls.append(field.resolve())
            except (InputProblem, FaceswapError, OSError) as exc:
                self._say(_input_error(field, exc))
                return
        try:
            webhook = self._webhook_url()
            job = self.client.create_job(urls[0], urls[1], advanced=self.advanced.value, webhook=webhook)
        except InputProblem as exc:
            self._say(str(exc))
            return
        except FaceswapError as exc:
            self._say(describe_error(exc))
            return
        self._original = self.video.local_path or urls[0]
        self._start(job)

    def _start(self, job: Job) -> None:
        """Reset the job display and start watching ``job``."""
        self.error, self.result_path = None, None
        self.result.children = ()
        self._history.clear()
        self._clock = ProgressClock()
        self._started, self._ended_at = self._now(), 0.0
        self._job_seconds = self.video.seconds
        self._running = True
        self._sync_buttons()
        self._say("")
        self._watcher = Watcher(
            self.client, job, results_dir=self.results_dir, poll_interval=self.poll_interval,
            on_update=self._show, on_end=self._ended,
        )
        self._show(job)
        # In a kernel (a running loop) a task follows the job while the notebook is idle;
        # without a loop, nothing runs until wait() is called.
        loop = _running_loop()
        self.task = loop.create_task(self._watcher.run()) if loop is not None else None

    def _on_cancel(self, _button: widgets.Button | None = None) -> None:
        job = self.job
        if not self._running or job is None:
            return
        try:
            updated = self.client.cancel(job.job_id)
        except FaceswapError as exc:
            self._say(describe_error(exc))
            return
        self._say("cancel requested", error=False)
        if self._watcher is not None:
            self._watcher.observe(updated)

    def _sync_buttons(self) -> None:
        self.submit.disabled = self._running or not self.consent.value
        self.submit.tooltip = "" if self.consent.value else "tick the consent box first"
        self.cancel.disabled = not self._running

    # -- watching -------------------------------------------------------------------

    def _ended(self, watcher: Watcher) -> None:
        """Show how the job ended: the result, why there is none, or what stopped watching."""
        if watcher.error is not None:
            # The server went away, refused the key, or the result could not be saved.
            self.error = watcher.error
            self._say(describe_error(watcher.error))
        elif watcher.result_path is not None:
            self.result_path = watcher.result_path
            self.result.children = tuple(
                result_view(watcher.result_path, self._original, limit=self.embed_limit)
            )
            # What the engine noticed (e.g. a smiling photo) is what to change next time.
            notes = "".join(f"\nnote: {warning}" for warning in watcher.job.warnings)
            self._say(f"result saved to {watcher.result_path}{notes}", error=False)
        else:
            self._say(describe_failure(watcher.job))
        self._running = False
        self._ended_at = self._now()
        self._render_status()
        self._sync_buttons()

    def _show(self, job: Job) -> None:
        """Show a new state of the job: status, progress, time left, history and cost."""
        self.job = job
        self._clock.observe(self._now(), job.progress)
        if self._history.record(job.status, datetime.now()):
            self.history.value = self._history.html()
        self.cost.value = html.escape(cost_text(self._job_seconds, self.price_per_second, job))
        self._render_status()
        if job.is_completed and self._running:
            self._say("downloading the result…", error=False)

    def _render_status(self) -> None:
        job = self.job
        if job is None:
            return
        now = self._now()
        elapsed = (self._ended_at or now) - self._started
        progress = 1.0 if job.is_completed else job.progress
        left = None if job.is_terminal or not self._running else self._clock.time_left(now)
        self.status.value = html.escape(status_text(job.status, progress, elapsed, left))
        self.progress.value = progress or 0.0
        self.progress.bar_style = _BAR_STYLES.get(job.status, "warning" if job.is_terminal else "info")

    def _say(self, text: str, *, error: bool = True) -> None:
        """Show ``text`` under the status (red for problems); empty clears it."""
        color = "#b00020" if error else "#444"
        lines = html.escape(text).replace("\n", "<br>")
        self.message.value = f'<span style="color: {color}">{lines}</span>' if text else ""

    # -- blocking -------------------------------------------------------------------

    def wait(self, timeout: float | None = None) -> Job:
        """Block until the submitted job ends and its result is shown; returns the job.

        For notebooks run top to bottom: call it in the cell that submits, since the
        kernel stops after the last cell and an unfinished task would vanish with it.
        It polls in the calling thread (never re-entering the kernel's loop); widget
        updates still reach the browser as they happen. A failed or canceled job is
        returned (its status says so, and the panel shows why). Async code can
        ``await panel.task`` instead.

        Raises:
            RuntimeError: nothing was submitted (the message says why, e.g. no consent).
            JobTimeout: ``timeout`` seconds passed; the job goes on, wait again later.
            the error that stopped watching (e.g. ServerUnreachable, AuthError).
        """
        if self._watcher is None:
            shown = html.unescape(re.sub(r"<[^>]+>", "", self.message.value))
            raise RuntimeError("no job was submitted" + (f": {shown}" if shown else ""))
        return self._watcher.wait(timeout)


def _input_error(field: MediaInput, exc: Exception) -> str:
    """What to show when an input cannot be used: its own words, or the upload's failure."""
    if isinstance(exc, InputProblem):
        return str(exc)
    return f"{field.label}: {describe_upload_error(exc)}"
