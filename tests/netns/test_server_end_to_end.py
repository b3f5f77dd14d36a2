"""The real job server fetching real URLs and delivering real webhooks, all on loopback.

Inputs come from a plain file server on 127.0.0.1 (on the server's allow-list); the
webhook receiver is the test server of this folder on the same address.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from faceswap_nb.client.webhooks import verify_webhook
from faceswap_nb.server import LocalServer as JobServer
from tests.media import GRACE_HOPPER, astronaut, write_clip
from tests.netns._server import LocalServer as HookServer
from tests.server.conftest import api, create, start_server, wait_until_done

pytestmark = pytest.mark.netns


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No access log in the test output."""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A file server on 127.0.0.1 with a face clip, a face photo and a text file."""
    folder = tmp_path_factory.mktemp("www")
    write_clip(folder / "clip.mp4", [astronaut(256)] * 8)
    (folder / "face.jpg").write_bytes(GRACE_HOPPER.read_bytes())
    (folder / "notes.txt").write_text("not a video\n" * 20)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JobServer]:
    """The job server, trusting 127.0.0.1 only."""
    with start_server(tmp_path_factory.mktemp("jobs"), env={"FACESWAP_FETCH_ALLOW": "127.0.0.1"}) as running:
        yield running


def test_a_job_fetches_its_inputs_and_delivers_a_signed_retried_webhook(
    server: JobServer, files: str, one: HookServer
) -> None:
    one.hook_statuses["e2e"] = [503]
    with api(server) as http:
        secret = http.get("/webhooks/secret").json()["secret"]
        job_id = create(http, f"{files}/clip.mp4", f"{files}/face.jpg", webhook=f"{one.origin}/hook/e2e")
        job = wait_until_done(http, job_id)
        for _ in range(100):  # the retry waits a second after the 503
            job = http.get(f"/generate/{job_id}").json()
            if len(job["webhookAttempts"]) == 2:
                break
            threading.Event().wait(0.1)

    assert job["status"] == "completed", job
    assert [a["statusCode"] for a in job["webhookAttempts"]] == [503, 200]
    deliveries = [r for r in one.received if r.path == "/hook/e2e"]
    assert len(deliveries) == 2
    payload = verify_webhook(deliveries[-1].headers, deliveries[-1].body, secret)
    assert payload["jobId"] == job_id and payload["status"] == "completed"
    assert payload["output"]["videoUrl"].startswith(server.base_url.removesuffix("/v1"))
    assert deliveries[0].headers["webhook-id"] == deliveries[1].headers["webhook-id"]


@pytest.mark.parametrize(("video", "code"), [("notes.txt", "invalid_video"), ("missing.mp4", "fetch_failed")])
def test_a_bad_or_missing_input_fails_the_job_with_a_code(server: JobServer, files: str, video: str, code: str) -> None:
    with api(server) as http:
        job = wait_until_done(http, create(http, f"{files}/{video}", f"{files}/face.jpg"))

    assert job["status"] == "failed" and job["error"]["code"] == code, job


@pytest.mark.parametrize("url", [
    "http://127.0.0.2:9/clip.mp4", "http://[::1]:9/clip.mp4", "http://0.0.0.0:9/clip.mp4",
    "http://no-such-host.invalid/clip.mp4",
])
def test_a_url_inside_the_network_or_unresolvable_is_refused_at_create(server: JobServer, url: str) -> None:
    with api(server) as http:
        response = http.post("/generate", json={
            "model": "video/faceswap", "input": {"videoUrl": url, "faceUrl": url}})
        listed = http.get("/jobs").json()["jobs"]

    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith("input.videoUrl: ")
    assert url not in {j["input"]["videoUrl"] for j in listed}


def test_a_webhook_inside_the_network_is_refused_at_create(server: JobServer, files: str) -> None:
    with api(server) as http:
        response = http.post("/generate", json={
            "model": "video/faceswap", "webhook": "http://127.0.0.2:9/hook",
            "input": {"videoUrl": f"{files}/clip.mp4", "faceUrl": f"{files}/face.jpg"}})

    assert response.status_code == 400 and response.json()["message"].startswith("webhook: ")
