"""One input of a job (the target video or the face photo): a URL field, a file button, a preview.

The job API takes URLs only, so a local file — a path typed in the field, a file picked
with the button, or a path given to ``JobPanel.set_inputs`` — is uploaded to the server
as soon as it is chosen, and the field then shows the URL the server gave it. The panel
remembers which local file is behind each such URL, for the preview, the cost estimate
and the side-by-side result.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import ipywidgets as widgets

from faceswap_nb._errors import FaceswapError
from faceswap_nb.widgets._status import describe_upload_error
from faceswap_nb.widgets.display import (
    NO_PYAV,
    note_html,
    preview_html,
    pyav_available,
    thumbnail_png,
    url_preview_html,
    video_seconds,
)

__all__ = ["InputProblem", "MediaInput", "is_web_url"]

Kind = Literal["video", "face"]
_LABELS = {"video": "target video", "face": "face image"}


class InputProblem(ValueError):
    """An input the panel cannot use as it is; the message says what to do."""


def is_web_url(text: str) -> bool:
    """Whether ``text`` is an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class MediaInput:
    """The URL field, file button and preview of one job input.

    Args:
        kind: ``"video"`` (the target) or ``"face"`` (the source photo).
        upload: puts a local file on the server and returns its URL (``client.upload``).
        report: shows a message to the user.
        on_change: called after the input changed (the panel updates the cost).
    """

    def __init__(
        self,
        kind: Kind,
        *,
        upload: Callable[[Path], str],
        report: Callable[[str], None],
        on_change: Callable[[], None],
    ) -> None:
        self.kind = kind
        self.label = _LABELS[kind]
        self._upload = upload
        self._report = report
        self._on_change = on_change
        self.text = widgets.Text(
            placeholder="https://… or a local file path",
            description=self.label,
            continuous_update=False,  # act on Enter or leaving the field, not on every key
            style={"description_width": "initial"},
            layout=widgets.Layout(flex="1 1 auto"),
        )
        self.text.add_class(f"fsnb-{kind}-url")
        self.file = widgets.FileUpload(
            accept="video/*" if kind == "video" else "image/*",
            multiple=False,
            description="file…",
        )
        self.file.add_class(f"fsnb-{kind}-file")
        self.preview = widgets.HTML()
        self.row = widgets.HBox([self.text, self.file], layout=widgets.Layout(width="100%"))
        self.local_path: Path | None = None
        """The local file behind the current field value, when there is one."""
        self.seconds: float | None = None
        """The video's length when known (local files only)."""
        self._uploaded: dict[str, Path] = {}
        self._upload_dir: Path | None = None
        self.text.observe(self._on_text, names="value")
        self.file.observe(self._on_file, names="value")

    def use_file(self, path: Path) -> str:
        """Upload ``path``, put its URL in the field and return the URL.

        Raises:
            the client's errors, e.g. NotFound/InvalidRequest when the server takes no
            uploads, InvalidRequest (413) when the file is too large.
        """
        path = path.expanduser().resolve()
        url = self._upload(path)
        self._uploaded[url] = path
        if self.text.value == url:
            self._refresh(url)  # no change event for an equal value
        self.text.value = url
        return url

    def resolve(self) -> str:
        """The URL to send for this input, uploading a typed local path first.

        Raises:
            InputProblem: the field is empty, or holds neither a URL nor a file.
            the client's errors, or OSError: from the upload.
        """
        value = self.text.value.strip()
        if not value:
            raise InputProblem(f"choose a {self.label} (URL or file)")
        if is_web_url(value):
            return value
        if Path(value).expanduser().is_file():
            return self.use_file(Path(value))
        raise InputProblem(self.not_usable(value))

    def not_usable(self, value: str) -> str:
        """The message for a value that is neither a URL nor a file."""
        shown = value if len(value) <= 80 else value[:77] + "…"
        return f"{self.label}: {shown!r} is neither an http(s) URL nor an existing local file"

    def _on_text(self, change: dict[str, Any]) -> None:
        value = str(change["new"]).strip()
        path = Path(value).expanduser() if value and not is_web_url(value) else None
        if path is not None and path.is_file():
            self._upload_reporting(path)  # sets the field to the URL, which comes back here
            return
        self._refresh(value)
        if path is not None:
            self._report(self.not_usable(value))

    def _upload_reporting(self, path: Path) -> None:
        try:
            self.use_file(path)
        except (FaceswapError, OSError) as exc:
            self._refresh(str(path))
            self._report(f"{self.label}: {describe_upload_error(exc)}")

    def _on_file(self, change: dict[str, Any]) -> None:
        files = change["new"]
        if not files:
            return
        chosen = files[0]
        try:
            path = self._save(str(chosen["name"]), chosen["content"])
        except OSError as exc:
            self._report(f"{self.label}: could not keep the file: {exc}")
            return
        finally:
            # Drop the bytes from the widget model; the same file can then be picked again.
            self.file.value = ()
        self._upload_reporting(path)

    def _save(self, name: str, content: bytes | memoryview) -> Path:
        """Write picked bytes to a private temporary folder, under their own file name."""
        if self._upload_dir is None:
            self._upload_dir = Path(tempfile.mkdtemp(prefix="fsnb-uploads-"))
        path = self._upload_dir / (Path(name).name or f"{self.kind}.bin")
        path.write_bytes(bytes(content))
        return path

    def _refresh(self, value: str) -> None:
        """Recompute the local file, the length and the preview for the field's value."""
        self.local_path = self._uploaded.get(value)
        if self.local_path is None and value and not is_web_url(value):
            candidate = Path(value).expanduser()
            self.local_path = candidate if candidate.is_file() else None
        self.seconds = None
        if self.local_path is not None:
            self.preview.value = self._local_preview(self.local_path)
            if self.kind == "video":
                self.seconds = video_seconds(self.local_path)
        elif is_web_url(value):
            self.preview.value = url_preview_html(value, self.kind)
        else:
            self.preview.value = ""
        self._on_change()

    def _local_preview(self, path: Path) -> str:
        if not pyav_available():
            return note_html(NO_PYAV)
        caption = "first frame" if self.kind == "video" else "face"
        png = thumbnail_png(path)
        return preview_html(png, f"{caption}: {path.name}" if png else f"{path.name}: cannot be decoded")

