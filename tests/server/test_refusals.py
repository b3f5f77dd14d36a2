"""What the real server refuses: too many requests, too many jobs, big uploads, sexual content."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from faceswap_nb.server import LocalServer
from tests.server.conftest import BOB, api, create, start_server, upload, wait_until_done


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """A server with tight limits, which also refuses any visible face (test-only classes)."""
    env = {
        "FACESWAP_RATE_LIMIT_PER_SECOND": "1", "FACESWAP_RATE_LIMIT_BURST": "20",
        "FACESWAP_MAX_JOBS_IN_FLIGHT": "2", "FACESWAP_MAX_UPLOAD_BYTES": "2000000",
        "FACESWAP_TEST_BLOCKED_CLASSES": "FACE_FEMALE,FACE_MALE",
    }
    with start_server(tmp_path_factory.mktemp("strict"), env=env) as running:
        yield running


def test_content_the_policy_blocks_fails_the_job_with_no_output(strict: LocalServer, media: dict[str, Path]) -> None:
    with api(strict) as http:
        job = wait_until_done(http, create(http, upload(http, media["clip"]), upload(http, media["face"])))

    assert job["status"] == "failed"
    assert job["error"]["code"] == "content_policy"
    assert "detected in the face image" in job["error"]["message"]
    assert job["output"] is None and job["usage"] is None
    assert list((strict.data_dir / "outputs").iterdir()) == []


def test_an_upload_over_the_cap_is_a_413_and_leaves_nothing(strict: LocalServer) -> None:
    with api(strict) as http:
        declared = http.post("/files", files={"file": ("big.mp4", b"\0" * 2_200_000)})

        def chunks():  # no Content-Length: the server counts as the bytes arrive
            yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n\r\n'
            for _ in range(30):
                yield b"\0" * 100_000
            yield b"\r\n--x--\r\n"

        streamed = http.post("/files", content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"})

    assert declared.status_code == 413 and "larger than" in declared.json()["message"]
    assert streamed.status_code == 413
    assert [p.name for p in (strict.data_dir / "files").iterdir() if p.name.startswith(".incoming")] == []


def test_jobs_in_flight_are_capped_per_key_with_retry_after(strict: LocalServer, media: dict[str, Path]) -> None:
    with api(strict) as http:
        clip, face = upload(http, media["clip"]), upload(http, media["face"])
        body = {"model": "video/faceswap", "input": {"videoUrl": clip, "faceUrl": face}}
        answers = [http.post("/generate", json=body) for _ in range(4)]
        refused = [a for a in answers if a.status_code == 429]
        for answer in answers:
            if answer.status_code == 200:
                http.post(f"/generate/{answer.json()['jobId']}/cancel")

    assert [a.status_code for a in answers][:2] == [200, 200]
    assert refused and all(int(a.headers["Retry-After"]) >= 1 for a in refused)
    assert "already queued or running" in refused[0].json()["message"]


def test_a_burst_over_the_rate_limit_is_a_429_with_retry_after(strict: LocalServer) -> None:
    with api(strict, BOB) as http:  # Bob's bucket: the other tests here spend Alice's
        answers = [http.get("/jobs") for _ in range(25)]

    limited = [a for a in answers if a.status_code == 429]
    assert limited, "20 requests of burst and 1/s should not let 25 quick requests through"
    assert limited[0].json()["status"] == "rate_limited"
    assert int(limited[0].headers["Retry-After"]) >= 1


def test_a_repeated_create_returns_its_job_even_at_the_in_flight_cap(
    strict: LocalServer, media: dict[str, Path]
) -> None:
    with api(strict) as http:
        clip, face = upload(http, media["clip"]), upload(http, media["face"])
        body = {"model": "video/faceswap", "input": {"videoUrl": clip, "faceUrl": face}}
        first = [http.post("/generate", json=body, headers={"Idempotency-Key": f"k{i}"}) for i in range(2)]
        again = http.post("/generate", json=body, headers={"Idempotency-Key": "k0"})
        for answer in first:
            http.post(f"/generate/{answer.json()['jobId']}/cancel")

    assert [a.status_code for a in first] == [200, 200]
    assert again.status_code == 200 and again.json()["jobId"] == first[0].json()["jobId"]
