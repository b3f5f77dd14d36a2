"""The local server over real HTTP: jobs, uploads, outputs, keys and bad input.

The server runs as a child process on a free loopback port; every input is one of its
own uploads, so nothing here makes it fetch a URL (that happens in tests/netns).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from faceswap_nb.engine.encode import is_marked_synthetic
from faceswap_nb.server import LocalServer
from tests.server.conftest import ALICE, BOB, api, create, upload, wait_until_done


@pytest.fixture(scope="module")
def inputs(server: LocalServer, media: dict[str, Path]) -> dict[str, str]:
    """Alice's uploads, by name."""
    with api(server) as http:
        return {name: upload(http, path) for name, path in media.items()}


@pytest.fixture(scope="module")
def finished(server: LocalServer, inputs: dict[str, str]) -> dict[str, Any]:
    """One completed job of Alice's."""
    with api(server) as http:
        return wait_until_done(http, create(http, inputs["clip"], inputs["face"]))


def test_a_job_runs_to_completion_and_bills_its_seconds(finished: dict[str, Any]) -> None:
    assert finished["status"] == "completed", finished
    assert finished["progress"] == 1.0
    assert finished["usage"] == {"seconds": pytest.approx(0.8, abs=0.05), "cost": pytest.approx(0.08, abs=0.005)}
    assert finished["error"] is None
    (warning,) = finished["warnings"]  # Grace Hopper's relaxed face: only her glasses are noted
    assert "wears glasses" in warning
    assert finished["createdAt"] <= finished["startedAt"] <= finished["finishedAt"]
    uuid.UUID(finished["jobId"], version=4)


def test_what_the_engine_noticed_about_the_photo_reaches_the_job(
    server: LocalServer, inputs: dict[str, str]
) -> None:
    with api(server) as http:
        job = wait_until_done(http, create(http, inputs["clip"], inputs["smiling"]))

    assert job["status"] == "completed", job
    assert any("smiles broadly" in warning for warning in job["warnings"]), job["warnings"]


def test_the_output_is_a_seekable_synthetic_mp4(finished: dict[str, Any], tmp_path: Path) -> None:
    url = finished["output"]["videoUrl"]

    whole = httpx.get(url)
    part = httpx.get(url, headers={"Range": "bytes=0-99"})

    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert part.status_code == 206 and len(part.content) == 100
    assert part.headers["content-range"] == f"bytes 0-99/{len(whole.content)}"
    saved = tmp_path / "out.mp4"
    saved.write_bytes(whole.content)
    assert is_marked_synthetic(saved)


def test_an_output_link_with_a_forged_token_reveals_nothing(server: LocalServer, finished: dict[str, Any]) -> None:
    url = httpx.URL(finished["output"]["videoUrl"])
    forged = url.copy_set_param("token", "A" * 24)
    bare = url.copy_with(query=None)

    assert httpx.get(forged).status_code == 404
    assert httpx.get(bare).status_code == 404
    assert httpx.get(bare, headers={"x-api-key": ALICE}).status_code == 200
    assert httpx.get(bare, headers={"x-api-key": BOB}).status_code == 404


def test_a_job_can_be_read_by_path_or_query(server: LocalServer, finished: dict[str, Any]) -> None:
    with api(server) as http:
        by_query = http.get("/generate", params={"jobId": finished["jobId"]}).json()

    assert by_query["jobId"] == finished["jobId"] and by_query["status"] == "completed"


def test_another_key_sees_neither_the_job_nor_the_uploads(
    server: LocalServer, finished: dict[str, Any], inputs: dict[str, str]
) -> None:
    with api(server, BOB) as http:
        job = http.get(f"/generate/{finished['jobId']}")
        cancel = http.post(f"/generate/{finished['jobId']}/cancel")
        listed = http.get("/jobs").json()
        file = http.get(httpx.URL(inputs["face"]).path.removeprefix("/v1"))
        reuse = http.post("/generate", json={
            "model": "video/faceswap", "input": {"videoUrl": inputs["clip"], "faceUrl": inputs["face"]}})

    assert job.status_code == 404 and job.json() == {"status": "not_found", "message": job.json()["message"]}
    assert cancel.status_code == 404
    assert finished["jobId"] not in {j["jobId"] for j in listed["jobs"]}
    assert file.status_code == 404
    assert reuse.status_code == 400 and "upload it first" in reuse.json()["message"]


