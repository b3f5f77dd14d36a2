"""The shipped model files: checksum verification and the face mesh's triangles."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from faceswap_nb import ModelFilesMissing
from faceswap_nb.engine import models
from faceswap_nb.engine.topology import INNER_LIPS_RING, LEFT_EYE_RING, RIGHT_EYE_RING

# The holes of the 468-point mesh, as closed rings of vertex indices (in order).
HOLES = {
    "inner lips": list(INNER_LIPS_RING),
    "right eye": list(RIGHT_EYE_RING),
    "left eye": list(LEFT_EYE_RING),
}

SHIPPED = models.ASSETS  # captured before any test points ASSETS elsewhere


@pytest.fixture
def fake_assets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty assets folder holding only a copy of the real manifest."""
    shutil.copy(models.ASSETS / "MANIFEST.json", tmp_path / "MANIFEST.json")
    models.asset_path.cache_clear()
    monkeypatch.setattr(models, "ASSETS", tmp_path)
    yield tmp_path
    # The cache must not keep answers (or paths) from the fake folder.
    models.asset_path.cache_clear()


def _edge_counts(triangles: np.ndarray) -> Counter[frozenset[int]]:
    counts: Counter[frozenset[int]] = Counter()
    for a, b, c in triangles.tolist():
        counts.update([frozenset((a, b)), frozenset((b, c)), frozenset((c, a))])
    return counts


class TestAssetPath:
    def test_returns_an_existing_file_in_the_shipped_assets(self) -> None:
        path = models.asset_path(models.FACE_MESH)

        assert path == models.ASSETS / models.FACE_MESH
        assert path.is_file()

    @pytest.mark.parametrize(
        "name",
        [models.FACE_DETECTOR, models.FACE_MESH, models.MESH_TRIANGLES,
         models.PALM_DETECTOR, models.HAND_LANDMARKS],
    )  # fmt: skip
    def test_every_shipped_model_matches_its_checksum(self, name: str) -> None:
        assert models.asset_path(name).is_file()

    def test_a_damaged_copy_is_refused(self, fake_assets: Path) -> None:
        data = bytearray((SHIPPED / models.MESH_TRIANGLES).read_bytes())
        data[-1] ^= 0xFF
        (fake_assets / models.MESH_TRIANGLES).write_bytes(bytes(data))

        with pytest.raises(ModelFilesMissing, match="damaged") as caught:
            models.asset_path(models.MESH_TRIANGLES)
        assert models.MESH_TRIANGLES in str(caught.value)
        assert caught.value.code == "model_files_missing"

    def test_an_intact_copy_elsewhere_is_accepted(self, fake_assets: Path) -> None:
        shutil.copy(SHIPPED / models.MESH_TRIANGLES, fake_assets / models.MESH_TRIANGLES)

        assert models.asset_path(models.MESH_TRIANGLES) == fake_assets / models.MESH_TRIANGLES

    def test_a_missing_file_is_refused_with_its_name(self, fake_assets: Path) -> None:
        with pytest.raises(ModelFilesMissing, match="missing") as caught:
            models.asset_path(models.FACE_DETECTOR)

        assert models.FACE_DETECTOR in str(caught.value)

    def test_a_name_absent_from_the_manifest_is_refused(self, fake_assets: Path) -> None:
        (fake_assets / "extra.tflite").write_bytes(b"not a model")

        with pytest.raises(ModelFilesMissing, match="extra.tflite"):
            models.asset_path("extra.tflite")


class TestMeshTriangles:
    def test_is_a_t_by_3_integer_array(self) -> None:
        triangles = models.mesh_triangles()

        assert triangles.ndim == 2 and triangles.shape[1] == 3
        assert triangles.shape[0] > 800
        assert triangles.dtype == np.int32

    def test_indices_address_the_468_point_mesh(self) -> None:
        triangles = models.mesh_triangles()

        assert triangles.min() >= 0
        assert triangles.max() < 468
        assert len(np.unique(triangles)) == 468

    def test_no_triangle_repeats_a_vertex(self) -> None:
        triangles = models.mesh_triangles()

        assert np.all(triangles[:, 0] != triangles[:, 1])
        assert np.all(triangles[:, 1] != triangles[:, 2])
        assert np.all(triangles[:, 2] != triangles[:, 0])

    @pytest.mark.parametrize("hole", HOLES, ids=list(HOLES))
    def test_no_triangle_fills_a_hole(self, hole: str) -> None:
        ring = set(HOLES[hole])

        inside = [t for t in models.mesh_triangles().tolist() if set(t) <= ring]

        assert inside == []

    @pytest.mark.parametrize("hole", HOLES, ids=list(HOLES))
    def test_each_hole_ring_is_a_boundary_of_the_mesh(self, hole: str) -> None:
        # An edge used by one triangle only borders the mesh: the ring encloses a hole.
        ring = HOLES[hole]
        counts = _edge_counts(models.mesh_triangles())

        uses = [counts[frozenset((a, b))] for a, b in zip(ring, ring[1:] + ring[:1])]

        assert uses == [1] * len(ring)


class TestMeshTrianglesNear:
    def test_the_first_layer_is_the_triangles_touching_the_vertices(self) -> None:
        triangles = models.mesh_triangles()

        near = models.mesh_triangles_near(INNER_LIPS_RING)

        assert near.shape == (len(triangles),) and near.any()
        assert all(bool(set(t) & set(INNER_LIPS_RING)) == hit for t, hit in zip(triangles.tolist(), near))

    def test_each_layer_adds_the_triangles_touching_the_last(self) -> None:
        triangles = models.mesh_triangles()
        first, second = (models.mesh_triangles_near(INNER_LIPS_RING, layers) for layers in (1, 2))

        assert np.all(second[first]) and second.sum() > first.sum()
        touched = set(triangles[first].ravel().tolist())
        assert all(set(t) & touched for t in triangles[second].tolist())
