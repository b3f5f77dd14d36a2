"""Write the output video: H.264 MP4 that keeps the input's timing and audio.

Outputs are written to a hidden temporary file beside the destination and moved into
place only when complete, so a failed or interrupted run never leaves a partial video.
Every output of the face swap carries container tags saying it is synthetic
(``synthetic_metadata``), which ``read_metadata`` / ``is_marked_synthetic`` read back.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import av
import cv2
import numpy as np
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.video.stream import VideoStream

from faceswap_nb._errors import InvalidVideo, OutputNotWritable
from faceswap_nb.engine.decode import StrPath, probe, read_frames
from faceswap_nb.engine.picture import BT709, Picture, Yuv420
from faceswap_nb.engine.types import Frame, Image, VideoInfo

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "VideoWriter",
    "is_marked_synthetic",
    "read_metadata",
    "synthetic_metadata",
    "transcode",
]

SYNTHETIC_KEY = "synthetic"
"""Container tag whose presence marks a video as synthetic."""

_AVCOL_SPC_BT709 = 1
_AVCOL_SPC_SMPTE170M = 6  # BT.601's matrix

# Audio that MP4 can carry as is; anything else is re-encoded to AAC.
_MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "alac", "opus"})

# FFmpeg's usual layout for a channel count, when a source does not name its layout.
_DEFAULT_LAYOUTS = {
    1: "mono", 2: "stereo", 3: "2.1", 4: "4.0", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"
}

# faststart moves the index (moov) before the data so players can start streaming;
# use_metadata_tags keeps tags the MP4 muxer would otherwise drop (our "synthetic" key).
_MOVFLAGS = "+faststart+use_metadata_tags"


def synthetic_metadata(version: str) -> dict[str, str]:
    """The container tags that mark an output as synthetic and name the tool."""
    return {
        "comment": f"Synthetic video: face replaced by faceswap_nb {version}",
        SYNTHETIC_KEY: f"face-replaced; tool=faceswap_nb {version}",
    }


def read_metadata(path: StrPath) -> dict[str, str]:
    """The container-level tags of a media file, as a player or ffprobe reads them.

    Raises:
        InvalidVideo: the file cannot be opened.
    """
    try:
        with av.open(os.fspath(path), metadata_errors="replace") as container:
            return dict(container.metadata)
    except (av.FFmpegError, OSError) as error:
        raise InvalidVideo(f"'{Path(path).name}' cannot be opened to read its tags: {error}") from error


def is_marked_synthetic(path: StrPath) -> bool:
    """Whether the file carries the synthetic-media tag this tool writes."""
    return read_metadata(path).get(SYNTHETIC_KEY, "").startswith("face-replaced")


def transcode(video: StrPath, out: StrPath, *, crf: int = 20, preset: str = "veryfast") -> int:
    """Decode and re-encode a clip (with its audio) through the swap's own I/O path.

    Everything but the face work: the speed benchmark times it beside its plain
    reference to show what the swap's I/O costs. Returns the number of frames written.
    The output is not tagged synthetic (no face is replaced).
    """
    info = probe(video)
    with VideoWriter(out, info, audio_source=video, crf=crf, preset=preset) as writer:
        for frame in read_frames(video, info=info, planes=True):
            writer.write(frame)
    return writer.frames_written


class VideoWriter:
    """Encode upright frames to an H.264/AAC MP4 that matches the input's timing.

    Frames come as BGR, or as the decoder's planes (``picture.Yuv420``), which are
    encoded as they are when they have ``info.planes_matrix``; the output is tagged
    with that matrix, or BT.709 when the input has none.

    Use as a context manager; the output appears at ``out_path`` only when the
    ``with`` block exits cleanly. Frames keep their pts in ``info.time_base`` (so
    variable frame rate survives); odd sizes are padded by one edge pixel (noted in
    ``warnings``). The audio of ``audio_source``, if any, is copied alongside (or
    re-encoded to AAC when MP4 cannot carry it), interleaved as the video is written.

    Raises:
        OutputNotWritable: the destination folder is missing or read-only, or
            ``out_path`` is a folder (on construction); or the file cannot be written.
    """

    def __init__(
        self,
        out_path: StrPath,
        info: VideoInfo,
        *,
        audio_source: StrPath | None = None,
        metadata: dict[str, str] | None = None,
        crf: int = 20,
        preset: str = "veryfast",
    ) -> None:
        self.out_path = Path(out_path)
        self.info = info
        self.warnings: list[str] = []
        self.frames_written = 0
        _check_destination(self.out_path)
        self._audio_source = audio_source
        self._metadata = dict(metadata or {})
        self._encoder_options = {"crf": str(crf), "preset": preset}
        self._planes_matrix = info.planes_matrix
        self._matrix = info.planes_matrix or BT709
        self._pad_right, self._pad_bottom = info.width % 2, info.height % 2
        if self._pad_right or self._pad_bottom:
            self.warnings.append(
                f"{info.width}x{info.height} is odd-sized; H.264 4:2:0 needs even sizes, so "
                f"the output is {info.width + self._pad_right}x{info.height + self._pad_bottom}"
            )
        # Ticks per frame at the nominal rate, for frames without pts.
        self._frame_ticks = max(1, round(1 / (info.average_rate * info.time_base)))
        self._temp_path: Path | None = None
        self._container: OutputContainer | None = None
        self._video: VideoStream | None = None
        self._audio: _AudioTrack | None = None
        self._last_pts: int | None = None
        self._first_pts: int | None = None
        self._held: av.VideoFrame | None = None
        self._durations: dict[int, int] = {}

    def __enter__(self) -> Self:
        self._temp_path = _create_temp_file(self.out_path)
        try:
            self._open()
        except BaseException:
            self._abort()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._abort()
            return
        try:
            self._finish()
        except BaseException as error:
            self._abort()
            if isinstance(error, (OSError, av.FFmpegError)):
                raise OutputNotWritable(f"could not finish writing {self.out_path}: {error}") from error
            raise

    def write(self, frame: Frame) -> None:
        """Encode one upright frame (its pts in ``info.time_base``, or None)."""
        if self._container is None or self._video is None:
            raise RuntimeError("VideoWriter.write() called outside its `with` block")
        expected = (self.info.height, self.info.width, 3)
        if frame.image.shape != expected:
            raise ValueError(f"frame {frame.index} is {frame.image.shape}, expected {expected}")
        video_frame = self._video_frame(frame.image)
        video_frame.pts = self._next_pts(frame)
        if self._first_pts is None:
            self._first_pts = video_frame.pts
        # Each frame waits for the next one, whose pts gives its exact duration.
        if self._held is not None:
            self._encode(self._held, video_frame.pts - self._held.pts)
        self._held = video_frame
        self.frames_written += 1

    # --- internals -------------------------------------------------------------------

    def _open(self) -> None:
        assert self._temp_path is not None
        self._container = av.open(
            os.fspath(self._temp_path), "w", format="mp4", options={"movflags": _MOVFLAGS}
        )
        self._container.metadata.update(self._metadata)
        self._video = self._add_video_stream(self._container)
        if self._audio_source is not None:
            self._audio = _AudioTrack.open(self._audio_source, self._container)

    def _add_video_stream(self, container: OutputContainer) -> VideoStream:
        info = self.info
        stream = container.add_stream(
            "libx264", rate=info.average_rate, options=self._encoder_options
        )
        stream.width = info.width + self._pad_right
        stream.height = info.height + self._pad_bottom
        stream.pix_fmt = "yuv420p"
        # The input's time base keeps every original pts exact (VFR survives).
        stream.time_base = info.time_base
        stream.codec_context.time_base = info.time_base
        stream.codec_context.thread_count = 0  # x264 picks threads for the machine
        # Tag what write() converts to, so players decode the colours we encoded.
        context = stream.codec_context
        context.colorspace = _AVCOL_SPC_BT709 if self._matrix == BT709 else _AVCOL_SPC_SMPTE170M
        context.color_primaries = context.color_trc = 1  # BT.709
        context.color_range = 1  # limited ("MPEG") range
        return stream

    def _encode(self, video_frame: av.VideoFrame, duration: int) -> None:
        assert self._container is not None and self._video is not None
        if self._audio is not None:
            self._audio.write_until(float(video_frame.pts * self.info.time_base))
        self._durations[video_frame.pts] = duration
        self._mux_video(self._video.encode(video_frame))

    def _mux_video(self, packets: list[av.Packet]) -> None:
        assert self._container is not None
        # x264 drops frame durations; the muxer needs the last one to end the video on time.
        for packet in packets:
            packet.duration = self._durations.pop(packet.pts, 0)
        self._container.mux(packets)

    def _last_frame_ticks(self, last_pts: int) -> int:
        """Duration of the last frame: what is left of the input's duration, if sensible."""
        assert self._first_pts is not None
        end = self._first_pts + round(self.info.duration_seconds / self.info.time_base)
        remaining = end - last_pts
        return remaining if 0 < remaining <= 4 * self._frame_ticks else self._frame_ticks

    def _video_frame(self, picture: Picture) -> av.VideoFrame:
        """``picture`` as a 4:2:0 frame in the output's matrix."""
        if isinstance(picture, Yuv420):
            if picture.i420 is not None and not picture.full_range and picture.weights == self._planes_matrix:
                return av.VideoFrame.from_numpy_buffer(picture.i420, format="yuv420p")
            height, width = picture.y.shape
            picture = picture.bgr_window((0, 0, width, height))
        # Wrapping the array (no copy) instead of from_ndarray's fresh frame is ~3x faster.
        image = np.ascontiguousarray(self._padded(picture))
        return av.VideoFrame.from_numpy_buffer(image, format="bgr24").reformat(
            format="yuv420p", dst_colorspace="ITU709" if self._matrix == BT709 else "ITU601", dst_color_range="MPEG"
        )

    def _padded(self, image: Image) -> Image:
        if not (self._pad_right or self._pad_bottom):
            return image
        return cv2.copyMakeBorder(
            image, 0, self._pad_bottom, 0, self._pad_right, cv2.BORDER_REPLICATE
        )

    def _next_pts(self, frame: Frame) -> int:
        pts = frame.pts if frame.pts is not None else frame.index * self._frame_ticks
        if self._last_pts is not None and pts <= self._last_pts:
            # Broken inputs repeat timestamps; the encoder and muxer need them increasing.
            if not any(w.startswith("repeated timestamps") for w in self.warnings):
                self.warnings.append(f"repeated timestamps from frame {frame.index} were shifted")
            pts = self._last_pts + 1
        self._last_pts = pts
        return pts

    def _finish(self) -> None:
        assert self._container is not None and self._video is not None
        if self._held is not None:
            self._encode(self._held, self._last_frame_ticks(self._held.pts))
            self._held = None
        self._mux_video(self._video.encode(None))
        if self._audio is not None:
            self._audio.write_until(None)
            self._audio.close()
            self._audio = None
        self._container.close()  # writes the index and moves it to the front
        self._container = None
        assert self._temp_path is not None
        os.replace(self._temp_path, self.out_path)
        self._temp_path = None

    def _abort(self) -> None:
        """Drop everything written so far; never leave a partial file behind."""
        if self._audio is not None:
            self._audio.close()
            self._audio = None
        if self._container is not None:
            try:
                self._container.close()
            except (OSError, av.FFmpegError):
                pass  # the file is deleted next; its state no longer matters
            self._container = None
        if self._temp_path is not None:
            self._temp_path.unlink(missing_ok=True)
            self._temp_path = None


