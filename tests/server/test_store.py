"""The job store: legal status changes only, idempotent creates, per-owner visibility."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from faceswap_nb.server.store import (
    IN_FLIGHT,
    TERMINAL,
    TRANSITIONS,
    IllegalTransition,
    JobStore,
)

INPUT = {"videoUrl": "http://127.0.0.1/v.mp4", "faceUrl": "http://127.0.0.1/f.jpg", "advanced": False}


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    store = JobStore(tmp_path / "jobs.sqlite3")
    yield store
    store.close()


def make(store: JobStore, owner: str = "alice", **kw: object) -> str:
    job, _ = store.create(owner, model="video/faceswap", input=INPUT, webhook=kw.get("webhook"))  # type: ignore[arg-type]
    return job.id


def test_a_new_job_is_created_with_its_input(store: JobStore) -> None:
    job_id = make(store)

    job = store.get(job_id)

    assert job is not None and job.status == "created" and job.input == INPUT
    assert job.created_at > 0 and job.started_at is None and job.progress == 0


def test_the_database_is_in_wal_mode(store: JobStore, tmp_path: Path) -> None:
    import sqlite3

    assert sqlite3.connect(tmp_path / "jobs.sqlite3").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_terminal_statuses_have_no_way_out() -> None:
    assert TERMINAL == {"completed", "failed", "canceled"}
    assert IN_FLIGHT == {"created", "processing"}
    assert all(TRANSITIONS[status] == frozenset() for status in TERMINAL)


@pytest.mark.parametrize("path", [
    ["processing", "completed"], ["processing", "failed"], ["processing", "canceled"],
    ["canceled"], ["failed"],
])
def test_legal_paths_are_taken(store: JobStore, path: list[str]) -> None:
    job_id = make(store)

    for status in path:
        job = store.transition(job_id, status)

    assert job.status == path[-1]
    assert job.finished_at is not None
    assert (job.started_at is not None) == ("processing" in path)


@pytest.mark.parametrize("path", [
    ["completed"], ["processing", "created"], ["processing", "completed", "failed"],
    ["canceled", "processing"], ["failed", "completed"],
])
def test_illegal_changes_are_refused_and_change_nothing(store: JobStore, path: list[str]) -> None:
    job_id = make(store)
    for status in path[:-1]:
        store.transition(job_id, status)
    before = store.get(job_id)

    with pytest.raises(IllegalTransition, match="cannot become"):
        store.transition(job_id, path[-1])

    assert store.get(job_id) == before


def test_status_changes_only_through_transition(store: JobStore) -> None:
    with pytest.raises(ValueError, match="transition"):
        store.update(make(store), status="completed")


def test_a_reused_idempotency_key_returns_the_first_job(store: JobStore) -> None:
    first, created = store.create("alice", model="m", input=INPUT, webhook=None, idempotency_key="k1")
    again, created_again = store.create("alice", model="m", input=INPUT, webhook=None, idempotency_key="k1")
    other, created_other = store.create("bob", model="m", input=INPUT, webhook=None, idempotency_key="k1")

    assert created and not created_again and created_other
    assert again.id == first.id and other.id != first.id


def test_an_owner_sees_only_its_own_jobs(store: JobStore) -> None:
    mine = make(store, "alice")
    theirs = make(store, "bob")

    assert store.get(mine, "alice") is not None
    assert store.get(theirs, "alice") is None
    assert [job.id for job in store.list("alice", limit=10)] == [mine]


def test_listing_pages_newest_first(store: JobStore) -> None:
    ids = [make(store) for _ in range(5)]

    first = store.list("alice", limit=2)
    second = store.list("alice", limit=2, before_seq=first[-1].seq)
    last = store.list("alice", limit=2, before_seq=second[-1].seq)

    assert [j.id for j in first + second + last] == ids[::-1]


def test_in_flight_counts_created_and_processing(store: JobStore) -> None:
    a, b, c = make(store), make(store), make(store)
    store.transition(a, "processing")
    store.transition(c, "canceled")

    assert store.count_in_flight("alice") == 2
    assert store.next_created().id == b  # type: ignore[union-attr]


def test_a_finished_job_with_a_webhook_is_pending_delivery(store: JobStore) -> None:
    with_hook = make(store, webhook="http://127.0.0.1:9/hook")
    without = make(store)

    store.transition(with_hook, "failed")
    store.transition(without, "failed")

    assert [job.id for job in store.pending_webhooks()] == [with_hook]


def test_jobs_survive_reopening_the_database(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    job_id = make(store)
    store.transition(job_id, "processing")
    store.update(job_id, progress=0.5, webhook_attempts=[{"attempt": 1}])
    store.close()

    reopened = JobStore(tmp_path / "jobs.sqlite3")
    job = reopened.get(job_id)

    assert job is not None and job.status == "processing" and job.progress == 0.5
    assert job.webhook_attempts == [{"attempt": 1}]
    assert [j.id for j in reopened.interrupted()] == [job_id]
    reopened.close()


def test_a_completed_job_keeps_the_engines_warnings(store: JobStore) -> None:
    job_id = make(store)
    store.transition(job_id, "processing")

    store.transition(job_id, "completed", warnings=["the source photo smiles broadly"])

    job = store.get(job_id)
    assert job is not None and job.warnings == ["the source photo smiles broadly"]
    assert store.get(make(store)).warnings == []  # type: ignore[union-attr]


def test_a_database_from_before_warnings_gains_the_column_and_keeps_its_jobs(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    store = JobStore(path)
    job_id = make(store)
    store.close()
    with sqlite3.connect(path) as old:  # as the first release wrote it: no warnings column
        old.execute("ALTER TABLE jobs DROP COLUMN warnings")

    reopened = JobStore(path)
    job = reopened.get(job_id)
    reopened.transition(job_id, "processing")
    reopened.transition(job_id, "completed", warnings=["w"])

    assert job is not None and job.input == INPUT and job.warnings == []
    assert reopened.get(job_id).warnings == ["w"]  # type: ignore[union-attr]
    reopened.close()


def test_uploads_belong_to_their_owner_and_expire(store: JobStore) -> None:
    record = store.add_file("alice", "face.jpg", 1234)

    assert store.get_file(record.id, "alice") == record
    assert store.get_file(record.id, "bob") is None
    assert store.delete_files_before(record.created_at + 1) == [record.id]
    assert store.get_file(record.id) is None
