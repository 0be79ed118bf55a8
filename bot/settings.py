"""Configuration from the environment (DESIGN.md, "The runtime contract").

Secrets are wrapped so that neither `str()` nor a log line nor a traceback can print them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_BUNDLED_MAP = "config/affiliations.yml"
DEFAULT_MAP_PATH = ".github/affiliations.yml"
REDIS_SCHEMES = ("redis", "rediss", "unix")


class SettingsError(ValueError):
    """The environment does not describe a runnable App; `problems` holds one line per problem."""

    def __init__(self, *problems: str) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


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
    coalesce_seconds: float = 0.0  # > 0: a quiet window before each evaluation (see scheduler)
    reconcile_minutes: float = 10.0  # <= 0: no reconciler (tests that count calls)
    reconcile_max_per_cycle: int = 500  # evaluations one reconciler cycle may queue
    rate_limit_floor: int = 500  # a cycle stops when fewer requests than this remain
    redeliver_minutes: float = 5.0  # <= 0: no redelivery of failed deliveries
    redeliver_max_per_cycle: int = 100
    redis_url: Secret | None = None  # a Secret: the URL may carry Redis's password
    # Bytes of webhook bodies in flight whose signature is not checked yet; above it, 503.
    unverified_body_bytes: int = 64 * 1024 * 1024

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Every variable of the runtime contract, or a SettingsError naming every problem."""
        env = os.environ if environ is None else environ
        problems = _Problems()
        if not env.get("GITHUB_WEBHOOK_SECRET"):
            problems.add("missing GITHUB_WEBHOOK_SECRET (the App's webhook secret)")
        if not env.get("GITHUB_APP_ID"):
            problems.add("missing GITHUB_APP_ID (the App's id or client id)")
        key = None
        try:
            key = private_key_from_env(env)
            if key is None:
                problems.add("missing GITHUB_PRIVATE_KEY (PEM text) or GITHUB_PRIVATE_KEY_FILE")
        except SettingsError as error:
            problems.lines.extend(error.problems)
        api_url = env.get("GITHUB_API_URL", DEFAULT_API_URL).rstrip("/")
        problems.check(check_http_url, "GITHUB_API_URL", api_url)
        graphql_url = env.get("GITHUB_GRAPHQL_URL") or graphql_url_for(api_url)
        if env.get("GITHUB_GRAPHQL_URL"):
            problems.check(check_http_url, "GITHUB_GRAPHQL_URL", graphql_url)
        host = env.get("HOST", "0.0.0.0")
        if not host.strip():
            problems.add("HOST is empty: name the address to listen on (default 0.0.0.0)")
        port = problems.check(_int, env, "PORT", 8080, maximum=65535)
        numbers = {
            name: problems.check(_int, env, name, default)
            for name, default in (
                ("COI_WORKERS", 8),
                ("COI_QUEUE_SIZE", 10_000),
                ("COI_INBOX_SIZE", 1_000),
                ("COI_RECONCILE_MAX_PER_CYCLE", 500),
                ("COI_RATE_LIMIT_FLOOR", 500),
                ("COI_REDELIVER_MAX_PER_CYCLE", 100),
                ("COI_UNVERIFIED_MIB", 64),
            )
        }
        minutes = {
            name: problems.check(_period_minutes, env, name, default)
            for name, default in (("COI_RECONCILE_MINUTES", 10.0), ("COI_REDELIVER_MINUTES", 5.0))
        }
        redis_url = problems.check(_redis_url, env)
        problems.raise_any()
        return cls(
            app_id=env["GITHUB_APP_ID"],
            private_key=Secret(_known(key)),
            webhook_secret=Secret(env["GITHUB_WEBHOOK_SECRET"]),
            api_url=api_url,
            graphql_url=graphql_url,
            host=host,
            port=_known(port),
            bundled_map=Path(env.get("COI_MAP") or DEFAULT_BUNDLED_MAP),
            map_path=env.get("COI_MAP_PATH") or DEFAULT_MAP_PATH,
            workers=_known(numbers["COI_WORKERS"]),
            queue_size=_known(numbers["COI_QUEUE_SIZE"]),
            inbox_size=_known(numbers["COI_INBOX_SIZE"]),
            reconcile_minutes=_known(minutes["COI_RECONCILE_MINUTES"]),
            reconcile_max_per_cycle=_known(numbers["COI_RECONCILE_MAX_PER_CYCLE"]),
            rate_limit_floor=_known(numbers["COI_RATE_LIMIT_FLOOR"]),
            redeliver_minutes=_known(minutes["COI_REDELIVER_MINUTES"]),
            redeliver_max_per_cycle=_known(numbers["COI_REDELIVER_MAX_PER_CYCLE"]),
            redis_url=redis_url,
            unverified_body_bytes=_known(numbers["COI_UNVERIFIED_MIB"]) * 1024 * 1024,
        )


_T = TypeVar("_T")


def _known(value: _T | None) -> _T:
    assert value is not None  # raise_any() has refused every variable that failed
    return value


