"""quickstart.ipynb in JupyterLab in a real browser: Run All, then one job by hand on a panel.

The test does what a user does: open the notebook, run all cells (the notebook runs one
job unattended), then on the last panel tick consent, click Submit, watch the status
reach ``completed`` and the result ``<video>`` load. The page's screenshot is saved in
the test's folder and copied to test-output/browser/ for people to look at.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from tests.browser.conftest import LabServer

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "quickstart.ipynb"
OPEN_SECONDS = 90.0
RUN_ALL_SECONDS = 240.0
JOB_SECONDS = 240.0
VIDEO_SECONDS = 30.0
STALL_SECONDS = 20.0
KERNEL_REPLY_SECONDS = 15.0
FRAME_SECONDS = 1.0
SETTLE_SECONDS = 1.5
MAX_SCREENSHOT_HEIGHT = 4000
FINAL_STATUSES = ("completed", "failed", "canceled", "cancelled", "error")

pytestmark = pytest.mark.browser

# What the user can see (status bar, prompts, panel statuses), plus the cells' errors
# from Lab's own notebook model (exposed by --LabApp.expose_app_in_browser).
SNAPSHOT_JS = """() => {
  const text = (selector) => [...document.querySelectorAll(selector)].map((e) => e.textContent.trim());
  const notebook = window.jupyterapp?.shell.currentWidget?.content;
  const errors = [], stderr = [];
  for (const cell of notebook?.widgets ?? []) {
    if (cell.model.type !== 'code') continue;
    for (const output of cell.model.outputs.toJSON()) {
      if (output.output_type === 'error') errors.push(`${output.ename}: ${output.evalue}`);
      if (output.name === 'stderr') stderr.push([].concat(output.text).join('').slice(0, 400));
    }
  }
  return {
    kernel: document.querySelector('#jp-main-statusbar')?.innerText.replace(/\\s+/g, ' ') ?? '',
    prompts: text('.jp-CodeCell .jp-InputPrompt'),
    statuses: text('.fsnb-status'),
    errors,
    stderr,
  };
}"""
# Records every text a status element shows from now on, so a job that is finished
# before the next poll is still seen to have started.
WATCH_STATUS_JS = """(element) => {
  element.fsnbSeen = [];
  new MutationObserver(() => element.fsnbSeen.push(element.textContent.trim()))
    .observe(element, {subtree: true, childList: true, characterData: true});
}"""
SEEN_STATUS_JS = "(element) => ({seen: element.fsnbSeen, now: element.textContent.trim()})"
# The result videos' state; asks each one that has no frame yet to load fully, once.
VIDEOS_JS = """(panel) => [...panel.querySelectorAll('.fsnb-result video')].map((video) => {
  if (video.readyState < 2 && !video.fsnbLoadAsked) {
    video.fsnbLoadAsked = true;
    video.preload = 'auto';
    video.load();
  }
  return {src: video.currentSrc.slice(0, 80), readyState: video.readyState, duration: video.duration,
          width: video.videoWidth, height: video.videoHeight, networkState: video.networkState,
          error: video.error?.message ?? null};
})"""

# Seeks the result videos to a frame where the face shows; resolves once each has seeked
# and two animation frames have passed (so it is painted), or after 5 s at the latest.
SEEK_JS = """(panel, seconds) => {
  const seek = (video) => new Promise((resolve) => {
    video.addEventListener('seeked', () => resolve(true), {once: true});
    video.currentTime = Math.min(seconds, video.duration / 2);
  });
  const painted = () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  const videos = [...panel.querySelectorAll('.fsnb-result video')];
  return Promise.race([
    new Promise((resolve) => setTimeout(resolve, 5000)),
    Promise.all(videos.map(seek)).then(painted),
  ]);
}"""


@dataclass
class LabNotebook:
    """A notebook open in Lab in ``page``; failures come with a screenshot and Lab's log."""

    page: Page
    lab: LabServer
    out_dir: Path
    publish: Callable[[Path], Path]
    stalled_since: float | None = None

    def snapshot(self) -> dict[str, Any]:
        """Status bar, cell prompts, panel statuses and cell errors, as the page shows them now."""
        return dict(self.page.evaluate(SNAPSHOT_JS))

    def fail(self, message: str) -> None:
        """Save a screenshot, then raise with ``message``, the page's state and Lab's log."""
        self.page.screenshot(path=self.out_dir / "failure.png")
        shown = self.publish(self.out_dir / "failure.png")
        raise AssertionError(f"{message}\npage: {self.snapshot()}\nscreenshot: {shown}\n"
                             f"--- jupyter lab log ---\n{self.lab.log_tail()}")

    def wait_until(self, ready: Callable[[], bool], seconds: float, what: str) -> None:
        """Poll ``ready`` every half second; fail after ``seconds``."""
        deadline = time.monotonic() + seconds
        while not ready():
            if time.monotonic() > deadline:
                self.fail(f"{what}: not within {seconds:.0f} s")
            time.sleep(0.5)

    def kernel_is_idle(self) -> bool:
        """The status bar reads "… | Idle" (not No Kernel, Connecting, Starting, Busy)."""
        return "| Idle" in self.snapshot()["kernel"]

    def ran_to_the_end(self) -> bool:
        """Every code cell has run, the kernel is idle and a panel says completed.

        Fails at once when a cell raised, and when the kernel has sat idle for
        STALL_SECONDS with cells still queued (it lost them: Run All will never finish).
        """
        state = self.snapshot()
        if state["errors"]:
            self.fail(f"a cell raised: {state['errors']}")
        idle = "| Idle" in state["kernel"]
        queued = any("*" in prompt for prompt in state["prompts"])
        self.stalled_since = (self.stalled_since or time.monotonic()) if idle and queued else None
        if self.stalled_since is not None and time.monotonic() - self.stalled_since > STALL_SECONDS:
            self.fail(f"the kernel is idle but cells are still queued after {STALL_SECONDS:.0f} s")
        numbered = all(p.startswith("[") and p[1:-2].isdigit() for p in state["prompts"])
        done = any("completed" in status for status in state["statuses"])
        return bool(state["prompts"]) and numbered and done and idle


