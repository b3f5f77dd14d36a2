"""The model files that ship with the package, and the LiteRT sessions that run them.

The files are MediaPipe's (Apache-2.0), copied from the ``mediapipe==0.10.21`` wheel
(see ``assets/NOTICE``); ``assets/MANIFEST.json`` records their sha256, checked once per
process so a damaged install fails loudly instead of producing garbage faces.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from faceswap_nb._errors import ModelFilesMissing

ASSETS = Path(__file__).resolve().parent / "assets"

FACE_DETECTOR = "face_detection_full_range_sparse.tflite"
FACE_MESH = "face_landmark.tflite"
PALM_DETECTOR = "palm_detection_lite.tflite"
HAND_LANDMARKS = "hand_landmark_lite.tflite"
IRIS_LANDMARKS = "iris_landmark.tflite"
MESH_TRIANGLES = "face_mesh_triangles.npy"

ANALYSIS_THREADS = 1
"""Threads for each face model. The analysis pass already runs decoding, the mesh and
the iris model in three threads of their own; a second thread per model only made them
compete for the 2 cores. (Both changes together, speed benchmark: 720p swap ÷ the
engine's I/O-path transcode 1.86 → 1.73 full-frame, 2.75 → 2.34 letterboxed.)"""


@functools.cache
def asset_path(name: str) -> Path:
    """Path of a shipped asset, verified against the manifest's sha256.

    Raises:
        ModelFilesMissing: the file is absent or its checksum differs.
    """
    path = ASSETS / name
    try:
        expected = json.loads((ASSETS / "MANIFEST.json").read_text())["files"][name]
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
    except (OSError, KeyError, ValueError) as exc:
        raise ModelFilesMissing(
            f"model file {name} is missing from {ASSETS} ({exc}); reinstall faceswap_nb"
        ) from exc
    if actual != expected:
        raise ModelFilesMissing(
            f"model file {name} is damaged (sha256 {actual[:12]}…, expected "
            f"{expected[:12]}…); reinstall faceswap_nb or run scripts/extract_assets.py"
        )
    return path


@functools.lru_cache(maxsize=1)
def mesh_triangles() -> NDArray[np.int32]:
    """(T, 3) vertex indices of the 468-point face mesh's triangles."""
    return np.load(asset_path(MESH_TRIANGLES)).astype(np.int32)


def mesh_triangles_near(vertices: tuple[int, ...], layers: int = 1) -> NDArray[np.bool_]:
    """Which of ``mesh_triangles()`` touch any of ``vertices``; each further layer adds
    the triangles touching those."""
    triangles = mesh_triangles()
    near = np.isin(triangles, vertices).any(axis=1)
    for _ in range(layers - 1):
        near = np.isin(triangles, triangles[near]).any(axis=1)
    return near


_runtime_started = False


@contextlib.contextmanager
def _quiet_first_start() -> Iterator[None]:
    """Hide LiteRT's one-off "Created TensorFlow Lite XNNPACK delegate" line.

    The runtime's C++ logger writes it straight to file descriptor 2 when the first
    interpreter of the process starts; it would land in the middle of the CLI's progress
    bar. Only that first start is silenced, so nobody else's output can be lost later.
    """
    global _runtime_started
    if _runtime_started:
        yield
        return
    _runtime_started = True
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


class TFLiteModel:
    """One LiteRT interpreter with a single image input.

    Interpreters are not thread-safe; each worker thread builds its own.
    """

    def __init__(self, name: str, *, num_threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.name = name
        with _quiet_first_start():
            self._interpreter = Interpreter(model_path=str(asset_path(name)), num_threads=num_threads)
            self._interpreter.allocate_tensors()
        detail = self._interpreter.get_input_details()[0]
        self._input_index = detail["index"]
        self.input_size = (int(detail["shape"][2]), int(detail["shape"][1]))
        self._outputs = [d["index"] for d in self._interpreter.get_output_details()]

    def __call__(self, tensor: NDArray[np.float32]) -> list[NDArray[np.float32]]:
        """Run the model on a (1, H, W, 3) float32 tensor; returns every output."""
        self._interpreter.set_tensor(self._input_index, tensor)
        self._interpreter.invoke()
        return [self._interpreter.get_tensor(i) for i in self._outputs]

    def __repr__(self) -> str:
        return f"TFLiteModel({self.name!r}, input={self.input_size})"
