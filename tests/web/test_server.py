"""`serve()` and `python app.py`: the production entry points."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.web import server
from tests.web.deliveries import make_settings

ROOT = Path(__file__).resolve().parents[2]


def test_serve_runs_the_app_on_the_configured_address(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def run_app(app: web.Application, **options: Any) -> None:
        seen["app"] = app
        seen.update(options)

    monkeypatch.setattr(server.web, "run_app", run_app)
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
    routes = {(route.method, route.resource.canonical) for route in seen["app"].router.routes()}
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
