"""An in-memory job API behind ``httpx.MockTransport``, counting what a batch does to it.

It behaves like the local server where the batch relies on it: uploads answer URLs, a
repeated ``Idempotency-Key`` answers the first job (409 for another body), a key with
``max_in_flight`` jobs created or processing gets 429 with ``Retry-After``. Jobs move
one step per poll (created, processing, ..., completed), so nothing ends unseen.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from faceswap_nb.client import AsyncClient

BASE = "http://fake.test/v1"
KEY = "fake-key-0123456789"


@dataclass
class FakeAPI:
    """The fake server's state and knobs."""

    max_in_flight: int | None = None
    retry_after: str = "0.01"
    polls_to_finish: int = 2
    refuse: set[str] = field(
        default_factory=set
    )  # video URLs or uploaded file names answered with 400
    fail: set[str] = field(default_factory=set)  # video URLs whose job fails
    warnings: list[str] = field(default_factory=list)  # what every completed job reports
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)  # idempotency key -> (job, body)
    uploads: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # upload URL -> file name
    requests: list[str] = field(default_factory=list)
    rate_limited: int = 0
    most_in_flight: int = 0

    def client(self, api_key: str = KEY) -> AsyncClient:
        """An async client whose requests all go to this fake."""
        return AsyncClient(
            base_url=BASE, api_key=api_key, transport=httpx.MockTransport(self.handle)
        )

    def in_flight(self) -> int:
        return sum(job["status"] in ("created", "processing") for job in self.jobs.values())

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.path}")
        if request.headers.get("x-api-key") != KEY:
            return _error(401, "the x-api-key is not valid")
        path = request.url.path.removeprefix("/v1")
        if request.method == "POST" and path == "/files":
            name = re.search(rb'filename="([^"]+)"', request.read())
            url = f"{BASE}/files/{uuid.uuid4()}"
            self.uploads.append(name[1].decode() if name else "?")
            self.files[url] = self.uploads[-1]
            return httpx.Response(200, json={"url": url})
        if request.method == "POST" and path == "/generate":
            return self._create(request)
        if match := re.fullmatch(r"/generate/([^/]+)(/cancel)?", path):
            job = self.jobs.get(match[1])
            if job is None:
                return _error(404, f"no job {match[1]} for this key")
            return httpx.Response(200, json=self._cancel(job) if match[2] else self._poll(job))
        if match := re.fullmatch(r"/outputs/([^/]+)\.mp4", path):
            return httpx.Response(200, content=b"video of " + match[1].encode())
        return _error(404, "no such route")

    def _create(self, request: httpx.Request) -> httpx.Response:
        body = request.read().decode()
        key = request.headers.get("idempotency-key", "")
        if key in self.keys:
            job_id, first_body = self.keys[key]
            if first_body != body:
                return _error(409, "this Idempotency-Key was already used for a different request")
            return httpx.Response(
                200, json={"jobId": job_id, "status": self.jobs[job_id]["status"]}
            )
        sent = json.loads(body)
        video = sent["input"]["videoUrl"]
        if video in self.refuse or self.files.get(video) in self.refuse:
            return _error(400, "input.videoUrl: not a video")
        if self.max_in_flight is not None and self.in_flight() >= self.max_in_flight:
            self.rate_limited += 1
            return _error(429, "too many jobs in flight", {"Retry-After": self.retry_after})
        job_id = str(uuid.uuid4())
        now = int(time.time() * 1000)
        self.jobs[job_id] = {
            "jobId": job_id,
            "status": "created",
            "input": sent["input"],
            "model": sent["model"],
            "createdAt": now,
            "polls": 0,
        }
        self.keys[key] = (job_id, body)
        self.most_in_flight = max(self.most_in_flight, self.in_flight())
        return httpx.Response(200, json={"jobId": job_id, "status": "created"})

    def _poll(self, job: dict[str, Any]) -> dict[str, Any]:
        if job["status"] in ("created", "processing"):
            job["polls"] += 1
            now = int(time.time() * 1000)
            if job["status"] == "created":
                job.update(status="processing", startedAt=now)
            elif job["polls"] >= self.polls_to_finish:
                self._end(job, now)
        return {k: v for k, v in job.items() if k != "polls"}

    def _end(self, job: dict[str, Any], now: int) -> None:
        job["finishedAt"] = now
        if job["input"]["videoUrl"] in self.fail:
            job.update(
                status="failed",
                error={"code": "no_face_in_video", "message": "no face in any frame"},
            )
        else:
            job.update(
                status="completed",
                usage={"seconds": 0.8, "cost": 0.08},
                output={"videoUrl": f"{BASE}/outputs/{job['jobId']}.mp4"},
                warnings=list(self.warnings),
            )

    def _cancel(self, job: dict[str, Any]) -> dict[str, Any]:
        if job["status"] in ("created", "processing"):
            job.update(
                status="canceled",
                finishedAt=int(time.time() * 1000),
                error={"code": "canceled", "message": "canceled by the user"},
            )
        return {k: v for k, v in job.items() if k != "polls"}


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"status": "error", "message": message}, headers=headers)
