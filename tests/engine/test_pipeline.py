"""The whole face swap: ``swap_video`` end to end, its refusals, and its per-face steps."""

from __future__ import annotations

import re
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from faceswap_nb import (
    InputTooLarge,
    InvalidImage,
    InvalidVideo,
    NoFaceInSource,
    NoFaceInVideo,
    OutputNotWritable,
)
from faceswap_nb.engine import SwapConfig, SwapReport, decode, swap_video
from faceswap_nb.engine.decode import Limits, read_frames
from faceswap_nb.engine.detect import FaceDetector
from faceswap_nb.engine.encode import is_marked_synthetic
from faceswap_nb.engine.pipeline import analyse_video
from tests.media import GRACE_HOPPER, astronaut, write_clip

SIDE = 320  # the generated clip: the astronaut at 320×320, 10 frames at 10 fps
FRAMES = 10
FACE_CENTRE = np.array([140.0, 75.0])  # the astronaut's face in the first 320×320 frame
STEP = np.array([2.0, 1.0])  # how far the picture moves each frame
NOSE_TIP = 4  # mesh point


def cut_clip(source: Path, out: Path, seconds: float) -> Path:
    """Copy (without re-encoding) the first ``seconds`` of a video and its audio."""
    with av.open(str(source)) as src, av.open(str(out), "w") as dst:
        streams = [s for s in (src.streams.video[0], *src.streams.audio[:1])]
        copies = {s.index: dst.add_stream_from_template(s) for s in streams}
        for packet in src.demux(streams):
            # Cutting in decode order keeps every reference frame a kept frame needs.
            if packet.dts is None or packet.dts * packet.time_base >= seconds:
                continue
            packet.stream = copies[packet.stream.index]
            dst.mux(packet)
    return out


def _moved(image: np.ndarray, k: int) -> np.ndarray:
    move = np.float32([[1, 0, STEP[0] * k], [0, 1, STEP[1] * k]])
    return cv2.warpAffine(image, move, image.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)


def _frames(path: Path) -> list[np.ndarray]:
    return [frame.image for frame in read_frames(path)]


def _timestamps(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(f.pts * f.time_base) for f in container.decode(video=0)]


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One second of the astronaut sliding slowly right and down."""
    folder = tmp_path_factory.mktemp("clip")
    image = astronaut(SIDE)
    return write_clip(folder / "astronaut.mp4", [_moved(image, k) for k in range(FRAMES)])


@pytest.fixture(scope="module")
def swapped(clip: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[SwapReport, Path, list[float]]:
    """The swap of Grace Hopper's face into the clip: report, output and progress calls."""
    out = tmp_path_factory.mktemp("out") / "swapped.mp4"
    calls: list[float] = []
    report = swap_video(clip, GRACE_HOPPER, out, progress=calls.append)
    return report, out, calls


@pytest.fixture
def grace_clip(tmp_path: Path) -> Path:
    """Four frames of Grace Hopper, in her glasses."""
    grace = cv2.resize(cv2.imread(str(GRACE_HOPPER)), (256, 300), interpolation=cv2.INTER_AREA)
    return write_clip(tmp_path / "grace.mp4", [grace] * 4)


@pytest.fixture
def smiling_photo(tmp_path: Path) -> Path:
    path = tmp_path / "smiling.png"
    cv2.imwrite(str(path), astronaut(SIDE))
    return path


@pytest.fixture
def noise_photo(tmp_path: Path) -> Path:
    path = tmp_path / "noise.png"
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8))
    return path


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("this is not a video nor a photo\n" * 20)
    return path


