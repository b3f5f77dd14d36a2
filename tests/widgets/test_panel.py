"""JobPanel on trait state, without a browser: a fake client plays the server."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timezone
from pathlib import Path

import ipywidgets as widgets
import pytest

from faceswap_nb import (
    AuthError,
    InvalidRequest,
    JobTimeout,
    NotFound,
    ServerUnreachable,
)
from faceswap_nb.widgets import CONSENT, InputProblem, JobPanel
from tests.widgets.fakes import JOB_ID, FakeClient, job

VIDEO_URL = "https://media.test/office.mp4"
FACE_URL = "https://media.test/face.jpg"
CLASSES = [
    "fsnb-panel", "fsnb-video-url", "fsnb-face-url", "fsnb-consent", "fsnb-submit",
    "fsnb-cancel", "fsnb-status", "fsnb-progress", "fsnb-result",
]


def _tree(widget: widgets.Widget) -> list[widgets.Widget]:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found.extend(_tree(child))
    return found


def _videos(panel: JobPanel) -> list[widgets.Video]:
    return [w for w in _tree(panel.result) if isinstance(w, widgets.Video)]


def make_panel(client: FakeClient, tmp_path: Path, **kwargs: object) -> JobPanel:
    """A panel on ``client`` that polls quickly and saves results under ``tmp_path``."""
    return JobPanel(client, results_dir=tmp_path / "results", poll_interval=0.01, **kwargs)  # type: ignore[arg-type]


def submit(panel: JobPanel, video: str = VIDEO_URL, face: str = FACE_URL) -> None:
    """Fill both URLs, tick consent and press Submit."""
    panel.set_inputs(video=video, face=face)
    panel.consent.value = True
    panel.submit.click()


def test_every_part_has_its_stable_css_class(tmp_path: Path) -> None:
    panel = make_panel(FakeClient(), tmp_path)

    classes = {name for w in _tree(panel) for name in getattr(w, "_dom_classes", ())}

    assert set(CLASSES) <= classes
    assert panel.consent.description == CONSENT == "I have the consent of the person whose face I use"
    assert "status: idle" in panel.status.value
    assert "synthetic" in str([w.value for w in _tree(panel) if isinstance(w, widgets.HTML)])
    assert repr(panel) == "JobPanel(job=None, status='idle', server='FakeClient')"


def test_submit_is_enabled_only_while_consent_is_ticked(tmp_path: Path) -> None:
    panel = make_panel(FakeClient(), tmp_path)

    assert panel.submit.disabled
    panel.consent.value = True
    assert not panel.submit.disabled
    panel.consent.value = False
    assert panel.submit.disabled


def test_without_consent_a_click_does_nothing(tmp_path: Path) -> None:
    client = FakeClient()
    panel = make_panel(client, tmp_path)
    panel.set_inputs(video=VIDEO_URL, face=FACE_URL)

    panel.submit.click()  # click() runs the handler even on a disabled button

    assert client.created == [] and panel.task is None
    assert "consent" in panel.message.value


def test_the_cost_is_estimated_from_a_local_clip_and_the_price(
    tmp_path: Path, clip: Path, face: Path
) -> None:
    client = FakeClient()
    panel = make_panel(client, tmp_path, price_per_second=0.25)

    panel.set_inputs(video=clip, face=face)

    assert "estimated cost: 0.50 (2.0 s of video × 0.25 per second)" in panel.cost.value
    assert client.uploads == [clip.resolve(), face.resolve()]
    assert panel.video_url.value == "https://files.test/1/astronaut.mp4"
    assert panel.face_url.value == "https://files.test/2/grace_hopper.jpg"
    assert "data:image/png;base64," in panel.video.preview.value
    assert "data:image/png;base64," in panel.face.preview.value


def test_a_video_url_has_no_cost_estimate(tmp_path: Path) -> None:
    panel = make_panel(FakeClient(), tmp_path)

    panel.set_inputs(video=VIDEO_URL, face=FACE_URL)

    assert panel.cost.value == "cost: unknown until the server reports usage"
    assert f'<img src="{FACE_URL}"' in panel.face.preview.value


def test_a_typed_local_path_is_uploaded_and_replaced_by_its_url(tmp_path: Path, clip: Path) -> None:
    client = FakeClient()
    panel = make_panel(client, tmp_path)

    panel.video_url.value = str(clip)

    assert client.uploads == [clip.resolve()]
    assert panel.video_url.value.startswith("https://files.test/")
    assert "estimated cost: 0.20" in panel.cost.value


def test_a_picked_file_is_uploaded(tmp_path: Path, face: Path) -> None:
    client = FakeClient()
    panel = make_panel(client, tmp_path)
    content = face.read_bytes()

    panel.face.file.value = (
        {"name": "me.jpg", "type": "image/jpeg", "size": len(content),
         "content": memoryview(content), "last_modified": datetime.now(timezone.utc)},
    )

    assert [path.name for path in client.uploads] == ["me.jpg"]
    assert client.uploads[0].read_bytes() == content
    assert panel.face_url.value == "https://files.test/1/me.jpg"
    assert panel.face.file.value == ()  # the bytes are not kept in the widget


def test_the_status_moves_through_the_jobs_states(tmp_path: Path, result_clip: Path) -> None:
    states = [job("processing", 0.2), job("processing", 0.4), job("processing", 0.6),
              job("completed", 1.0, usage={"seconds": 2.0, "cost": 0.2})]
    panel = make_panel(FakeClient(states, result=result_clip), tmp_path)
    seen: list[str] = []
    panel.status.observe(lambda change: seen.append(change["new"]), names="value")
    ticks = itertools.count(0.0, 1.0)
    panel._now = lambda: next(ticks)  # every reading of the clock is one second later

    submit(panel)
    done = panel.wait(10)

    assert done.status == "completed" and panel.job == done
    assert seen[0].startswith("status: created")
    assert any(text.startswith("status: processing · 40% · elapsed") for text in seen)
    assert any("left" in text for text in seen)
    assert panel.status.value.startswith("status: completed · 100%")
    assert "left" not in panel.status.value
    assert panel.progress.value == 1.0 and panel.progress.bar_style == "success"
    history = panel.history.value
    assert history.index("created") < history.index("processing") < history.index("completed")
    assert history.count("processing") == 1
    assert panel.cost.value == "cost: 0.20 for 2.0 s (reported by the server)"


def test_the_result_box_gets_the_video_when_completed(
    tmp_path: Path, result_clip: Path, clip: Path, face: Path
) -> None:
    panel = make_panel(FakeClient(result=result_clip), tmp_path)

    submit(panel, video=str(clip), face=str(face))
    panel.wait(10)

    assert panel.result_path == tmp_path / "results" / f"{JOB_ID}.mp4"
    original, result = _videos(panel)
    assert result.value == result_clip.read_bytes() and result.format == "mp4"
    assert original.value == clip.read_bytes()  # the original, side by side
    assert "result saved to" in panel.message.value
    assert not panel.submit.disabled and panel.cancel.disabled


def test_what_the_engine_noticed_is_shown_with_the_result(
    tmp_path: Path, result_clip: Path, clip: Path, face: Path
) -> None:
    noticed = job("completed", 1.0, warnings=["the source photo smiles broadly: <use> another"])
    panel = make_panel(FakeClient([noticed], result=result_clip), tmp_path)

    submit(panel, video=str(clip), face=str(face))
    panel.wait(10)

    assert "result saved to" in panel.message.value
    assert "<br>note: the source photo smiles broadly: &lt;use&gt; another" in panel.message.value


def test_a_failed_job_shows_the_servers_code_message_and_advice(tmp_path: Path) -> None:
    failed = job("failed", error={"code": "no_face_in_video", "message": "no face found in any frame"})
    panel = make_panel(FakeClient([job("processing", 0.1), failed]), tmp_path)

    submit(panel)
    done = panel.wait(10)

    assert done.status == "failed"
    assert "status: failed" in panel.status.value and panel.progress.bar_style == "danger"
    message = panel.message.value
    assert "no_face_in_video" in message and "no face found in any frame" in message
    assert "choose a video in which a face is clearly visible" in message
    assert panel.result.children == ()


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (AuthError("invalid API key", status_code=401), "check FACESWAP_API_KEY"),
        (ServerUnreachable("POST http://127.0.0.1:1/v1/generate got no answer"), "is the server running?"),
        (InvalidRequest("input.faceUrl: not an image URL", status_code=400), "input.faceUrl: not an image URL"),
    ],
    ids=["auth", "unreachable", "invalid"],
)
def test_a_refused_create_shows_what_to_do(tmp_path: Path, error: Exception, words: str) -> None:
    panel = make_panel(FakeClient(errors={"create_job": error}), tmp_path)

    submit(panel)

    assert words in panel.message.value
    assert panel.task is None and not panel.submit.disabled
    with pytest.raises(RuntimeError, match="no job was submitted"):
        panel.wait(1)


def test_losing_the_server_while_watching_is_reported(tmp_path: Path) -> None:
    client = FakeClient([job("processing", 0.1)])
    panel = make_panel(client, tmp_path)
    submit(panel)
    client.errors["get_job"] = ServerUnreachable("GET http://127.0.0.1:1/v1/generate/x got no answer")

    with pytest.raises(ServerUnreachable):
        panel.wait(10)

    assert "is the server running?" in panel.message.value
    assert isinstance(panel.error, ServerUnreachable)
    assert not panel.submit.disabled


@pytest.mark.parametrize(
    ("video", "face", "words"),
    [
        ("", "", "choose a target video (URL or file)"),
        (VIDEO_URL, "", "choose a face image (URL or file)"),
        ("ftp://media.test/clip.mp4", FACE_URL, "is neither an http(s) URL nor an existing local file"),
        ("no/such/clip.mp4", FACE_URL, "is neither an http(s) URL nor an existing local file"),
    ],
)
def test_bad_inputs_are_refused_before_anything_is_sent(
    tmp_path: Path, video: str, face: str, words: str
) -> None:
    client = FakeClient()
    panel = make_panel(client, tmp_path)
    panel.video_url.value, panel.face_url.value = video, face
    panel.consent.value = True

    panel.submit.click()

    assert words in panel.message.value
    assert client.created == [] and panel.task is None


def test_set_inputs_refuses_what_is_neither_url_nor_file(tmp_path: Path) -> None:
    panel = make_panel(FakeClient(), tmp_path)

    with pytest.raises(InputProblem, match="neither an http"):
        panel.set_inputs(video="mailto:someone@example.org")
    assert "neither an http" in panel.message.value


def test_a_bad_webhook_is_refused(tmp_path: Path) -> None:
    client = FakeClient()
    panel = make_panel(client, tmp_path)
    panel.webhook.value = "not a url"

    submit(panel)

    assert "webhook" in panel.message.value and client.created == []


def test_advanced_and_webhook_go_with_the_job(tmp_path: Path) -> None:
    client = FakeClient([job("failed")])
    panel = make_panel(client, tmp_path)
    panel.advanced.value = True
    panel.webhook.value = "https://hooks.test/1"

    submit(panel)

    assert client.created == [{"video": VIDEO_URL, "face": FACE_URL, "advanced": True,
                               "webhook": "https://hooks.test/1"}]


@pytest.mark.parametrize(
    "error",
    [NotFound("no /files here", status_code=404), InvalidRequest("method not allowed", status_code=405)],
    ids=["404", "405"],
)
def test_a_server_without_uploads_asks_for_a_public_url(
    tmp_path: Path, clip: Path, error: Exception
) -> None:
    panel = make_panel(FakeClient(errors={"upload": error}), tmp_path)

    with pytest.raises(type(error)):
        panel.set_inputs(video=clip)

    assert "this server does not accept uploads; paste a public URL" in panel.message.value


def test_a_file_too_large_for_the_server_is_reported(tmp_path: Path, clip: Path) -> None:
    error = InvalidRequest("the upload is over 1 MB", status_code=413)
    panel = make_panel(FakeClient(errors={"upload": error}), tmp_path)

    panel.video_url.value = str(clip)  # typed: reported, not raised

    assert "too large" in panel.message.value and "over 1 MB" in panel.message.value


def test_a_second_submit_while_a_job_runs_is_ignored(tmp_path: Path) -> None:
    client = FakeClient([job("processing", 0.1)])
    panel = make_panel(client, tmp_path)
    submit(panel)

    assert panel.submit.disabled and not panel.cancel.disabled
    panel.submit.click()

    assert len(client.created) == 1


def test_cancel_asks_the_server_to_stop_the_running_job(tmp_path: Path) -> None:
    client = FakeClient([job("processing", 0.1)])
    panel = make_panel(client, tmp_path)
    submit(panel)

    panel.cancel.click()
    done = panel.wait(10)

    assert client.canceled == [JOB_ID]
    assert done.status == "canceled" and "status: canceled" in panel.status.value
    assert "canceled by the user" in panel.message.value
    assert panel.cancel.disabled and not panel.submit.disabled


def test_wait_times_out_and_the_panel_keeps_watching(tmp_path: Path, result_clip: Path) -> None:
    client = FakeClient([job("processing", 0.3)], result=result_clip)
    panel = make_panel(client, tmp_path)
    submit(panel)

    with pytest.raises(JobTimeout, match="still 'processing'") as caught:
        panel.wait(0.2)

    assert caught.value.job.status == "processing"
    assert "status: processing" in panel.status.value and not panel.cancel.disabled
    client.states = [job("completed", 1.0)]
    assert panel.wait(10).status == "completed"
    assert _videos(panel)


def test_await_the_task_in_async_code(tmp_path: Path, result_clip: Path) -> None:
    client = FakeClient([job("processing", 0.5), job("completed", 1.0)], result=result_clip)

    async def main() -> str:
        panel = make_panel(client, tmp_path)
        submit(panel)  # inside a running loop: the task goes on that loop
        assert panel.task is not None and panel.task.get_loop() is asyncio.get_running_loop()
        done = await panel.task
        return done.status

    assert asyncio.run(main()) == "completed"


def test_without_pyav_the_panel_still_works_and_says_why_there_is_no_preview(
    tmp_path: Path, clip: Path, face: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from faceswap_nb.widgets import display

    monkeypatch.setattr(display, "_pyav", lambda: None)
    panel = make_panel(FakeClient(), tmp_path)

    panel.set_inputs(video=clip, face=face)

    assert "PyAV is not installed" in panel.video.preview.value
    assert panel.cost.value == "cost: unknown until the server reports usage"
