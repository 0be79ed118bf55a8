"""Webhook signatures: `X-Hub-Signature-256` is `sha256=` + hex HMAC-SHA256 of the raw body.

https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Hub-Signature-256"
PREFIX = "sha256="


def sign(body: bytes | bytearray, *, secret: str) -> str:
    """The header value GitHub sends for `body` under `secret`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return PREFIX + digest


def signature_matches(body: bytes | bytearray, *, secret: str, header: str | None) -> bool:
    """True only for a present, well-formed signature of `body`, compared in constant time."""
    if not header:
        return False
    expected = sign(body, secret=secret).encode("ascii")
    # Bytes on both sides: compare_digest raises TypeError on non-ASCII str.
    return hmac.compare_digest(expected, header.strip().encode("utf-8", "replace"))


def body_key(body: bytes) -> str:
    """A signed body's identity: `X-GitHub-Delivery` is not signed, so a captured body can be
    replayed under a new delivery ID; the body cannot change without its signature."""
    return "body-sha256:" + hashlib.sha256(body).hexdigest()
