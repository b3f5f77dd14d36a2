"""decode: what the engine accepts as a target video or a source photo, and how it reads them.

Videos are generated in ``tmp_path`` with PyAV directly (never through the code under
test); ``make_video`` is shared with the encoder's tests.
"""

from __future__ import annotations

import inspect
import struct
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from faceswap_nb._errors import InputTooLarge, InvalidImage, InvalidVideo
from faceswap_nb.engine import decode
from faceswap_nb.engine.decode import (
    Limits,
    probe,
    read_frames,
    read_image,
    read_pictures,
)
from faceswap_nb.engine.picture import BT601, BT709, Yuv420, resized

# --- synthetic media --------------------------------------------------------------------

MARKER = (255, 255, 255)  # a white block in the top-left of the upright picture


def upright_picture(width: int, height: int, index: int = 0) -> np.ndarray:
    """A dark BGR frame: white block top-left, pure blue block bottom-right, brightness by index."""
    image = np.full((height, width, 3), 20 + (index * 7) % 60, np.uint8)
    image[: height // 3, : width // 3] = MARKER
    image[-height // 3 :, -width // 3 :] = (255, 0, 0)
    return image


def make_video(
    path: Path,
    *,
    size: tuple[int, int] = (64, 48),
    frames: int = 12,
    rate: Fraction = Fraction(30),
    time_base: Fraction | None = None,
    pts: list[int] | None = None,
    rotation: int = 0,
    audio: str | None = None,
    faststart: bool = False,
    colorspace: int | None = None,
) -> Path:
    """Write a small H.264 clip of upright ``size`` (width, height) pictures.

    ``rotation`` is the clockwise turn a player must apply: the stored pictures are turned
    the other way so the displayed video is upright. ``audio`` is an audio codec ("aac",
    "pcm_s16le") for a 440 Hz tone as long as the video. The container follows the suffix.
    ``colorspace`` tags the YUV matrix (FFmpeg's AVColorSpace: 1 BT.709, 9 BT.2020).
    """
    width, height = size
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream("libx264", rate=rate)
        stored_w, stored_h = (height, width) if rotation in (90, 270) else (width, height)
        stream.width, stream.height, stream.pix_fmt = stored_w, stored_h, "yuv420p"
        if time_base is not None:
            stream.time_base = stream.codec_context.time_base = time_base
        if rotation:
            stream.set_display_rotation(-rotation)  # PyAV counts counter-clockwise
        if colorspace is not None:
            stream.codec_context.colorspace = colorspace
        sound = _add_audio_stream(container, audio) if audio else None
        ticks = _ticks(rate, stream)
        timestamps = pts if pts is not None else [i * ticks for i in range(frames)]
        # Each frame lasts until the next (the last for one nominal frame), as real files say.
        durations = dict(zip(timestamps, np.diff(timestamps + [timestamps[-1] + ticks])))
        for index in range(frames):
            stored = np.rot90(upright_picture(width, height, index), k=rotation // 90)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(stored), format="bgr24")
            frame.pts = timestamps[index]
            _mux_timed(container, stream.encode(frame), durations)
        _mux_timed(container, stream.encode(None), durations)
        if sound:
            _write_tone(container, sound, seconds=frames / rate)
    return path


def _mux_timed(
    container: av.container.OutputContainer, packets: list[av.Packet], durations: dict[int, int]
) -> None:
    for packet in packets:  # x264 does not pass frame durations on to its packets
        packet.duration = int(durations[packet.pts])
    container.mux(packets)


def _ticks(rate: Fraction, stream: av.video.stream.VideoStream) -> int:
    return round(1 / (rate * (stream.codec_context.time_base or 1 / rate)))


def _add_audio_stream(
    container: av.container.OutputContainer, codec: str
) -> av.audio.stream.AudioStream:
    stream = container.add_stream(codec, rate=48_000)
    stream.codec_context.layout = "mono"
    return stream


def _write_tone(
    container: av.container.OutputContainer, stream: av.audio.stream.AudioStream, seconds: float
) -> None:
    """A 440 Hz tone of ``seconds``, encoded into ``stream``."""
    sample_rate = stream.codec_context.sample_rate
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[np.newaxis]
    frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
    frame.sample_rate, frame.pts = sample_rate, 0
    container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def make_audio_only(path: Path) -> Path:
    with av.open(str(path), "w", format="mp4") as container:
        _write_tone(container, _add_audio_stream(container, "aac"), seconds=0.5)
    return path


def frame_times(path: Path) -> list[Fraction]:
    """Presentation times (seconds, exact) of every video frame, read with PyAV."""
    with av.open(str(path)) as container:
        return [frame.pts * frame.time_base for frame in container.decode(video=0)]


def make_png_video(path: Path, *, frames: int) -> Path:
    """A 64×48 RGB clip of PNG frames (a ``.mov``): no 4:2:0 planes, every frame a keyframe."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("png", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "rgb24"
        for index in range(frames):
            picture = av.VideoFrame.from_ndarray(upright_picture(64, 48, index), format="bgr24")
            picture.pts = index
            container.mux(stream.encode(picture.reformat(format="rgb24")))
    return path


def marker_is_top_left(image: np.ndarray) -> bool:
    height, width = image.shape[:2]
    top_left = image[: height // 4, : width // 4].mean()
    top_right = image[: height // 4, -width // 4 :].mean()
    bottom_left = image[-height // 4 :, : width // 4].mean()
    return top_left > 200 and top_right < 120 and bottom_left < 120


# --- probe ------------------------------------------------------------------------------


def test_probe_describes_a_29_97_fps_clip_with_audio(tmp_path: Path) -> None:
    clip = make_video(
        tmp_path / "ntsc.mp4", rate=Fraction(30000, 1001), time_base=Fraction(1, 30000),
        frames=15, audio="aac",
    )
    info = probe(clip)
    assert (info.width, info.height) == (64, 48)
    assert info.average_rate == Fraction(30000, 1001)
    assert info.frame_count == 15
    assert info.duration_seconds == pytest.approx(15 * 1001 / 30000, abs=1e-3)
    assert info.has_audio and info.codec == "h264" and info.rotation == 0
    assert info.time_base.denominator % 30000 == 0


def test_probe_reports_displayed_size_of_a_rotated_phone_clip(tmp_path: Path) -> None:
    info = probe(make_video(tmp_path / "phone.mp4", size=(48, 64), rotation=90))
    assert info.rotation == 90
    assert (info.width, info.height) == (48, 64)
    assert not info.has_audio


def _cut_in_half(source: Path, target: Path) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


@pytest.mark.parametrize(
    "case",
    ["missing", "zero_length", "text", "audio_only", "image", "cut_moov_lost", "cut_mdat"],
)
def test_probe_refuses_what_is_not_a_whole_video(tmp_path: Path, case: str) -> None:
    path = tmp_path / f"{case}.mp4"
    if case == "zero_length":
        path.touch()
    elif case == "text":
        path = tmp_path / "notes.txt"  # FFmpeg would read a .txt as ANSI-art "video"
        path.write_text("not a video\n" * 50)
    elif case == "audio_only":
        make_audio_only(path)
    elif case == "image":
        path = tmp_path / "still.jpg"
        cv2.imwrite(str(path), upright_picture(64, 48))
    elif case == "cut_moov_lost":  # index written at the end: cutting loses it
        _cut_in_half(make_video(tmp_path / "whole.mp4", frames=60), path)
    elif case == "cut_mdat":  # index at the front survives, but half the data is gone
        _cut_in_half(make_video(tmp_path / "whole.mp4", frames=60, faststart=True), path)
    with pytest.raises(InvalidVideo) as caught:
        probe(path)
    assert path.name in str(caught.value)
    assert caught.value.code == "invalid_video"


@pytest.mark.parametrize(
    ("limits", "words"),
    [
        (Limits(max_pixels=64 * 48 - 1), "pixels"),
        (Limits(max_seconds=0.2), "0.2 s"),
        (Limits(max_frames=11), "limit is 11"),
    ],
)
def test_probe_refuses_videos_over_the_limits(tmp_path: Path, limits: Limits, words: str) -> None:
    clip = make_video(tmp_path / "clip.mp4", frames=12)
    with pytest.raises(InputTooLarge, match=words):
        probe(clip, limits)
    assert probe(clip, Limits(max_pixels=64 * 48, max_frames=12)).frame_count == 12


def test_default_limits_allow_4k_ten_minutes_at_60_fps() -> None:
    limits = Limits()
    assert limits.max_pixels == 3840 * 2160
    assert limits.max_seconds == 600 and limits.max_frames == 36_000
    assert limits.max_image_bytes == 40 * 1024 * 1024 and limits.max_image_pixels == 50_000_000


# --- read_frames ------------------------------------------------------------------------


def test_frames_are_upright_bgr_with_their_index(tmp_path: Path) -> None:
    frames = list(read_frames(make_video(tmp_path / "clip.mp4", frames=5)))
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    image = frames[0].image
    assert image.shape == (48, 64, 3) and image.dtype == np.uint8
    assert marker_is_top_left(image)
    blue, green, red = image[-4, -4].astype(int)
    assert blue > 200 and green < 60 and red < 60  # BGR order, not RGB


def test_rotated_clip_frames_come_out_upright_at_displayed_size(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "phone.mp4", size=(48, 64), rotation=90, frames=3)
    frames = list(read_frames(clip))
    assert all(f.image.shape == (64, 48, 3) for f in frames)
    assert all(marker_is_top_left(f.image) for f in frames)


def test_variable_frame_rate_timestamps_are_kept(tmp_path: Path) -> None:
    irregular = [0, 1000, 1500, 4000, 4100, 7000, 9000]
    clip = make_video(
        tmp_path / "vfr.mp4", frames=len(irregular), pts=irregular, time_base=Fraction(1, 30000)
    )
    info = probe(clip)
    times = [f.pts * info.time_base for f in read_frames(clip)]
    assert times == [Fraction(p, 30000) for p in irregular]


def test_read_frames_checks_the_file_when_called_and_streams_lazily(tmp_path: Path) -> None:
    with pytest.raises(InvalidVideo):
        read_frames(tmp_path / "absent.mp4")  # no next() needed
    frames = read_frames(make_video(tmp_path / "clip.mp4"))
    assert inspect.isgenerator(frames)  # one frame at a time, never a list
    assert next(frames).index == 0
    frames.close()


def test_a_caller_that_probed_already_is_not_probed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = make_video(tmp_path / "phone.mp4", size=(48, 64), rotation=90, frames=3)
    info = probe(clip)
    expected = [frame.image for frame in read_frames(clip)]

    def probed_again(*args: object) -> None:
        raise AssertionError("probed twice")

    monkeypatch.setattr(decode, "probe", probed_again)

    frames = [frame.image for frame in read_frames(clip, info=info)]
    pictures = [picture for _, picture in read_pictures(clip, info=info)]
    assert [image.shape for image in frames] == [(64, 48, 3)] * 3  # upright, from info
    assert all(np.array_equal(a, b) for a, b in zip(frames, expected))
    assert [picture.shape for picture in pictures] == [(64, 48, 3)] * 3


def test_a_decode_error_part_way_raises_invalid_video(tmp_path: Path) -> None:
    clip = make_png_video(tmp_path / "broken.mov", frames=6)  # a damaged PNG fails loudly
    with av.open(str(clip)) as container:
        entry = container.streams.video[0].index_entries[4]
    data = bytearray(clip.read_bytes())
    data[entry.pos : entry.pos + entry.size] = b"\x00" * entry.size
    clip.write_bytes(bytes(data))
    frames = read_frames(clip)
    assert next(frames).index == 0
    with pytest.raises(InvalidVideo, match="broken.mov"):
        list(frames)


# --- read_pictures ----------------------------------------------------------------------


def test_pictures_keep_the_planes_of_a_4_2_0_clip_and_look_like_its_frames(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "clip.mp4", frames=4)

    pictures = list(read_pictures(clip))

    assert [index for index, _ in pictures] == [0, 1, 2, 3]
    picture = pictures[0][1]
    assert isinstance(picture, Yuv420)
    assert picture.shape == (48, 64, 3) and picture.weights == BT601  # untagged SD → BT.601
    as_bgr = resized(picture, (64, 48)).astype(int)
    assert np.abs(as_bgr - next(read_frames(clip)).image.astype(int)).mean() < 3.0


def test_pictures_of_a_rotated_clip_are_upright(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "phone.mp4", size=(48, 64), rotation=90, frames=2)

    for _, picture in read_pictures(clip):
        assert picture.shape == (64, 48, 3)
        assert marker_is_top_left(resized(picture, (48, 64)))


def test_pictures_of_other_pixel_formats_come_as_bgr(tmp_path: Path) -> None:
    pictures = [picture for _, picture in read_pictures(make_png_video(tmp_path / "rgb.mov", frames=2))]

    assert all(isinstance(p, np.ndarray) and p.shape == (48, 64, 3) for p in pictures)
    assert marker_is_top_left(pictures[0])


def test_probe_says_whose_planes_the_swap_can_edit_and_in_which_matrix(tmp_path: Path) -> None:
    assert probe(make_video(tmp_path / "clip.mp4", frames=2)).planes_matrix == BT601  # untagged SD
    assert probe(make_video(tmp_path / "hd.mp4", frames=2, colorspace=1)).planes_matrix == BT709
    assert probe(make_png_video(tmp_path / "rgb.mov", frames=2)).planes_matrix is None
    # BT.2020 is neither: such frames go through FFmpeg's own conversion.
    assert probe(make_video(tmp_path / "uhd.mp4", frames=2, colorspace=9)).planes_matrix is None


def test_frames_as_planes_are_writable_copies_that_look_like_the_bgr_frames(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "clip.mp4", frames=3)

    frames = list(read_frames(clip, planes=True))

    assert [frame.index for frame in frames] == [0, 1, 2]
    for frame, bgr in zip(frames, read_frames(clip)):
        picture = frame.image
        assert isinstance(picture, Yuv420) and picture.i420 is not None
        assert picture.y.flags.writeable and picture.weights == BT601
        assert np.abs(picture.bgr_window((0, 0, 64, 48)).astype(int) - bgr.image.astype(int)).mean() < 3.0


def test_frames_as_planes_of_other_pixel_formats_come_as_bgr(tmp_path: Path) -> None:
    frames = list(read_frames(make_png_video(tmp_path / "rgb.mov", frames=2), planes=True))

    assert all(isinstance(frame.image, np.ndarray) for frame in frames)
    assert marker_is_top_left(frames[0].image)


def test_frames_as_planes_of_a_rotated_clip_are_upright(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "phone.mp4", size=(48, 64), rotation=90, frames=2)

    for frame in read_frames(clip, planes=True):
        assert isinstance(frame.image, Yuv420) and frame.image.shape == (64, 48, 3)
        assert marker_is_top_left(frame.image.bgr_window((0, 0, 48, 64)))


def test_read_pictures_refuses_what_read_frames_refuses(tmp_path: Path) -> None:
    with pytest.raises(InvalidVideo):
        read_pictures(tmp_path / "absent.mp4")


# --- read_image -------------------------------------------------------------------------


def _exif_orientation_segment(orientation: int) -> bytes:
    """An APP1 EXIF segment holding only the Orientation tag."""
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8)
    tiff += struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff += struct.pack(">I", 0)
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def test_read_image_returns_bgr_uint8(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), upright_picture(64, 48))
    image = read_image(path)
    assert image.shape == (48, 64, 3) and image.dtype == np.uint8
    assert tuple(image[-1, -1]) == (255, 0, 0)


def test_read_image_honours_exif_orientation(tmp_path: Path) -> None:
    _, jpeg = cv2.imencode(".jpg", upright_picture(64, 48))
    path = tmp_path / "turned.jpg"
    # Orientation 6: the camera was turned; show the picture turned 90° clockwise.
    path.write_bytes(jpeg[:2].tobytes() + _exif_orientation_segment(6) + jpeg[2:].tobytes())
    image = read_image(path)
    assert image.shape == (64, 48, 3)
    expected = cv2.rotate(upright_picture(64, 48), cv2.ROTATE_90_CLOCKWISE)
    assert np.abs(image.astype(int) - expected).mean() < 8


def test_read_image_makes_grayscale_and_transparent_images_three_channel(tmp_path: Path) -> None:
    gray = tmp_path / "gray.png"
    cv2.imwrite(str(gray), np.full((10, 12), 77, np.uint8))
    assert read_image(gray).shape == (10, 12, 3)
    rgba = np.zeros((10, 12, 4), np.uint8)  # black where transparent, opaque red on the left
    rgba[:, :6] = (0, 0, 255, 255)
    transparent = tmp_path / "alpha.png"
    cv2.imwrite(str(transparent), rgba)
    image = read_image(transparent)
    assert image.shape == (10, 12, 3)
    assert tuple(image[0, 0]) == (0, 0, 255)
    assert tuple(image[0, -1]) == (255, 255, 255)  # transparent becomes white, not black


@pytest.mark.parametrize("case", ["missing", "zero_bytes", "text", "corrupt_jpeg", "cut_jpeg"])
def test_read_image_refuses_unreadable_files(tmp_path: Path, case: str) -> None:
    path = tmp_path / f"{case}.jpg"
    _, jpeg = cv2.imencode(".jpg", upright_picture(64, 48))
    if case == "zero_bytes":
        path.touch()
    elif case == "text":
        path.write_text("hello, I am not a photo\n")
    elif case == "corrupt_jpeg":
        path.write_bytes(jpeg[:20].tobytes() + bytes(range(256)) * 4)
    elif case == "cut_jpeg":
        path.write_bytes(jpeg[: len(jpeg) * 2 // 3].tobytes())
    with pytest.raises(InvalidImage) as caught:
        read_image(path)
    assert path.name in str(caught.value)


def test_read_image_refuses_photos_over_the_byte_limit(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), upright_picture(64, 48))
    with pytest.raises(InputTooLarge, match="bytes"):
        read_image(path, Limits(max_image_bytes=path.stat().st_size - 1))


def test_read_image_checks_pixels_from_the_header_before_decoding(tmp_path: Path) -> None:
    # A PNG header claiming 100000×100000 pixels with no image data: refused as too
    # large (from the header), not as corrupt (which decoding it would say).
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    path = tmp_path / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + b"\0" * 4)
    with pytest.raises(InputTooLarge, match="10000000000 pixels"):
        read_image(path)
    small = tmp_path / "small.png"
    cv2.imwrite(str(small), upright_picture(64, 48))
    with pytest.raises(InputTooLarge, match="3072 pixels"):
        read_image(small, Limits(max_image_pixels=3000))
