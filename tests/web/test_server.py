"""`serve()`, `preflight()` and `python app.py`: the production entry points."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.cli import main
from bot.settings import Settings
from bot.web import server
from tests.affiliations.test_loader import VALID
from tests.web.deliveries import make_settings

ROOT = Path(__file__).resolve().parents[2]


def test_serve_runs_the_app_on_the_configured_address(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def run_app(app: web.Application, **options: Any) -> None:
        seen["app"] = app
        seen.update(options)

    monkeypatch.setattr(web, "run_app", run_app)
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        server.serve(make_settings(host="127.0.0.1", port=9123))
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    assert isinstance(seen["app"], web.Application)
    assert (seen["host"], seen["port"]) == ("127.0.0.1", 9123)
    assert seen["shutdown_timeout"] > 0
    routes = set()
    for route in seen["app"].router.routes():
        assert route.resource is not None
        routes.add((route.method, route.resource.canonical))
    assert {("POST", "/webhook"), ("GET", "/healthz"), ("GET", "/metrics")} <= routes


@pytest.mark.parametrize(
    ("environment", "missing"),
    [
        ({}, "GITHUB_WEBHOOK_SECRET"),
        ({"GITHUB_WEBHOOK_SECRET": "s", "GITHUB_APP_ID": "1"}, "GITHUB_PRIVATE_KEY"),
        ({"GITHUB_APP_ID": "1", "GITHUB_PRIVATE_KEY": "k"}, "GITHUB_WEBHOOK_SECRET"),
    ],
)
def test_app_py_refuses_to_start_and_says_what_is_missing(
    environment: dict[str, str], missing: str
) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GITHUB_")}
    env.update(environment)
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert missing in result.stderr
    assert "coi-bot serve:" in result.stderr


def test_preflight_returns_the_settings_and_the_size_of_the_map(
    tmp_path: Path, app_private_key_pem: str
) -> None:
    bundled = tmp_path / "map.yml"
    bundled.write_text(VALID)
    env = {
        "GITHUB_APP_ID": "1",
        "GITHUB_PRIVATE_KEY": app_private_key_pem,
        "GITHUB_WEBHOOK_SECRET": "s",
        "COI_MAP": str(bundled),
    }
    startup = server.preflight(env)
    assert (startup.settings.app_id, startup.settings.bundled_map) == ("1", bundled)
    assert startup.people == 2


def test_preflight_refuses_with_the_settings_problems_and_the_map_errors(tmp_path: Path) -> None:
    broken = tmp_path / "map.yml"
    broken.write_text("version: 1\npeople:\n  alice: {role: maintaner}\n")
    with pytest.raises(server.StartupRefused) as refused:
        server.preflight({"GITHUB_APP_ID": "1", "PORT": "70000", "COI_MAP": str(broken)})
    assert refused.value.lines(prefix="x: ") == [
        "x: missing GITHUB_WEBHOOK_SECRET (the App's webhook secret)",
        "x: missing GITHUB_PRIVATE_KEY (PEM text) or GITHUB_PRIVATE_KEY_FILE",
        "x: PORT must be from 1 to 65535, not 70000",
        f"{broken}:3:17: unknown role 'maintaner' (did you mean 'maintainer'?)",
        f"x: COI_MAP {broken}: 1 error(s) in the map",
    ]


def test_preflight_reads_the_default_map_when_only_settings_fail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    with pytest.raises(server.StartupRefused) as refused:
        server.preflight({})
    assert refused.value.map_errors == ()
    assert refused.value.map_file == Path("config/affiliations.yml")


def test_coi_bot_serve_prints_each_problem_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in [name for name in os.environ if name.startswith(("GITHUB_", "COI_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("COI_MAP", str(tmp_path / "none.yml"))
    assert main(["serve"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "coi-bot serve: missing GITHUB_WEBHOOK_SECRET (the App's webhook secret)"
    assert lines[-1] == f"coi-bot serve: COI_MAP {tmp_path / 'none.yml'}: 1 error(s) in the map"


def test_coi_bot_serve_hands_the_checked_settings_to_the_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, app_private_key_pem: str
) -> None:
    bundled = tmp_path / "map.yml"
    bundled.write_text(VALID)
    monkeypatch.setenv("GITHUB_APP_ID", "1")
    monkeypatch.setenv("GITHUB_PRIVATE_KEY", app_private_key_pem)
    monkeypatch.delenv("GITHUB_PRIVATE_KEY_FILE", raising=False)
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "s")
    monkeypatch.setenv("COI_MAP", str(bundled))
    served: list[tuple[Settings, int | None]] = []
    monkeypatch.setattr(
        server, "serve", lambda settings, *, people: served.append((settings, people))
    )
    assert main(["serve"]) == 0
    ((settings, people),) = served
    assert (settings.app_id, people) == ("1", 2)
