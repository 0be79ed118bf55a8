"""Settings from the environment: every variable of the README, and a clear refusal otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Secret, Settings, SettingsError, graphql_url_for

REQUIRED = {
    "GITHUB_APP_ID": "123",
    "GITHUB_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nk\n-----END PRIVATE KEY-----\n",
    "GITHUB_WEBHOOK_SECRET": "s3cret",
}


def test_defaults_from_the_required_variables_alone() -> None:
    settings = Settings.from_env(REQUIRED)
    assert settings.app_id == "123"
    assert settings.private_key.reveal().startswith("-----BEGIN")
    assert settings.webhook_secret == Secret("s3cret")
    assert (settings.api_url, settings.graphql_url) == (
        "https://api.github.com",
        "https://api.github.com/graphql",
    )
    assert (settings.host, settings.port, settings.workers) == ("0.0.0.0", 8080, 8)
    assert settings.map_path == ".github/affiliations.yml"
    assert settings.bundled_map == Path("config/affiliations.yml")


def test_every_variable_of_the_readme_is_read(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("PEM")
    env = {
        "GITHUB_APP_ID": "Iv1.abc",
        "GITHUB_PRIVATE_KEY_FILE": str(key),
        "GITHUB_WEBHOOK_SECRET": "s",
        "GITHUB_API_URL": "https://ghe.example/api/v3/",
        "HOST": "127.0.0.1",
        "PORT": "9000",
        "COI_MAP": "/etc/coi/map.yml",
        "COI_MAP_PATH": ".github/coi.yml",
        "COI_WORKERS": "3",
        "COI_QUEUE_SIZE": "50",
        "COI_RECONCILE_MINUTES": "0.5",
        "COI_RECONCILE_MAX_PER_CYCLE": "7",
        "COI_RATE_LIMIT_FLOOR": "100",
        "COI_REDELIVER_MINUTES": "2",
        "COI_REDELIVER_MAX_PER_CYCLE": "9",
    }
    settings = Settings.from_env(env)
    assert settings.private_key.reveal() == "PEM"
    assert settings.api_url == "https://ghe.example/api/v3"
    assert settings.graphql_url == "https://ghe.example/api/graphql"  # GHES serves it there
    assert (settings.host, settings.port) == ("127.0.0.1", 9000)
    assert (settings.bundled_map, settings.map_path) == (
        Path("/etc/coi/map.yml"),
        ".github/coi.yml",
    )
    assert (settings.workers, settings.queue_size) == (3, 50)
    assert (settings.reconcile_minutes, settings.reconcile_max_per_cycle) == (0.5, 7)
    assert (settings.rate_limit_floor, settings.redeliver_minutes) == (100, 2.0)
    assert settings.redeliver_max_per_cycle == 9


def test_an_explicit_graphql_url_wins() -> None:
    env = {**REQUIRED, "GITHUB_GRAPHQL_URL": "https://proxy.example/graphql"}
    assert Settings.from_env(env).graphql_url == "https://proxy.example/graphql"


def test_everything_missing_is_named_at_once() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({})
    message = str(refused.value)
    for name in ("GITHUB_WEBHOOK_SECRET", "GITHUB_APP_ID", "GITHUB_PRIVATE_KEY"):
        assert name in message


def test_an_unreadable_key_file_says_which(tmp_path: Path) -> None:
    env = {**REQUIRED, "GITHUB_PRIVATE_KEY": "", "GITHUB_PRIVATE_KEY_FILE": str(tmp_path / "no")}
    with pytest.raises(SettingsError, match="cannot read GITHUB_PRIVATE_KEY_FILE"):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PORT", "eighty", "PORT must be a whole number"),
        ("COI_WORKERS", "0", "COI_WORKERS must be positive"),
        ("COI_RECONCILE_MINUTES", "soon", "must be a number of minutes"),
        ("COI_REDELIVER_MINUTES", "-1", "must be a positive number of minutes"),
        ("COI_REDELIVER_MINUTES", "inf", "must be a positive number of minutes"),
    ],
)
def test_bad_numbers_are_refused_with_their_name(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({**REQUIRED, name: value})


def test_secrets_never_become_text() -> None:
    secret = Secret("hunter2")
    with pytest.raises(TypeError):
        str(secret)
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in repr(Settings.from_env(REQUIRED))
    assert hash(secret) == hash(Secret("hunter2"))
    assert secret != "hunter2"


@pytest.mark.parametrize(
    ("api_url", "graphql_url"),
    [
        ("https://api.github.com", "https://api.github.com/graphql"),
        ("https://ghe.example/api/v3", "https://ghe.example/api/graphql"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000/graphql"),
    ],
)
def test_the_graphql_endpoint_follows_the_api(api_url: str, graphql_url: str) -> None:
    assert graphql_url_for(api_url) == graphql_url
