"""A batch running in the background: watch it, wait for it, cancel it.

``start_batch(...)`` returns at once with a :class:`BatchRun`; the batch runs on its
own event loop in a worker thread, so a notebook cell can go on (a live table such as
``BatchPanel`` watches ``run.frame``) while ``run.wait()`` blocks when the result is
needed. :func:`~faceswap_nb.batch.run.run_batch` is ``start_batch(...).wait()``.

Nothing here touches the kernel's own loop (no ``nest_asyncio``): Jupyter's running
loop stays free, and the worker thread's loop exists only for the batch.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import pandas as pd

from faceswap_nb.batch.run import BatchControl, arun_batch

__all__ = ["BatchRun", "start_batch"]

_JOIN_STEP = 0.2


def start_batch(pairs: pd.DataFrame | Iterable[Any], **options: Any) -> BatchRun:
    """Start a batch in the background; takes the arguments of ``arun_batch``."""
    return BatchRun(pairs, **options)


class BatchRun:
    """One batch running in a worker thread (see :func:`start_batch`).

    Attributes:
        frame: the latest result table (None until the run's first update).
        done: whether the run has ended (finished, failed or stopped).
    """

    def __init__(
        self,
        pairs: pd.DataFrame | Iterable[Any],
        *,
        on_update: Callable[[pd.DataFrame], object] | None = None,
        **options: Any,
    ) -> None:
        self.frame: pd.DataFrame | None = None
        self.control = BatchControl()
        self._listeners: list[Callable[[pd.DataFrame], object]] = [on_update] if on_update else []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[pd.DataFrame] | None = None
        self._stop_requested = False
        self._finished = threading.Event()
        self._result: pd.DataFrame | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._main, args=(pairs, options), name="faceswap-nb-batch", daemon=True
        )
        self._thread.start()

    def __repr__(self) -> str:
        state = "done" if self.done else "running"
        rows = "no table yet" if self.frame is None else f"{len(self.frame)} pairs"
        return f"BatchRun({state}, {rows})"

    @property
    def done(self) -> bool:
        """Whether the run has ended."""
        return self._finished.is_set()

    def add_listener(self, listener: Callable[[pd.DataFrame], object]) -> None:
        """Also call ``listener(frame)`` on every update, from the worker thread.

        It is called at once with the latest table, if there is one (so a plain
        function here; ``on_update`` may also be ``async``).
        """
        self._listeners.append(listener)
        if self.frame is not None:
            listener(self.frame)

    def wait(self, timeout: float | None = None) -> pd.DataFrame:
        """Block until the run ends and return its table; re-raise its error if it failed.

        An interrupt (Ctrl-C, "interrupt kernel") stops the run first (see :meth:`stop`).

        Raises:
            TimeoutError: ``timeout`` seconds passed; the run goes on.
        """
        try:
            self._finished_within(timeout)
        except KeyboardInterrupt:
            self.stop()
            raise
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the run: nothing more is submitted or polled; jobs go on on the server.

        Run again with the same ledger to re-attach to them.
        """
        with self._lock:
            self._stop_requested = True
            if self._loop is not None and self._task is not None:
                self._loop.call_soon_threadsafe(self._task.cancel)
        self._finished.wait(timeout)

    def cancel_all(self, timeout: float = 60.0) -> list[str]:
        """Submit nothing more and cancel the batch's jobs in flight; their ids.

        The run then ends once the server has ended those jobs (``canceled`` rows).
        """
        with self._lock:
            loop = self._loop
        if loop is None or self.done:
            return []
        future = asyncio.run_coroutine_threadsafe(self.control.cancel_all(), loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise TimeoutError(f"canceling the batch's jobs took over {timeout:g} s") from None

    def _finished_within(self, timeout: float | None) -> None:
        # Short waits, so that an interrupt reaches this thread promptly.
        remaining = timeout
        while not self._finished.wait(
            _JOIN_STEP if remaining is None else min(_JOIN_STEP, remaining)
        ):
            if remaining is not None:
                remaining -= _JOIN_STEP
                if remaining <= 0:
                    raise TimeoutError(f"the batch is still running after {timeout:g} s")

    def _main(self, pairs: Any, options: dict[str, Any]) -> None:
        try:
            self._result = asyncio.run(self._run(pairs, options))
        except BaseException as exc:  # noqa: BLE001 - handed to wait(), in the caller's thread
            self._error = exc
        finally:
            self._finished.set()

    async def _run(self, pairs: Any, options: dict[str, Any]) -> pd.DataFrame:
        with self._lock:
            if self._stop_requested:
                raise asyncio.CancelledError
            self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()  # type: ignore[assignment]
        return await arun_batch(pairs, on_update=self._updated, control=self.control, **options)

    async def _updated(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        for listener in list(self._listeners):
            result = listener(frame)
            if inspect.isawaitable(result):  # an ``async def`` on_update runs on the batch's loop
                await result