class _AudioTrack:
    """The audio of a source file, copied (or re-encoded to AAC) into the output."""

    def __init__(self, source: InputContainer, stream: AudioStream, output: OutputContainer):
        self._source = source
        self._output = output
        self._remux = stream.codec_context.name in _MP4_AUDIO_CODECS
        if self._remux:
            self._stream = output.add_stream_from_template(stream)
        else:
            self._stream = output.add_stream("aac", rate=stream.codec_context.sample_rate)
            self._stream.codec_context.layout = _known_layout(stream)
        self._packets: Iterator[av.Packet] = (
            packet for packet in source.demux(stream) if packet.dts is not None
        )
        self._pending: av.Packet | None = None
        self._exhausted = False

    @classmethod
    def open(cls, source: StrPath, output: OutputContainer) -> _AudioTrack | None:
        """Prepare the source's first audio stream; None when it has no audio."""
        try:
            container = av.open(os.fspath(source), metadata_errors="replace")
        except av.FFmpegError as error:
            raise InvalidVideo(f"'{Path(source).name}' cannot be opened for its audio: {error}") from error
        if not container.streams.audio:
            container.close()
            return None
        try:
            return cls(container, container.streams.audio[0], output)
        except BaseException:
            container.close()
            raise

    def write_until(self, seconds: float | None) -> None:
        """Write source audio up to ``seconds`` (all that is left when None)."""
        while not self._exhausted:
            if self._pending is None:
                self._pending = next(self._packets, None)
                if self._pending is None:
                    self._exhausted = True
                    if not self._remux:
                        self._output.mux(self._stream.encode(None))  # flush the AAC encoder
                    return
            packet = self._pending
            if seconds is not None and packet.dts * packet.time_base > seconds:
                return
            self._pending = None
            self._write(packet)

    def close(self) -> None:
        """Close the source file."""
        self._source.close()

    def _write(self, packet: av.Packet) -> None:
        if self._remux:
            packet.stream = self._stream
            self._output.mux(packet)
            return
        for frame in packet.decode():
            self._output.mux(self._stream.encode(frame))


