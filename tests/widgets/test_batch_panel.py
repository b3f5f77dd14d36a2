"""BatchPanel on trait state, with synthetic result frames and a fake client (no server)."""

from __future__ import annotations

import re
import threading

import ipywidgets as widgets
import pandas as pd
import pytest

from faceswap_nb import NotFound
from faceswap_nb.client.models import Job
from faceswap_nb.widgets import BatchPanel, batch_panel
from faceswap_nb.widgets.batch_panel import in_flight_ids, table_html, totals_text
from tests.batch.frames import result_frame

CLASSES = ["fsnb-batch", "fsnb-batch-table", "fsnb-batch-totals", "fsnb-batch-cancel"]


class CancelRecorder:
    """Answers ``cancel`` like the server; ``errors`` maps a job id to what it raises."""

    def __init__(self, errors: dict[str, Exception] | None = None) -> None:
        self.errors = dict(errors or {})
        self.canceled: list[str] = []
        self.threads: list[str] = []

    def cancel(self, job_id: str) -> Job:
        self.threads.append(threading.current_thread().name)
        if job_id in self.errors:
            raise self.errors[job_id]
        self.canceled.append(job_id)
        return Job.from_dict({"jobId": job_id, "status": "canceled"})


def _tree(widget: widgets.Widget) -> list[widgets.Widget]:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found.extend(_tree(child))
    return found


def running_frame() -> pd.DataFrame:
    """Two jobs in flight (created, processing), one completed, one not yet submitted."""
    return result_frame([
        {"status": "completed", "video_seconds": 4.0, "started": 1.0, "finished": 11.0},
        {"status": "processing", "video_seconds": 2.0, "started": 11.0},
        {"status": "created", "video_seconds": 3.0},
        {"status": "not_submitted", "video_seconds": 1.0},
    ])


def test_every_part_has_its_stable_css_class_and_a_cheap_repr():
    panel = BatchPanel(CancelRecorder())

    classes = {name for w in _tree(panel) for name in getattr(w, "_dom_classes", ())}

    assert set(CLASSES) <= classes
    assert panel.cancel_all.description == "Cancel all" and panel.cancel_all.disabled
    assert repr(panel) == "BatchPanel(jobs=0, completed=0, in_flight=0, stop_requested=False)"


def test_a_panel_needs_no_client_to_show_a_frame():
    panel = BatchPanel(result_frame())  # a frame as the first argument

    assert panel._client is None  # nothing connected until Cancel-all needs it
    assert panel.table.value.count("<tr>") == 1 + 5
    assert repr(panel) == "BatchPanel(jobs=5, completed=2, in_flight=1, stop_requested=False)"


def test_update_shows_one_row_per_job_with_its_status_and_the_totals():
    panel = BatchPanel(CancelRecorder())

    panel.update(running_frame())

    table = panel.table.value
    assert table.count("<tr>") == 1 + 4
    for status in ("completed", "processing", "created", "not_submitted"):
        assert f'fsnb-batch-{status}"' in table
    assert "clip1.mp4" in table and "face1.jpg" in table and "job-0001" in table
    assert "0:10" in table  # the completed job's run time
    assert panel.totals.value == (
        "1/4 ended (completed 1) · 2 in flight · 1 not submitted · spent 0.40 of 1.00 estimated"
    )
    assert panel.progress.value == 0.25
    assert "batch-1" in panel.title.value and "4 jobs" in panel.title.value
    assert not panel.cancel_all.disabled


def test_the_table_follows_status_changes():
    panel = BatchPanel(running_frame(), client=CancelRecorder())
    done = running_frame()
    done.loc[[1, 2], "status"] = "completed"
    done.loc[[1, 2], "actual_cost"] = [0.2, 0.3]

    panel.update(done)

    assert 'fsnb-batch-processing"' not in panel.table.value
    assert panel.totals.value.startswith("3/4 ended (completed 3) · 0 in flight")
    assert "spent 0.90 of 1.00 estimated" in panel.totals.value
    assert panel.cancel_all.disabled  # nothing left to cancel, no batch running here


def test_values_are_escaped():
    frame = result_frame([{"status": "failed", "finished": 1.0}])
    frame.loc[0, "video"] = "/media/<script>alert(1)</script>.mp4"
    frame.loc[0, "error_message"] = "bad <b>input</b> & more"

    table = table_html(frame)

    assert "<script>" not in table and "&lt;script&gt;" in table
    assert "no_face_in_video: bad &lt;b&gt;input&lt;/b&gt; &amp; more" in table


