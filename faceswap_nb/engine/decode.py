"""Read the target video and the source photo upright: as BGR arrays, or the video's
frames as the decoder's YUV planes (``picture.Yuv420``) for the swap's two passes.

Everything that cannot be read is refused here, before any work is done, with an error
that names the file and says what is wrong: ``InvalidVideo`` / ``InvalidImage`` for
files that are missing, empty, truncated or of the wrong kind, ``InputTooLarge`` for
files over the engine's ``Limits``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from av.container import InputContainer
from av.video.plane import VideoPlane
from av.video.stream import VideoStream
from numpy.typing import NDArray

from faceswap_nb._errors import InputTooLarge, InvalidImage, InvalidVideo
from faceswap_nb.engine.picture import BT601, BT709, Picture, Yuv420
from faceswap_nb.engine.types import Frame, Image, VideoInfo

__all__ = ["Limits", "probe", "read_frames", "read_image", "read_pictures"]

StrPath = str | os.PathLike[str]

# FFmpeg happily "decodes" stills and text (as ANSI art) into one-stream videos; these
# demuxers mean the file is not a video a face could be swapped into.
_NOT_VIDEO_FORMATS = frozenset({"image2", "image2pipe", "tty", "bin", "xbin", "adf", "idf"})

_AVCOL_SPC_UNSPECIFIED = 2
_AVCOL_SPC_BT601 = frozenset({5, 6})  # BT470BG, SMPTE170M
_AVCOL_SPC_BT709 = 1
_AVCOL_RANGE_JPEG = 2
# 8-bit 4:2:0 formats the analysis pass reads plane by plane → whether full range.
_YUV420_FULL_RANGE = {"yuv420p": False, "yuvj420p": True}

# cv2.rotate codes for the clockwise turn a player applies to show the picture upright.
_ROTATE_CODES = {
    90: cv2.ROTATE_90_CLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_COUNTERCLOCKWISE,
}


@dataclass(frozen=True)
class Limits:
    """The largest inputs the engine accepts (a CPU engine must refuse unbounded work)."""

    max_pixels: int = 3840 * 2160
    """Pixels per video frame (width × height)."""
    max_seconds: float = 600.0
    """Video duration."""
    max_frames: int = 36_000
    """Video frame count."""
    max_image_bytes: int = 40 * 1024 * 1024
    """Size of the source photo file."""
    max_image_pixels: int = 50_000_000
    """Pixels of the source photo."""


def probe(path: StrPath, limits: Limits = Limits()) -> VideoInfo:
    """Describe a video without reading all of it, and check it can be decoded.

    Decodes only the first frame (which also carries the rotation in PyAV).

    Raises:
        InvalidVideo: missing, empty, truncated, not a video, or no decodable frame.
        InputTooLarge: over ``limits`` (pixels, seconds or frames).
    """
    name = Path(path).name
    with _open_video(path) as container:
        stream = _video_stream(container, name)
        _check_not_truncated(stream, os.path.getsize(path), name)
        duration = _duration_seconds(container, stream)
        rate = stream.average_rate or stream.guessed_rate or Fraction(30)
        frame_count = stream.frames or round(duration * rate)
        _check_video_limits(stream.width * stream.height, duration, frame_count, limits, name)
        first = _first_frame(container, stream, name)
        rotation = _clockwise_rotation(first)
        width, height = first.width, first.height
        if rotation in (90, 270):
            width, height = height, width
        return VideoInfo(
            width=width,
            height=height,
            average_rate=rate,
            time_base=stream.time_base or Fraction(1, 90_000),
            frame_count=max(frame_count, 1),
            duration_seconds=duration,
            rotation=rotation,
            has_audio=any(s.type == "audio" for s in container.streams),
            codec=stream.codec_context.name,
            planes_matrix=_planes_matrix(first),
        )


def read_frames(
    path: StrPath, limits: Limits = Limits(), info: VideoInfo | None = None, *, planes: bool = False
) -> Iterator[Frame]:
    """Stream a video's frames one at a time, upright BGR, with their original pts.

    With ``planes``, frames that have ``VideoInfo.planes_matrix`` come as writable
    ``picture.Yuv420`` copies of the decoder's planes instead: converting a whole
    frame to BGR and back costs more than the swap's edits to it.

    The file is probed (and refused if invalid) when this is called, not on the first
    ``next``, unless the caller passes the ``info`` its own ``probe`` returned (each
    probe opens the file and decodes a frame). Memory stays flat however long the
    video is.

    Raises:
        InvalidVideo: as ``probe``, or when decoding fails part-way.
        InputTooLarge: as ``probe``, or when the video turns out longer than it said.
    """
    info = info or probe(path, limits)
    matrix = info.planes_matrix if planes else None
    return (
        Frame(index, _upright_frame(decoded, info.rotation, matrix), decoded.pts)
        for index, decoded in _iterate_frames(path, limits)
    )


def read_pictures(
    path: StrPath, limits: Limits = Limits(), info: VideoInfo | None = None
) -> Iterator[tuple[int, Picture]]:
    """``read_frames`` for the analysis pass: (index, upright picture) per frame.

    8-bit 4:2:0 frames stay in the decoder's planes (``picture.Yuv420``), which the
    face models crop from without converting the whole frame; other formats come as
    BGR. Frames are decoded without the deblocking filter (slightly blockier, a
    quarter cheaper). Takes ``info`` and raises as ``read_frames``.
    """
    info = info or probe(path, limits)
    return (
        (index, _upright_picture(decoded, info.rotation))
        for index, decoded in _iterate_frames(path, limits, deblock=False)
    )


def _iterate_frames(
    path: StrPath, limits: Limits, *, deblock: bool = True
) -> Iterator[tuple[int, av.VideoFrame]]:
    name = Path(path).name
    with _open_video(path) as container:
        stream = _video_stream(container, name)
        stream.codec_context.thread_type = "AUTO"
        if not deblock:
            # The in-loop deblocking filter is a quarter of H.264's decoding time; the
            # face models do not need it, a picture that is encoded again does.
            stream.codec_context.options = {"skip_loop_filter": "all"}
        index = 0
        try:
            for decoded in container.decode(stream):
                # Containers can under-report their length; the limits hold regardless.
                if index >= limits.max_frames:
                    raise InputTooLarge(
                        f"'{name}' has more than {limits.max_frames} frames "
                        f"(the limit is {limits.max_frames})"
                    )
                yield index, decoded
                index += 1
        except av.FFmpegError as error:
            message = f"'{name}' cannot be decoded after frame {index}: {error}"
            raise InvalidVideo(message) from error


def read_image(path: StrPath, limits: Limits = Limits()) -> Image:
    """Load a photo as upright BGR ``uint8`` (EXIF orientation applied, 3 channels).

    Transparent pixels are composited onto white; grayscale is expanded to BGR.

    Raises:
        InvalidImage: missing, empty, truncated, corrupt or not an image.
        InputTooLarge: more than ``limits.max_image_bytes`` or ``max_image_pixels``.
    """
    name = Path(path).name
    raw = _read_image_bytes(path, limits, name)
    header = _image_header(raw, name)
    if header is not None:
        _check_image_pixels(header[0] * header[1], limits, name)
    has_alpha = header is not None and header[2]
    # IMREAD_COLOR applies EXIF orientation and expands grayscale, but would keep the
    # arbitrary colours hidden under transparent pixels.
    data = np.frombuffer(raw, dtype=np.uint8)
    image = _decode_flattened(data) if has_alpha else cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise InvalidImage(f"'{name}' is not a readable image (corrupt or unsupported format)")
    _check_image_pixels(image.shape[0] * image.shape[1], limits, name)
    return image


# --- video helpers -------------------------------------------------------------------


def _open_video(path: StrPath) -> InputContainer:
    file = Path(path)
    if not file.is_file():
        raise InvalidVideo(f"'{file.name}' does not exist (or is not a file)")
    if file.stat().st_size == 0:
        raise InvalidVideo(f"'{file.name}' is empty (0 bytes)")
    try:
        container = av.open(os.fspath(file), metadata_errors="replace")
    except av.FFmpegError as error:
        raise InvalidVideo(
            f"'{file.name}' is not a readable video (unknown format, damaged, or truncated "
            f"before its index): {error.strerror}"
        ) from error
    format_name = container.format.name
    if format_name in _NOT_VIDEO_FORMATS or format_name.endswith("_pipe"):
        container.close()
        raise InvalidVideo(f"'{file.name}' is an image or text file ({format_name}), not a video")
    return container


def _video_stream(container: InputContainer, name: str) -> VideoStream:
    for stream in container.streams.video:
        # Cover art in audio files shows up as a one-picture "video" stream.
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    raise InvalidVideo(f"'{name}' has no video stream (audio-only or not a video)")


def _check_not_truncated(stream: VideoStream, file_size: int, name: str) -> None:
    """Refuse a file whose index points past its end (an MP4 cut after its moov atom)."""
    # Without this, FFmpeg silently stops decoding where the data ends.
    data_end = max((e.pos + e.size for e in stream.index_entries if e.pos >= 0), default=0)
    if data_end > file_size:
        raise InvalidVideo(
            f"'{name}' is truncated: its index expects {data_end} bytes but the file has "
            f"{file_size}"
        )


def _duration_seconds(container: InputContainer, stream: VideoStream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return 0.0


def _check_video_limits(
    pixels: int, seconds: float, frames: int, limits: Limits, name: str
) -> None:
    if pixels > limits.max_pixels:
        raise InputTooLarge(
            f"'{name}' has {pixels} pixels per frame; the limit is {limits.max_pixels}"
        )
    if seconds > limits.max_seconds:
        raise InputTooLarge(
            f"'{name}' lasts {seconds:.1f} s; the limit is {limits.max_seconds:g} s"
        )
    if frames > limits.max_frames:
        raise InputTooLarge(f"'{name}' has {frames} frames; the limit is {limits.max_frames}")


def _first_frame(container: InputContainer, stream: VideoStream, name: str) -> av.VideoFrame:
    try:
        for frame in container.decode(stream):
            return frame
    except av.FFmpegError as error:
        raise InvalidVideo(f"'{name}' cannot be decoded: {error}") from error
    raise InvalidVideo(f"'{name}' has no decodable video frames")


def _clockwise_rotation(frame: av.VideoFrame) -> int:
    """Clockwise turn (0/90/180/270) the display matrix asks for."""
    # PyAV reports the matrix's counter-clockwise angle in [-180, 180].
    return (-round(frame.rotation / 90) * 90) % 360


def _upright_bgr(frame: av.VideoFrame, rotation: int) -> Image:
    image = frame.to_ndarray(format="bgr24", src_colorspace=_source_colorspace(frame))
    if rotation in _ROTATE_CODES:
        return cv2.rotate(image, _ROTATE_CODES[rotation])
    return image


def _upright_picture(frame: av.VideoFrame, rotation: int) -> Picture:
    full_range = _YUV420_FULL_RANGE.get(frame.format.name)
    if full_range is None:
        return _upright_bgr(frame, rotation)
    full_range = full_range or frame.color_range == _AVCOL_RANGE_JPEG
    return Yuv420(*_upright_planes(frame, rotation), _weights(frame), full_range)


def _upright_frame(frame: av.VideoFrame, rotation: int, matrix: tuple[float, float] | None) -> Picture:
    """BGR, or a writable ``Yuv420`` when the frame has the planes ``matrix`` promised."""
    if matrix is None or _planes_matrix(frame) != matrix:
        return _upright_bgr(frame, rotation)
    return Yuv420.packed(*_upright_planes(frame, rotation), matrix, False)


def _upright_planes(frame: av.VideoFrame, rotation: int) -> list[NDArray[np.uint8]]:
    planes = [_plane_view(plane) for plane in frame.planes]
    if rotation in _ROTATE_CODES:
        planes = [cv2.rotate(plane, _ROTATE_CODES[rotation]) for plane in planes]
    return planes


def _planes_matrix(frame: av.VideoFrame) -> tuple[float, float] | None:
    """``VideoInfo.planes_matrix`` for a video whose frames are like ``frame``."""
    limited = frame.format.name == "yuv420p" and frame.color_range != _AVCOL_RANGE_JPEG
    even = frame.width % 2 == 0 and frame.height % 2 == 0
    # Other matrices (BT.2020, FCC, …) are converted by FFmpeg, which knows them.
    known = frame.colorspace in _AVCOL_SPC_BT601 | {_AVCOL_SPC_BT709, _AVCOL_SPC_UNSPECIFIED}
    return _weights(frame) if limited and even and known else None


def _weights(frame: av.VideoFrame) -> tuple[float, float]:
    """(Kr, Kb) of the frame's YUV matrix: its tag, or the players' usual guess."""
    tagged = frame.colorspace
    if tagged == _AVCOL_SPC_UNSPECIFIED:
        return BT709 if _guessed_bt709(frame) else BT601
    return BT601 if tagged in _AVCOL_SPC_BT601 else BT709


def _plane_view(plane: VideoPlane) -> NDArray[np.uint8]:
    """The plane's pixels without copying (rows may be padded to ``line_size``)."""
    data = np.frombuffer(plane, np.uint8)
    rows = data[: plane.line_size * plane.height].reshape(plane.height, plane.line_size)
    return rows[:, : plane.width]


