"""The real `coi-bot` process: serve's refusals, a clean start and stop, and unreachable GitHub."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.affiliations.test_loader import VALID

ROOT = Path(__file__).resolve().parents[1]
COMMAND = [sys.executable, "-m", "bot.cli"]


def clean_environment() -> dict[str, str]:
    """This process's environment without any variable the server reads."""
    read = ("GITHUB_", "COI_", "REDIS_URL")
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(read) and key not in ("HOST", "PORT")
    }


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ec_key_pem() -> str:
    return (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


Case = Callable[[Path, dict[str, str]], tuple[dict[str, str], list[str]]]


def _garbage_key(tmp: Path, env: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    return {**env, "GITHUB_PRIVATE_KEY": "hunter2-not-a-key"}, [
        "coi-bot serve: GITHUB_PRIVATE_KEY is not a PEM key: "
        "it must start with -----BEGIN RSA PRIVATE KEY-----"
    ]


def _truncated_key(tmp: Path, env: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    lines = env["GITHUB_PRIVATE_KEY"].splitlines()
    return {**env, "GITHUB_PRIVATE_KEY": "\n".join(lines[:5])}, [
        "coi-bot serve: GITHUB_PRIVATE_KEY is truncated: no -----END line"
    ]


def _ec_key_file(tmp: Path, env: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    key = tmp / "ec.pem"
    key.write_text(ec_key_pem())
    env = {key_: value for key_, value in env.items() if key_ != "GITHUB_PRIVATE_KEY"}
    return {**env, "GITHUB_PRIVATE_KEY_FILE": str(key)}, [
        f"coi-bot serve: GITHUB_PRIVATE_KEY_FILE {str(key)!r} is an EC key, not RSA: "
        "GitHub App keys are RSA (generate one on the App's page)"
    ]


def _both_keys(tmp: Path, env: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    key = tmp / "key.pem"
    key.write_text(env["GITHUB_PRIVATE_KEY"])
    return {**env, "GITHUB_PRIVATE_KEY_FILE": str(key)}, [
        "coi-bot serve: set one of GITHUB_PRIVATE_KEY (PEM text) or GITHUB_PRIVATE_KEY_FILE "
        "(a file), not both"
    ]


def _missing_map(tmp: Path, env: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    missing = tmp / "missing.yml"
    return {**env, "COI_MAP": str(missing)}, [
        f"{missing}:1:1: cannot read the map: No such file or directory",
        f"coi-bot serve: COI_MAP {missing}: 1 error(s) in the map",
    ]


def _invalid_map(tmp: Path, env: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    broken = tmp / "broken.yml"
    broken.write_text(
        "version: 1\ncompanies:\n  extreme: {name: X}\npeople:\n"
        "  alice: {role: maintaner, affiliations: [{company: extrme}]}\n"
    )
    return {**env, "COI_MAP": str(broken)}, [
        f"{broken}:5:17: unknown role 'maintaner' (did you mean 'maintainer'?)",
        f"{broken}:5:53: unknown company 'extrme' (did you mean 'extreme'?)",
        f"coi-bot serve: COI_MAP {broken}: 2 error(s) in the map",
    ]


def _port(value: str, message: str) -> Case:
    def case(tmp: Path, env: dict[str, str]) -> tuple[dict[str, str], list[str]]:
        return {**env, "PORT": value}, [f"coi-bot serve: PORT {message}"]

    return case


def _everything_at_once(tmp: Path, env: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    missing = tmp / "nothing.yml"
    bad = {
        "GITHUB_PRIVATE_KEY": "garbage",
        "GITHUB_WEBHOOK_SECRET": "",
        "PORT": "0",
        "COI_WORKERS": "many",
        "COI_RECONCILE_MINUTES": "-1",
        "COI_MAP": str(missing),
    }
    return {**env, **bad}, [
        "coi-bot serve: missing GITHUB_WEBHOOK_SECRET (the App's webhook secret)",
        "coi-bot serve: GITHUB_PRIVATE_KEY is not a PEM key: "
        "it must start with -----BEGIN RSA PRIVATE KEY-----",
        "coi-bot serve: PORT must be from 1 to 65535, not 0",
        "coi-bot serve: COI_WORKERS must be a whole number, not 'many'",
        "coi-bot serve: COI_RECONCILE_MINUTES must be minutes, 0 (off) or more, not '-1'",
        f"{missing}:1:1: cannot read the map: No such file or directory",
        f"coi-bot serve: COI_MAP {missing}: 1 error(s) in the map",
    ]


CASES: dict[str, Case] = {
    "garbage key": _garbage_key,
    "truncated key": _truncated_key,
    "EC key": _ec_key_file,
    "both key variables": _both_keys,
    "missing map": _missing_map,
    "invalid map": _invalid_map,
    "port too high": _port("99999", "must be from 1 to 65535, not 99999"),
    "port zero": _port("0", "must be from 1 to 65535, not 0"),
    "port text": _port("http", "must be a whole number, not 'http'"),
    "everything at once": _everything_at_once,
}


@pytest.fixture(scope="module")
def refusals(
    tmp_path_factory: pytest.TempPathFactory, app_private_key_pem: str
) -> Iterator[dict[str, tuple[subprocess.CompletedProcess[str], list[str]]]]:
    """Every refused start, run side by side: each process exits before it opens a port."""
    valid = {
        **clean_environment(),
        "GITHUB_APP_ID": "123",
        "GITHUB_PRIVATE_KEY": app_private_key_pem,
        "GITHUB_WEBHOOK_SECRET": "s",
        "HOST": "127.0.0.1",
        "PORT": str(closed_port()),
    }
    started: dict[str, tuple[subprocess.Popen[str], list[str]]] = {}
    for name, case in CASES.items():
        env, expected = case(tmp_path_factory.mktemp("case"), valid)
        process = subprocess.Popen(
            [*COMMAND, "serve"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started[name] = (process, expected)
    results = {}
    try:
        for name, (process, expected) in started.items():
            out, err = process.communicate(timeout=120)
            results[name] = (
                subprocess.CompletedProcess(process.args, process.returncode, out, err),
                expected,
            )
        yield results
    finally:
        for process, _ in started.values():
            if process.poll() is None:  # a server that should have refused: stop it
                process.kill()
                process.wait()


@pytest.mark.parametrize("case", list(CASES))
def test_serve_refuses_to_start(
    refusals: dict[str, tuple[subprocess.CompletedProcess[str], list[str]]], case: str
) -> None:
    result, expected = refusals[case]
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == expected
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr
    assert result.stdout == ""


def test_serve_starts_logs_one_line_and_stops_on_sigterm(
    tmp_path: Path, app_private_key_pem: str
) -> None:
    bundled = tmp_path / "map.yml"
    bundled.write_text(VALID)
    port = closed_port()
    env = {
        **clean_environment(),
        "GITHUB_APP_ID": "4242",
        "GITHUB_PRIVATE_KEY": app_private_key_pem,
        "GITHUB_WEBHOOK_SECRET": "s",
        # Nothing leaves this machine: GitHub is a closed port, and background work waits a day.
        "GITHUB_API_URL": f"http://127.0.0.1:{closed_port()}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "COI_MAP": str(bundled),
        "COI_RECONCILE_MINUTES": "1440",
        "COI_REDELIVER_MINUTES": "1440",
    }
    with subprocess.Popen(
        [*COMMAND, "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stderr is not None
            first = json.loads(process.stderr.readline())
            healthy = wait_healthy(f"http://127.0.0.1:{port}/healthz", within=60)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
            rest = process.stderr.read()
        finally:
            if process.poll() is None:
                process.kill()
    assert healthy
    assert first["message"].startswith("starting coi-bot ")
    assert first["version"] == first["message"].removeprefix("starting coi-bot ")
    assert (first["app_id"], first["api_url"]) == ("4242", env["GITHUB_API_URL"])
    assert (first["map"], first["people"]) == (str(bundled), 2)
    assert (first["host"], first["port"]) == ("127.0.0.1", port)
    assert "starting coi-bot" not in rest  # one startup line
    assert "Traceback" not in rest


def wait_healthy(url: str, *, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def test_check_and_report_say_plainly_that_github_cannot_be_reached() -> None:
    """One line, naming the host and the failure: no retry log, no operation name, no traceback."""
    port = closed_port()
    url = f"http://127.0.0.1:{port}"
    # report counts only the App's runs: with a token, it needs the App's numeric id too.
    env = {**clean_environment(), "GITHUB_TOKEN": "not-needed", "GITHUB_APP_ID": "1"}
    commands = {
        "check": ["check", "acme/widgets#7", "--api-url", url],
        "report": ["report", "acme/widgets", "--api-url", url],
    }
    processes = {
        name: subprocess.Popen(
            [*COMMAND, *argv],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, argv in commands.items()
    }
    for name, process in processes.items():
        with process:
            out, err = process.communicate(timeout=120)
        assert process.returncode == 2, err
        assert out == ""
        assert err == f"coi-bot {name}: cannot reach 127.0.0.1:{port}: connection refused\n"
