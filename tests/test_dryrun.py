"""`coi-bot check` and `report` without GitHub: arguments, credentials, errors, exit statuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import _github_urls, main
from bot.dryrun import (
    CheckError,
    Credentials,
    parse_pull_request,
    parse_repository,
)
from bot.settings import Secret
from tests.e2e.conftest import MAP

CREDENTIAL_VARIABLES = (
    "GITHUB_TOKEN",
    "GITHUB_APP_ID",
    "GITHUB_PRIVATE_KEY",
    "GITHUB_PRIVATE_KEY_FILE",
    "GITHUB_API_URL",
    "GITHUB_GRAPHQL_URL",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("acme/widgets#7", ("acme", "widgets", 7)),
        (" StackStorm/st2#5045 ", ("StackStorm", "st2", 5045)),
        ("a-b/x.y_z#1", ("a-b", "x.y_z", 1)),
    ],
)
def test_pull_requests_are_owner_repo_number(text: str, expected: tuple[str, str, int]) -> None:
    assert parse_pull_request(text) == expected


@pytest.mark.parametrize(
    "text", ["acme/widgets", "acme/widgets#0", "acme#7", "-acme/w#1", "acme/widgets#x", "a/b/c#1"]
)
def test_anything_else_is_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(CheckError, match="expected OWNER/REPO#NUMBER"):
        parse_pull_request(text)


def test_repositories_are_owner_repo() -> None:
    assert parse_repository("acme/widgets") == ("acme", "widgets")
    with pytest.raises(CheckError, match="expected OWNER/REPO"):
        parse_repository("acme/widgets#1")


def test_a_token_wins_over_app_credentials_and_keeps_the_app_id() -> None:
    credentials = Credentials.from_env({"GITHUB_TOKEN": "t", "GITHUB_APP_ID": "1"})
    assert credentials == Credentials(token=Secret("t"), app_id="1")
    assert Credentials.from_env({"GITHUB_TOKEN": "t"}) == Credentials(token=Secret("t"))


def test_app_credentials_from_a_key_file(tmp_path: Path, app_private_key_pem: str) -> None:
    key = tmp_path / "key.pem"
    key.write_text(app_private_key_pem)
    credentials = Credentials.from_env({"GITHUB_APP_ID": "9", "GITHUB_PRIVATE_KEY_FILE": str(key)})
    assert credentials == Credentials(app_id="9", private_key=Secret(app_private_key_pem))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no credentials: set GITHUB_TOKEN"),
        ({"GITHUB_APP_ID": "9"}, "no credentials"),
        ({"GITHUB_PRIVATE_KEY": "PEM"}, "no credentials"),
        (
            {"GITHUB_APP_ID": "9", "GITHUB_PRIVATE_KEY_FILE": "/nonexistent/key.pem"},
            "cannot read GITHUB_PRIVATE_KEY_FILE",
        ),
        (
            {"GITHUB_APP_ID": "9", "GITHUB_PRIVATE_KEY": "garbage"},
            "GITHUB_PRIVATE_KEY is not a PEM key",
        ),
    ],
)
def test_missing_credentials_say_what_to_set(env: dict[str, str], message: str) -> None:
    with pytest.raises(CheckError, match=message):
        Credentials.from_env(env)


def test_urls_from_the_option_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _github_urls("https://ghe.example/api/v3/") == (
        "https://ghe.example/api/v3",
        "https://ghe.example/api/graphql",
    )
    assert _github_urls(None) == ("https://api.github.com", "https://api.github.com/graphql")
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("GITHUB_GRAPHQL_URL", "http://127.0.0.1:1/gql")
    assert _github_urls(None) == ("http://127.0.0.1:1", "http://127.0.0.1:1/gql")


@pytest.mark.parametrize("variable", ["GITHUB_API_URL", "GITHUB_GRAPHQL_URL"])
def test_urls_from_the_environment_must_be_http_with_a_host(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "ghe.example/api/v3")
    with pytest.raises(CheckError, match=f"^{variable} must be an http"):
        _github_urls(None)


@pytest.mark.parametrize("command", [["check", "acme/widgets#7"], ["report", "acme/widgets"]])
@pytest.mark.parametrize("url", ["ghe.example/api/v3", "file:///etc", "https://", "http://h:x/"])
def test_the_api_url_option_must_be_http_with_a_host(
    command: list[str], url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--api-url", url])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "argument --api-url: " in err
    assert repr(url) in err


def test_check_with_a_bad_app_key_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_APP_ID", "9")
    monkeypatch.setenv("GITHUB_PRIVATE_KEY", "-----BEGIN RSA PRIVATE KEY-----\nsecretbits\n")
    assert main(["check", "acme/widgets#7"]) == 2
    err = capsys.readouterr().err
    assert err == ("coi-bot check: GITHUB_PRIVATE_KEY is truncated: no -----END line\n")


def test_check_refuses_a_bad_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "widgets#7"]) == 2
    assert "expected OWNER/REPO#NUMBER" in capsys.readouterr().err


def test_check_without_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "acme/widgets#7"]) == 2
    assert "no credentials" in capsys.readouterr().err


def test_check_with_an_invalid_proposed_map(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "proposed.yml"
    broken.write_text(MAP.replace("{company: initech}", "{company: initek}"))
    assert main(["check", "acme/widgets#7", "--map", str(broken)]) == 1
    err = capsys.readouterr().err
    assert f"{broken}:" in err
    assert "initech" in err  # the suggestion
    assert "error(s)" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "acme"], "expected OWNER/REPO"),
        (["report", "acme/widgets", "--since", "soon"], "--since 'soon' is not a date"),
        (
            ["report", "acme/widgets", "--since", "2025-02-01", "--until", "2025-01-01"],
            "the period is empty",
        ),
        (["report", "acme/widgets"], "no credentials"),
    ],
)
def test_report_refusals(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err