def _source_colorspace(frame: av.VideoFrame) -> str | None:
    """The YUV matrix to convert with: the frame's own, or the players' usual guess."""
    if frame.colorspace != _AVCOL_SPC_UNSPECIFIED:
        return None  # PyAV then uses the tagged one
    return "ITU709" if _guessed_bt709(frame) else "ITU601"


def _guessed_bt709(frame: av.VideoFrame) -> bool:
    """For a frame without a colour matrix tag, the players' usual guess: HD is BT.709."""
    return frame.height >= 720


# --- image helpers -------------------------------------------------------------------


def _read_image_bytes(path: StrPath, limits: Limits, name: str) -> bytes:
    file = Path(path)
    if not file.is_file():
        raise InvalidImage(f"'{name}' does not exist (or is not a file)")
    size = file.stat().st_size
    if size == 0:
        raise InvalidImage(f"'{name}' is empty (0 bytes)")
    if size > limits.max_image_bytes:
        raise InputTooLarge(
            f"'{name}' is {size} bytes; the limit for a photo is {limits.max_image_bytes}"
        )
    return file.read_bytes()


def _check_image_pixels(pixels: int, limits: Limits, name: str) -> None:
    if pixels > limits.max_image_pixels:
        raise InputTooLarge(
            f"'{name}' has {pixels} pixels; the limit for a photo is {limits.max_image_pixels}"
        )


