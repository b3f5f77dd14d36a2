"""``connect()``: the configured server when there is one, else one embedded server per process."""

from __future__ import annotations

from pathlib import Path

import pytest

import faceswap_nb
from faceswap_nb import _connect


def test_a_configured_base_url_is_used_and_nothing_is_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACESWAP_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("FACESWAP_API_KEY", "k")
    monkeypatch.setattr(_connect, "_embedded", [])

    with faceswap_nb.connect() as client:
        assert client.settings.base_url == "http://127.0.0.1:9/v1"
    assert _connect._embedded == []


def test_without_configuration_one_embedded_server_serves_every_client(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("FACESWAP_BASE_URL", raising=False)
    monkeypatch.setattr(_connect, "_embedded", [])
    try:
        with faceswap_nb.connect(data_dir=tmp_path) as first, faceswap_nb.connect(data_dir=tmp_path) as second:
            assert first.health()["status"] == "ok"
            assert first.settings.base_url == second.settings.base_url
        assert len(_connect._embedded) == 1
    finally:
        for server in _connect._embedded:
            server.stop()
