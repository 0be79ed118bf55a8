"""Configuration from the environment (DESIGN.md, "The runtime contract").

Secrets are wrapped so that neither `str()` nor a log line nor a traceback can print them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_API_URL = "https://api.github.com"


class SettingsError(ValueError):
    """The environment does not describe a runnable App; the message says what is missing."""


class Secret:
    """Holds a secret value; `str()` refuses and `repr()` shows only a fingerprint."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        raise TypeError("refusing to turn a secret into text; call reveal() where it is needed")

    def __repr__(self) -> str:
        digest = hashlib.sha256(self._value.encode()).hexdigest()[:8]
        return f"Secret(sha256:{digest}…)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def graphql_url_for(api_url: str) -> str:
    """GitHub.com serves GraphQL at /graphql; GitHub Enterprise Server at /api/graphql."""
    base = api_url.rstrip("/")
    if base.endswith("/api/v3"):
        return base[: -len("/v3")] + "/graphql"
    return base + "/graphql"


@dataclass(frozen=True, slots=True)
class Settings:
    app_id: str
    private_key: Secret
    webhook_secret: Secret
    api_url: str = DEFAULT_API_URL
    graphql_url: str = DEFAULT_API_URL + "/graphql"
    host: str = "0.0.0.0"
    port: int = 8080
    bundled_map: Path = Path("config/affiliations.yml")
    map_path: str = ".github/affiliations.yml"
    workers: int = 8
    queue_size: int = 10_000
    inbox_size: int = 1_000  # acknowledged deliveries waiting to be routed, before 503
    coalesce_seconds: float = 0.5
    reconcile_minutes: float = 10.0  # <= 0: no reconciler (tests that count calls)
    reconcile_max_per_cycle: int = 500  # evaluations one reconciler cycle may queue
    rate_limit_floor: int = 500  # a cycle stops when fewer requests than this remain
    redeliver_minutes: float = 5.0  # <= 0: no redelivery of failed deliveries
    redeliver_max_per_cycle: int = 100

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        missing = []
        if not env.get("GITHUB_WEBHOOK_SECRET"):
            missing.append("GITHUB_WEBHOOK_SECRET (the App's webhook secret)")
        if not env.get("GITHUB_APP_ID"):
            missing.append("GITHUB_APP_ID (the App's id or client id)")
        key = private_key_from_env(env)
        if not key:
            missing.append("GITHUB_PRIVATE_KEY (PEM text) or GITHUB_PRIVATE_KEY_FILE")
        if missing:
            raise SettingsError("missing " + "; ".join(missing))
        assert key is not None
        api_url = env.get("GITHUB_API_URL", DEFAULT_API_URL).rstrip("/")
        return cls(
            app_id=env["GITHUB_APP_ID"],
            private_key=Secret(key),
            webhook_secret=Secret(env["GITHUB_WEBHOOK_SECRET"]),
            api_url=api_url,
            graphql_url=env.get("GITHUB_GRAPHQL_URL") or graphql_url_for(api_url),
            host=env.get("HOST", "0.0.0.0"),
            port=_int(env, "PORT", 8080),
            bundled_map=Path(env.get("COI_MAP", "config/affiliations.yml")),
            map_path=env.get("COI_MAP_PATH", ".github/affiliations.yml"),
            workers=_int(env, "COI_WORKERS", 8),
            queue_size=_int(env, "COI_QUEUE_SIZE", 10_000),
            inbox_size=_int(env, "COI_INBOX_SIZE", 1_000),
            reconcile_minutes=_positive_float(env, "COI_RECONCILE_MINUTES", 10.0),
            reconcile_max_per_cycle=_int(env, "COI_RECONCILE_MAX_PER_CYCLE", 500),
            rate_limit_floor=_int(env, "COI_RATE_LIMIT_FLOOR", 500),
            redeliver_minutes=_positive_float(env, "COI_REDELIVER_MINUTES", 5.0),
            redeliver_max_per_cycle=_int(env, "COI_REDELIVER_MAX_PER_CYCLE", 100),
        )


def private_key_from_env(env: Mapping[str, str]) -> str | None:
    """The App's PEM key: GITHUB_PRIVATE_KEY, else the file GITHUB_PRIVATE_KEY_FILE names."""
    key = env.get("GITHUB_PRIVATE_KEY")
    key_file = env.get("GITHUB_PRIVATE_KEY_FILE")
    if not key and key_file:
        try:
            key = Path(key_file).read_text(encoding="utf-8")
        except OSError as error:
            raise SettingsError(
                f"cannot read GITHUB_PRIVATE_KEY_FILE {key_file!r}: {error.strerror}"
            ) from None
    return key or None


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive, not {value}")
    return value


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of minutes, not {raw!r}") from None
    if not value > 0 or value == float("inf"):
        raise SettingsError(f"{name} must be a positive number of minutes, not {raw!r}")
    return value
