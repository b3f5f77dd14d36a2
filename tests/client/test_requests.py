"""What each method sends and how it reads the answer, for both twins."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest

from faceswap_nb import ServerError
from faceswap_nb.client import Client, Job, JobPage

from .conftest import API_KEY, JOB_ID, Twin, answer, job_body

MakeTwin = Callable[..., Twin]
CREATED = answer(200, {"jobId": JOB_ID, "status": "created"})


def test_create_posts_the_documented_body(twin: MakeTwin) -> None:
    t = twin(CREATED)

    t.call(
        "create_job",
        "https://x/office.mp4",
        "https://x/face.jpg",
        advanced=True,
        webhook="https://h/1",
    )

    request = t.server.last
    assert (request.method, str(request.url)) == ("POST", "https://api.example.test/v1/generate")
    assert request.headers["content-type"] == "application/json"
    assert t.server.json() == {
        "model": "video/faceswap",
        "input": {
            "videoUrl": "https://x/office.mp4",
            "faceUrl": "https://x/face.jpg",
            "advanced": True,
        },
        "webhook": "https://h/1",
    }


def test_create_leaves_out_an_unset_webhook_and_sends_advanced_false(twin: MakeTwin) -> None:
    t = twin(CREATED)

    t.call("create_job", "https://x/v.mp4", "https://x/f.jpg")

    body = t.server.json()
    assert "webhook" not in body
    assert body["input"]["advanced"] is False


def test_create_uses_the_model_setting(twin: MakeTwin) -> None:
    t = twin(CREATED, model="provider/video-faceswap")

    t.call("create_job", "https://x/v.mp4", "https://x/f.jpg")

    assert t.server.json()["model"] == "provider/video-faceswap"


def test_every_request_carries_the_key_and_identifies_the_client(twin: MakeTwin) -> None:
    t = twin(answer(200, job_body()))

    t.call("get_job", JOB_ID)

    assert t.server.last.headers["x-api-key"] == API_KEY
    assert t.server.last.headers["user-agent"].startswith("faceswap_nb/")
    assert t.server.last.headers["accept"] == "application/json"


def test_without_a_key_no_key_header_is_sent(
    twin: MakeTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FACESWAP_API_KEY", raising=False)
    t = twin(answer(200, job_body()), api_key=None)

    t.call("get_job", JOB_ID)

    assert "x-api-key" not in t.server.last.headers


def test_each_create_sends_a_fresh_uuid4_idempotency_key(twin: MakeTwin) -> None:
    t = twin(CREATED)

    t.call("create_job", "https://x/v.mp4", "https://x/f.jpg")
    t.call("create_job", "https://x/v.mp4", "https://x/f.jpg")

    keys = [r.headers["Idempotency-Key"] for r in t.server.requests]
    assert keys[0] != keys[1]
    assert all(uuid.UUID(key).version == 4 for key in keys)


def test_a_caller_may_choose_the_idempotency_key(twin: MakeTwin) -> None:
    t = twin(CREATED)

    t.call("create_job", "https://x/v.mp4", "https://x/f.jpg", idempotency_key="batch-7-row-3")

    assert t.server.last.headers["Idempotency-Key"] == "batch-7-row-3"


def test_create_returns_a_job_filled_in_from_what_was_sent(twin: MakeTwin) -> None:
    t = twin(CREATED)

    job = t.call("create_job", "https://x/v.mp4", "https://x/f.jpg", webhook="https://h/1")

    assert isinstance(job, Job)
    assert (job.job_id, job.status, job.model) == (JOB_ID, "created", "video/faceswap")
    assert job.input == {
        "videoUrl": "https://x/v.mp4",
        "faceUrl": "https://x/f.jpg",
        "advanced": False,
    }
    assert job.webhook == "https://h/1"
    assert not job.is_terminal


def test_get_job_uses_the_default_path(twin: MakeTwin) -> None:
    t = twin(answer(200, job_body()))

    t.call("get_job", JOB_ID)

    assert t.server.last.method == "GET"
    assert str(t.server.last.url) == f"https://api.example.test/v1/generate/{JOB_ID}"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/jobs/{jobId}", f"https://api.example.test/v1/jobs/{JOB_ID}"),
        ("/generate?jobId={jobId}", f"https://api.example.test/v1/generate?jobId={JOB_ID}"),
    ],
)
def test_get_job_follows_a_custom_path(twin: MakeTwin, path: str, expected: str) -> None:
    t = twin(answer(200, job_body()), get_job_path=path)

    t.call("get_job", JOB_ID)

    assert str(t.server.last.url) == expected


def test_a_job_id_cannot_leave_its_path_segment(twin: MakeTwin) -> None:
    t = twin(answer(200, job_body()))

    t.call("get_job", "../../admin?x=1")

    assert t.server.last.url.raw_path == b"/v1/generate/..%2F..%2Fadmin%3Fx%3D1"


def test_get_job_parses_the_whole_job(twin: MakeTwin) -> None:
    body = job_body(
        "completed", output={"videoUrl": "https://cdn/r.mp4"}, date=1771124345358, extra=1
    )
    t = twin(answer(200, body))

    job = t.call("get_job", JOB_ID)

    assert job.is_completed and job.output_url == "https://cdn/r.mp4"
    assert job.date is not None and job.raw["extra"] == 1


def test_cancel_posts_to_the_jobs_cancel_path(twin: MakeTwin) -> None:
    t = twin(answer(200, job_body("canceled")))

    job = t.call("cancel", JOB_ID)

    assert (t.server.last.method, str(t.server.last.url)) == (
        "POST",
        f"https://api.example.test/v1/generate/{JOB_ID}/cancel",
    )
    assert job.status == "canceled"


def test_list_jobs_sends_limit_and_reads_the_cursor(twin: MakeTwin) -> None:
    t = twin(
        answer(
            200,
            {"jobs": [job_body(), {**job_body("completed"), "jobId": "j2"}], "nextCursor": "c2"},
        )
    )

    page = t.call("list_jobs", limit=2)

    assert str(t.server.last.url) == "https://api.example.test/v1/jobs?limit=2"
    assert isinstance(page, JobPage)
    assert [job.job_id for job in page.jobs] == [JOB_ID, "j2"]
    assert page.next_cursor == "c2"


def test_list_jobs_passes_the_cursor_back_and_reads_the_last_page(twin: MakeTwin) -> None:
    t = twin(answer(200, {"jobs": [], "nextCursor": None}))

    page = t.call("list_jobs", cursor="c2")

    assert dict(t.server.last.url.params) == {"limit": "50", "cursor": "c2"}
    assert page == JobPage(jobs=(), next_cursor=None)


def test_health_returns_the_servers_report(twin: MakeTwin) -> None:
    t = twin(answer(200, {"status": "ok", "version": "0.1.0"}))

    assert t.call("health") == {"status": "ok", "version": "0.1.0"}
    assert str(t.server.last.url) == "https://api.example.test/v1/health"


def test_webhook_secret_returns_the_secret(twin: MakeTwin) -> None:
    t = twin(answer(200, {"secret": "whsec_abc="}))

    assert t.call("webhook_secret") == "whsec_abc="
    assert str(t.server.last.url) == "https://api.example.test/v1/webhooks/secret"


@pytest.mark.parametrize(
    ("method", "body", "why"),
    [
        ("get_job", "<html>proxy error</html>", "not JSON"),
        ("get_job", [job_body()], "not a JSON object"),
        ("get_job", {"status": "completed"}, "jobId"),
        ("list_jobs", {"jobs": "none"}, "'jobs' is not a list"),
        ("list_jobs", {"jobs": [{"status": "x"}]}, "jobId"),
        ("webhook_secret", {"secret": 7}, "no 'secret'"),
    ],
)
def test_an_answer_that_is_not_what_the_api_promises_is_a_server_error(
    twin: MakeTwin, method: str, body: object, why: str
) -> None:
    text = body if isinstance(body, str) else None
    t = twin(answer(200, None, text=text) if text else answer(200, body))
    args = (JOB_ID,) if method == "get_job" else ()

    with pytest.raises(ServerError, match="unexpected answer from the server") as caught:
        t.call(method, *args)

    assert why in caught.value.message
    assert caught.value.status_code == 200


@pytest.mark.parametrize("job_id", ["", "   "])
def test_an_empty_job_id_is_refused_before_anything_is_sent(job_id: str) -> None:
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(200))

    with Client(base_url="http://127.0.0.1:9/v1", api_key="k", transport=transport) as client:
        with pytest.raises(ValueError, match="non-empty string"):
            client.get_job(job_id)
        with pytest.raises(ValueError, match="non-empty string"):
            client.cancel(job_id)

    assert sent == []