def _known_layout(stream: AudioStream) -> av.AudioLayout:
    """The source's channel layout, or the standard one for its channel count."""
    layout = stream.codec_context.layout
    # WAV and raw PCM often leave the order unspecified ("2 channels"); AAC needs one.
    if layout.name.endswith("channels"):
        return av.AudioLayout(_DEFAULT_LAYOUTS.get(stream.codec_context.channels, "stereo"))
    return layout


def _check_destination(out_path: Path) -> None:
    """Refuse early a destination that cannot be written, saying why."""
    folder = out_path.parent
    if out_path.is_dir():
        raise OutputNotWritable(f"output path {out_path} is a folder, not a file name")
    if not folder.is_dir():
        raise OutputNotWritable(f"output folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputNotWritable(f"output folder {folder} is not writable")


def _create_temp_file(out_path: Path) -> Path:
    """Create the hidden partial file beside ``out_path`` (same disk: the move is atomic)."""
    for _ in range(100):
        temp = out_path.with_name(f".{out_path.stem}.partial-{secrets.token_hex(4)}.mp4")
        try:
            # 0o666 lets the umask decide the final permissions, as for any new file.
            os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return temp
        except FileExistsError:
            continue
        except OSError as error:
            raise OutputNotWritable(f"cannot create a file in {out_path.parent}: {error}") from error
    raise OutputNotWritable(f"cannot create a temporary file in {out_path.parent}")
