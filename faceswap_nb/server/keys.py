"""API keys, owners, and the secrets derived from the server's own secret.

A job's *owner* is the SHA-256 of the API key that created it, so the database never
holds a key. Webhook secrets (one per key) and output-link tokens are HMACs of the
server secret, which lives in ``data_dir/server-secret`` (mode 0600) and survives
restarts; nothing else needs storing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Iterable
from pathlib import Path

from faceswap_nb.client.webhooks import SECRET_PREFIX
from faceswap_nb.server.store import JobRecord

__all__ = ["KEY_FILE", "OUTPUT_LINK_HOURS", "KeyRing", "owner_of"]

KEY_FILE = "api-key"
SECRET_FILE = "server-secret"
# Output links stay valid at least this long; their expiry moves on the hour so the same
# job shows the same link for an hour (players and caches see one URL).
OUTPUT_LINK_HOURS = 24


def owner_of(api_key: str) -> str:
    """The owner id stored with a key's jobs and files."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def _read_or_create(path: Path, make: str) -> tuple[str, bool]:
    """The file's stripped text, creating it (mode 0600) with ``make`` when absent."""
    try:
        return path.read_text().strip(), False
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make + "\n")
        return make, True


class KeyRing:
    """The accepted keys and the server secret; answers "who is this key?"."""

    def __init__(self, keys: Iterable[str], server_secret: bytes) -> None:
        self._owners = {owner_of(key) for key in keys if key}
        if not self._owners:
            raise ValueError("at least one API key is needed")
        self._secret = server_secret
        self.generated_key: str | None = None

    @classmethod
    def load(cls, data_dir: Path, keys: Iterable[str] = ()) -> KeyRing:
        """Keys as configured, or the key kept in ``data_dir`` (made on first start)."""
        secret, _ = _read_or_create(data_dir / SECRET_FILE, secrets.token_hex(32))
        keys = tuple(keys)
        generated = None
        if not keys:
            key, created = _read_or_create(data_dir / KEY_FILE, "fsk_" + secrets.token_urlsafe(24))
            keys = (key,)
            generated = key if created else None
        ring = cls(keys, bytes.fromhex(secret))
        ring.generated_key = generated
        return ring

    def owner(self, api_key: str | None) -> str | None:
        """The key's owner id, or None when the key is missing or not accepted."""
        if not api_key:
            return None
        # Looking up the key's SHA-256, not the key, leaks nothing useful through timing.
        owner = owner_of(api_key)
        return owner if owner in self._owners else None

    def _mac(self, purpose: str, value: str) -> bytes:
        return hmac.new(self._secret, f"{purpose}:{value}".encode(), hashlib.sha256).digest()

    def webhook_secret(self, owner: str) -> str:
        """The ``whsec_…`` secret that signs webhooks for this owner's jobs."""
        return SECRET_PREFIX + base64.b64encode(self._mac("webhook", owner)).decode()

    def output_token(self, job_id: str, expires: int) -> str:
        """A token that lets anyone holding the link fetch one job's output until ``expires``."""
        return base64.urlsafe_b64encode(self._mac("output", f"{job_id}.{expires}")[:18]).decode()

    def output_token_valid(self, job_id: str, expires: int, token: str) -> bool:
        """True when ``token`` was made by :meth:`output_token` for these values."""
        # Bytes, because compare_digest refuses non-ASCII str and tokens come from URLs.
        return hmac.compare_digest(self.output_token(job_id, expires).encode(), token.encode())

    def output_link(self, job: JobRecord, origin: str) -> str | None:
        """The signed, expiring URL of a job's video, or None when it has none (yet)."""
        if job.status != "completed" or not job.output_file:
            return None
        expires = (int(time.time()) // 3600 + OUTPUT_LINK_HOURS + 1) * 3600
        token = self.output_token(job.id, expires)
        return f"{origin}/v1/outputs/{job.id}.mp4?expires={expires}&token={token}"
