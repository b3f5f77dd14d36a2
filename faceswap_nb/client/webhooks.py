"""Webhook signatures in the Standard Webhooks style (https://www.standardwebhooks.com).

A delivery carries three headers: ``webhook-id`` (unique per message, the same on every
retry), ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``, a space-separated
list of ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``. Secrets are written
``whsec_<base64 key>``. The local server signs with :func:`sign_webhook`; receivers check
with :func:`verify_webhook`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from faceswap_nb._errors import WebhookVerificationError

__all__ = ["SECRET_PREFIX", "TOLERANCE_SECONDS", "new_secret", "sign_webhook", "verify_webhook"]

SECRET_PREFIX = "whsec_"
# Older deliveries are refused so a captured request cannot be replayed later.
TOLERANCE_SECONDS = 5 * 60


def new_secret() -> str:
    """A fresh random webhook secret, ``whsec_`` followed by 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError(
            "the webhook secret is not valid: expected 'whsec_' followed by base64"
        ) from None


def _signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def sign_webhook(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three signature headers for delivering ``body`` as message ``msg_id``."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + _signature(_key(secret), msg_id, timestamp, body),
    }


def verify_webhook(
    headers: Mapping[str, str],
    body: bytes | str,
    secret: str,
    *,
    tolerance: float = TOLERANCE_SECONDS,
    now: float | None = None,
) -> dict[str, Any]:
    """Check a webhook delivery and return its JSON payload (the job object).

    Args:
        headers: the request headers; names are matched case-insensitively.
        body: the raw request body, exactly as received (not re-serialised JSON).
        secret: the ``whsec_…`` secret of the API key that created the job.
        tolerance: how old or how far in the future the timestamp may be, in seconds.
        now: the current Unix time (for tests); defaults to ``time.time()``.

    Raises:
        WebhookVerificationError: a header is missing, the timestamp is outside the
            tolerance, no signature matches, or the body is not a JSON object.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    missing = [h for h in ("webhook-id", "webhook-timestamp", "webhook-signature") if h not in lowered]
    if missing:
        raise WebhookVerificationError(f"missing webhook header(s): {', '.join(missing)}")
    raw = body.encode() if isinstance(body, str) else bytes(body)
    try:
        timestamp = int(lowered["webhook-timestamp"])
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError(
            f"webhook timestamp is {current - timestamp:+.0f} s away from now "
            f"(tolerance {tolerance:.0f} s): a replay, or a clock that is off"
        )
    expected = _signature(_key(secret), lowered["webhook-id"], timestamp, raw)
    offered = [part.split(",", 1) for part in lowered["webhook-signature"].split()]
    if not any(
        len(p) == 2 and p[0] == "v1" and hmac.compare_digest(p[1], expected) for p in offered
    ):
        raise WebhookVerificationError(
            "no webhook signature matches: wrong secret, or the body was changed"
        )
    try:
        payload = json.loads(raw)
    except ValueError:
        raise WebhookVerificationError("the signed webhook body is not JSON") from None
    if not isinstance(payload, dict):
        raise WebhookVerificationError("the signed webhook body is not a JSON object")
    return payload