class TestSwapVideo:
    def test_writes_a_video_of_the_same_length_and_size(
        self, swapped: tuple[SwapReport, Path, list[float]]
    ) -> None:
        report, out, _ = swapped

        assert out.is_file()
        frames = _frames(out)
        assert len(frames) == FRAMES
        assert frames[0].shape == (SIDE, SIDE, 3)
        assert report.frames == FRAMES
        assert report.output == str(out)
        assert report.video_seconds == pytest.approx(1.0, abs=0.15)

    def test_swaps_the_face_in_every_frame(self, swapped: tuple[SwapReport, Path, list[float]]) -> None:
        report, _, _ = swapped

        assert report.frames_swapped == report.frames == FRAMES
        assert report.coverage == 1.0
        # A relaxed photo and a plain clip: only Grace Hopper's glasses are worth a word.
        assert len(report.warnings) == 1 and "wears glasses" in report.warnings[0]
        assert {"track", "warp", "light", "mask", "blend", "encode"} <= set(report.stage_seconds)

    def test_marks_the_output_as_synthetic(
        self, swapped: tuple[SwapReport, Path, list[float]], clip: Path
    ) -> None:
        _, out, _ = swapped

        assert is_marked_synthetic(out)
        assert not is_marked_synthetic(clip)

    def test_changes_the_face_and_not_the_background(
        self, swapped: tuple[SwapReport, Path, list[float]], clip: Path
    ) -> None:
        _, out, _ = swapped
        ys, xs = np.mgrid[:SIDE, :SIDE]

        for k, (before, after) in enumerate(zip(_frames(clip), _frames(out))):
            centre = FACE_CENTRE + STEP * k
            distance = np.hypot(xs - centre[0], ys - centre[1])
            change = np.abs(after.astype(int) - before.astype(int)).mean(axis=2)
            assert change[distance < 15].mean() > 8.0, f"frame {k}: face unchanged"
            assert change[distance > 60].mean() < 4.0, f"frame {k}: background changed"

    def test_reports_progress_up_to_done(self, swapped: tuple[SwapReport, Path, list[float]]) -> None:
        _, _, calls = swapped

        assert calls, "progress was never called"
        assert all(0.0 <= c <= 1.0 for c in calls)
        assert calls == sorted(calls)
        assert calls[-1] == pytest.approx(1.0)

    def test_a_phone_video_is_swapped_upright(self, tmp_path: Path) -> None:
        image = astronaut(SIDE)
        wide = np.hstack([image, np.full((SIDE, 64, 3), 90, np.uint8)])  # not square: a wrong turn shows
        upright = [_moved(wide, k) for k in range(4)]
        video = write_clip(tmp_path / "phone.mp4", upright, rotation=90)
        assert decode.probe(video).rotation == 90
        out = tmp_path / "swapped.mp4"

        report = swap_video(video, GRACE_HOPPER, out)

        assert report.frames_swapped == 4
        ys, xs = np.mgrid[:SIDE, : SIDE + 64]
        for k, (before, after) in enumerate(zip(upright, _frames(out), strict=True)):
            assert after.shape == before.shape
            distance = np.hypot(*(np.array([xs, ys]) - (FACE_CENTRE + STEP * k)[:, None, None]))
            change = np.abs(after.astype(int) - before.astype(int)).mean(axis=2)
            assert change[distance < 15].mean() > 8.0, f"frame {k}: face unchanged"
            assert change[distance > 60].mean() < 4.0, f"frame {k}: background changed"

    def test_frames_without_a_face_pass_through(self, tmp_path: Path) -> None:
        image = astronaut(256)
        frames = [np.full_like(image, 128)] * 4 + [image] * 4
        video = write_clip(tmp_path / "late.mp4", frames)
        out = tmp_path / "swapped.mp4"

        report = swap_video(video, GRACE_HOPPER, out)

        assert (report.frames, report.frames_swapped) == (8, 4)
        assert report.coverage == 0.5
        for before, after in list(zip(_frames(video), _frames(out)))[:4]:
            assert np.abs(after.astype(int) - before.astype(int)).max() < 8  # re-encoding only

    @pytest.mark.parametrize("advanced", [False, True])
    def test_rendering_in_the_decoders_planes_draws_what_rendering_in_bgr_draws(
        self, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, advanced: bool
    ) -> None:
        # The planes path converts only a window around the face: a read outside it
        # would see stale pixels and draw something else.
        in_planes = tmp_path / "planes.mp4"
        swap_video(clip, GRACE_HOPPER, in_planes, advanced=advanced)
        read_frames_as_bgr = decode.read_frames
        monkeypatch.setattr(decode, "read_frames", lambda *args, planes=False: read_frames_as_bgr(*args))
        in_bgr = tmp_path / "bgr.mp4"
        swap_video(clip, GRACE_HOPPER, in_bgr, advanced=advanced)

        ys, xs = np.mgrid[:SIDE, :SIDE]
        for k, (planes, bgr) in enumerate(zip(_frames(in_planes), _frames(in_bgr), strict=True)):
            centre = FACE_CENTRE + STEP * k
            face = np.hypot(xs - centre[0], ys - centre[1]) < 60
            difference = np.abs(planes.astype(int) - bgr.astype(int))[face]
            # The two convert colours a little differently, and x264 spreads that: ~3
            # levels on average, 99 % within 13. The face drawn a pixel off: 99 % within 18–20.
            assert difference.mean() < 4.5, f"frame {k}"
            assert np.percentile(difference, 99) < 16, f"frame {k}"

    def test_says_when_the_photo_smiles(self, clip: Path, smiling_photo: Path, tmp_path: Path) -> None:
        report = swap_video(clip, smiling_photo, tmp_path / "swapped.mp4")

        assert any("smiles broadly" in warning for warning in report.warnings)

    def test_says_when_the_target_wears_glasses_and_what_to_do(
        self, grace_clip: Path, smiling_photo: Path, tmp_path: Path
    ) -> None:
        report = swap_video(grace_clip, smiling_photo, tmp_path / "swapped.mp4")

        (warning,) = [warning for warning in report.warnings if "target wears glasses" in warning]
        assert "advanced" in warning

    def test_says_when_the_photos_face_is_much_smaller_than_the_videos(
        self, smiling_photo: Path, tmp_path: Path
    ) -> None:
        # Grace Hopper's face at the photo's full size, ~195 px; the astronaut's, ~63 px.
        grace = write_clip(tmp_path / "grace.mp4", [cv2.imread(str(GRACE_HOPPER))[:592]] * 4)

        report = swap_video(grace, smiling_photo, tmp_path / "swapped.mp4")

        (warning,) = [warning for warning in report.warnings if "enlarged" in warning]
        sizes = re.search(r"about (\d+) px wide and the video's up to (\d+) px: enlarged ([\d.]+)×", warning)
        assert sizes is not None, warning
        photo, video, enlarged = (float(n) for n in sizes.groups())
        assert 50 < photo < 80 and 170 < video < 220
        assert enlarged == pytest.approx(video / photo, abs=0.1)
        assert f"face {video:.0f} px wide or more" in warning  # what to do

    def test_says_nothing_of_the_targets_glasses_when_advanced_keeps_them(
        self, grace_clip: Path, smiling_photo: Path, tmp_path: Path
    ) -> None:
        report = swap_video(grace_clip, smiling_photo, tmp_path / "swapped.mp4", advanced=True)

        assert not [warning for warning in report.warnings if "glasses" in warning]

    def test_leaves_only_the_output_in_its_folder(
        self, swapped: tuple[SwapReport, Path, list[float]]
    ) -> None:
        _, out, _ = swapped

        assert _files(out.parent) == [out.name]


