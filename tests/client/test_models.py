"""Reading job objects: tolerant of what servers add or leave out, strict about jobId."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from faceswap_nb.client import Job, JobErrorInfo, JobStatus, Usage, is_terminal

# The documented example, plus the local server's optional fields.
FULL = {
    "jobId": "4ab2d17f-0396-4997-9c84-86c8320ccab9",
    "model": "video/faceswap",
    "status": "completed",
    "input": {
        "faceUrl": "https://x/face.jpg",
        "videoUrl": "https://x/office.mp4",
        "advanced": True,
    },
    "webhook": "https://example.org/hooks/1",
    "output": {"videoUrl": "https://x/result.mp4"},
    "date": 1771124345358,
    "progress": 1.0,
    "usage": {"seconds": 12.5, "cost": 1.25},
    "createdAt": 1771124300000,
    "startedAt": 1771124301000,
    "finishedAt": 1771124345000,
}


def test_a_documented_job_object_is_read_field_by_field() -> None:
    job = Job.from_dict(FULL)

    assert job.job_id == FULL["jobId"]
    assert job.status == "completed" and job.model == "video/faceswap"
    assert job.input == FULL["input"]
    assert job.webhook == "https://example.org/hooks/1"
    assert job.output_url == "https://x/result.mp4"
    assert job.progress == 1.0
    assert job.usage == Usage(seconds=12.5, cost=1.25)
    assert job.error is None


def test_millisecond_timestamps_become_aware_utc_datetimes() -> None:
    job = Job.from_dict(FULL)

    assert job.date == datetime(2026, 2, 15, 2, 59, 5, 358000, tzinfo=timezone.utc)
    assert job.created_at == datetime(2026, 2, 15, 2, 58, 20, tzinfo=timezone.utc)
    assert job.started_at is not None and job.started_at.tzinfo is timezone.utc
    assert job.finished_at == datetime(2026, 2, 15, 2, 59, 5, tzinfo=timezone.utc)


def test_unknown_fields_are_kept_in_raw() -> None:
    job = Job.from_dict({**FULL, "priority": "high", "output": {"videoUrl": "u", "thumb": "t"}})

    assert job.raw["priority"] == "high"
    assert job.raw["output"]["thumb"] == "t"


def test_a_minimal_job_has_none_for_everything_optional() -> None:
    job = Job.from_dict({"jobId": "j1", "status": "created"})

    assert (job.model, job.webhook, job.output_url, job.progress) == (None, None, None, None)
    assert (job.error, job.usage, job.date, job.created_at) == (None, None, None, None)
    assert job.input == {} and job.warnings == ()


def test_wrong_typed_optional_fields_are_ignored() -> None:
    job = Job.from_dict(
        {
            "jobId": "j1",
            "status": "processing",
            "model": 7,
            "input": "not a dict",
            "output": ["x"],
            "progress": "half",
            "error": "boom",
            "usage": 3,
            "date": "yesterday",
            "createdAt": True,
            "finishedAt": 10**30,
            "warnings": "not a list",
        }
    )

    assert (job.model, job.output_url, job.progress, job.error, job.usage) == (None,) * 5
    assert (job.date, job.created_at, job.finished_at) == (None, None, None)
    assert job.input == {} and job.warnings == ()


def test_a_failed_job_carries_the_servers_error() -> None:
    job = Job.from_dict(
        {
            "jobId": "j1",
            "status": "failed",
            "error": {"code": "no_face_in_video", "message": "no face"},
        }
    )

    assert job.error == JobErrorInfo(code="no_face_in_video", message="no face")
    assert job.is_terminal and not job.is_completed


def test_the_local_servers_warnings_are_read_and_odd_items_dropped() -> None:
    job = Job.from_dict(
        {"jobId": "j1", "status": "completed", "warnings": ["the source photo smiles broadly", 3, None]}
    )

    assert job.warnings == ("the source photo smiles broadly",)


def test_an_unknown_status_is_kept_and_means_not_done_yet() -> None:
    job = Job.from_dict({"jobId": "j1", "status": "queued"})

    assert job.status == "queued"
    assert not job.is_terminal and not job.is_completed


def test_a_missing_status_is_unknown_and_not_done_yet() -> None:
    assert Job.from_dict({"jobId": "j1"}).status == "unknown"


@pytest.mark.parametrize("data", [{"status": "created"}, {"jobId": ""}, {"jobId": 42}])
def test_an_object_without_a_job_id_is_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="jobId"):
        Job.from_dict(data)


def test_something_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(TypeError, match="JSON object"):
        Job.from_dict(["jobId"])  # type: ignore[arg-type]


@pytest.mark.parametrize("status", ["completed", "failed", "error", "canceled", "cancelled"])
def test_terminal_statuses(status: str) -> None:
    assert is_terminal(status)
    assert JobStatus(status).is_terminal


@pytest.mark.parametrize("status", ["created", "processing", "queued", "", "COMPLETED"])
def test_other_statuses_are_not_terminal(status: str) -> None:
    assert not is_terminal(status)


def test_statuses_compare_equal_to_their_wire_strings() -> None:
    assert JobStatus.COMPLETED == "completed"
    assert Job.from_dict({"jobId": "j", "status": "completed"}).status == JobStatus.COMPLETED
    assert is_terminal(JobStatus.CANCELED)


def test_the_repr_leaves_out_the_raw_copy() -> None:
    assert "raw" not in repr(Job.from_dict(FULL))
