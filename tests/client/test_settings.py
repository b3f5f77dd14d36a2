"""Settings: defaults, the environment (read when a client is built), and overrides."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from faceswap_nb.client import AsyncClient, Client, RetryPolicy, Settings

from .conftest import FakeServer, answer, job_body, make_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FACESWAP_BASE_URL", "FACESWAP_API_KEY", "FACESWAP_MODEL"):
        monkeypatch.delenv(name, raising=False)


def test_the_defaults_point_at_the_local_server() -> None:
    settings = Settings()

    assert settings.base_url == "http://127.0.0.1:8765/v1"
    assert settings.api_key is None
    assert settings.model == "video/faceswap"
    assert settings.get_job_path == "/generate/{jobId}"
    assert settings.timeout == httpx.Timeout(30.0, connect=5.0)
    assert settings.retry == RetryPolicy()


def test_a_client_reads_the_environment_when_it_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACESWAP_BASE_URL", "https://api.example.test/v1/")
    monkeypatch.setenv("FACESWAP_API_KEY", "k-env")
    monkeypatch.setenv("FACESWAP_MODEL", "provider/faceswap")

    with Client() as client:
        settings = client.settings

    assert (settings.base_url, settings.api_key, settings.model) == (
        "https://api.example.test/v1",
        "k-env",
        "provider/faceswap",
    )


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACESWAP_BASE_URL", "https://env.example.test/v1")
    monkeypatch.setenv("FACESWAP_API_KEY", "k-env")

    with Client("https://arg.example.test/v1", "k-arg", model="m-arg") as client:
        assert (client.settings.base_url, client.settings.api_key, client.settings.model) == (
            "https://arg.example.test/v1",
            "k-arg",
            "m-arg",
        )


def test_explicit_settings_are_not_mixed_with_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FACESWAP_API_KEY", "k-env")
    settings = Settings(base_url="https://api.example.test/v1")

    with Client(settings=settings) as client:
        assert client.settings.api_key is None
    with Client(settings=settings, api_key="k-arg") as client:
        assert client.settings.api_key == "k-arg"


def test_empty_variables_count_as_unset() -> None:
    settings = Settings.from_env({"FACESWAP_BASE_URL": "", "FACESWAP_API_KEY": ""})

    assert settings.base_url == "http://127.0.0.1:8765/v1"
    assert settings.api_key is None


def test_seconds_are_accepted_as_a_timeout() -> None:
    assert Settings(timeout=12).timeout == httpx.Timeout(12)


@pytest.mark.parametrize(
    "base_url", ["api.example.test/v1", "ftp://api.example.test/v1", "http://", "http://[::1"]
)
def test_a_base_url_that_is_not_http_is_refused(base_url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        Settings(base_url=base_url)


def test_a_get_job_path_without_the_job_id_is_refused() -> None:
    with pytest.raises(ValueError, match="jobId"):
        Settings(get_job_path="/generate")


def test_settings_are_frozen() -> None:
    with pytest.raises(AttributeError):
        Settings().model = "other"  # type: ignore[misc]


def test_both_twins_close_their_connections_on_leaving_the_block() -> None:
    transport = httpx.MockTransport(FakeServer(answer(200, job_body())))
    with Client(settings=make_settings(), transport=transport) as client:
        pass

    async def run() -> AsyncClient:
        async with AsyncClient(settings=make_settings(), transport=transport) as aclient:
            return aclient

    aclient = asyncio.run(run())

    assert client._http.is_closed and aclient._http.is_closed


def test_the_blocking_client_works_inside_a_running_event_loop() -> None:
    # Jupyter runs cells inside an event loop: the sync client must not start its own.
    transport = httpx.MockTransport(FakeServer(answer(200, job_body())))

    async def cell() -> str:
        with Client(settings=make_settings(), transport=transport) as client:
            return client.get_job("j").status

    assert asyncio.run(cell()) == "processing"