class TestAnalyseVideo:
    def test_gives_each_frame_the_face_the_swap_would_render(self, clip: Path) -> None:
        observations = analyse_video(clip)

        assert sorted(observations) == list(range(FRAMES))
        for k, faces in observations.items():
            (face,) = faces
            assert face.landmarks.shape == (470, 2) and face.rest is not None
            centre = FACE_CENTRE + STEP * k
            assert np.hypot(*(face.landmarks[NOSE_TIP] - centre)) < 20, f"frame {k}: not the astronaut's face"

    def test_refuses_what_swap_video_refuses(self, clip: Path, text_file: Path) -> None:
        with pytest.raises(ValueError, match="bogus"):
            analyse_video(clip, faces="bogus")
        with pytest.raises(InvalidVideo):
            analyse_video(text_file)


class TestSwapVideoRefusals:
    def test_a_video_without_a_face(self, tmp_path: Path) -> None:
        flat = [np.full((120, 160, 3), (40, 90, 160), np.uint8) for _ in range(5)]
        noise = [np.random.default_rng(k).integers(0, 256, (120, 160, 3), dtype=np.uint8)
                 for k in range(5)]  # fmt: skip
        video = write_clip(tmp_path / "empty.mp4", flat + noise)
        out = tmp_path / "out" / "swapped.mp4"
        out.parent.mkdir()

        with pytest.raises(NoFaceInVideo, match="empty.mp4"):
            swap_video(video, GRACE_HOPPER, out)

        assert _files(out.parent) == []  # no output, no partial file

    def test_a_photo_without_a_face(self, clip: Path, noise_photo: Path, tmp_path: Path) -> None:
        out = tmp_path / "swapped.mp4"

        with pytest.raises(NoFaceInSource):
            swap_video(clip, noise_photo, out)

        assert not out.exists()

    def test_a_text_file_as_the_video(self, text_file: Path, tmp_path: Path) -> None:
        out = tmp_path / "swapped.mp4"

        with pytest.raises(InvalidVideo, match="notes.txt"):
            swap_video(text_file, GRACE_HOPPER, out)

        assert not out.exists()

    def test_a_text_file_as_the_photo(self, clip: Path, text_file: Path, tmp_path: Path) -> None:
        out = tmp_path / "swapped.mp4"

        with pytest.raises(InvalidImage, match="notes.txt"):
            swap_video(clip, text_file, out)

        assert not out.exists()

    def test_an_output_in_a_missing_folder(self, clip: Path, tmp_path: Path) -> None:
        with pytest.raises(OutputNotWritable, match="does not exist"):
            swap_video(clip, GRACE_HOPPER, tmp_path / "missing" / "swapped.mp4")

        assert not (tmp_path / "missing").exists()

    def test_a_video_over_the_limits(self, clip: Path, tmp_path: Path) -> None:
        config = SwapConfig(limits=Limits(max_frames=FRAMES - 1))

        with pytest.raises(InputTooLarge):
            swap_video(clip, GRACE_HOPPER, tmp_path / "swapped.mp4", config=config)

        assert _files(tmp_path) == []

    def test_an_unknown_faces_choice(self, clip: Path, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="bogus"):
            swap_video(clip, GRACE_HOPPER, tmp_path / "swapped.mp4", faces="bogus")

        assert _files(tmp_path) == []


