"""`coi-bot audit` through the command line: its exit statuses (0 nothing above info, 1 findings,
2 could not run) and its one-line errors. The simulator runs on its own loop in a thread, as
GitHub would run elsewhere, so that the command's own `asyncio.run` is the real one."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography.hazmat.primitives import serialization

from bot.cli import main
from githubsim import GitHubSimulator
from tests.e2e.test_audit import AUDIT_MAP, MAP_PATH, OWNER, REPO
from tests.e2e.test_check_report import APP_ID, mint_token
from tests.test_cli_process import closed_port

T = TypeVar("T")


class Background:
    """An event loop in a thread, for the simulator."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def github(app_private_key_pem: str) -> Iterator[tuple[GitHubSimulator, str]]:
    """A simulator with the audit's scenario, and an installation token for it."""
    key = serialization.load_pem_private_key(app_private_key_pem.encode(), password=None)
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    background = Background()
    sim = GitHubSimulator(app_id=APP_ID, app_public_key_pem=public, webhook_secret="unused")
    background.run(sim.start())
    try:
        sim.add_installation(OWNER)
        sim.add_org(OWNER)
        sim.add_user("alice", email="alice@acme.example")
        sim.add_user("carl")
        sim.add_repo(OWNER, "widgets", files={MAP_PATH: AUDIT_MAP})
        sim.set_permission(REPO, "alice", "admin")
        sim.set_permission(REPO, "carl", "write")  # a contributor: a finding
        yield sim, background.run(mint_token(sim, app_private_key_pem))
    finally:
        background.run(sim.close())
        background.stop()


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("GITHUB_TOKEN", "GITHUB_APP_ID", "GITHUB_API_URL", "GITHUB_GRAPHQL_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COI_MAP_PATH", MAP_PATH)
    return monkeypatch


def test_findings_exit_1_and_none_above_info_exit_0(
    github: tuple[GitHubSimulator, str],
    environment: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    sim, token = github
    environment.setenv("GITHUB_TOKEN", token)

    assert main(["audit", REPO, "--api-url", sim.url, "--json", "--since", "30"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert ("warning", "access-without-tsc-role", "carl") in {
        (f["severity"], f["rule"], f["person"]) for f in report["findings"]
    }

    clean = tmp_path / "clean.yml"
    clean.write_text(
        "version: 1\ncompanies:\n  acme: {name: Acme}\n  globex: {name: Globex}\n"
        f"people:\n  alice: {{id: {sim.users['alice'].id}, role: maintainer,"
        " affiliations: [{company: acme}]}\n"
        f"  carl: {{id: {sim.users['carl'].id}, role: maintainer,"
        " affiliations: [{company: globex}]}\n"
    )
    assert main(["audit", REPO, "--api-url", sim.url, "--map", str(clean)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[-1] == "no findings"
    assert "audit: 2/2 profiles read" in err  # progress on stderr, never in the output


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["audit", "nope"], "coi-bot audit: 'nope' is not a repository: expected OWNER/REPO\n"),
        (["audit", REPO], "coi-bot audit: no credentials: set GITHUB_TOKEN"),
    ],
    ids=["not-a-repository", "no-credentials"],
)
def test_what_cannot_run_exits_2_with_one_line(
    argv: list[str],
    message: str,
    environment: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(message)
    assert len(err.splitlines()) == 1


def test_an_invalid_map_file_exits_2_with_each_error(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    environment.setenv("GITHUB_TOKEN", "unused: the map is refused first")
    broken = tmp_path / "broken.yml"
    broken.write_text("version: 1\npeople:\n  x: {role: nope}\n")
    assert main(["audit", REPO, "--map", str(broken)]) == 2
    err = capsys.readouterr().err
    assert f"{broken}:3:" in err
    assert err.endswith(f"coi-bot audit: {broken}: 1 error(s)\n")


def test_github_out_of_reach_exits_2(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("GITHUB_TOKEN", "unused")
    port = closed_port()
    assert main(["audit", REPO, "--api-url", f"http://127.0.0.1:{port}"]) == 2
    assert capsys.readouterr().err == (
        f"coi-bot audit: cannot reach 127.0.0.1:{port}: connection refused\n"
    )


@pytest.mark.parametrize("days", ["0", "-3", "soon"])
def test_since_takes_a_number_of_days(days: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["audit", REPO, "--since", days])
    assert exited.value.code == 2
    assert "is not a number of days" in capsys.readouterr().err