def _is_final(status: str) -> bool:
    return any(word in status.lower() for word in FINAL_STATUSES)


def _open(notebook: LabNotebook, name: str) -> None:
    """Open notebook ``name`` in Lab, with the file browser folded away, once its kernel is idle."""
    page = notebook.page
    page.goto(notebook.lab.notebook_url(name))
    page.wait_for_selector(".jp-Notebook", timeout=OPEN_SECONDS * 1000)
    page.wait_for_function("() => window.jupyterapp?.shell !== undefined")
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    notebook.wait_until(notebook.kernel_is_idle, OPEN_SECONDS, "the kernel to be Idle")


def _run_all_from_the_menu(page: Page) -> None:
    """Run > Run All Cells, clicked as a user would."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def _check_consent_gates_submit(panel: Locator) -> None:
    """Submit is disabled without consent and enabled with it; leaves consent ticked."""
    from playwright.sync_api import expect

    consent = panel.locator(".fsnb-consent input[type=checkbox]")
    submit = panel.locator(".fsnb-submit")
    if consent.is_checked():
        consent.uncheck()
    expect(submit).to_be_disabled(timeout=KERNEL_REPLY_SECONDS * 1000)
    consent.check()
    expect(submit).to_be_enabled(timeout=KERNEL_REPLY_SECONDS * 1000)


def _submit_and_wait(notebook: LabNotebook, panel: Locator) -> str:
    """Click Submit and return the panel's status text once the new job has finished."""
    status = panel.locator(".fsnb-status")
    status.evaluate(WATCH_STATUS_JS)
    panel.locator(".fsnb-submit").click()
    final = ""

    def finished() -> bool:
        nonlocal final
        state = status.evaluate(SEEN_STATUS_JS)
        started = any(not _is_final(text) for text in state["seen"])
        final = state["now"] if started and _is_final(state["now"]) else ""
        return bool(final)

    notebook.wait_until(finished, JOB_SECONDS, "the submitted job to finish")
    return final


def _loaded_videos(notebook: LabNotebook, panel: Locator) -> list[dict[str, Any]]:
    """The panel's result videos, once every one has a frame (readyState >= 2) and a duration."""
    videos: list[dict[str, Any]] = []

    def loaded() -> bool:
        nonlocal videos
        videos = panel.evaluate(VIDEOS_JS)
        return bool(videos) and all(v["readyState"] >= 2 and (v["duration"] or 0) > 0 for v in videos)

    notebook.wait_until(loaded, VIDEO_SECONDS, f"a loaded <video> in the result (saw {videos})")
    return videos


def _screenshots(notebook: LabNotebook, panel: Locator) -> list[Path]:
    """The page, made tall enough to show the whole panel, and the panel alone; both published.

    The result videos are first sent to FRAME_SECONDS, so the pictures show a face.
    """
    page, out_dir = notebook.page, notebook.out_dir
    size, box = page.viewport_size, panel.bounding_box()
    assert size is not None and box is not None, "the page has no viewport or the panel is not shown"
    height = min(MAX_SCREENSHOT_HEIGHT, max(size["height"], int(box["height"]) + 300))
    page.set_viewport_size({"width": size["width"], "height": height})
    panel.scroll_into_view_if_needed()
    panel.evaluate(SEEK_JS, FRAME_SECONDS)
    page.wait_for_timeout(SETTLE_SECONDS * 1000)  # Chromium's seek spinner fades out
    page.screenshot(path=out_dir / "quickstart.png", full_page=True)
    panel.screenshot(path=out_dir / "quickstart-panel.png")
    return [notebook.publish(out_dir / name) for name in ("quickstart.png", "quickstart-panel.png")]


def test_quickstart_runs_in_lab_and_a_job_submitted_on_its_panel_plays(
    lab: LabServer, page: Page, offsite_requests: list[str], publish: Callable[[Path], Path], tmp_path: Path
) -> None:
    shutil.copy(NOTEBOOK, lab.root / NOTEBOOK.name)
    notebook = LabNotebook(page, lab, tmp_path, publish)
    started = time.monotonic()
    _open(notebook, NOTEBOOK.name)
    _run_all_from_the_menu(page)
    notebook.wait_until(notebook.ran_to_the_end, RUN_ALL_SECONDS, "Run All to finish with a completed job")
    ran_all = time.monotonic()

    panel = page.locator(".fsnb-panel").last
    _check_consent_gates_submit(panel)
    final = _submit_and_wait(notebook, panel)
    assert "completed" in final, final
    videos = _loaded_videos(notebook, panel)
    shots = _screenshots(notebook, panel)

    print(f"\nopen + Run All: {ran_all - started:.1f} s; submitted job: {time.monotonic() - ran_all:.1f} s")
    print(f"videos: {videos}\nscreenshots: {', '.join(map(str, shots))}")
    assert not offsite_requests, f"the page tried to leave Lab: {offsite_requests}"
