"""``BatchPanel``: a live table of a batch run, its totals, and a Cancel-all button.

The panel shows a batch's result frame (one row per pair, as ``run_batch`` returns it)
and re-renders on every change. It follows a batch running in the background, so the
kernel stays free and the button works while jobs run::

    panel = BatchPanel(client)
    panel.run(pairs, concurrency=2, ledger="batch-output/ledger.jsonl")  # returns at once
    panel                                    # a row per job; click "Cancel all" at any time
    df = panel.wait(600)                     # the final frame

or a run started elsewhere (``BatchPanel(start_batch(pairs, ...))``), or any code that
hands it frames: ``run_batch(pairs, on_update=panel.update)`` (a cell blocked in
``run_batch`` keeps the kernel busy, so clicks wait until it returns).

Cancel-all submits nothing more and cancels every job of the batch still ``created`` or
``processing``: through the run it follows (``BatchRun.cancel_all``), else itself with
the client, also cancelling jobs that appear afterwards, and setting
:attr:`BatchPanel.stop_requested` for code that checks it.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

import ipywidgets as widgets
import pandas as pd

from faceswap_nb._errors import FaceswapError
from faceswap_nb.client.models import Job
from faceswap_nb.widgets._batch_table import (
    ENDED,
    IN_FLIGHT,
    column,
    in_flight_ids,
    pending,
    statuses,
    table_html,
    totals_text,
)
from faceswap_nb.widgets._status import describe_error

if TYPE_CHECKING:
    from faceswap_nb.batch.background import BatchRun

__all__ = ["IN_FLIGHT", "BatchPanel", "in_flight_ids", "table_html", "totals_text"]


class CancelClient(Protocol):
    """What the panel needs of a client: ``faceswap_nb.Client.cancel``."""

    def cancel(self, job_id: str) -> Job: ...


def _classed(widget: widgets.DOMWidget, name: str) -> widgets.DOMWidget:
    widget.add_class(name)
    return widget


def _start_batch(pairs: Any, **options: Any) -> BatchRun:
    """``faceswap_nb.batch.background.start_batch``, imported when a panel first runs a batch."""
    from faceswap_nb.batch.background import start_batch

    return start_batch(pairs, **options)


def _cancelled_text(count: int) -> str:
    jobs = "job" if count == 1 else "jobs"
    return f"Cancel all: {count} {jobs} cancelled; no new jobs will be submitted"


def _is_run(value: object) -> bool:
    return hasattr(value, "add_listener") and hasattr(value, "cancel_all") and hasattr(value, "wait")


# -- the panel ------------------------------------------------------------------------


class BatchPanel(widgets.VBox):
    """A live view of one batch: a row per job, totals spent vs estimated, Cancel-all.

    Args:
        source: a client (Cancel-all and :meth:`run` use it; None calls
            :func:`faceswap_nb.connect` when first needed), a running ``BatchRun`` to
            follow, or a result frame to show.
        client: the client, when ``source`` is a run or a frame.
        max_rows: the most jobs the table lists (in-flight and failed ones first).

    Attributes:
        frame: the last frame shown (a copy), or None.
        batch: the ``BatchRun`` followed, or None.
        stop_requested: a ``threading.Event`` set by Cancel-all.
        canceled: the job ids Cancel-all cancelled.
    """

    def __init__(
        self,
        source: CancelClient | BatchRun | pd.DataFrame | None = None,
        *,
        client: CancelClient | None = None,
        max_rows: int = 50,
    ) -> None:
        frame, batch = None, None
        if isinstance(source, pd.DataFrame):
            frame = source
        elif _is_run(source):
            batch = source
        elif source is not None:
            client = source  # type: ignore[assignment]
        self._client = client
        self.max_rows = max_rows
        self.frame: pd.DataFrame | None = None
        self.batch: BatchRun | None = None
        self.stop_requested = threading.Event()
        self.canceled: list[str] = []
        self._lock = threading.RLock()  # update() runs in the batch's thread, clicks in the kernel's
        self.title = widgets.HTML("<b>Batch</b>: no jobs yet")
        self.totals = _classed(widgets.HTML(), "fsnb-batch-totals")
        self.progress = _classed(widgets.FloatProgress(value=0.0, min=0.0, max=1.0), "fsnb-batch-progress")
        self.table = _classed(widgets.HTML(), "fsnb-batch-table")
        self.message = _classed(widgets.HTML(), "fsnb-batch-message")
        self.cancel_all = _classed(
            widgets.Button(description="Cancel all", button_style="danger", disabled=True,
                           tooltip="cancel every job still running and submit no more"),
            "fsnb-batch-cancel",
        )
        self.cancel_all.on_click(self._on_cancel_all)
        super().__init__(
            children=[self.title, widgets.HBox([self.progress, self.cancel_all]), self.totals,
                      self.message, self.table],
            layout=widgets.Layout(width="100%"),
        )
        self.add_class("fsnb-batch")
        if frame is not None:
            self.update(frame)
        if batch is not None:
            self.follow(batch)

    def __repr__(self) -> str:
        frame = self.frame if self.frame is not None else pd.DataFrame()
        status = statuses(frame)
        return (
            f"BatchPanel(jobs={len(frame)}, completed={int((status == 'completed').sum())}, "
            f"in_flight={int(status.isin(IN_FLIGHT).sum())}, stop_requested={self.stop_requested.is_set()})"
        )

    @property
    def client(self) -> CancelClient:
        """The client for Cancel-all; :func:`faceswap_nb.connect` when none was given."""
        if self._client is None:
            from faceswap_nb._connect import connect

            self._client = connect()
        return self._client

    @property
    def running(self) -> bool:
        """Whether the batch this panel follows is still running."""
        return self.batch is not None and not self.batch.done

    # -- showing ----------------------------------------------------------------------

    def update(self, df: pd.DataFrame) -> None:
        """Show ``df``, the batch's current result frame (``run_batch``'s ``on_update``).

        Safe to call from any thread. After Cancel-all, when no ``BatchRun`` is followed
        (which would stop submitting itself), jobs in flight in ``df`` that were not
        cancelled yet are cancelled now.
        """
        with self._lock:
            self.frame = df.copy()
            late = [i for i in in_flight_ids(self.frame) if i not in self.canceled]
            if self.stop_requested.is_set() and self.batch is None and late:
                self._cancel(late)
            self._render()

    def _render(self) -> None:
        frame = self.frame if self.frame is not None else pd.DataFrame()
        status = statuses(frame)
        ended = int(status.isin(ENDED).sum())
        batch_ids = column(frame, "batch_id").dropna().astype(str).unique()
        name = f" <code>{html.escape(batch_ids[0])}</code>" if len(batch_ids) == 1 else ""
        self.title.value = f"<b>Batch</b>{name}: {len(frame)} jobs"
        self.totals.value = html.escape(totals_text(frame))
        self.progress.value = ended / len(frame) if len(frame) else 0.0
        self.progress.bar_style = "danger" if (status == "failed").any() else (
            "success" if len(frame) and ended == len(frame) else "info")
        self.table.value = table_html(frame, max_rows=self.max_rows)
        in_flight = bool(status.isin(IN_FLIGHT).any())
        waiting = self.running and (self.frame is None or pending(frame))
        self.cancel_all.disabled = self.stop_requested.is_set() or not (in_flight or waiting)

    def _say(self, text: str, *, error: bool = False) -> None:
        color = "#b00020" if error else "#444"
        self.message.value = f'<span style="color: {color}">{html.escape(text)}</span>' if text else ""

    # -- cancelling -------------------------------------------------------------------

    def _on_cancel_all(self, _button: widgets.Button | None = None) -> None:
        self.stop_requested.set()
        self.cancel_all.disabled = True
        if self.batch is not None:
            self._cancel_run(self.batch)
            return
        with self._lock:
            ids = in_flight_ids(self.frame) if self.frame is not None else []
            self._cancel([i for i in ids if i not in self.canceled])
            self._render()

    def _cancel_run(self, batch: BatchRun) -> None:
        """Cancel through the run, which stops submitting and cancels with its own client."""
        try:
            ids = batch.cancel_all()
        except (FaceswapError, TimeoutError) as exc:
            self._say(f"Cancel all: {describe_error(exc)}", error=True)
            return
        with self._lock:
            self.canceled.extend(i for i in ids if i not in self.canceled)
            self._say(_cancelled_text(len(ids)))
            self._render()

    def _cancel(self, job_ids: Iterable[str]) -> None:
        """Cancel each job; show how many were cancelled and the first error, if any."""
        errors: list[str] = []
        for job_id in job_ids:
            try:
                job = self.client.cancel(job_id)
            except FaceswapError as exc:
                errors.append(f"{job_id[:8]}: {describe_error(exc)}")
                continue
            self.canceled.append(job_id)
            self._mark(job_id, job.status)
        text = _cancelled_text(len(self.canceled))
        if errors:
            text += f" — {len(errors)} could not be cancelled ({errors[0]})"
        self._say(text, error=bool(errors))

    def _mark(self, job_id: str, status: str) -> None:
        """Show a cancel's answer at once (the batch's next update confirms it)."""
        frame = self.frame
        if frame is None or "status" not in frame.columns:
            return
        rows = (column(frame, "job_id").astype("string") == job_id).fillna(False)
        dtype = frame["status"].dtype
        if not isinstance(dtype, pd.CategoricalDtype) or status in dtype.categories:
            frame.loc[rows, "status"] = status

    # -- following a batch ----------------------------------------------------------------

    def follow(self, batch: BatchRun) -> BatchRun:
        """Show ``batch`` (a ``BatchRun``) as it runs; Cancel-all then cancels through it."""
        with self._lock:
            self.batch = batch
            self._render()
        batch.add_listener(self.update)
        return batch

    def run(self, pairs: Any, **options: Any) -> BatchRun:
        """Start the batch in the background (``start_batch``) and follow it; returns at once.

        Takes ``run_batch``'s options; ``client`` defaults to the panel's.
        :meth:`wait` returns the final frame.

        Raises:
            RuntimeError: a batch this panel follows is still running.
        """
        if self.running:
            raise RuntimeError("this panel is already following a running batch: wait() for it, "
                               "or press Cancel all")
        options.setdefault("client", self.client)
        self.stop_requested.clear()
        self.canceled.clear()
        return self.follow(_start_batch(pairs, **options))

    def wait(self, timeout: float | None = None) -> pd.DataFrame:
        """Block until the followed batch ends; show and return its final frame.

        Raises:
            RuntimeError: no batch is followed (call :meth:`run` or :meth:`follow`).
            TimeoutError: ``timeout`` seconds passed; the batch goes on, wait again later.
            whatever the batch raised (e.g. CostLimitExceeded, LedgerError); the panel
            shows it too.
        """
        if self.batch is None:
            raise RuntimeError("no batch is followed: call panel.run(pairs, ...) first")
        try:
            result = self.batch.wait(timeout)
        except (TimeoutError, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._say(describe_error(exc), error=True)
            with self._lock:
                self._render()
            raise
        self.update(result)
        return result