def test_jobs_are_listed_newest_first_in_pages(server: LocalServer, inputs: dict[str, str]) -> None:
    with api(server) as http:
        ids = [create(http, inputs["clip"], inputs["face"]) for _ in range(3)]
        for job_id in ids:
            http.post(f"/generate/{job_id}/cancel")
        first = http.get("/jobs", params={"limit": 2}).json()
        second = http.get("/jobs", params={"limit": 2, "cursor": first["nextCursor"]}).json()

    assert [j["jobId"] for j in first["jobs"]] == ids[::-1][:2]
    assert second["jobs"][0]["jobId"] == ids[0]


def test_the_same_idempotency_key_never_makes_a_second_job(server: LocalServer, inputs: dict[str, str]) -> None:
    body = {"model": "video/faceswap", "input": {"videoUrl": inputs["clip"], "faceUrl": inputs["face"]}}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    with api(server) as http:
        first = http.post("/generate", json=body, headers=key).json()
        again = http.post("/generate", json=body, headers=key).json()
        changed = http.post("/generate", json={**body, "webhook": None, "input": {**body["input"], "advanced": True}},
                            headers=key)
        http.post(f"/generate/{first['jobId']}/cancel")

    assert again["jobId"] == first["jobId"]
    assert changed.status_code == 409 and "Idempotency-Key" in changed.json()["message"]


def test_a_canceled_job_ends_canceled_and_cannot_be_canceled_again(
    server: LocalServer, inputs: dict[str, str], finished: dict[str, Any]
) -> None:
    with api(server) as http:
        job_id = create(http, inputs["clip"], inputs["face"])
        canceled = http.post(f"/generate/{job_id}/cancel").json()
        final = wait_until_done(http, job_id)
        again = http.post(f"/generate/{job_id}/cancel")
        too_late = http.post(f"/generate/{finished['jobId']}/cancel")

    assert canceled["status"] == "canceled" == final["status"]
    assert final["output"] is None and final["usage"] is None
    assert again.status_code == 409 and too_late.status_code == 409
    assert "already ended (completed)" in too_late.json()["message"]


@pytest.mark.parametrize(("video", "face", "code"), [
    ("text", "face", "invalid_video"),
    ("clip", "text", "invalid_image"),
    ("blank", "face", "no_face_in_video"),
    ("clip", "wall", "no_face_in_source"),
])
def test_bad_media_fail_the_job_with_the_engines_code(
    server: LocalServer, inputs: dict[str, str], video: str, face: str, code: str
) -> None:
    with api(server) as http:
        job = wait_until_done(http, create(http, inputs[video], inputs[face]))

    assert job["status"] == "failed"
    assert job["error"]["code"] == code and job["error"]["message"]
    assert job["output"] is None and job["usage"] is None