def test_what_the_engine_noticed_is_a_note_in_the_row():
    frame = result_frame([{"status": "completed", "finished": 1.0, "warnings": "the source photo smiles broadly"}])

    table = table_html(frame)

    assert ">notes</th>" in table and "note: the source photo smiles broadly" in table


def test_a_long_batch_lists_in_flight_and_failed_jobs_first():
    rows = [{"status": "completed", "finished": 1.0}] * 8 + [
        {"status": "failed", "finished": 2.0}, {"status": "processing", "started": 1.0}]
    frame = result_frame(rows)

    table = table_html(frame, max_rows=4)

    assert table.count("<tr>") == 1 + 4
    assert 'fsnb-batch-failed"' in table and 'fsnb-batch-processing"' in table
    assert "6 more jobs not shown" in table
    # Shown rows keep their numbers in the batch: 1, 2, then 9 and 10.
    numbers = re.findall(r"<tr><td[^>]*>(\d+)</td>", table)
    assert numbers == ["1", "2", "9", "10"]


def test_a_duplicate_has_no_estimate_of_its_own():
    frame = result_frame([{"status": "completed", "finished": 1.0},
                          {"status": "not_submitted", "error_code": "duplicate"}])

    assert totals_text(frame).endswith("spent 0.40 of 0.40 estimated")
    assert table_html(frame).count(">0.40</td>") == 2  # the first row's estimate and actual


def test_totals_before_any_cost_is_reported():
    frame = result_frame([{"status": "created"}])
    frame["est_cost"] = float("nan")

    assert totals_text(frame) == "0/1 ended · 1 in flight · spent 0.00 of unknown estimated"


def test_cancel_all_cancels_jobs_in_flight_and_asks_the_runner_to_stop():
    client = CancelRecorder()
    panel = BatchPanel(running_frame(), client=client)

    panel.cancel_all.click()

    assert client.canceled == ["job-0002", "job-0003"]  # processing and created, not the others
    assert panel.stop_requested.is_set()
    assert panel.canceled == ["job-0002", "job-0003"]
    assert panel.cancel_all.disabled
    assert 'fsnb-batch-canceled"' in panel.table.value  # the cancels' answers, shown at once
    assert "2 jobs cancelled; no new jobs will be submitted" in panel.message.value
    assert "stop_requested=True" in repr(panel)


def test_jobs_that_appear_after_cancel_all_are_cancelled_too():
    client = CancelRecorder()
    panel = BatchPanel(running_frame(), client=client)
    panel.cancel_all.click()
    later = running_frame()
    later.loc[[1, 2], "status"] = "canceled"
    later.loc[3, ["status", "job_id"]] = ["created", "job-0004"]  # a runner that ignored stop

    panel.update(later)

    assert client.canceled == ["job-0002", "job-0003", "job-0004"]


def test_a_cancel_that_fails_is_reported_and_the_rest_still_cancelled():
    client = CancelRecorder(errors={"job-0002": NotFound("unknown job", status_code=404)})
    panel = BatchPanel(running_frame(), client=client)

    panel.cancel_all.click()

    assert client.canceled == ["job-0003"]
    assert "1 could not be cancelled (job-0002" in panel.message.value
    assert "#b00020" in panel.message.value


def test_in_flight_ids_skip_rows_without_a_job():
    frame = running_frame()
    frame.loc[2, "job_id"] = pd.NA

    assert in_flight_ids(frame) == ["job-0002"]


# -- following a BatchRun, with a stand-in -------------------------------------------


class FakeRun:
    """A ``BatchRun``: hands its listeners ``frames`` one by one when ``step`` is called."""

    def __init__(self, frames: list[pd.DataFrame], *, error: BaseException | None = None) -> None:
        self.frames = list(frames)
        self.error = error
        self.listeners: list = []
        self.frame: pd.DataFrame | None = None
        self.done = False
        self.cancel_calls = 0
        self.options: dict = {}

    def add_listener(self, listener) -> None:
        self.listeners.append(listener)
        if self.frame is not None:
            listener(self.frame)

    def step(self) -> None:
        self.frame = self.frames.pop(0)
        for listener in self.listeners:
            listener(self.frame)

    def cancel_all(self, timeout: float = 60.0) -> list[str]:
        self.cancel_calls += 1
        return in_flight_ids(self.frame) if self.frame is not None else []

    def wait(self, timeout: float | None = None) -> pd.DataFrame:
        while self.frames:
            self.step()
        self.done = True
        if self.error is not None:
            raise self.error
        return self.frame


