"""Fixtures shared by the engine's tests: public-domain faces that ship in packages, and
meshes drawn the way the tests need them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceswap_nb.engine.detect import FaceDetector
from faceswap_nb.engine.eyes import EyeRefiner, eyelid_triangles
from faceswap_nb.engine.landmarks import FaceMesh, roi_from_detection, roi_from_landmarks
from faceswap_nb.engine.source import SourceFace
from faceswap_nb.engine.topology import LEFT_EYE_RING, RIGHT_EYE_RING
from faceswap_nb.engine.types import FaceObservation
from tests.media import GRACE_HOPPER, astronaut


@pytest.fixture(scope="module")
def grace_source() -> SourceFace:
    return SourceFace.from_image(cv2.imread(str(GRACE_HOPPER)))


@pytest.fixture(scope="module")
def astronaut_face() -> tuple[np.ndarray, FaceObservation]:
    """The 512×512 astronaut frame and its face as the tracker would report it (eyes
    refined, iris centres added)."""
    frame = astronaut()
    mesh = FaceMesh()
    first = mesh(frame, roi_from_detection(FaceDetector()(frame)[0]))
    assert first is not None
    found = mesh(frame, roi_from_landmarks(first[0]))
    assert found is not None
    return frame, FaceObservation(0, EyeRefiner()(frame, found[0]), found[1])


def with_tall_lids(points: np.ndarray, lift: float) -> np.ndarray:
    """``points`` with the mesh points over both upper lids raised by ``lift`` eye widths,
    as a mesh that places the lid's far edge high draws them."""
    raised = points.copy()
    for ring in (RIGHT_EYE_RING, LEFT_EYE_RING):
        over_lid = np.setdiff1d(eyelid_triangles(ring, upper_only=True), ring)
        raised[over_lid, 1] -= lift * np.hypot(*(points[ring[0]] - points[ring[8]]))
    return raised


def with_eye_opening(
    points: np.ndarray, factor: float, rings: tuple[tuple[int, ...], ...] = (RIGHT_EYE_RING, LEFT_EYE_RING)
) -> np.ndarray:
    """``points`` with the eye ``rings`` squeezed vertically towards their corner line
    (``factor`` 0: shut, 1: as they were)."""
    squeezed = points.copy()
    for ring in rings:
        eye = list(ring)
        middle = (points[ring[0], 1] + points[ring[8], 1]) / 2
        squeezed[eye, 1] = middle + factor * (points[eye, 1] - middle)
    return squeezed


def with_eyes_painted_shut(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``image`` with both eyes of the face whose mesh is ``points`` painted over with
    lid-coloured skin and a dark lash line: shut, as far as a model can tell."""
    closed = image.copy()
    for ring in (RIGHT_EYE_RING, LEFT_EYE_RING):
        x0, y0 = points[list(ring)].min(0).astype(int) - 3
        x1, y1 = points[list(ring)].max(0).astype(int) + 3
        closed[y0:y1, x0:x1] = image[y0 - 12 : y0 - 4, x0:x1].mean(axis=(0, 1))
        cv2.line(closed, (x0, (y0 + y1) // 2 + 2), (x1, (y0 + y1) // 2 + 2), (40, 30, 30), 2)
    return closed
