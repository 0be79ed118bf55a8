"""X-Hub-Signature-256: GitHub's own test vector, and what must never verify."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.web.signature import sign, signature_matches

# LIMITS.md, "Signature test vector" (docs: validating-webhook-deliveries#testing...).
VECTOR_SECRET = "It's a Secret to Everybody"
VECTOR_BODY = b"Hello, World!"
VECTOR_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_githubs_test_vector() -> None:
    assert sign(VECTOR_BODY, secret=VECTOR_SECRET) == VECTOR_SIGNATURE
    assert signature_matches(VECTOR_BODY, secret=VECTOR_SECRET, header=VECTOR_SIGNATURE)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        VECTOR_SIGNATURE.upper(),
        VECTOR_SIGNATURE[:-1],
        VECTOR_SIGNATURE + "0",
        VECTOR_SIGNATURE.removeprefix("sha256="),
        "sha1=" + VECTOR_SIGNATURE.removeprefix("sha256="),
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043é17",
    ],
    ids=["missing", "empty", "no-digest", "upper", "short", "long", "no-prefix", "sha1", "utf8"],
)
def test_malformed_or_wrong_signatures_never_verify(header: str | None) -> None:
    assert not signature_matches(VECTOR_BODY, secret=VECTOR_SECRET, header=header)


def test_surrounding_whitespace_in_the_header_is_tolerated() -> None:
    assert signature_matches(VECTOR_BODY, secret=VECTOR_SECRET, header=f" {VECTOR_SIGNATURE}\t")


@given(body=st.binary(max_size=512), secret=st.text(min_size=1, max_size=40), flip=st.integers())
def test_a_signature_verifies_its_body_only(body: bytes, secret: str, flip: int) -> None:
    header = sign(body, secret=secret)
    assert signature_matches(body, secret=secret, header=header)
    assert not signature_matches(body, secret=secret + "x", header=header)
    if body:
        index = flip % len(body)
        tampered = body[:index] + bytes([body[index] ^ 1]) + body[index + 1 :]
        assert not signature_matches(tampered, secret=secret, header=header)