class _Problems:
    """Collects every problem of the environment, so that all are reported at once."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        self.lines.append(line)

    def check(self, read: Callable[..., _T], *args: Any, **options: Any) -> _T | None:
        try:
            return read(*args, **options)
        except SettingsError as error:
            self.lines.extend(error.problems)
            return None

    def raise_any(self) -> None:
        if self.lines:
            raise SettingsError(*self.lines)


def private_key_from_env(env: Mapping[str, str]) -> str | None:
    """The App's PEM key: GITHUB_PRIVATE_KEY, or the file GITHUB_PRIVATE_KEY_FILE names.

    None when neither is set; SettingsError when both are, or when the key is unusable.
    """
    key = env.get("GITHUB_PRIVATE_KEY")
    key_file = env.get("GITHUB_PRIVATE_KEY_FILE")
    if key and key_file:
        raise SettingsError(
            "set one of GITHUB_PRIVATE_KEY (PEM text) or GITHUB_PRIVATE_KEY_FILE (a file), not both"
        )
    if key:
        source = "GITHUB_PRIVATE_KEY"
    elif key_file:
        source = f"GITHUB_PRIVATE_KEY_FILE {key_file!r}"
        try:
            key = Path(key_file).read_text(encoding="utf-8")
        except OSError as error:
            raise SettingsError(
                f"cannot read GITHUB_PRIVATE_KEY_FILE {key_file!r}: {error.strerror or error}"
            ) from None
        except UnicodeDecodeError:
            raise SettingsError(
                f"{source} is not a PEM key: the file is not text (a DER or PKCS#12 key?)"
            ) from None
    else:
        return None
    problem = app_key_problem(key)
    if problem is not None:
        raise SettingsError(f"{source} {problem}")
    return key


def app_key_problem(pem: str) -> str | None:
    """What makes `pem` unusable as a GitHub App key (an RSA private key in PEM), or None.

    The answer never quotes the key.
    """
    text = pem.strip()
    if "\\n" in text and "\n" not in text:
        return "holds literal \\n sequences: pass the PEM with real line breaks"
    if not text.startswith("-----BEGIN "):
        return "is not a PEM key: it must start with -----BEGIN RSA PRIVATE KEY-----"
    header = text.splitlines()[0]
    if "PUBLIC KEY" in header or "CERTIFICATE" in header:
        return "is a public key or certificate, not the App's private key"
    if "ENCRYPTED" in header or "Proc-Type: 4,ENCRYPTED" in text:
        return (
            "is encrypted with a passphrase: GitHub's App keys are not; use the key as downloaded"
        )
    if "-----END " not in text:
        return "is truncated: no -----END line"
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except TypeError:
        return (
            "is encrypted with a passphrase: GitHub's App keys are not; use the key as downloaded"
        )
    except (ValueError, UnsupportedAlgorithm):
        return "is not a readable private key: the PEM is damaged or truncated"
    if not isinstance(key, rsa.RSAPrivateKey):
        kind = next((name for cls, name in _KEY_KINDS if isinstance(key, cls)), "a non-RSA")
        return f"is {kind} key, not RSA: GitHub App keys are RSA (generate one on the App's page)"
    return None


_ENCRYPTED = "is encrypted with a passphrase: use the key as GitHub gave it (unencrypted)"
_KEY_KINDS: tuple[tuple[type[object], str], ...] = (
    (ec.EllipticCurvePrivateKey, "an EC"),
    (ed25519.Ed25519PrivateKey, "an Ed25519"),
    (ed448.Ed448PrivateKey, "an Ed448"),
    (dsa.DSAPrivateKey, "a DSA"),
)


def check_http_url(name: str, url: str) -> str:
    """`url` when it is an http(s) URL with a host; else SettingsError naming `name`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{name} must be an http(s) URL with a host, not {url!r}")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in 0..65535
    except ValueError:
        raise SettingsError(f"{name} has a port that is not 0-65535: {url!r}") from None
    return url


def _redis_url(env: Mapping[str, str]) -> Secret | None:
    raw = env.get("REDIS_URL")
    if not raw:
        return None
    scheme = raw.partition("://")[0] if "://" in raw else ""
    if scheme not in REDIS_SCHEMES:
        # only the scheme is shown: the rest of the URL may hold a password
        raise SettingsError(
            "REDIS_URL must start with redis://, rediss:// or unix://"
            + (f", not {scheme}://" if scheme else "")
        )
    return Secret(raw)


def _int(env: Mapping[str, str], name: str, default: int, *, maximum: int | None = None) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if value <= 0 or (maximum is not None and value > maximum):
        limit = f"from 1 to {maximum}" if maximum is not None else "positive"
        raise SettingsError(f"{name} must be {limit}, not {value}")
    return value


def _period_minutes(env: Mapping[str, str], name: str, default: float) -> float:
    """A background job's period; 0 turns the job off (bot.jobs runs only positive ones)."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of minutes, not {raw!r}") from None
    if not value >= 0 or value == float("inf"):
        raise SettingsError(f"{name} must be minutes, 0 (off) or more, not {raw!r}")
    return value
