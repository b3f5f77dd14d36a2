"""The batch ledger: what it writes, what it re-reads, and what it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faceswap_nb import LedgerError
from faceswap_nb.batch.ledger import Ledger
from faceswap_nb.batch.money import Pricing

IDS = ["aaaa", "bbbb", "cccc"]
SUBMITTED = (
    '{"event": "submitted", "batch_id": "B", "pair_id": "PAIR", "idempotency_key": "k", '
    '"job_id": "j", "at": "t"}'
)
FINISHED_ELSEWHERE = (
    '{"event": "finished", "batch_id": "other", "pair_id": "aaaa", "job_id": "j", '
    '"status": "completed", "at": "t"}'
)


def new_ledger(path: Path | None, ids: list[str] = IDS, **options: object) -> Ledger:
    return Ledger.open(path, pair_ids=ids, pricing=Pricing(), **options)  # type: ignore[arg-type]


def submit(ledger: Ledger, pair_id: str, job_id: str | None = None) -> None:
    ledger.record(
        "submitting",
        pair_id=pair_id,
        idempotency_key=ledger.idempotency_key(pair_id),
        video=f"{pair_id}.mp4",
        face="f.jpg",
        video_url=f"http://h/{pair_id}",
        face_url="http://h/f",
    )
    if job_id:
        ledger.record(
            "submitted",
            pair_id=pair_id,
            idempotency_key=ledger.idempotency_key(pair_id),
            job_id=job_id,
        )


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def written(tmp_path: Path) -> Path:
    """A ledger with one pair finished, one submitted and one half-submitted."""
    path = tmp_path / "batch.jsonl"
    ledger = new_ledger(path)
    ledger.start()
    ledger.record("uploaded", path="f.jpg", url="http://h/f")
    submit(ledger, "aaaa", "job-a")
    ledger.record("finished", pair_id="aaaa", job_id="job-a", status="completed", cost=0.08)
    submit(ledger, "bbbb", "job-b")
    submit(ledger, "cccc")
    ledger.close()
    return path


def test_nothing_is_written_before_start(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"

    new_ledger(path)

    assert not path.exists()


def test_the_header_comes_first_and_every_line_names_the_batch(written: Path) -> None:
    events = lines(written)

    assert events[0]["event"] == "batch"
    assert events[0]["pairs"] == 3 and events[0]["pair_ids"] == IDS
    assert events[0]["pricing"] == {"price_per_second": 0.1, "rounding": "exact"}
    assert [e["event"] for e in events[1:]] == [
        "uploaded",
        "submitting",
        "submitted",
        "finished",
        "submitting",
        "submitted",
        "submitting",
    ]
    assert {e["batch_id"] for e in events} == {events[0]["batch_id"]}
    assert all("at" in e for e in events[1:])


def test_a_rerun_knows_what_each_pair_needs(written: Path) -> None:
    ledger = new_ledger(written, ids=list(reversed(IDS)))  # order does not matter

    assert ledger.resumed
    assert {pid: r.stage for pid, r in ledger.pairs.items()} == {
        "aaaa": "finished",
        "bbbb": "submitted",
        "cccc": "submitting",
    }
    half = ledger.pairs["cccc"]
    assert half.idempotency_key == ledger.idempotency_key("cccc")
    assert (half.video_url, half.face_url) == ("http://h/cccc", "http://h/f")
    assert ledger.uploads == {"f.jpg": "http://h/f"}


def test_the_idempotency_key_is_the_same_in_every_run(written: Path) -> None:
    batch_id = lines(written)[0]["batch_id"]

    assert new_ledger(written).idempotency_key("cccc") == f"fsnb-{batch_id}-cccc"


def test_a_rerun_appends_to_the_same_file(written: Path) -> None:
    before = written.read_text()
    ledger = new_ledger(written)
    ledger.start()
    ledger.record(
        "submitted", pair_id="cccc", idempotency_key=ledger.idempotency_key("cccc"), job_id="job-c"
    )
    ledger.close()

    assert written.read_text().startswith(before)
    assert new_ledger(written).pairs["cccc"].stage == "submitted"


def test_other_pairs_are_another_batch(written: Path) -> None:
    with pytest.raises(
        LedgerError, match="3 pairs; this batch has 2 pairs, 1 of them not in the ledger"
    ) as info:
        new_ledger(written, ids=["aaaa", "dddd"])

    assert info.value.code == "ledger_error" and info.value.path == str(written)


def test_other_options_are_refused(written: Path) -> None:
    with pytest.raises(LedgerError, match="advanced=False, not True"):
        new_ledger(written, advanced=True)


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("{not json", "line 3 .* is not valid JSON"),
        ("[1, 2]", "line 3 .* is not a JSON object"),
        ('{"event": "teleported"}', "unexpected event 'teleported'"),
        ('{"event": "submitted", "batch_id": "B"}', "lacks pair_id, idempotency_key, job_id, at"),
        (FINISHED_ELSEWHERE, "belongs to batch 'other'"),
        (SUBMITTED.replace("PAIR", "zzzz"), "pair zzzz, which is not in this batch"),
        (SUBMITTED.replace("PAIR", "bbbb"), "submitted without a 'submitting' line"),
    ],
)
def test_a_corrupt_line_is_refused_with_its_number(written: Path, line: str, match: str) -> None:
    events = written.read_text().splitlines()
    batch_id = str(lines(written)[0]["batch_id"])
    events.insert(2, line.replace('"B"', json.dumps(batch_id)))
    written.write_text("\n".join(events) + "\n")

    with pytest.raises(LedgerError, match=match) as info:
        new_ledger(written)

    assert info.value.line == 3
    assert "nothing was submitted" in str(info.value)


def test_a_second_job_for_one_pair_is_refused(written: Path) -> None:
    batch_id = lines(written)[0]["batch_id"]
    extra = {
        "event": "submitted",
        "batch_id": batch_id,
        "pair_id": "aaaa",
        "idempotency_key": "k",
        "job_id": "job-z",
        "at": "t",
    }
    with written.open("a") as file:
        file.write(json.dumps(extra) + "\n")

    with pytest.raises(LedgerError, match="pair aaaa has two jobs, job-a and job-z"):
        new_ledger(written)


def test_a_file_that_is_not_a_ledger_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.jsonl"
    path.write_text('{"hello": "world"}\n')

    with pytest.raises(LedgerError, match="line 1 .* is not a batch header"):
        new_ledger(path)


def test_a_last_line_cut_by_a_kill_is_dropped_and_overwritten(written: Path) -> None:
    whole = written.read_bytes()
    written.write_bytes(whole + b'{"event": "submitted", "batch_id": "')

    ledger = new_ledger(written)
    assert ledger.pairs["cccc"].stage == "submitting"
    ledger.start()
    ledger.record(
        "submitted", pair_id="cccc", idempotency_key=ledger.idempotency_key("cccc"), job_id="job-c"
    )
    ledger.close()

    assert written.read_bytes().startswith(whole)
    assert lines(written)[-1]["job_id"] == "job-c"


def test_one_run_at_a_time(written: Path) -> None:
    first = new_ledger(written)
    first.start()
    try:
        with pytest.raises(LedgerError, match="in use by another running batch"):
            new_ledger(written).start()
    finally:
        first.close()
    second = new_ledger(written)
    second.start()  # free again
    second.close()


def test_a_memory_ledger_writes_nothing(tmp_path: Path) -> None:
    ledger = new_ledger(None)
    ledger.start()
    submit(ledger, "aaaa", "job-a")

    assert ledger.pairs["aaaa"].stage == "submitted"
    assert list(tmp_path.iterdir()) == []


def test_a_whole_last_line_without_its_newline_is_kept(written: Path) -> None:
    written.write_bytes(written.read_bytes().rstrip(b"\n"))

    ledger = new_ledger(written)
    ledger.start()
    ledger.record(
        "submitted", pair_id="cccc", idempotency_key=ledger.idempotency_key("cccc"), job_id="c"
    )
    ledger.close()

    assert [e["event"] for e in lines(written)][-2:] == ["submitting", "submitted"]
