"""`coi-bot validate`, `schema`, `import` and every `--help`, run as a user runs them."""

from __future__ import annotations

import json
import re
import textwrap
import tomllib
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bot.cli import main
from tests.affiliations.test_loader import ONE_MISTAKE, VALID

ROOT = Path(__file__).resolve().parents[1]


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_validate_prints_a_summary_per_valid_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write(tmp_path, "a.yml", VALID)
    second = write(tmp_path, "b.yml", "version: 1\n")
    assert main(["validate", str(first), str(second)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"{first}: valid: 2 people, 4 companies, 2 TSC members",
        f"{second}: valid: 0 people, 0 companies, 0 TSC members",
    ]
    assert err == ""


def test_validate_reads_the_bundled_map_by_default(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["validate"]) == 0
    assert capsys.readouterr().out.startswith("config/affiliations.yml: valid: ")


@pytest.mark.parametrize(("text", "expected"), ONE_MISTAKE)
def test_validate_reports_each_kind_of_mistake_at_its_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: tuple[int, int, str]
) -> None:
    path = write(tmp_path, "affiliations.yml", textwrap.dedent(text))
    assert main(["validate", str(path)]) == 1
    out, err = capsys.readouterr()
    line, column, message = expected
    assert out == ""
    first, summary = err.splitlines()
    assert first.startswith(f"{path}:{line}:{column}: {message}")
    assert summary == f"{path}: 1 error(s)"


def test_validate_reports_every_error_of_every_file_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, "good.yml", VALID)
    bad = write(
        tmp_path,
        "bad.yml",
        "version: 1\ncompanies:\n  extreme: {name: X}\npeople:\n"
        "  alice: {role: maintaner, affiliations: [{company: extrme}]}\n",
    )
    missing = tmp_path / "missing.yml"
    assert main(["validate", str(bad), str(good), str(missing)]) == 1
    out, err = capsys.readouterr()
    assert out == f"{good}: valid: 2 people, 4 companies, 2 TSC members\n"
    assert err.splitlines() == [
        f"{bad}:5:17: unknown role 'maintaner' (did you mean 'maintainer'?)",
        f"{bad}:5:53: unknown company 'extrme' (did you mean 'extreme'?)",
        f"{bad}: 2 error(s)",
        f"{missing}:1:1: cannot read the map: No such file or directory",
        f"{missing}: 1 error(s)",
    ]


def test_schema_prints_the_committed_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    committed = (ROOT / "config" / "affiliations.schema.json").read_text(encoding="utf-8")
    assert json.loads(printed) == json.loads(committed)
    # Byte for byte too, so that regenerating the file leaves no diff.
    assert printed == committed


def test_the_pre_commit_hook_runs_validate_on_affiliation_maps() -> None:
    hooks = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (hook,) = hooks
    assert hook["id"] == "coi-bot-validate"
    assert hook["language"] == "python"
    assert hook["entry"].split() == ["coi-bot", "validate"]
    assert "coi-bot" in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    files = re.compile(hook["files"])
    for path in ["config/affiliations.yml", ".github/affiliations.yml", "affiliations.yaml"]:
        assert files.search(path), path
    for path in ["config/affiliations.yml.bak", "my-affiliations.yml", "app.yml"]:
        assert not files.search(path), path


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda d: d / "missing.md", "No such file or directory"),
        (lambda d: d, "Is a directory"),
        (lambda d: write_bytes(d / "owners.md", b"# OWNERS\n\xff\xfe"), "not UTF-8 text"),
    ],
)
@pytest.mark.parametrize("format_", ["owners", "gitdm"])
def test_import_of_an_unreadable_file_is_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], Path],
    why: str,
    format_: str,
) -> None:
    path = make(tmp_path)
    assert main(["import", format_, str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"{path}: cannot read: {why}")
    assert err.count("\n") == 1


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"coi-bot {version('coi-bot')}\n"


SERVER_VARIABLES = re.compile(r"`((?:GITHUB|COI|REDIS)_[A-Z_]+|HOST|PORT)`")


def readme_variables() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return set(SERVER_VARIABLES.findall(readme)) - {"GITHUB_TOKEN"}


@pytest.mark.parametrize(
    ("command", "variables", "statuses"),
    [
        ("validate", set(), ["0", "1"]),
        ("schema", set(), ["0"]),
        ("import", set(), ["0", "1", "2"]),
        ("serve", None, ["0", "2"]),
        ("demo", set(), ["0", "1"]),
        (
            "check",
            {"GITHUB_TOKEN", "GITHUB_APP_ID", "GITHUB_PRIVATE_KEY_FILE", "GITHUB_API_URL"},
            ["0", "1", "2"],
        ),
        (
            "report",
            {"GITHUB_TOKEN", "GITHUB_PRIVATE_KEY", "GITHUB_GRAPHQL_URL", "COI_MAP"},
            ["0", "2"],
        ),
        ("audit", {"GITHUB_TOKEN", "GITHUB_APP_ID", "COI_MAP_PATH"}, ["0", "1", "2"]),
    ],
)
def test_each_command_explains_itself(
    capsys: pytest.CaptureFixture[str],
    command: str,
    variables: set[str] | None,
    statuses: list[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    description = text.split("\n\n")[1]
    assert not description.startswith(("positional", "options")), "no description"
    exit_text = text[text.index("exit status:") :]
    for status in statuses:
        assert re.search(rf"(: |; ){status} ", exit_text), status
    if variables is None:  # serve: every variable the server reads, and the one coming
        variables = readme_variables() | {"REDIS_URL"}
        assert "GITHUB_WEBHOOK_SECRET" in variables
        assert len(variables) >= 17
    elif not variables:
        assert "no environment variables" in text or "Needs no configuration" in text
    for variable in variables:
        assert variable in text, variable


def test_serve_help_names_every_variable_settings_read(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each variable Settings.from_env reads (its source names them) is in `serve --help`."""
    source = (ROOT / "bot" / "settings.py").read_text(encoding="utf-8")
    read = set(re.findall(r'"((?:GITHUB|COI)_[A-Z_]+|HOST|PORT)"', source))
    assert read >= {"GITHUB_APP_ID", "PORT", "COI_REDELIVER_MAX_PER_CYCLE"}
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    help_text = capsys.readouterr().out
    assert sorted(name for name in read if name not in help_text) == []


def test_audit_history_is_passed_on(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.audit

    seen: dict[str, object] = {}

    async def audit_command(repository: str, **options: object) -> int:
        seen.update(options, repository=repository)
        return 1

    monkeypatch.setattr(bot.audit, "audit_command", audit_command)
    assert main(["audit", "acme/widgets", "--history", "--since", "30"]) == 1
    assert (seen["repository"], seen["history"], seen["since_days"]) == ("acme/widgets", True, 30)
    assert main(["audit", "acme/widgets"]) == 1
    assert seen["history"] is False


@pytest.mark.parametrize(
    ("app_id", "message"),
    [
        (None, "only the App's own check runs count, found by its numeric id"),
        ("Iv1.abc", "'Iv1.abc' is not the App's numeric id"),
    ],
)
def test_report_with_a_token_needs_the_apps_numeric_id(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    app_id: str | None,
    message: str,
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    if app_id is None:
        monkeypatch.delenv("GITHUB_APP_ID", raising=False)
    else:
        monkeypatch.setenv("GITHUB_APP_ID", app_id)
    # A closed port: the refusal comes before any request.
    assert main(["report", "acme/widgets", "--api-url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("coi-bot report: ")
    assert message in err
