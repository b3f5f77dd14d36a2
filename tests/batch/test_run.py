"""Running a batch against an in-memory job API (``tests/batch/fakes.py``).

The fake counts what the batch does: creates, 429s, jobs in flight. End-to-end runs
against the real local server are in ``test_run_server.py``.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from faceswap_nb import AuthError, CostLimitExceeded, LedgerError
from faceswap_nb.batch._pacing import Slots
from faceswap_nb.batch.background import start_batch
from faceswap_nb.batch.ledger import Ledger
from faceswap_nb.batch.money import Pricing
from faceswap_nb.batch.pairs import normalize_pairs
from faceswap_nb.batch.run import arun_batch, backoff_delay, run_batch
from tests.batch.conftest import clip_copies
from tests.batch.fakes import BASE, FakeAPI

FAST = {"poll_interval": 0.01}


def pairs_of(clip: Path, face: Path, folder: Path, count: int) -> list[tuple[str, str]]:
    return [(str(c), str(face)) for c in clip_copies(clip, folder, count)]


def run(fake: FakeAPI, pairs: Any, **options: Any) -> pd.DataFrame:
    async def main() -> pd.DataFrame:
        async with fake.client() as client:
            return await arun_batch(pairs, client=client, **{**FAST, **options})

    return asyncio.run(main())


def in_flight(frame: pd.DataFrame) -> int:
    return int(frame["status"].isin(["created", "processing"]).sum())


def test_every_pair_runs_once_and_bad_ones_not_at_all(
    clip: Path, face: Path, tmp_path: Path
) -> None:
    fake = FakeAPI()
    good = pairs_of(clip, face, tmp_path, 5)
    pairs = [*good, good[0], (str(tmp_path / "missing.mp4"), str(face))]

    frame = run(fake, pairs)

    assert len(fake.jobs) == 5
    assert frame["status"].tolist() == ["completed"] * 5 + ["not_submitted"] * 2
    assert frame["error_code"].tolist()[5:] == ["duplicate", "invalid_input"]
    assert "file not found" in frame["error_message"][6]
    assert sorted(fake.uploads) == sorted(
        {Path(v).name for v, _ in good} | {face.name}
    )  # each file once


def test_the_table_is_tidy_and_typed(clip: Path, face: Path, tmp_path: Path) -> None:
    frame = run(FakeAPI(), pairs_of(clip, face, tmp_path, 2))

    assert str(frame["status"].dtype) == "category"
    assert list(frame["status"].cat.categories) == [
        "created",
        "processing",
        "completed",
        "failed",
        "canceled",
        "not_submitted",
    ]
    for column in ("submitted_at", "started_at", "finished_at"):
        assert str(frame[column].dtype) == "datetime64[ns, UTC]"
    assert (
        str(frame["queue_time"].dtype) == "timedelta64[ns]"
        and (frame["run_time"] >= pd.Timedelta(0)).all()
    )
    for column in ("job_id", "batch_id", "pair_id", "output_url", "local_path", "error_code"):
        assert str(frame[column].dtype) == "string"
    assert frame["actual_cost"].tolist() == [0.08, 0.08]
    assert frame["est_cost"].tolist() == [0.08, 0.08]
    assert frame.attrs["totals"]["actual_cost"] == 0.16
    assert frame["output_url"].str.startswith(BASE).all()


def test_no_more_than_concurrency_jobs_are_in_flight(
    clip: Path, face: Path, tmp_path: Path
) -> None:
    fake = FakeAPI(polls_to_finish=3)
    seen: list[int] = []

    frame = run(
        fake,
        pairs_of(clip, face, tmp_path, 10),
        concurrency=3,
        on_update=lambda f: seen.append(in_flight(f)),
    )

    assert fake.most_in_flight == 3
    assert max(seen) <= 3
    assert (frame["status"] == "completed").all() and len(fake.jobs) == 10


def test_429_makes_the_batch_wait_and_go_on(clip: Path, face: Path, tmp_path: Path) -> None:
    fake = FakeAPI(max_in_flight=2, retry_after="0.02")

    frame = run(fake, pairs_of(clip, face, tmp_path, 6), concurrency=4)

    assert fake.rate_limited > 0
    assert len(fake.jobs) == 6 and fake.most_in_flight == 2
    assert (frame["status"] == "completed").all()


def test_over_max_cost_nothing_is_submitted(clip: Path, face: Path, tmp_path: Path) -> None:
    fake = FakeAPI()
    ledger = tmp_path / "batch.jsonl"
    pairs = pairs_of(clip, face, tmp_path, 5)  # 5 x 0.8 s x 0.10 = 0.40

    with pytest.raises(CostLimitExceeded, match="estimated at 0.40 .* over max_cost=0.39") as info:
        run(fake, pairs, max_cost=0.39, ledger=ledger)

    assert (info.value.estimate, info.value.limit) == (0.4, 0.39)
    assert fake.requests == [] and not ledger.exists()
    assert len(run(fake, pairs, max_cost=0.40)) == 5  # the limit itself is allowed


def test_the_price_changes_the_limit(clip: Path, face: Path, tmp_path: Path) -> None:
    pairs = pairs_of(clip, face, tmp_path, 2)
    with pytest.raises(CostLimitExceeded):
        run(FakeAPI(), pairs, max_cost=1.0, pricing=Pricing(1.0, "per_started_second"))


def test_a_ledger_of_another_batch_is_refused_before_anything(
    clip: Path, face: Path, tmp_path: Path
) -> None:
    ledger = tmp_path / "batch.jsonl"
    pairs = pairs_of(clip, face, tmp_path, 3)
    run(FakeAPI(), pairs[:2], ledger=ledger)
    fake = FakeAPI()

    with pytest.raises(LedgerError, match="2 pairs; this batch has 3 pairs"):
        run(fake, pairs, ledger=ledger)
    assert fake.requests == []


def test_a_corrupt_ledger_is_refused_before_anything(
    clip: Path, face: Path, tmp_path: Path
) -> None:
    ledger = tmp_path / "batch.jsonl"
    pairs = pairs_of(clip, face, tmp_path, 2)
    run(FakeAPI(), pairs, ledger=ledger)
    text = ledger.read_text().splitlines()
    ledger.write_text("\n".join([*text[:2], "garbage", *text[2:]]) + "\n")
    fake = FakeAPI()

    with pytest.raises(LedgerError, match="line 3 .* is not valid JSON"):
        run(fake, pairs, ledger=ledger)
    assert fake.requests == []


def test_a_finished_batch_run_again_sends_no_create(clip: Path, face: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "batch.jsonl"
    pairs = pairs_of(clip, face, tmp_path, 3)
    first = run(FakeAPI(), pairs, ledger=ledger)
    fake = FakeAPI()

    again = run(fake, pairs, ledger=ledger)

    assert fake.requests == []
    assert again["job_id"].tolist() == first["job_id"].tolist()
    assert again["finished_at"].tolist() == first["finished_at"].tolist()


def test_what_the_engine_noticed_is_in_the_table_and_survives_a_rerun(
    clip: Path, face: Path, tmp_path: Path
) -> None:
    ledger = tmp_path / "batch.jsonl"
    pairs = pairs_of(clip, face, tmp_path, 2)
    noticed = FakeAPI(warnings=["the source photo smiles broadly", "audio re-encoded"])

    first = run(noticed, pairs, ledger=ledger)
    again = run(FakeAPI(), pairs, ledger=ledger)

    expected = ["the source photo smiles broadly; audio re-encoded"] * 2
    assert first["warnings"].tolist() == expected and str(first["warnings"].dtype) == "string"
    assert again["warnings"].tolist() == expected
    assert run(FakeAPI(), pairs, ledger=None)["warnings"].isna().all()


def test_a_half_submitted_pair_gets_its_first_job_back(
    clip: Path, face: Path, tmp_path: Path
) -> None:
    """Killed after the create was sent, before its answer was written down."""
    fake = FakeAPI()
    path = tmp_path / "batch.jsonl"
    pairs = [("https://media.test/a.mp4", "https://media.test/f.jpg")]
    pid = normalize_pairs(pairs)["pair_id"][0]
    ledger = Ledger.open(path, pair_ids=[pid], pricing=Pricing())
    ledger.start()
    ledger.record(
        "submitting",
        pair_id=pid,
        idempotency_key=ledger.idempotency_key(pid),
        video=pairs[0][0],
        face=pairs[0][1],
        video_url=pairs[0][0],
        face_url=pairs[0][1],
    )
    ledger.close()

    async def create_as_the_killed_run_did() -> str:
        async with fake.client() as client:
            key = ledger.idempotency_key(pid)
            return (await client.create_job(pairs[0][0], pairs[0][1], idempotency_key=key)).job_id

    job_id = asyncio.run(create_as_the_killed_run_did())

    # The URLs cannot be probed (no network here), but a half-submitted pair is finished anyway.
    frame = run(fake, pairs, ledger=path)

    assert list(fake.jobs) == [job_id]
    assert frame["job_id"].tolist() == [job_id] and frame["status"].tolist() == ["completed"]


def test_a_refused_pair_is_recorded_and_tried_again_next_run(
    clip: Path, face: Path, tmp_path: Path
) -> None:
    fake = FakeAPI()
    ledger = tmp_path / "batch.jsonl"
    pairs = pairs_of(clip, face, tmp_path, 2)
    fake.refuse = {Path(pairs[0][0]).name}
    first = run(fake, pairs, ledger=ledger)
    assert sorted(first["status"].tolist()) == ["completed", "not_submitted"]
    assert (
        first["error_code"][0] == "invalid_request" and "not a video" in first["error_message"][0]
    )

    fake.refuse = set()
    again = run(fake, pairs, ledger=ledger)
    assert (again["status"] == "completed").all() and len(fake.jobs) == 2


def test_failed_jobs_keep_the_servers_reason(clip: Path, face: Path, tmp_path: Path) -> None:
    fake = FakeAPI(fail={"https://media.test/a.mp4"})
    frame = run(fake, [("https://media.test/a.mp4", str(face))], ledger=None)
    # An unprobeable URL is not submitted: the fake is not on the network.
    assert frame["error_code"][0] == "invalid_input" and fake.jobs == {}


def test_a_wrong_key_stops_the_batch(clip: Path, face: Path, tmp_path: Path) -> None:
    fake = FakeAPI()

    async def main() -> None:
        async with fake.client(api_key="wrong-key-000000") as client:
            await arun_batch(pairs_of(clip, face, tmp_path, 2), client=client, **FAST)

    with pytest.raises(AuthError):
        asyncio.run(main())


def test_outputs_are_downloaded_once(clip: Path, face: Path, tmp_path: Path) -> None:
    fake = FakeAPI()
    ledger = tmp_path / "batch.jsonl"
    pairs = pairs_of(clip, face, tmp_path / "in", 2)

    frame = run(fake, pairs, ledger=ledger, download_dir=tmp_path / "out")

    for job_id, local in zip(frame["job_id"], frame["local_path"]):
        assert Path(local) == tmp_path / "out" / f"{job_id}.mp4"
        assert Path(local).read_bytes() == b"video of " + job_id.encode()
    count = len(fake.requests)
    assert (
        run(fake, pairs, ledger=ledger, download_dir=tmp_path / "out")["local_path"].notna().all()
    )
    assert len(fake.requests) == count


def test_run_batch_works_inside_a_running_event_loop(
    clip: Path, face: Path, tmp_path: Path
) -> None:
    fake = FakeAPI()
    pairs = pairs_of(clip, face, tmp_path, 2)

    async def notebook_cell() -> pd.DataFrame:
        # As in Jupyter: a loop is running in this thread, and the cell calls the blocking API.
        return run_batch(pairs, client=fake.client(), **FAST)

    frame = asyncio.run(notebook_cell())

    assert (frame["status"] == "completed").all()


@pytest.mark.parametrize("blocking", [False, True], ids=["arun_batch", "run_batch"])
def test_an_async_on_update_is_awaited(
    clip: Path, face: Path, tmp_path: Path, blocking: bool
) -> None:
    calls: list[int] = []

    async def on_update(frame: pd.DataFrame) -> None:
        await asyncio.sleep(0)
        calls.append(len(frame))

    pairs = pairs_of(clip, face, tmp_path, 2)
    if blocking:
        run_batch(pairs, client=FakeAPI().client(), on_update=on_update, **FAST)
    else:
        run(FakeAPI(), pairs, on_update=on_update)

    assert calls and set(calls) == {2}


def test_cancel_all_stops_submitting_and_cancels_what_runs(
    clip: Path, face: Path, tmp_path: Path
) -> None:
    fake = FakeAPI(polls_to_finish=10**9)  # jobs run until canceled
    batch = start_batch(
        pairs_of(clip, face, tmp_path, 6), client=fake.client(), concurrency=2, **FAST
    )
    deadline = time.monotonic() + 10
    while (batch.frame is None or in_flight(batch.frame) < 2) and time.monotonic() < deadline:
        time.sleep(0.01)

    canceled = batch.cancel_all()
    frame = batch.wait(10)

    assert len(canceled) == 2 and len(fake.jobs) == 2
    assert sorted(frame["status"].tolist()) == ["canceled"] * 2 + ["not_submitted"] * 4
    assert "BatchRun(done" in repr(batch)


def test_wait_can_time_out_and_the_run_can_be_stopped(
    clip: Path, face: Path, tmp_path: Path
) -> None:
    fake = FakeAPI(polls_to_finish=10**9)
    batch = start_batch(pairs_of(clip, face, tmp_path, 2), client=fake.client(), **FAST)

    with pytest.raises(TimeoutError):
        batch.wait(0.3)
    batch.stop()

    assert batch.done
    with pytest.raises(asyncio.CancelledError):
        batch.wait()


@pytest.mark.parametrize("bad", [{"concurrency": 0}, {"poll_interval": 0}])
def test_bad_options_are_refused(clip: Path, face: Path, bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        run(FakeAPI(), [(str(clip), str(face))], **bad)


def test_backoff_honours_retry_after_and_doubles_otherwise() -> None:
    assert backoff_delay(1, 5.0) == 5.0
    assert backoff_delay(1, 10_000.0) == 300.0
    assert [backoff_delay(n, rand=lambda: 0.0) for n in (1, 2, 3, 7, 8)] == [
        0.5,
        1.0,
        2.0,
        30.0,
        30.0,
    ]
    assert backoff_delay(2, rand=lambda: 1.0) == 0.5


def test_slots_wait_for_a_free_one_and_stop_or_fail_on_demand() -> None:
    async def main() -> list[object]:
        slots, failure, stopped = Slots(1), [None], [False]
        seen: list[object] = [await slots.acquire(lambda: failure[0], lambda: stopped[0])]
        waiting = asyncio.ensure_future(slots.acquire(lambda: failure[0], lambda: stopped[0]))
        await asyncio.sleep(0.01)
        seen.append(waiting.done())
        slots.release()
        seen.append(await waiting)
        stopped[0] = True
        seen.append(await slots.acquire(lambda: failure[0], lambda: stopped[0]))
        failure[0] = RuntimeError("boom")  # type: ignore[call-overload]
        try:
            await slots.acquire(lambda: failure[0], lambda: False)
        except RuntimeError as exc:
            seen.append(str(exc))
        return seen

    assert asyncio.run(main()) == [True, False, True, False, "boom"]
