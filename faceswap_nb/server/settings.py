"""The local server's settings: one frozen object, built from arguments and environment.

Nothing here is read at import time; :meth:`ServerSettings.from_env` reads the
environment when the server starts, and tests pass values directly.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEFAULT_PORT", "MODEL_NAME", "ServerSettings"]

DEFAULT_PORT = 8765
MODEL_NAME = "video/faceswap"
MB = 1024 * 1024


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


# Numeric settings that can also come from ``FACESWAP_<NAME>`` environment variables.
_NUMBERS = {
    "price_per_second": float, "workers": int, "max_jobs_in_flight": int,
    "rate_limit_per_second": float, "rate_limit_burst": int, "max_upload_bytes": int,
    "max_video_bytes": int, "max_image_bytes": int, "retention_seconds": float,
}


@dataclass(frozen=True)
class ServerSettings:
    """Everything the local server can be told; defaults suit one laptop or a Binder pod.

    Attributes:
        data_dir: where the SQLite job store, uploads, inputs and outputs live.
        host, port: where to listen.
        public_url: the origin clients reach the server at, used in upload and output
            URLs; defaults to ``http://{host}:{port}``.
        api_keys: accepted ``x-api-key`` values; empty means "generate one and keep it
            in ``data_dir``".
        price_per_second: cost of one second of video, reported in ``usage.cost``.
        workers: jobs processed at the same time (each uses the engine's threads).
        max_jobs_in_flight: per key, jobs ``created`` or ``processing`` before 429.
        rate_limit_per_second, rate_limit_burst: per-key token bucket for requests.
        fetch_allow: hosts or CIDRs that input and webhook URLs may point to even though
            they are private, loopback or link-local (``FACESWAP_FETCH_ALLOW``).
        fetch_timeout: seconds for connecting and for each read while fetching a URL.
        fetch_total_timeout: seconds for a whole download.
        max_redirects: redirects followed when fetching, each hop checked again.
        max_video_bytes, max_image_bytes: download caps for the two inputs.
        max_upload_bytes: cap on one ``POST /v1/files`` upload.
        retention_seconds: outputs, uploads and inputs older than this are deleted.
        webhook_retry_delays: seconds to wait before each retry of a failed delivery.
        webhook_timeout: seconds for one delivery attempt.
        content_policy_extra_classes: test-only additions to the blocked detector classes
            (``FACESWAP_TEST_BLOCKED_CLASSES``); the built-in list can never be shortened.
    """

    data_dir: Path = field(default_factory=lambda: Path("faceswap-data"))
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    public_url: str | None = None
    api_keys: tuple[str, ...] = ()
    price_per_second: float = 0.10
    workers: int = 1
    max_jobs_in_flight: int = 8
    rate_limit_per_second: float = 20.0
    rate_limit_burst: int = 100
    fetch_allow: tuple[str, ...] = ()
    fetch_timeout: float = 10.0
    fetch_total_timeout: float = 120.0
    max_redirects: int = 5
    max_video_bytes: int = 512 * MB
    max_image_bytes: int = 20 * MB
    max_upload_bytes: int = 512 * MB
    retention_seconds: float = 7 * 24 * 3600
    webhook_retry_delays: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0)
    webhook_timeout: float = 10.0
    content_policy_extra_classes: tuple[str, ...] = ()

    @property
    def origin(self) -> str:
        """The public origin without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> ServerSettings:
        """Settings from ``FACESWAP_*`` environment variables, then explicit overrides.

        Overrides whose value is ``None`` are ignored, so CLI flags left unset fall
        back to the environment and then to the defaults.
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        if "FACESWAP_DATA_DIR" in env:
            values["data_dir"] = Path(env["FACESWAP_DATA_DIR"])
        if "FACESWAP_PUBLIC_URL" in env:
            values["public_url"] = env["FACESWAP_PUBLIC_URL"]
        if keys := _split(env.get("FACESWAP_API_KEYS")):
            values["api_keys"] = keys
        if allow := _split(env.get("FACESWAP_FETCH_ALLOW")):
            values["fetch_allow"] = allow
        if extra := _split(env.get("FACESWAP_TEST_BLOCKED_CLASSES")):
            values["content_policy_extra_classes"] = extra
        for name, convert in _NUMBERS.items():
            variable = f"FACESWAP_{name.upper()}"
            if variable in env:
                try:
                    values[name] = convert(env[variable])
                except ValueError:
                    raise ValueError(f"{variable}={env[variable]!r} is not a number") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "data_dir" in values:
            values["data_dir"] = Path(values["data_dir"])  # type: ignore[arg-type]
        return dataclasses.replace(cls(), **values)  # type: ignore[arg-type]
