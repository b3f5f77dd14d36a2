"""A scripted stand-in for the blocking client, for panel tests without a server."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

from faceswap_nb.client.models import Job

JOB_ID = "4ab2d17f-0396-4997-9c84-86c8320ccab9"


def job(status: str, progress: float | None = None, **fields: Any) -> Job:
    """A job object as the server would send it."""
    data: dict[str, Any] = {"jobId": JOB_ID, "status": status, **fields}
    if progress is not None:
        data["progress"] = progress
    if status == "completed":
        data.setdefault("output", {"videoUrl": f"https://api.test/v1/outputs/{JOB_ID}.mp4"})
    return Job.from_dict(data)


class FakeClient:
    """Answers like ``Client``: ``get_job`` walks through ``states`` (the last one repeats).

    Args:
        states: the jobs ``get_job`` returns, in order.
        result: the file ``download`` copies (a real small MP4).
        errors: exceptions to raise, by method name (``upload``, ``create_job``, ``get_job``,
            ``cancel``, ``download``).
    """

    def __init__(
        self,
        states: list[Job] | None = None,
        *,
        result: Path | None = None,
        errors: dict[str, Exception] | None = None,
    ) -> None:
        self.states = list(states or [job("completed", 1.0)])
        self.result = result
        self.errors = dict(errors or {})
        self.uploads: list[Path] = []
        self.created: list[dict[str, Any]] = []
        self.canceled: list[str] = []
        self.polls = 0
        self.downloads = 0
        self._lock = threading.Lock()  # get_job runs in a worker thread

    def _fail(self, method: str) -> None:
        if method in self.errors:
            raise self.errors[method]

    def upload(self, path: Path) -> str:
        self._fail("upload")
        self.uploads.append(Path(path))
        return f"https://files.test/{len(self.uploads)}/{Path(path).name}"

    def create_job(self, video_url: str, face_url: str, *, advanced: bool = False,
                   webhook: str | None = None) -> Job:
        self._fail("create_job")
        self.created.append({"video": video_url, "face": face_url, "advanced": advanced,
                             "webhook": webhook})
        return job("created", input={"videoUrl": video_url, "faceUrl": face_url})

    def get_job(self, job_id: str) -> Job:
        self._fail("get_job")
        with self._lock:
            self.polls += 1
            return self.states.pop(0) if len(self.states) > 1 else self.states[0]

    def cancel(self, job_id: str) -> Job:
        self._fail("cancel")
        with self._lock:
            self.canceled.append(job_id)
            canceled = job("canceled", error={"code": "canceled", "message": "canceled by the user"})
            self.states = [canceled]
        return canceled

    def download(self, job_or_url: Job | str, path: Path) -> Path:
        self._fail("download")
        assert self.result is not None, "this fake has no result video"
        self.downloads += 1
        return Path(shutil.copyfile(self.result, path))
