"""`coi-bot demo` plays its story to the end against the simulator, and says why when it cannot."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shlex
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bot.affiliations.index import AffiliationMap
from bot.affiliations.model import MapDocument
from bot.cli import main
from bot.demo import SIMULATOR_MISSING, DemoError, choose_cast, run_demo, serving_instructions


def test_the_demo_plays_the_central_story(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    steps = [line for line in out.splitlines() if line.startswith("  check: ")]
    shown = [s.split(":")[1].strip() for s in steps]
    assert shown == ["in_progress", "action_required", "success"]
    assert "review requested from: @" in out
    assert "### Approvals" in out
    assert "Decided by the map `.github/affiliations.yml`" in out
    [left_out] = [line for line in out.splitlines() if "left out of the copy:" in line]
    for login in ("dzimine", "kami", "m4dcoder", "nzlosh"):  # no company on record
        assert f"@{login}," in left_out
    requested = out.split("review requested from: ")[1].split("\n")[0]
    assert "(no company)" not in requested


def test_the_cast_comes_from_the_map() -> None:
    document = MapDocument.model_validate(
        {
            "version": 1,
            "companies": {"solo": {"name": "Solo"}, "duo": {"name": "Duo"}},
            "people": {
                "lone": {"role": "maintainer", "affiliations": [{"company": "solo"}]},
                "bea": {"role": "contributor", "affiliations": [{"company": "duo"}]},
                "abe": {"role": "maintainer", "affiliations": [{"company": "duo"}]},
            },
            "policy": {"major": {"paths": ["GOVERNANCE.md", "core/**"]}},
        }
    )
    cast = choose_cast(AffiliationMap(document), today=datetime(2026, 1, 1, tzinfo=UTC))
    assert (cast.company, cast.author, cast.colleague) == ("duo", "abe", "bea")
    assert cast.major_path == "core/coi_demo/change.py"


@pytest.mark.parametrize(
    ("people", "paths", "message"),
    [
        ({"a": {"role": "maintainer", "affiliations": [{"company": "c"}]}}, ["x/**"], "colleague"),
        (
            {
                "a": {"role": "maintainer", "affiliations": [{"company": "c"}]},
                "b": {"role": "maintainer", "affiliations": [{"company": "c"}]},
            },
            ["GOVERNANCE.md"],
            "major directory",
        ),
    ],
)
def test_a_map_that_cannot_play_the_story_says_why(
    people: dict[str, object], paths: list[str], message: str
) -> None:
    document = MapDocument.model_validate(
        {
            "version": 1,
            "companies": {"c": {"name": "C"}},
            "people": people,
            "policy": {"major": {"paths": paths}},
        }
    )
    with pytest.raises(DemoError, match=message):
        choose_cast(AffiliationMap(document), today=datetime(2026, 1, 1, tzinfo=UTC))


def test_a_broken_bundled_map_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "map.yml"
    broken.write_text("version: 1\npeople: [\n")
    assert run_demo(io.StringIO(), map_path=broken) == 1
    assert "map.yml:" in capsys.readouterr().err


def test_a_map_without_a_story_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lonely = tmp_path / "map.yml"
    lonely.write_text("version: 1\n")
    assert run_demo(io.StringIO(), map_path=lonely) == 1
    assert "coi-bot demo: the map has no company" in capsys.readouterr().err


def test_without_the_simulator_the_demo_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "githubsim", None)  # as in the wheel and the image
    assert main(["demo"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == SIMULATOR_MISSING + "\n"
    assert "uv run --frozen coi-bot demo" in captured.err


# -- coi-bot demo --serve ------------------------------------------------------------------

SERVE_SECONDS = 120.0  # the story on a loaded 2-core machine, then a check against it


async def _line_with(stream: asyncio.StreamReader, text: str, seen: list[str]) -> str:
    while True:
        raw = await stream.readline()
        assert raw, "the demo ended before printing " + repr(text) + ":\n" + "".join(seen)
        line = raw.decode()
        seen.append(line)
        if text in line:
            return line


async def test_the_served_demo_answers_check_with_the_printed_environment() -> None:
    cli = [sys.executable, "-m", "bot.cli"]
    demo = await asyncio.create_subprocess_exec(
        *cli, "demo", "--serve", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert demo.stdout is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(SERVE_SECONDS):
            exported = await _line_with(demo.stdout, "export GITHUB_TOKEN=", seen)
            command = await _line_with(demo.stdout, "coi-bot check ", seen)
        env = dict(pair.split("=", 1) for pair in shlex.split(exported)[1:])
        assert env["GITHUB_TOKEN"].startswith("ghs_")
        assert env["GITHUB_API_URL"].startswith("http://127.0.0.1:")
        words = shlex.split(command)
        assert words[:2] == ["coi-bot", "check"]
        assert words[words.index("--api-url") + 1] == env["GITHUB_API_URL"]
        checked = await asyncio.create_subprocess_exec(
            *cli,
            *words[1:],
            "--json",
            env={**os.environ, **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(SERVE_SECONDS):
            out, err = await checked.communicate()
        assert checked.returncode == 0, err.decode()
        verdict = json.loads(out)
        assert verdict["conclusion"] == "success"  # the story ends with an independent approval
        demo.send_signal(signal.SIGTERM)
        async with asyncio.timeout(SERVE_SECONDS):
            rest, _ = await demo.communicate()
        assert demo.returncode == 0, "".join(seen) + rest.decode()
        assert "coi-bot demo: stopped" in rest.decode()
    finally:
        if demo.returncode is None:
            demo.kill()
            await demo.wait()


def test_serving_instructions_name_the_token_url_and_commands(tmp_path: Path) -> None:
    lines = serving_instructions(
        api_url="http://127.0.0.1:8080",
        token="ghs_x",
        map_path=tmp_path / "a map.yml",
        pull="StackStorm/st2#1",
    )
    assert "export GITHUB_TOKEN=ghs_x GITHUB_API_URL=http://127.0.0.1:8080 COI_MAP=" in lines[2]
    assert shlex.split(lines[2])[-1] == f"COI_MAP={tmp_path / 'a map.yml'}"
    assert "  coi-bot check StackStorm/st2#1 --api-url http://127.0.0.1:8080" in lines
    assert "  coi-bot report StackStorm/st2 --api-url http://127.0.0.1:8080" in lines


def test_the_demo_map_leaves_out_only_tsc_members_without_a_company() -> None:
    from bot.demo import demo_map

    text = (
        "version: 1\ncompanies: {c: {name: C}}\npeople:\n"
        "  a: {role: maintainer, affiliations: [{company: c}]}\n"
        "  b: {role: maintainer}\n"
        "  d: {role: contributor}\n"
    )
    today = datetime(2026, 1, 1, tzinfo=UTC)
    amap = AffiliationMap(MapDocument.model_validate(yaml.safe_load(text)))
    copy = demo_map(text, amap, today=today)
    assert copy.left_out == ("b",)
    assert sorted(copy.map.document.people) == ["a", "d"]
    everyone = text.replace("  b: {role: maintainer}\n", "")
    kept = demo_map(
        everyone, AffiliationMap(MapDocument.model_validate(yaml.safe_load(everyone))), today=today
    )
    assert (kept.text, kept.left_out) == (everyone, ())
