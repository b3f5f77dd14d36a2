"""The source face: the photo's largest face, cropped, with its mesh."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from faceswap_nb import NoFaceInSource
from faceswap_nb.engine import source
from faceswap_nb.engine.landmarks import face_width
from faceswap_nb.engine.source import FOLD_BAND, SourceFace, lift_smile_folds
from faceswap_nb.engine.topology import (
    LEFT_EYE_CORNER,
    LEFT_EYE_RING,
    MOUTH_CORNERS,
    RIGHT_EYE_CORNER,
    RIGHT_EYE_RING,
    SMILE_FOLDS,
)
from faceswap_nb.engine.types import FaceObservation
from tests.engine.conftest import with_eyes_painted_shut
from tests.media import GRACE_HOPPER

NOSE_TIP, FOREHEAD_TOP, CHIN = 4, 10, 152  # mesh points
CHEEK_EDGES = (234, 454)  # the outline beside each eye, the subject's right then left


def _at(image: np.ndarray, point: np.ndarray) -> float:
    return float(image[round(point[1]), round(point[0])])


class TestSourceFace:
    def test_crops_the_photo_around_its_face(self, grace_source: SourceFace) -> None:
        height, width = grace_source.image.shape[:2]
        points = grace_source.points

        assert grace_source.image.dtype == np.uint8 and grace_source.image.flags.c_contiguous
        assert points.shape == (470, 2) and points.dtype == np.float32  # the mesh, then the irises
        assert np.all(points >= 0) and np.all(points <= [width, height])
        # A margin around the face, not the whole photo (512×600).
        assert 1.1 < width / np.ptp(points[:, 0]) < 1.6
        assert width < 512 and height < 600

    def test_downscales_a_large_face_with_its_points(self, grace_source: SourceFace) -> None:
        small = SourceFace.from_image(cv2.imread(str(GRACE_HOPPER)), max_face=100)

        assert max(small.image.shape[:2]) <= 101
        scale = small.image.shape[1] / grace_source.image.shape[1]
        np.testing.assert_allclose(small.points, grace_source.points * scale, atol=1.5)

    def test_knows_the_faces_width_in_the_photos_own_pixels(self, grace_source: SourceFace) -> None:
        small = SourceFace.from_image(cv2.imread(str(GRACE_HOPPER)), max_face=100)

        assert grace_source.photo_scale == 1.0  # Grace Hopper's face fits in 480 px
        assert small.photo_scale < 0.5
        # Downscaling the crop does not make the photo's face any smaller.
        assert small.width_in_photo == pytest.approx(grace_source.width_in_photo, rel=0.02)

    def test_a_face_drawn_small_is_sampled_from_a_halving_still_as_wide(self, grace_source: SourceFace) -> None:
        width = face_width(grace_source.points)

        for drawn, scale in [(2 * width, 1.0), (0.6 * width, 1.0), (0.45 * width, 0.5), (0.2 * width, 0.25)]:
            image, interior, got = grace_source.at_width(drawn)
            assert got == scale, f"drawn at {drawn / width:.2f} of the photo's width"
            assert image.shape[:2] == interior.shape
            assert abs(image.shape[1] - grace_source.image.shape[1] * scale) <= 1

    def test_a_halving_keeps_the_points_on_their_features(self, grace_source: SourceFace) -> None:
        def centroid(mask: np.ndarray) -> np.ndarray:
            ys, xs = np.indices(mask.shape)
            return np.array([(xs * mask).sum(), (ys * mask).sum()]) / mask.sum()

        full = centroid(grace_source.interior)
        for drawn in (0.4, 0.2):
            _, interior, scale = grace_source.at_width(drawn * face_width(grace_source.points))
            # Off by the usual half-pixel convention, it would miss by 0.25–0.4 px.
            np.testing.assert_allclose(centroid(interior), full * scale, atol=0.1)

    def test_the_interior_fades_from_the_outline_in(self, grace_source: SourceFace) -> None:
        interior, points = grace_source.interior, grace_source.points

        assert interior.shape == grace_source.image.shape[:2] and interior.dtype == np.float32
        for deep in (NOSE_TIP, *MOUTH_CORNERS):
            x, y = np.round(points[deep]).astype(int)
            assert interior[y, x] == 1.0
        for rim in (FOREHEAD_TOP, CHIN):  # on the mesh's outline: the photo's ears, hair
            x, y = np.round(points[rim]).astype(int)
            assert interior[y, x] < 0.05
        assert interior[0, 0] == 0.0
        width = np.ptp(points[:, 0])
        assert 0.0 < interior[interior < 1.0].max() and (interior == 1.0).sum() > 0.5 * width**2

    def test_in_the_outline_band_what_is_not_skin_is_left_out(self, grace_source: SourceFace) -> None:
        points = grace_source.points
        width = np.ptp(points[:, 0])
        nose = points[NOSE_TIP]
        # Just inside the outline on either cheek: in the band that fades in.
        near, far = (points[edge] + 0.03 * width * (nose - points[edge]) / np.linalg.norm(nose - points[edge])
                     for edge in CHEEK_EDGES)
        painted = grace_source.image.copy()
        cv2.circle(painted, tuple(np.round(near).astype(int)), round(0.015 * width), (40, 200, 40), -1)

        plain, green = SourceFace.from_image(grace_source.image), SourceFace.from_image(painted)

        assert 0.2 < _at(plain.interior, near) < 1.0
        assert _at(green.interior, near) == 0.0
        assert _at(green.interior, far) == pytest.approx(_at(plain.interior, far), abs=0.05)

    def test_refuses_a_photo_without_a_face(self) -> None:
        noise = np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)

        with pytest.raises(NoFaceInSource, match="no face"):
            SourceFace.from_image(noise)


class TestSmileFolds:
    def test_a_dark_crease_along_a_fold_is_lifted(self, grace_source: SourceFace) -> None:
        image, points = grace_source.image, grace_source.points
        width = np.ptp(points[:, 0])
        line = np.zeros(image.shape[:2], np.uint8)
        fold = np.round(points[list(SMILE_FOLDS[0])]).astype(np.int32)
        cv2.polylines(line, [fold], False, 1, thickness=int(0.03 * width))
        # A deep smile fold: dark in the middle, soft at its sides.
        shadow = cv2.GaussianBlur(line.astype(np.float32), (0, 0), 0.01 * width)
        creased = (image * (1.0 - 0.4 * shadow[..., None])).astype(np.uint8)

        lifted = lift_smile_folds(creased, points)

        on_line = line > 0
        darkened = (image[on_line].astype(float) - creased[on_line]).mean()
        left = (image[on_line].astype(float) - lifted[on_line]).mean()
        # Back to the skin's own brightness, on average: her wrinkles are lifted too.
        assert darkened > 30 and abs(left) < 0.25 * darkened

    def test_only_brightens_and_only_near_the_folds(self, grace_source: SourceFace) -> None:
        image, points = grace_source.image, grace_source.points

        lifted = lift_smile_folds(image, points)

        assert lifted.dtype == np.uint8 and lifted.shape == image.shape
        assert np.all(lifted >= image)
        # Twice the band from the nearest fold point nothing moves: here, above the eyes.
        eyes = int(min(points[RIGHT_EYE_CORNER][1], points[LEFT_EYE_CORNER][1]))
        top = min(points[list(fold)][:, 1].min() for fold in SMILE_FOLDS)
        assert top - eyes > 0 and eyes > 2 * FOLD_BAND * np.ptp(points[:, 0])
        np.testing.assert_array_equal(lifted[:eyes], image[:eyes])

    def test_only_a_broadly_smiling_photo_is_lifted(self, monkeypatch: pytest.MonkeyPatch) -> None:
        lifted: list[tuple[int, ...]] = []

        def recording(image: np.ndarray, points: np.ndarray) -> np.ndarray:
            lifted.append(image.shape)
            return image

        monkeypatch.setattr(source, "lift_smile_folds", recording)
        SourceFace.from_image(cv2.imread(str(GRACE_HOPPER)))  # a relaxed mouth: her folds are her own
        assert lifted == []
        SourceFace.from_image(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
        assert len(lifted) == 1


class TestPhotoWarnings:
    def test_a_relaxed_face_gets_no_word_on_its_expression(self, grace_source: SourceFace) -> None:
        assert not [warning for warning in grace_source.warnings if "mouth" in warning]

    def test_a_broad_smile_is_named_with_what_to_do(self) -> None:
        astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)  # Eileen Collins, smiling

        (warning,) = SourceFace.from_image(astronaut).warnings

        assert "smiles broadly" in warning and "relaxed, closed mouth" in warning

    def test_an_open_mouth_is_named(self, grace_source: SourceFace) -> None:
        points = grace_source.points.copy()
        points[14] += [0.0, 0.3 * np.ptp(points[:, 0])]  # drop the lower lip: mouth open
        opened = SourceFace(grace_source.image, points, grace_source.depth, grace_source.interior)

        (warning,) = [warning for warning in opened.warnings if "mouth" in warning]

        assert "has its mouth open" in warning and "smiles" not in warning

    def test_shut_eyes_are_named_with_what_to_do_and_open_ones_are_not(
        self, astronaut_face: tuple[np.ndarray, FaceObservation]
    ) -> None:
        frame, face = astronaut_face
        open_eyes = SourceFace.from_image(frame)
        shut = SourceFace.from_image(with_eyes_painted_shut(frame, face.landmarks))

        assert open_eyes.shut_eyes == () and not [w for w in open_eyes.warnings if "eyes" in w]
        assert shut.shut_eyes == (RIGHT_EYE_RING, LEFT_EYE_RING)
        (warning,) = [w for w in shut.warnings if "eyes" in w]
        assert "eyes shut" in warning and "a photo with open eyes" in warning

    def test_glasses_are_named_with_what_to_do(self, grace_source: SourceFace) -> None:
        (warning,) = [warning for warning in grace_source.warnings if "glasses" in warning]

        assert "wears glasses" in warning and "a photo without glasses" in warning
