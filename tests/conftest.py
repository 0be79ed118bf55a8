"""Fixtures every test module may use: GitHub's reference data, the StackStorm governance
examples (both vendored in the repository) and a fresh App key."""

from __future__ import annotations

from pathlib import Path

import pytest
from githubsim.reference import REFERENCE_DIR

from bot.stage import generate_app_key

STACKSTORM_DIR = Path(__file__).resolve().parent / "data" / "stackstorm"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """GitHub's REST subset, webhook schemas and examples, GraphQL schema (githubsim.reference)."""
    return REFERENCE_DIR


@pytest.fixture(scope="session")
def stackstorm_dir() -> Path:
    """StackStorm's governance files and a cncf/gitdm sample (tests/data/stackstorm/SOURCES.md)."""
    return STACKSTORM_DIR


@pytest.fixture(scope="session")
def app_private_key_pem() -> str:
    """An RSA key generated for this test session: test keys are never committed."""
    private_pem, _ = generate_app_key()
    return private_pem
