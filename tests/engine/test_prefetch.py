"""Working ahead in a background thread: order, errors and stopping."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from faceswap_nb import InvalidVideo
from faceswap_nb.engine.prefetch import prefetched
from faceswap_nb.engine.types import Frame


class TestPrefetched:
    def test_frames_arrive_in_order(self) -> None:
        frames = [Frame(i, np.zeros((2, 2, 3), np.uint8), i) for i in range(20)]
        assert [f.index for f in prefetched(iter(frames), depth=2)] == list(range(20))

    def test_a_decode_error_reaches_the_caller(self) -> None:
        def failing():
            yield Frame(0, np.zeros((2, 2, 3), np.uint8), 0)
            raise InvalidVideo("cut short")

        received = []
        with pytest.raises(InvalidVideo, match="cut short"):
            for frame in prefetched(failing()):
                received.append(frame.index)
        assert received == [0]

    def test_stopping_early_stops_the_decoding_thread(self) -> None:
        produced = []

        def endless():
            index = 0
            while True:
                produced.append(index)
                yield Frame(index, np.zeros((2, 2, 3), np.uint8), index)
                index += 1

        stream = prefetched(endless(), depth=2)
        assert next(stream).index == 0
        stream.close()
        count = len(produced)
        assert count < 10
        assert not any(t.name == "faceswap-prefetch" for t in threading.enumerate())
