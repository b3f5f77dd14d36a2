"""encode: the output is a standard MP4 that keeps the input's frames, timing and audio,
is tagged synthetic, and is never left half-written."""

from __future__ import annotations

import os
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from faceswap_nb._errors import OutputNotWritable
from faceswap_nb.engine.decode import probe, read_frames
from faceswap_nb.engine.encode import (
    VideoWriter,
    is_marked_synthetic,
    read_metadata,
    synthetic_metadata,
    transcode,
)
from faceswap_nb.engine.picture import BT709
from faceswap_nb.engine.types import Frame, VideoInfo
from tests.engine.test_decode import frame_times, make_video, marker_is_top_left


def top_level_boxes(path: Path) -> list[str]:
    """The names of an MP4's top-level boxes, in file order."""
    names, data, position = [], path.read_bytes(), 0
    while position + 8 <= len(data):
        size = int.from_bytes(data[position : position + 4], "big")
        names.append(data[position + 4 : position + 8].decode("latin-1"))
        if size == 1:  # 64-bit size follows the name
            size = int.from_bytes(data[position + 8 : position + 16], "big")
        if size < 8:
            break
        position += size
    return names


def stream_seconds(path: Path, kind: str) -> float:
    with av.open(str(path)) as container:
        stream = next(s for s in container.streams if s.type == kind)
        return float(stream.duration * stream.time_base)


def audio_codecs(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        return [s.codec_context.name for s in container.streams.audio]


def copy_video(source: Path, out: Path, **writer_options: Any) -> VideoWriter:
    """Decode ``source`` and write it through a VideoWriter, as the face swap does."""
    with VideoWriter(out, probe(source), **writer_options) as writer:
        for frame in read_frames(source):
            writer.write(frame)
    return writer


def tiny_info(width: int = 64, height: int = 48) -> VideoInfo:
    return VideoInfo(
        width=width, height=height, average_rate=Fraction(25), time_base=Fraction(1, 25),
        frame_count=3, duration_seconds=0.12, rotation=0, has_audio=False, codec="h264",
    )


def gray_frames(info: VideoInfo, count: int = 3) -> list[Frame]:
    image = np.full((info.height, info.width, 3), 128, np.uint8)
    return [Frame(index, image, index) for index in range(count)]


# --- the video ---------------------------------------------------------------------------


def test_output_is_h264_yuv420p_with_its_index_before_its_data(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    copy_video(make_video(tmp_path / "in.mp4"), out)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat")  # playable while downloading


def test_29_97_fps_keeps_frame_count_rate_and_every_timestamp(tmp_path: Path) -> None:
    source = make_video(
        tmp_path / "in.mp4", frames=20, rate=Fraction(30000, 1001), time_base=Fraction(1, 30000)
    )
    out = tmp_path / "out.mp4"
    copy_video(source, out)
    info = probe(out)
    assert info.frame_count == 20
    assert info.average_rate == Fraction(30000, 1001)
    assert frame_times(out) == frame_times(source)


def test_variable_frame_rate_survives(tmp_path: Path) -> None:
    irregular = [0, 1000, 1500, 4000, 4100, 7000, 9000, 9500]
    source = make_video(
        tmp_path / "vfr.mp4", frames=len(irregular), pts=irregular, time_base=Fraction(1, 30000)
    )
    out = tmp_path / "out.mp4"
    copy_video(source, out)
    assert frame_times(out) == [Fraction(p, 30000) for p in irregular]
    in_seconds = stream_seconds(source, "video")
    assert stream_seconds(out, "video") == pytest.approx(in_seconds, abs=1 / 30)


def test_rotated_input_is_written_upright_at_its_displayed_size(tmp_path: Path) -> None:
    source = make_video(tmp_path / "phone.mp4", size=(48, 64), rotation=90, frames=4)
    out = tmp_path / "out.mp4"
    copy_video(source, out)
    info = probe(out)
    assert (info.width, info.height, info.rotation) == (48, 64, 0)
    assert all(marker_is_top_left(f.image) for f in read_frames(out))


def test_frames_without_timestamps_are_spaced_at_the_nominal_rate(tmp_path: Path) -> None:
    info = tiny_info()
    out = tmp_path / "out.mp4"
    with VideoWriter(out, info) as writer:
        for frame in gray_frames(info):
            writer.write(Frame(frame.index, frame.image, None))
    assert frame_times(out) == [Fraction(0), Fraction(1, 25), Fraction(2, 25)]


def test_odd_sizes_are_padded_to_even_with_a_warning(tmp_path: Path) -> None:
    info = tiny_info(width=63, height=47)
    out = tmp_path / "odd.mp4"
    with VideoWriter(out, info) as writer:
        for frame in gray_frames(info):
            writer.write(frame)
    assert (probe(out).width, probe(out).height) == (64, 48)
    assert any("63x47" in warning for warning in writer.warnings)


def _colorspace(path: Path) -> int:
    with av.open(str(path)) as container:
        return int(container.streams.video[0].codec_context.colorspace)


def _luma(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="gray").astype(int) for frame in container.decode(video=0)]


def test_frames_given_as_planes_are_encoded_as_they_are_in_their_matrix(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "clip.mp4", frames=4)  # untagged SD: BT.601
    out = tmp_path / "out.mp4"

    transcode(clip, out)

    assert _colorspace(out) == 6  # SMPTE 170M, BT.601's matrix
    for before, after in zip(_luma(clip), _luma(out)):
        assert np.abs(after - before).mean() < 1.5  # the encoder's loss only
    for before, after in zip(read_frames(clip), read_frames(out)):
        assert np.abs(after.image.astype(int) - before.image.astype(int)).mean() < 3.0


def test_frames_without_planes_are_written_in_bt709(tmp_path: Path) -> None:
    out = tmp_path / "gray.mp4"
    with VideoWriter(out, tiny_info()) as writer:
        for frame in gray_frames(tiny_info()):
            writer.write(frame)

    assert _colorspace(out) == 1


def test_planes_in_another_matrix_than_the_outputs_are_converted(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "clip.mp4", frames=3)  # BT.601 planes
    info = replace(probe(clip), planes_matrix=BT709)
    out = tmp_path / "out.mp4"

    with VideoWriter(out, info) as writer:
        for frame in read_frames(clip, planes=True):
            writer.write(frame)

    assert _colorspace(out) == 1
    for before, after in zip(read_frames(clip), read_frames(out)):
        assert np.abs(after.image.astype(int) - before.image.astype(int)).mean() < 3.0


def test_writing_a_frame_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    with VideoWriter(tmp_path / "out.mp4", tiny_info()) as writer:
        with pytest.raises(ValueError, match="expected"):
            writer.write(Frame(0, np.zeros((10, 10, 3), np.uint8), 0))
        writer.write(gray_frames(tiny_info())[0])


# --- audio ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "codec"), [("aac.mp4", "aac"), ("pcm.mov", "pcm_s16le")]
)
def test_audio_is_carried_over_with_its_duration(tmp_path: Path, name: str, codec: str) -> None:
    source = make_video(tmp_path / name, frames=30, audio=codec)
    out = tmp_path / "out.mp4"
    copy_video(source, out, audio_source=source)
    assert audio_codecs(out) == ["aac"]  # AAC copied as is; PCM (not MP4 audio) encoded
    assert abs(stream_seconds(out, "audio") - stream_seconds(source, "audio")) < 0.1
    assert probe(out).frame_count == 30


