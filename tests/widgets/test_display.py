"""Thumbnails, video lengths and the result view, on real small media."""

from __future__ import annotations

import io
from pathlib import Path

import av
import ipywidgets as widgets
import pytest

from faceswap_nb.widgets import display
from faceswap_nb.widgets.display import (
    NO_PYAV,
    SYNTHETIC_NOTE,
    preview_html,
    relative_link,
    result_view,
    thumbnail_png,
    url_preview_html,
    video_seconds,
    video_widget,
)


def _descendants(widget: widgets.Widget) -> list[widgets.Widget]:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found.extend(_descendants(child))
    return found


def test_the_length_of_a_local_clip(clip: Path) -> None:
    assert video_seconds(clip) == pytest.approx(2.0, abs=0.15)


def test_a_file_that_is_not_a_video_has_no_length(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a video\n" * 10)

    assert video_seconds(notes) is None
    assert video_seconds(tmp_path / "missing.mp4") is None
    assert thumbnail_png(notes) is None


@pytest.mark.parametrize("name", ["clip", "face"])
def test_thumbnails_are_small_pngs_of_the_first_frame(name: str, request: pytest.FixtureRequest) -> None:
    png = thumbnail_png(request.getfixturevalue(name), max_side=64)

    assert png is not None and png.startswith(b"\x89PNG")
    with av.open(io.BytesIO(png)) as container:
        frame = next(container.decode(video=0))
    assert max(frame.width, frame.height) == 64


def test_without_pyav_there_is_a_note_instead_of_a_preview(
    clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(display, "_pyav", lambda: None)

    assert thumbnail_png(clip) is None
    assert video_seconds(clip) is None
    assert "PyAV is not installed" in NO_PYAV
    assert "data:image" not in preview_html(None, NO_PYAV)


def test_previews_embed_the_png_and_escape_captions() -> None:
    markup = preview_html(b"\x89PNG...", "face: <me>.jpg")

    assert 'src="data:image/png;base64,' in markup
    assert "<me>" not in markup


def test_a_face_url_is_shown_by_the_browser_and_a_video_url_gets_a_note() -> None:
    assert '<img src="https://example.org/a.jpg?x=1&amp;y=2"' in url_preview_html(
        "https://example.org/a.jpg?x=1&y=2", "face"
    )
    assert "<video" not in url_preview_html("https://example.org/v.mp4", "video")


def test_links_are_relative_to_the_notebook_folder(tmp_path: Path) -> None:
    target = tmp_path / "fsnb-results" / "a b.mp4"

    assert relative_link(target, cwd=tmp_path) == "fsnb-results/a%20b.mp4"


def test_small_videos_are_embedded_as_bytes(result_clip: Path) -> None:
    player = video_widget(result_clip)

    assert isinstance(player, widgets.Video)
    assert player.value == result_clip.read_bytes()
    assert player.format == "mp4" and player.controls and not player.autoplay


def test_large_videos_are_linked_beside_the_notebook(result_clip: Path, tmp_path: Path) -> None:
    player = video_widget(result_clip, limit=10, cwd=result_clip.parent)

    assert isinstance(player, widgets.Output)
    markup = player.outputs[0]["data"]["text/html"]
    assert '<video src="result.mp4" controls' in markup


def test_the_result_view_puts_both_videos_side_by_side(result_clip: Path, clip: Path) -> None:
    children = result_view(result_clip, clip, cwd=result_clip.parent)

    videos = [w for child in children for w in _descendants(child) if isinstance(w, widgets.Video)]
    assert [video.value for video in videos] == [clip.read_bytes(), result_clip.read_bytes()]
    link = children[1].outputs[0]["data"]["text/html"]
    assert 'href="result.mp4"' in link and "download" in link
    assert SYNTHETIC_NOTE.split(":")[0] in children[2].value


def test_an_original_given_by_url_is_played_from_its_url(result_clip: Path) -> None:
    children = result_view(result_clip, "https://example.org/v.mp4")

    markup = [w.value for w in _descendants(children[0]) if isinstance(w, widgets.HTML)]
    assert any('<video src="https://example.org/v.mp4"' in value for value in markup)
