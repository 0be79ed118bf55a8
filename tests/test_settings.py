"""Settings from the environment: every variable of the README, and a clear refusal otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from bot.settings import (
    Secret,
    Settings,
    SettingsError,
    app_key_problem,
    check_http_url,
    graphql_url_for,
    private_key_from_env,
)


@pytest.fixture
def required(app_private_key_pem: str) -> dict[str, str]:
    return {
        "GITHUB_APP_ID": "123",
        "GITHUB_PRIVATE_KEY": app_private_key_pem,
        "GITHUB_WEBHOOK_SECRET": "s3cret",
    }


def pem(key: object, *, encryption: object = None) -> str:
    assert isinstance(
        key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
    )
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        encryption or serialization.NoEncryption(),  # type: ignore[arg-type]
    ).decode()


def test_defaults_from_the_required_variables_alone(required: dict[str, str]) -> None:
    settings = Settings.from_env(required)
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


def test_every_variable_of_the_readme_is_read(tmp_path: Path, app_private_key_pem: str) -> None:
    key = tmp_path / "key.pem"
    key.write_text(app_private_key_pem)
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
        "COI_UNVERIFIED_MIB": "32",
    }
    settings = Settings.from_env(env)
    assert settings.private_key.reveal() == app_private_key_pem
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
    assert settings.unverified_body_bytes == 32 * 1024 * 1024


def test_an_explicit_graphql_url_wins(required: dict[str, str]) -> None:
    env = {**required, "GITHUB_GRAPHQL_URL": "https://proxy.example/graphql"}
    assert Settings.from_env(env).graphql_url == "https://proxy.example/graphql"


def test_everything_missing_is_named_at_once() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({})
    message = str(refused.value)
    for name in ("GITHUB_WEBHOOK_SECRET", "GITHUB_APP_ID", "GITHUB_PRIVATE_KEY"):
        assert name in message


def test_an_unreadable_key_file_says_which(tmp_path: Path, required: dict[str, str]) -> None:
    env = {**required, "GITHUB_PRIVATE_KEY": "", "GITHUB_PRIVATE_KEY_FILE": str(tmp_path / "no")}
    with pytest.raises(SettingsError, match="cannot read GITHUB_PRIVATE_KEY_FILE"):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PORT", "eighty", "PORT must be a whole number"),
        ("PORT", "99999", "PORT must be from 1 to 65535, not 99999"),
        ("PORT", "0", "PORT must be from 1 to 65535, not 0"),
        ("COI_WORKERS", "0", "COI_WORKERS must be positive"),
        ("COI_QUEUE_SIZE", "-5", "COI_QUEUE_SIZE must be positive"),
        ("COI_RATE_LIMIT_FLOOR", "1.5", "COI_RATE_LIMIT_FLOOR must be a whole number"),
        ("COI_RECONCILE_MAX_PER_CYCLE", "many", "COI_RECONCILE_MAX_PER_CYCLE must be a whole"),
        ("COI_REDELIVER_MAX_PER_CYCLE", "0", "COI_REDELIVER_MAX_PER_CYCLE must be positive"),
        ("COI_RECONCILE_MINUTES", "nan", "must be minutes, 0 (off) or more"),
        ("COI_RECONCILE_MINUTES", "-0.5", "must be minutes, 0 (off) or more"),
        ("GITHUB_API_URL", "api.github.com", "GITHUB_API_URL must be an http"),
        ("GITHUB_API_URL", "https://", "GITHUB_API_URL must be an http"),
        ("GITHUB_GRAPHQL_URL", "ftp://x/graphql", "GITHUB_GRAPHQL_URL must be an http"),
        (
            "GITHUB_API_URL",
            "https://ghe.example:http/api/v3",
            "GITHUB_API_URL has a port that is not",
        ),
        ("HOST", " ", "HOST is empty"),
        ("COI_RECONCILE_MINUTES", "soon", "must be a number of minutes"),
        ("COI_REDELIVER_MINUTES", "-1", "must be minutes, 0 (off) or more"),
        ("COI_REDELIVER_MINUTES", "inf", "must be minutes, 0 (off) or more"),
    ],
)
def test_bad_values_are_refused_with_their_name(
    required: dict[str, str], name: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({**required, name: value})
    (problem,) = refused.value.problems
    assert problem.startswith(f"{name} ")
    assert message in problem


def test_every_problem_is_listed_at_once_one_per_line(required: dict[str, str]) -> None:
    env = {
        **required,
        "GITHUB_WEBHOOK_SECRET": "",
        "GITHUB_PRIVATE_KEY": "garbage",
        "PORT": "99999",
        "COI_WORKERS": "x",
        "COI_REDELIVER_MINUTES": "-1",
    }
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(env)
    assert [problem.split()[0] for problem in refused.value.problems] == [
        "missing",
        "GITHUB_PRIVATE_KEY",
        "PORT",
        "COI_WORKERS",
        "COI_REDELIVER_MINUTES",
    ]
    assert str(refused.value) == "; ".join(refused.value.problems)
    assert "garbage" not in str(refused.value)


def test_both_key_variables_are_refused(tmp_path: Path, required: dict[str, str]) -> None:
    key = tmp_path / "key.pem"
    key.write_text(required["GITHUB_PRIVATE_KEY"])
    with pytest.raises(SettingsError, match=r"set one of GITHUB_PRIVATE_KEY .* not both"):
        Settings.from_env({**required, "GITHUB_PRIVATE_KEY_FILE": str(key)})


def test_neither_key_variable_is_none() -> None:
    assert private_key_from_env({}) is None
    assert private_key_from_env({"GITHUB_PRIVATE_KEY": "", "GITHUB_PRIVATE_KEY_FILE": ""}) is None


def test_a_pkcs1_rsa_key_as_github_gives_it_is_accepted() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    text = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    assert text.startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert app_key_problem(text) is None
    assert private_key_from_env({"GITHUB_PRIVATE_KEY": text}) == text


def unusable_keys(rsa_pem: str) -> list[tuple[str, str]]:
    rsa_key = serialization.load_pem_private_key(rsa_pem.encode(), password=None)
    assert isinstance(rsa_key, rsa.RSAPrivateKey)
    public = (
        rsa_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    lines = rsa_pem.splitlines()
    return [
        ("garbage", "is not a PEM key"),
        ("  \n", "is not a PEM key"),
        (rsa_pem.replace("\n", "\\n"), "holds literal \\n sequences"),
        ("\n".join(lines[: len(lines) // 2]), "is truncated: no -----END line"),
        ("\n".join([*lines[:3], *lines[-2:]]), "is not a readable private key"),
        (public, "is a public key or certificate"),
        (pem(ec.generate_private_key(ec.SECP256R1())), "is an EC key, not RSA"),
        (pem(ed25519.Ed25519PrivateKey.generate()), "is an Ed25519 key, not RSA"),
        (
            pem(rsa_key, encryption=serialization.BestAvailableEncryption(b"pw")),
            "is encrypted with a passphrase",
        ),
    ]


def test_unusable_app_keys_are_refused_saying_why(app_private_key_pem: str) -> None:
    for text, expected in unusable_keys(app_private_key_pem):
        problem = app_key_problem(text)
        assert problem is not None
        assert problem.startswith(expected), (expected, problem)
        with pytest.raises(SettingsError) as refused:
            private_key_from_env({"GITHUB_PRIVATE_KEY": text})
        message = str(refused.value)
        assert message == f"GITHUB_PRIVATE_KEY {problem}"
        for line in text.splitlines()[1:-1]:
            assert line not in message  # the secret is never echoed


def test_a_key_file_names_the_file(tmp_path: Path) -> None:
    garbage = tmp_path / "key.pem"
    garbage.write_text("not a key")
    with pytest.raises(SettingsError, match=r"^GITHUB_PRIVATE_KEY_FILE '.*key.pem' is not a PEM"):
        private_key_from_env({"GITHUB_PRIVATE_KEY_FILE": str(garbage)})
    binary = tmp_path / "key.der"
    binary.write_bytes(b"\x30\x82\xff\xfe")
    with pytest.raises(SettingsError, match=r"key\.der' is not a PEM key: the file is not text"):
        private_key_from_env({"GITHUB_PRIVATE_KEY_FILE": str(binary)})
    with pytest.raises(SettingsError, match="Is a directory"):
        private_key_from_env({"GITHUB_PRIVATE_KEY_FILE": str(tmp_path)})


@pytest.mark.parametrize(
    "url", ["https://api.github.com", "http://127.0.0.1:9000", "https://ghe.example/api/v3"]
)
def test_http_urls_with_a_host_are_accepted(url: str) -> None:
    assert check_http_url("X", url) == url


def test_secrets_never_become_text(required: dict[str, str]) -> None:
    secret = Secret("hunter2")
    with pytest.raises(TypeError):
        str(secret)
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in repr(
        Settings.from_env({**required, "GITHUB_WEBHOOK_SECRET": "hunter2"})
    )
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


def test_a_background_job_is_turned_off_by_a_zero_period(required: dict[str, str]) -> None:
    settings = Settings.from_env(
        {**required, "COI_RECONCILE_MINUTES": "0", "COI_REDELIVER_MINUTES": "0"}
    )
    assert (settings.reconcile_minutes, settings.redeliver_minutes) == (0.0, 0.0)
