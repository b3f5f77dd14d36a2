"""Pictures and videos for the panel: thumbnails, video lengths and the result view.

Local files are decoded with PyAV (the ``[engine]`` extra) when it is importable; without
it the panel still works and says why a preview is missing. Videos reach the browser
without it ever talking to the API server: small ones as bytes in an
``ipywidgets.Video`` (sent over the kernel's widget channel), large ones as a file under
the notebook's folder, linked relatively so that Jupyter's own ``/files`` route serves it.
"""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

import ipywidgets as widgets

__all__ = [
    "EMBED_LIMIT",
    "NO_PYAV",
    "SYNTHETIC_NOTE",
    "download_link",
    "html_output",
    "note_html",
    "preview_html",
    "pyav_available",
    "relative_link",
    "result_view",
    "thumbnail_png",
    "url_preview_html",
    "video_seconds",
    "video_widget",
]

MB = 1024 * 1024
EMBED_LIMIT = 50 * MB
"""Videos up to this size are embedded as bytes; larger ones are linked as files."""
THUMBNAIL_SIDE = 200
NO_PYAV = "no preview: PyAV is not installed (pip install 'faceswap_nb[engine]')"
SYNTHETIC_NOTE = "Outputs are marked as synthetic media: a face in them was replaced."
# The browser's MIME subtype for a container, by file suffix; the rest play as MP4.
_VIDEO_FORMATS = {".webm": "webm", ".ogv": "ogg", ".ogg": "ogg"}


def _pyav() -> ModuleType | None:
    """PyAV, or None when the ``[engine]`` extra is not installed."""
    try:
        import av
    except ImportError:
        return None
    return av


def pyav_available() -> bool:
    """Whether local previews and video lengths can be computed (PyAV importable)."""
    return _pyav() is not None


def video_seconds(path: str | os.PathLike[str]) -> float | None:
    """The length of a local video in seconds, or None when unknown or unreadable."""
    av = _pyav()
    if av is None:
        return None
    try:
        with av.open(str(path)) as container:
            if container.duration:
                return float(container.duration / av.time_base)
            stream = container.streams.video[0]
            if stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
    except (av.FFmpegError, IndexError, OSError):
        return None
    return None


def _fit(width: int, height: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def thumbnail_png(path: str | os.PathLike[str], max_side: int = THUMBNAIL_SIDE) -> bytes | None:
    """The first frame of a local video (or a photo) as a PNG at most ``max_side`` px wide/high.

    Only the first frame is decoded, so this stays quick for long videos. Returns None
    when PyAV is missing or the file cannot be decoded.
    """
    av = _pyav()
    if av is None:
        return None
    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(container.streams.video[0]))
            width, height = _fit(frame.width, frame.height, max_side)
            rgb = frame.reformat(width=width, height=height, format="rgb24")
            encoder = av.CodecContext.create("png", "w")
            encoder.width, encoder.height, encoder.pix_fmt = width, height, "rgb24"
            return b"".join(bytes(packet) for packet in [*encoder.encode(rgb), *encoder.encode(None)])
    except (av.FFmpegError, StopIteration, IndexError, OSError):
        return None


def note_html(text: str) -> str:
    """A small grey note."""
    return f'<small style="color: #666">{html.escape(text)}</small>'


def preview_html(png: bytes | None, caption: str) -> str:
    """A thumbnail (a data URL, so no file or server is involved) above a caption."""
    if png is None:
        return note_html(caption)
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(caption)}" '
        f'style="max-width: {THUMBNAIL_SIDE}px; max-height: {THUMBNAIL_SIDE}px"><br>'
        + note_html(caption)
    )


def url_preview_html(url: str, kind: str) -> str:
    """A preview of a remote input: the browser shows a face photo itself; videos get a note."""
    if kind == "face":
        return (
            f'<img src="{html.escape(url)}" alt="face (preview unavailable)" '
            f'style="max-width: {THUMBNAIL_SIDE}px; max-height: {THUMBNAIL_SIDE}px"><br>'
            + note_html("face from URL")
        )
    return note_html("video from URL: the server fetches it (previews are for local files)")


