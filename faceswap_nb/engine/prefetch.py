"""Work ahead in a background thread: a bounded hand-off between pipeline stages."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")


def prefetched(items: Iterator[T], depth: int = 4, *, name: str = "faceswap-prefetch") -> Iterator[T]:
    """Produce ``items`` in a background thread while the caller works on earlier ones.

    PyAV, OpenCV and NumPy release the GIL in their heavy calls, so this overlaps
    decoding, rendering and encoding; ``depth`` bounds the items held in memory.
    Errors reach the caller; closing the iterator stops the thread.
    """
    handoff: queue.Queue[T | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        handoff.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put(None)
        except BaseException as error:  # noqa: BLE001 - handed over and re-raised below
            handoff.put(error)

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while (item := handoff.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()
