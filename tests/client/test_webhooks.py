"""Webhook signing and verification, Standard Webhooks style."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from faceswap_nb import WebhookVerificationError
from faceswap_nb.client.webhooks import new_secret, sign_webhook, verify_webhook

NOW = 1_771_124_345
BODY = json.dumps({"jobId": "4ab2d17f", "status": "completed"}).encode()


@pytest.fixture
def secret() -> str:
    return new_secret()


def test_a_signed_delivery_verifies_and_yields_the_job(secret: str) -> None:
    headers = sign_webhook(secret, "msg_1", NOW, BODY)

    assert verify_webhook(headers, BODY, secret, now=NOW) == {"jobId": "4ab2d17f", "status": "completed"}


def test_the_signature_is_hmac_sha256_of_id_timestamp_body(secret: str) -> None:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = hmac.new(key, b"msg_1.%d." % NOW + BODY, hashlib.sha256).digest()

    headers = sign_webhook(secret, "msg_1", NOW, BODY)

    assert headers["webhook-signature"] == "v1," + base64.b64encode(expected).decode()
    assert headers["webhook-id"] == "msg_1" and headers["webhook-timestamp"] == str(NOW)


def test_header_names_are_case_insensitive_and_body_may_be_text(secret: str) -> None:
    headers = {k.title(): v for k, v in sign_webhook(secret, "m", NOW, BODY).items()}

    assert verify_webhook(headers, BODY.decode(), secret, now=NOW)["status"] == "completed"


def test_any_one_of_several_signatures_may_match(secret: str) -> None:
    headers = sign_webhook(secret, "m", NOW, BODY)
    headers["webhook-signature"] = "v1,bm90LWl0 " + headers["webhook-signature"]

    assert verify_webhook(headers, BODY, secret, now=NOW)


def test_a_changed_body_is_refused(secret: str) -> None:
    headers = sign_webhook(secret, "m", NOW, BODY)

    with pytest.raises(WebhookVerificationError, match="no webhook signature matches"):
        verify_webhook(headers, BODY.replace(b"completed", b"failed"), secret, now=NOW)


def test_another_secret_is_refused(secret: str) -> None:
    headers = sign_webhook(secret, "m", NOW, BODY)

    with pytest.raises(WebhookVerificationError, match="wrong secret"):
        verify_webhook(headers, BODY, new_secret(), now=NOW)


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_stale_or_future_timestamp_is_refused(secret: str, skew: int) -> None:
    headers = sign_webhook(secret, "m", NOW, BODY)

    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify_webhook(headers, BODY, secret, now=NOW + skew)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_named(secret: str, missing: str) -> None:
    headers = sign_webhook(secret, "m", NOW, BODY)
    del headers[missing]

    with pytest.raises(WebhookVerificationError, match=missing):
        verify_webhook(headers, BODY, secret, now=NOW)


def test_a_malformed_timestamp_or_secret_is_a_verification_error(secret: str) -> None:
    headers = sign_webhook(secret, "m", NOW, BODY)

    with pytest.raises(WebhookVerificationError, match="not an integer"):
        verify_webhook({**headers, "webhook-timestamp": "soon"}, BODY, secret, now=NOW)
    with pytest.raises(WebhookVerificationError, match="secret is not valid"):
        verify_webhook(headers, BODY, "whsec_***", now=NOW)


def test_a_signed_body_that_is_not_a_json_object_is_refused(secret: str) -> None:
    body = b"[1, 2]"
    headers = sign_webhook(secret, "m", NOW, body)

    with pytest.raises(WebhookVerificationError, match="not a JSON object"):
        verify_webhook(headers, body, secret, now=NOW)