@pytest.mark.testdata
@pytest.mark.parametrize(("faces", "changed"), [("largest", 1), ("all", 2)])
def test_faces_chooses_how_many_people_are_replaced(
    testdata: Path, tmp_path: Path, faces: str, changed: int
) -> None:
    image = cv2.imread(str(testdata / "images" / "fr_two_people_obama_biden.jpg"))
    image = np.ascontiguousarray(image[: image.shape[0] // 2 * 2, : image.shape[1] // 2 * 2])
    video = write_clip(tmp_path / "two.mp4", [image] * 3)
    out = tmp_path / "swapped.mp4"
    people = FaceDetector()(image)

    report = swap_video(video, GRACE_HOPPER, out, faces=faces)

    assert report.frames_swapped == 3
    before, after = _frames(video)[1], _frames(out)[1]
    change = np.abs(after.astype(int) - before.astype(int)).mean(axis=2)
    face_changes = []
    for person in people:
        x0, y0, x1, y1 = (round(v) for v in person.box)
        face_changes.append(change[y0:y1, x0:x1].mean())
    assert sum(c > 5.0 for c in face_changes) == changed, face_changes
    if faces == "largest":
        assert face_changes[0] > 5.0  # the detector lists the larger face first


@pytest.mark.testdata
def test_swaps_a_real_talking_head_in_nearly_every_frame(
    talking_clip: Path, source_photo: Path, tmp_path: Path
) -> None:
    short = cut_clip(talking_clip, tmp_path / "talking.mp4", seconds=1.5)
    out = tmp_path / "swapped.mp4"

    report = swap_video(short, source_photo, out)

    assert report.frames >= 25
    assert report.frames_swapped / report.frames >= 0.98
    assert is_marked_synthetic(out)
    assert _timestamps(out) == pytest.approx(_timestamps(short), abs=1e-3)  # VFR kept
    with av.open(str(out)) as container:
        assert container.streams.audio, "the talking clip's audio was dropped"