ROUTES = [
    ("POST", "/generate"), ("GET", "/generate/x"), ("GET", "/generate?jobId=x"),
    ("POST", "/generate/x/cancel"), ("GET", "/jobs"), ("POST", "/files"),
    ("GET", "/files/x"), ("GET", "/webhooks/secret"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_every_route_needs_a_valid_key(server: LocalServer, method: str, path: str, key: str | None) -> None:
    with api(server, key) as http:
        response = http.request(method, path)

    assert response.status_code == 401
    assert response.json()["status"] == "unauthorized"
    assert ("missing" if key is None else "not valid") in response.json()["message"]


def test_health_and_docs_answer_without_a_key(server: LocalServer) -> None:
    origin = server.base_url.removesuffix("/v1")

    assert httpx.get(f"{server.base_url}/health").json()["status"] == "ok"
    assert httpx.get(f"{origin}/docs").status_code == 200
    assert "/v1/generate" in httpx.get(f"{origin}/openapi.json").json()["paths"]


GOOD = {"model": "video/faceswap", "input": {"videoUrl": "URL", "faceUrl": "URL"}}


@pytest.mark.parametrize(("body", "says"), [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "expected a JSON object"),
    (b"{}", "model: Field required"),
    ({"model": "video/faceswap"}, "input: Field required"),
    ({**GOOD, "model": 7}, "model: Input should be a valid string"),
    ({**GOOD, "model": "another/model"}, "unknown model 'another/model'"),
    ({**GOOD, "input": {"videoUrl": "URL"}}, "input.faceUrl: Field required"),
    ({**GOOD, "input": {**GOOD["input"], "advanced": "yes"}}, "input.advanced: Input should be a valid boolean"),
    ({**GOOD, "input": {**GOOD["input"], "videoUrl": "not a url"}}, "input.videoUrl"),
    ({**GOOD, "input": {**GOOD["input"], "videoUrl": "file:///etc/passwd"}}, "only http:// and https://"),
    ({**GOOD, "input": {**GOOD["input"], "videoUrl": "http://" + "a" * 5000}}, "at most 4096 characters"),
    ({**GOOD, "webhook": 12}, "webhook: Input should be a valid string"),
])
def test_a_malformed_create_is_a_400_that_says_what_to_fix(
    server: LocalServer, inputs: dict[str, str], body: bytes | dict[str, Any], says: str
) -> None:
    if isinstance(body, dict):
        filled = {**body, "input": {k: inputs["clip"] if v == "URL" else v for k, v in body.get("input", {}).items()}}
        content = httpx.Request("POST", "/", json=filled if "input" in body else body).content
    else:
        content = body
    with api(server) as http:
        response = http.post("/generate", content=content, headers={"content-type": "application/json"})

    assert response.status_code == 400, response.text
    assert response.json()["status"] == "invalid_request"
    assert says in response.json()["message"]


def test_an_unknown_route_or_method_is_a_json_error(server: LocalServer) -> None:
    with api(server) as http:
        missing = http.get("/nothing-here")
        wrong = http.delete("/jobs")

    assert missing.status_code == 404 and "no route GET /v1/nothing-here" in missing.json()["message"]
    assert wrong.status_code == 405 and wrong.json()["status"] == "method_not_allowed"


def test_an_upload_without_a_file_or_with_nothing_in_it_is_a_400(server: LocalServer) -> None:
    with api(server) as http:
        no_field = http.post("/files", files={"other": ("a.jpg", b"123")})
        empty = http.post("/files", files={"file": ("a.jpg", b"")})

    assert no_field.status_code == 400 and "file: Field required" in no_field.json()["message"]
    assert empty.status_code == 400 and "empty" in empty.json()["message"]


def test_an_uploaded_file_reads_back_for_its_owner(server: LocalServer, media: dict[str, Path]) -> None:
    with api(server) as http:
        url = upload(http, media["face"])
        back = http.get(httpx.URL(url).path.removeprefix("/v1"))

    assert back.status_code == 200 and back.content == media["face"].read_bytes()


def test_each_key_has_its_own_webhook_secret(server: LocalServer) -> None:
    with api(server) as alice, api(server, BOB) as bob:
        mine = alice.get("/webhooks/secret").json()["secret"]
        theirs = bob.get("/webhooks/secret").json()["secret"]

    assert mine.startswith("whsec_") and theirs.startswith("whsec_") and mine != theirs


def test_an_output_link_with_a_non_ascii_token_is_a_404_not_a_crash(
    server: LocalServer, finished: dict[str, Any]
) -> None:
    url = httpx.URL(finished["output"]["videoUrl"]).copy_set_param("token", "é" * 24)

    assert httpx.get(url).status_code == 404
    assert httpx.head(url).status_code == 404