def relative_link(path: Path, cwd: Path | None = None) -> str:
    """``path`` as a URL relative to ``cwd`` (the notebook's folder in a kernel)."""
    try:
        relative = os.path.relpath(path.resolve(), (cwd or Path.cwd()).resolve())
    except ValueError:  # another drive on Windows: no relative path exists
        return path.resolve().as_uri()
    return quote(Path(relative).as_posix())


def html_output(markup: str, plain: str) -> widgets.Output:
    """An Output widget showing ``markup`` as a display output.

    Unlike an ``HTML`` widget, an output is rendered by the notebook itself, which turns
    relative ``href``/``src`` links into Jupyter ``/files`` URLs beside the notebook.
    """
    output = widgets.Output()
    output.outputs = (
        {
            "output_type": "display_data",
            "data": {"text/html": markup, "text/plain": plain},
            "metadata": {},
        },
    )
    return output


def video_widget(path: Path, *, limit: int = EMBED_LIMIT, cwd: Path | None = None) -> widgets.Widget:
    """A player for a local video: its bytes up to ``limit``, else a link to the file."""
    size = path.stat().st_size
    if size <= limit:
        return widgets.Video(
            value=path.read_bytes(),
            format=_VIDEO_FORMATS.get(path.suffix.lower(), "mp4"),
            autoplay=False,
            loop=False,
            controls=True,
            layout=widgets.Layout(width="100%"),
        )
    src = html.escape(relative_link(path, cwd))
    return html_output(
        f'<video src="{src}" controls preload="metadata" style="width: 100%"></video>',
        f"{path.name} ({size / MB:.0f} MB, too large to embed)",
    )


def download_link(path: Path, cwd: Path | None = None) -> widgets.Output:
    """A link that downloads ``path`` from beside the notebook (Jupyter's /files route)."""
    href = html.escape(relative_link(path, cwd))
    name = html.escape(path.name)
    size = path.stat().st_size / MB
    return html_output(
        f'<a href="{href}" download="{name}" target="_blank">download {name}</a> ({size:.1f} MB)',
        f"result saved to {path}",
    )


def _column(title: str, player: widgets.Widget) -> widgets.VBox:
    return widgets.VBox(
        [widgets.HTML(f"<b>{html.escape(title)}</b>"), player],
        layout=widgets.Layout(width="50%", padding="0 4px"),
    )


def _original_player(original: Path | str | None, limit: int, cwd: Path | None) -> widgets.Widget:
    if isinstance(original, Path) and original.is_file():
        return video_widget(original, limit=limit, cwd=cwd)
    if isinstance(original, str) and original:
        # A public URL: the browser fetches it itself, as the server did.
        src = html.escape(original)
        return widgets.HTML(f'<video src="{src}" controls preload="metadata" style="width: 100%"></video>')
    return widgets.HTML(note_html("the original is not available here"))


def result_view(
    result: Path,
    original: Path | str | None,
    *,
    limit: int = EMBED_LIMIT,
    cwd: Path | None = None,
) -> list[widgets.Widget]:
    """The original and the result side by side, the download link and the synthetic note.

    Args:
        result: the downloaded output video.
        original: the target video as a local file, or its URL, or None.
        limit: the largest video embedded as bytes.
        cwd: the folder links are relative to (default: the working directory).
    """
    players = widgets.HBox(
        [
            _column("original", _original_player(original, limit, cwd)),
            _column("result (synthetic)", video_widget(result, limit=limit, cwd=cwd)),
        ],
        layout=widgets.Layout(width="100%"),
    )
    return [players, download_link(result, cwd), widgets.HTML(note_html(SYNTHETIC_NOTE))]
