"""Rebuild ``faceswap_nb/engine/assets`` from the MediaPipe wheel on PyPI.

The engine ships MediaPipe's model files as package data so that it runs offline
right after ``pip install``. This script documents and repeats where they come
from: it downloads the pinned wheel with pip (a registry, never a model hub),
extracts the files, derives the face-mesh triangle list from the wheel's edge list,
and checks every file against the sha256 recorded in ``assets/MANIFEST.json``.

Usage: ``python scripts/extract_assets.py [--check]``
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

WHEEL = "mediapipe==0.10.21"
ASSETS = Path(__file__).resolve().parent.parent / "faceswap_nb" / "engine" / "assets"
MODELS = {
    "face_detection_full_range_sparse.tflite": "mediapipe/modules/face_detection/",
    "face_landmark.tflite": "mediapipe/modules/face_landmark/",
    "selfie_segmentation.tflite": "mediapipe/modules/selfie_segmentation/",
    "palm_detection_lite.tflite": "mediapipe/modules/palm_detection/",
    "hand_landmark_lite.tflite": "mediapipe/modules/hand_landmark/",
    "iris_landmark.tflite": "mediapipe/modules/iris_landmark/",
}
CONNECTIONS = "mediapipe/python/solutions/face_mesh_connections.py"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _triangles(connections_py: Path) -> np.ndarray:
    """Every 3-cycle of the tessellation's edge graph: the mesh's triangles."""
    spec = importlib.util.spec_from_file_location("face_mesh_connections", connections_py)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    neighbours: dict[int, set[int]] = {}
    for a, b in module.FACEMESH_TESSELATION:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    found = {
        tuple(sorted((a, b, c)))
        for a, b in module.FACEMESH_TESSELATION
        for c in neighbours[a] & neighbours[b]
    }
    return np.array(sorted(found), dtype=np.int16)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only verify the checked-in files")
    args = parser.parse_args()
    manifest = json.loads((ASSETS / "MANIFEST.json").read_text())
    if not args.check:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", WHEEL, "-d", tmp],
                check=True,
            )
            wheel = next(Path(tmp).glob("mediapipe-*.whl"))
            with zipfile.ZipFile(wheel) as archive:
                for name, folder in MODELS.items():
                    (ASSETS / name).write_bytes(archive.read(folder + name))
                connections = Path(tmp) / "face_mesh_connections.py"
                connections.write_bytes(archive.read(CONNECTIONS))
                np.save(ASSETS / "face_mesh_triangles.npy", _triangles(connections))
    bad = [n for n, digest in manifest["files"].items() if _sha256(ASSETS / n) != digest]
    for name in bad:
        print(f"sha256 mismatch: {name}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