def _image_header(raw: bytes, name: str) -> tuple[int, int, bool] | None:
    """(width, height, has_alpha) from a PNG or JPEG header, read before decoding.

    Knowing the size first stops a small file that decodes to gigapixels. Raises
    InvalidImage for a JPEG that ends before its image data does.
    """
    if raw.startswith(b"\x89PNG\r\n\x1a\n") and raw[12:16] == b"IHDR":
        width, height = int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
        return width, height, raw[25] in (4, 6)  # colour types with an alpha channel
    if raw.startswith(b"\xff\xd8"):
        return _jpeg_header(raw, name)
    return None


def _jpeg_header(raw: bytes, name: str) -> tuple[int, int, bool] | None:
    """Walk JPEG segments to the frame header (size) and scan start (completeness)."""
    position, size = 2, None
    while position + 4 <= len(raw) and raw[position] == 0xFF:
        marker = raw[position + 1]
        length = int.from_bytes(raw[position + 2 : position + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height = int.from_bytes(raw[position + 5 : position + 7], "big")
            width = int.from_bytes(raw[position + 7 : position + 9], "big")
            size = (width, height, False)
        if marker == 0xDA:
            # OpenCV 4 pads a truncated scan with grey instead of failing; refuse it.
            if raw.rfind(b"\xff\xd9") < position:
                raise InvalidImage(f"'{name}' is a truncated JPEG (its image data is cut short)")
            return size
        position += 2 + length
    return size


def _decode_flattened(data: np.ndarray) -> Image | None:
    """Decode a PNG with an alpha channel, composited onto white (None if unreadable)."""
    pixels = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)  # 4 channels, gray + alpha too
    if pixels is None or pixels.ndim != 3 or pixels.shape[2] != 4:
        return None
    scale = 255.0 if pixels.dtype == np.uint8 else 65535.0  # 16-bit PNGs stay 16-bit
    weight = pixels[:, :, 3:].astype(np.float32) / scale
    colour = pixels[:, :, :3].astype(np.float32) * (255.0 / scale)
    return (colour * weight + 255.0 * (1.0 - weight)).round().astype(np.uint8)
