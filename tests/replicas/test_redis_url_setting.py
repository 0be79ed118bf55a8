"""REDIS_URL in the settings: optional, one of Redis's schemes, never printable."""

from __future__ import annotations

import pytest

from bot.settings import Secret, Settings, SettingsError

REQUIRED = {"GITHUB_APP_ID": "123", "GITHUB_WEBHOOK_SECRET": "s3cret"}


@pytest.fixture(autouse=True)
def app_key(app_private_key_pem: str) -> None:
    """Settings refuses an unreadable App key: a real one, generated for the session."""
    REQUIRED["GITHUB_PRIVATE_KEY"] = app_private_key_pem


@pytest.mark.parametrize("value", [None, ""])
def test_without_redis_url_there_is_one_replica(value: str | None) -> None:
    env = REQUIRED if value is None else {**REQUIRED, "REDIS_URL": value}
    assert Settings.from_env(env).redis_url is None


@pytest.mark.parametrize(
    "url",
    ["redis://:pw@redis:6379/0", "rediss://user:pw@redis.example:6380", "unix:///run/redis.sock"],
)
def test_redis_urls_are_kept_as_secrets(url: str) -> None:
    settings = Settings.from_env({**REQUIRED, "REDIS_URL": url})
    assert settings.redis_url == Secret(url)
    assert "pw" not in repr(settings)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://:hunter2@redis:6379", r"REDIS_URL must start with .*, not http://$"),
        ("redis:6379", r"REDIS_URL must start with redis://, rediss:// or unix://$"),
    ],
)
def test_another_scheme_is_refused_without_showing_the_url(url: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as refusal:
        Settings.from_env({**REQUIRED, "REDIS_URL": url})
    assert "hunter2" not in str(refusal.value)