def test_no_audio_track_without_an_audio_source_or_when_it_is_silent(tmp_path: Path) -> None:
    with_sound = make_video(tmp_path / "with.mp4", audio="aac")
    silent = make_video(tmp_path / "silent.mp4")
    copy_video(with_sound, tmp_path / "a.mp4")
    copy_video(silent, tmp_path / "b.mp4", audio_source=silent)
    assert audio_codecs(tmp_path / "a.mp4") == []
    assert audio_codecs(tmp_path / "b.mp4") == []


# --- synthetic tags ---------------------------------------------------------------------


def test_synthetic_tags_survive_in_the_mp4(tmp_path: Path) -> None:
    tags = synthetic_metadata("1.2.3")
    assert "faceswap_nb 1.2.3" in tags["comment"] and "Synthetic" in tags["comment"]
    source = make_video(tmp_path / "in.mp4")
    marked, plain = tmp_path / "marked.mp4", tmp_path / "plain.mp4"
    copy_video(source, marked, metadata=tags)
    copy_video(source, plain)
    read_back = read_metadata(marked)
    assert {key: read_back.get(key) for key in tags} == tags
    assert is_marked_synthetic(marked)
    assert not is_marked_synthetic(plain) and not is_marked_synthetic(source)


# --- never a partial output -------------------------------------------------------------


def test_output_appears_only_when_the_with_block_ends(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    info = tiny_info()
    with VideoWriter(out, info) as writer:
        for frame in gray_frames(info):
            writer.write(frame)
        assert not out.exists()
        (partial,) = tmp_path.iterdir()  # hidden, beside the output (same disk)
        assert partial.name.startswith(".out.partial-") and partial.suffix == ".mp4"
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


def test_an_exception_in_the_with_block_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous result")
    info = tiny_info()
    with pytest.raises(KeyboardInterrupt), VideoWriter(out, info) as writer:
        for frame in gray_frames(info):
            writer.write(frame)
        raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]
    assert out.read_bytes() == b"previous result"  # the old file is not clobbered


@pytest.mark.parametrize("case", ["missing_folder", "is_a_folder", "parent_is_a_file"])
def test_unwritable_destinations_are_refused_on_construction(tmp_path: Path, case: str) -> None:
    out = {
        "missing_folder": tmp_path / "nowhere" / "out.mp4",
        "is_a_folder": tmp_path,
        "parent_is_a_file": tmp_path / "file.txt" / "out.mp4",
    }[case]
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(OutputNotWritable) as caught:
        VideoWriter(out, tiny_info())
    assert str(out.parent if case != "is_a_folder" else out) in str(caught.value)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    with pytest.raises(OutputNotWritable, match="not writable"):
        VideoWriter(folder / "out.mp4", tiny_info())


def test_write_outside_the_with_block_is_an_error(tmp_path: Path) -> None:
    writer = VideoWriter(tmp_path / "out.mp4", tiny_info())
    with pytest.raises(RuntimeError, match="with"):
        writer.write(gray_frames(tiny_info())[0])
    assert list(tmp_path.iterdir()) == []


# --- transcode on a real clip -----------------------------------------------------------


@pytest.mark.testdata
def test_transcode_round_trip_keeps_frames_and_audio(talking_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "talking.mp4"
    frames = transcode(talking_clip, out)
    source, result = probe(talking_clip), probe(out)
    assert frames == source.frame_count == result.frame_count
    assert (result.width, result.height) == (source.width, source.height)
    assert result.has_audio
    assert abs(stream_seconds(out, "audio") - stream_seconds(talking_clip, "audio")) < 0.1
    assert frame_times(out) == frame_times(talking_clip)
    # This clip is variable-rate: its last frame is shorter than the nominal rate implies.
    assert stream_seconds(out, "video") == pytest.approx(stream_seconds(talking_clip, "video"))
    assert not is_marked_synthetic(out)  # a plain re-encode replaces no face