def finished_frame() -> pd.DataFrame:
    frame = running_frame()
    frame.loc[[1, 2], "status"] = "completed"
    return frame


@pytest.fixture
def started(monkeypatch):
    """Make ``panel.run`` start a FakeRun; the list holds (run, pairs, options)."""
    runs: list = []

    def start(pairs, **options):
        run = FakeRun([running_frame(), finished_frame()])
        runs.append((run, pairs, options))
        return run

    monkeypatch.setattr(batch_panel, "_start_batch", start)
    return runs


def test_run_starts_the_batch_in_the_background_with_the_panels_client(started):
    client = CancelRecorder()
    panel = BatchPanel(client)

    run = panel.run([("v.mp4", "f.jpg")], concurrency=2)

    assert started == [(run, [("v.mp4", "f.jpg")], {"concurrency": 2, "client": client})]
    assert panel.batch is run and panel.running
    assert not panel.cancel_all.disabled  # nothing shown yet, but the batch runs
    run.step()
    assert panel.totals.value.startswith("1/4 ended")


def test_wait_shows_and_returns_the_final_frame(started):
    panel = BatchPanel(CancelRecorder())
    panel.run([("v.mp4", "f.jpg")])

    result = panel.wait(5)

    assert result is started[0][0].frame
    assert panel.totals.value.startswith("3/4 ended (completed 3) · 0 in flight")
    assert not panel.running
    assert panel.cancel_all.disabled


def test_cancel_all_goes_through_the_run_it_follows():
    client = CancelRecorder()
    run = FakeRun([running_frame(), finished_frame()])
    panel = BatchPanel(run, client=client)
    run.step()

    panel.cancel_all.click()

    assert run.cancel_calls == 1 and client.canceled == []  # the run cancels, with its client
    assert panel.canceled == ["job-0002", "job-0003"]
    assert panel.stop_requested.is_set() and panel.cancel_all.disabled
    assert "2 jobs cancelled; no new jobs will be submitted" in panel.message.value


def test_a_run_with_pairs_still_waiting_can_be_cancelled_before_any_job_is_in_flight():
    waiting = result_frame([{"status": "not_submitted"}, {"status": "not_submitted"}])
    refused = waiting.copy()
    refused["error_code"] = "duplicate"
    run = FakeRun([waiting])
    panel = BatchPanel(run, client=CancelRecorder())

    run.step()
    assert not panel.cancel_all.disabled
    panel.update(refused)  # nothing will be submitted: nothing to cancel
    assert panel.cancel_all.disabled


def test_following_a_run_that_already_has_a_frame_shows_it_at_once():
    run = FakeRun([running_frame()])
    run.step()

    panel = BatchPanel(run)

    assert panel.frame is not None and "4 jobs" in panel.title.value


def test_wait_raises_and_shows_what_the_batch_raised():
    from faceswap_nb import CostLimitExceeded

    error = CostLimitExceeded("the batch is estimated at 1.20, over max_cost=1", estimate=1.2, limit=1.0)
    panel = BatchPanel(FakeRun([], error=error))

    with pytest.raises(CostLimitExceeded):
        panel.wait(5)
    assert "over max_cost=1" in panel.message.value


def test_run_refuses_while_a_batch_is_followed(started):
    panel = BatchPanel(CancelRecorder())
    panel.run([])

    with pytest.raises(RuntimeError, match="already following"):
        panel.run([])
    panel.wait()
    panel.run([])  # once it ended, a new one may start
    assert len(started) == 2


def test_wait_without_a_batch_says_so():
    with pytest.raises(RuntimeError, match="no batch is followed"):
        BatchPanel(CancelRecorder()).wait()


def test_the_real_start_batch_is_what_run_uses():
    from faceswap_nb.batch.background import start_batch

    assert batch_panel._start_batch.__doc__ and start_batch.__name__ == "start_batch"
