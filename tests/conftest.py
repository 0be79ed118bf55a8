"""Fixtures every test module may use: the shared GitHub reference data and a fresh App key."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[1]
# CI lays a copy of shared/ beside the clone; so does every developer's checkout.
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not (SHARED / "github").is_dir():
        pytest.fail(f"the shared reference data is missing: expected it at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def app_private_key_pem() -> str:
    """An RSA key generated for this test session: test keys are never committed."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
