"""`coi-bot check` and `coi-bot report` against the simulator over HTTP, every request validated
against GitHub's descriptions; the dry run is shown to write nothing."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from githubsim.validation import OpenApiRequestValidator, graphql_validator

from bot.dryrun import (
    CheckError,
    Credentials,
    ProposedMapInvalid,
    check_command,
    connect,
    load_proposed,
)
from bot.github.auth import app_jwt
from bot.github.map_source import MapSource, git_blob_sha
from bot.report import Progress, Report, collect, render_markdown
from bot.settings import Secret
from githubsim import GitHubSimulator
from tests.e2e.conftest import MAP, Clock

APP_ID = 777
OWNER, NAME = "acme", "widgets"
REPO = f"{OWNER}/{NAME}"
MAP_PATH = ".github/affiliations.yml"
PEOPLE = ("alice", "anna", "gus", "gina", "ivan", "carl")
# Reads only: GraphQL queries, and the App's token minting when it acts as the App.
READ_ONLY = {"graphql", "apps/create-installation-access-token"}


@pytest.fixture
async def sim(
    app_private_key_pem: str,
    rest_validator: OpenApiRequestValidator,
    reference_dir: Path,
    clock: Clock,
) -> AsyncIterator[GitHubSimulator]:
    simulator = await started_simulator(app_private_key_pem, rest_validator, reference_dir, clock)
    for login in PEOPLE:
        simulator.add_user(login, email=f"{login}@{OWNER}.example")
    simulator.add_repo(OWNER, NAME, files={MAP_PATH: MAP, "README.md": "widgets\n"})
    for login in PEOPLE[:-1]:
        simulator.set_permission(REPO, login, "write")
    yield simulator
    await simulator.close()
    assert simulator.violations == [], "requests GitHub would refuse were made"


async def started_simulator(
    app_private_key_pem: str,
    rest_validator: OpenApiRequestValidator,
    reference_dir: Path,
    clock: Clock,
) -> GitHubSimulator:
    """A running simulator with the App installed on OWNER and no bot listening: the read-only
    commands talk to it as they would to GitHub."""
    key = serialization.load_pem_private_key(app_private_key_pem.encode(), password=None)
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    simulator = GitHubSimulator(
        app_id=APP_ID,
        app_public_key_pem=public,
        webhook_secret="unused: no bot listens",
        request_validator=rest_validator,
        graphql_validator=graphql_validator(reference_dir / "graphql" / "schema.graphql"),
        clock=clock,
    )
    await simulator.start()
    simulator.add_installation(OWNER)
    return simulator


async def mint_token(sim: GitHubSimulator, key: str) -> str:
    """An installation token, as a CI job's GITHUB_TOKEN would be."""
    installation_id = next(iter(sim.installations))
    jwt = app_jwt(app_id=str(APP_ID), private_key=Secret(key), now=sim.now().timestamp())
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{sim.url}/app/installations/{installation_id}/access_tokens",
            headers={
                "Authorization": f"Bearer {jwt}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
        ) as response,
    ):
        assert response.status == 201
        token: str = (await response.json())["token"]
    sim.reset_calls()
    return token


def writes(sim: GitHubSimulator) -> list[str]:
    return [
        f"{call.method} {call.path}"
        for call in sim.calls
        if call.method != "GET" and call.operation_id not in READ_ONLY
    ]


async def conflicted_pr(sim: GitHubSimulator) -> int:
    """alice (Acme) changes core/, anna (Acme) approves: an independent review is needed."""
    number = await sim.open_pull_request(
        REPO, author="alice", title="Rework the core", files={"core/engine.py": "run()\n"}
    )
    await sim.submit_review(REPO, number, reviewer="anna")
    return number


async def run_check(
    sim: GitHubSimulator,
    target: str,
    env: dict[str, str],
    *,
    as_json: bool = False,
    proposed: Any = None,
) -> tuple[int, str]:
    out = io.StringIO()
    status = await check_command(
        target,
        urls=(sim.url, sim.graphql_url),
        proposed=proposed,
        as_json=as_json,
        map_path=MAP_PATH,
        bundled_map=Path("config/affiliations.yml"),
        environ=env,
        out=out,
    )
    return status, out.getvalue()


async def test_check_prints_the_verdict_and_writes_nothing(
    sim: GitHubSimulator, app_private_key_pem: str
) -> None:
    number = await conflicted_pr(sim)
    token = await mint_token(sim, app_private_key_pem)

    status, text = await run_check(sim, f"{REPO}#{number}", {"GITHUB_TOKEN": token})

    assert status == 1
    assert text.startswith(f"{REPO}#{number}: ACTION REQUIRED: ")
    assert f"map: {MAP_PATH} (repository, blob " in text
    assert "would request review from: @" in text
    assert "dry run: nothing was written to GitHub" in text
    assert "@anna" in text  # the summary's approval table
    assert writes(sim) == []
    assert sim.check_runs(REPO, sim.head_sha(REPO, number)) == []
    assert sim.review_requests(REPO, number) == []


async def test_check_says_a_major_change_waits_for_an_approval(
    sim: GitHubSimulator, app_private_key_pem: str
) -> None:
    number = await sim.open_pull_request(
        REPO, author="alice", title="Rework the core", files={"core/engine.py": "run()\n"}
    )
    token = await mint_token(sim, app_private_key_pem)

    status, text = await run_check(sim, f"{REPO}#{number}", {"GITHUB_TOKEN": token})
    assert status == 1, "waiting does not pass"
    assert text.startswith(
        f"{REPO}#{number}: WAITING for an approval to judge: "
        "Major change: waiting for an approval to judge"
    )
    assert "would request review from" not in text, "nobody is asked before an approval"

    status, text = await run_check(sim, f"{REPO}#{number}", {"GITHUB_TOKEN": token}, as_json=True)
    verdict = json.loads(text)
    assert (status, verdict["conclusion"], verdict["passes"]) == (1, "in_progress", False)
    assert writes(sim) == []


async def test_check_json_names_every_part_of_the_verdict(
    sim: GitHubSimulator, app_private_key_pem: str
) -> None:
    number = await conflicted_pr(sim)
    token = await mint_token(sim, app_private_key_pem)

    status, text = await run_check(sim, f"{REPO}#{number}", {"GITHUB_TOKEN": token}, as_json=True)

    verdict = json.loads(text)
    assert status == 1
    assert verdict["conclusion"] == "action_required"
    assert verdict["passes"] is False
    assert verdict["major"] is True
    assert [a["login"] for a in verdict["authors"]] == ["alice"]
    assert verdict["authors"][0]["companies"] == [{"id": "acme", "name": "Acme"}]
    (approval,) = verdict["approvals"]
    assert approval["reviewer"] == "anna"
    assert approval["counted"] is False
    assert "same company" in approval["why_not"]
    assert (approval["stale"], approval["shown_by"]) == (None, None)
    assert verdict["authors"][0]["shown_by"] is None
    assert verdict["independent_approvals"] == {
        "required": 1,
        "counted": 0,
        "missing": 1,
        "needs_review": True,
    }
    assert verdict["map"]["path"] == MAP_PATH
    assert verdict["map"]["source"] == "repository"
    assert (verdict["map"]["branch"], verdict["map"]["unread_owner"]) == ("main", None)
    assert len(verdict["map"]["blob_sha"]) == 40
    assert len(verdict["would_request"]) == 1
    assert verdict["would_request"][0] in {"gus", "gina", "ivan"}
    assert writes(sim) == []


async def test_check_judges_by_the_last_reviewed_map_as_the_app_does(
    sim: GitHubSimulator, app_private_key_pem: str
) -> None:
    number = await conflicted_pr(sim)
    moved = MAP.replace(
        "anna: {role: maintainer, affiliations: [{company: acme}]}",
        "anna: {role: maintainer, affiliations: [{company: globex}]}",
    )
    pushed = await sim.push_to_branch(REPO, "main", {MAP_PATH: moved}, author="alice")
    token = await mint_token(sim, app_private_key_pem)

    status, text = await run_check(sim, f"{REPO}#{number}", {"GITHUB_TOKEN": token}, as_json=True)

    verdict = json.loads(text)
    assert (status, verdict["conclusion"]) == (1, "action_required"), "anna still at Acme"
    assert verdict["map"]["blob_sha"] == git_blob_sha(MAP.encode())
    assert verdict["map"]["held"] == {
        "commit": pushed,
        "url": f"https://github.com/{REPO}/commit/{pushed}",
    }
    assert f"without review in [`{pushed[:7]}`]" in verdict["summary"]
    assert writes(sim) == []


async def test_check_as_the_app_finds_its_installation(
    sim: GitHubSimulator, app_private_key_pem: str
) -> None:
    number = await sim.open_pull_request(
        REPO, author="gus", title="Docs", files={"docs/index.md": "hello\n"}
    )
    env = {"GITHUB_APP_ID": str(APP_ID), "GITHUB_PRIVATE_KEY": app_private_key_pem}

    status, text = await run_check(sim, f"{REPO}#{number}", env, as_json=True)

    assert status == 0
    assert json.loads(text)["conclusion"] == "success"
    operations = [call.operation_id for call in sim.calls]
    assert operations.count("apps/list-installations") == 1
    assert operations.count("apps/create-installation-access-token") == 1
    assert writes(sim) == []


async def test_a_proposed_map_shows_what_it_would_change(
    sim: GitHubSimulator, app_private_key_pem: str, tmp_path: Path
) -> None:
    number = await conflicted_pr(sim)
    token = await mint_token(sim, app_private_key_pem)
    moved = tmp_path / "proposed.yml"
    # The proposal: anna left Acme for Initech before she approved.
    moved.write_text(
        MAP.replace(
            "anna: {role: maintainer, affiliations: [{company: acme}]}",
            "anna: {role: maintainer, affiliations: [{company: initech}]}",
        )
    )

    status, text = await run_check(
        sim,
        f"{REPO}#{number}",
        {"GITHUB_TOKEN": token},
        as_json=True,
        proposed=load_proposed(moved, map_path=MAP_PATH),
    )

    verdict = json.loads(text)
    assert status == 0
    assert verdict["conclusion"] == "success"
    assert verdict["approvals"][0]["counted"] is True
    assert verdict["map"]["proposed_file"] == str(moved)
    assert verdict["map"]["path"] == MAP_PATH
    assert sim.calls
    assert all(call.operation_id != "repos/get-content" for call in sim.calls)


def test_an_invalid_proposed_map_lists_its_errors_by_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(MAP.replace("{company: globex}", "{company: globx}"))
    with pytest.raises(ProposedMapInvalid) as caught:
        load_proposed(broken, map_path=MAP_PATH)
    assert caught.value.errors
    assert all(str(e).startswith(f"{broken}:") for e in caught.value.errors)
    assert "globex" in str(caught.value.errors[0])  # the suggestion


@pytest.mark.parametrize(
    ("target", "env", "message"),
    [
        ("acme/widgets#999", "token", "Could not resolve to a PullRequest"),
        ("acme/nothing#1", "token", "Could not resolve to a Repository"),
        # The hint `report` gives on a REST 404, for GraphQL's NOT_FOUND.
        ("acme/nothing#1", "token", r"\(no such repository or pull request, or the credentials"),
        ("acme/widgets#1", {"GITHUB_TOKEN": "ghs_revoked"}, "credentials are not valid"),
        (
            "globex/widgets#1",
            "app",
            "the App is not installed on globex",
        ),
        ("acme/widgets#1", "token and client id", "is not the App's numeric id"),
    ],
)
async def test_check_explains_what_it_could_not_judge(
    sim: GitHubSimulator,
    app_private_key_pem: str,
    target: str,
    env: Any,
    message: str,
) -> None:
    if env == "token":
        env = {"GITHUB_TOKEN": await mint_token(sim, app_private_key_pem)}
    elif env == "app":
        env = {"GITHUB_APP_ID": str(APP_ID), "GITHUB_PRIVATE_KEY": app_private_key_pem}
    elif env == "token and client id":
        token = await mint_token(sim, app_private_key_pem)
        env = {"GITHUB_TOKEN": token, "GITHUB_APP_ID": sim.client_id}
    with pytest.raises(CheckError, match=message):
        await run_check(sim, target, env)


async def test_check_with_the_client_id_asks_github_for_the_numeric_id(
    sim: GitHubSimulator, app_private_key_pem: str
) -> None:
    number = await conflicted_pr(sim)
    sim.add_foreign_check_run(REPO, sim.head_sha(REPO, number), name="COI review")
    sim.reset_calls()
    env = {"GITHUB_APP_ID": sim.client_id, "GITHUB_PRIVATE_KEY": app_private_key_pem}
    status, text = await run_check(sim, f"{REPO}#{number}", env)
    assert status == 1, text
    assert [call.operation_id for call in sim.calls].count("apps/get-authenticated") == 1
    assert writes(sim) == [], "a dry run writes nothing, to its own run or another App's"


async def test_a_merged_pr_is_judged_as_of_now(
    sim: GitHubSimulator, app_private_key_pem: str, clock: Clock
) -> None:
    number = await conflicted_pr(sim)
    await sim.submit_review(REPO, number, reviewer="ivan")
    clock.moment += timedelta(hours=1)
    await sim.close_pull_request(REPO, number, merge=True)
    token = await mint_token(sim, app_private_key_pem)

    status, text = await run_check(sim, f"{REPO}#{number}", {"GITHUB_TOKEN": token})

    assert status == 0
    assert "(the pull request is merged: judged as of now)" in text


# --- coi-bot report ---------------------------------------------------------------------------

# The correction merged on Feb 1: anna works for Initech, not Acme (no dates: a fix of the record).
MAP_AFTER = MAP.replace(
    "anna: {role: maintainer, affiliations: [{company: acme}]}",
    "anna: {role: maintainer, affiliations: [{company: initech}]}",
)


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


async def merged_history(sim: GitHubSimulator, clock: Clock) -> dict[str, int]:
    """A quarter of merged PRs around a map change; returns the PR numbers by role."""
    prs: dict[str, int] = {}

    async def open_pr(name: str, day: str, author: str, path: str) -> int:
        clock.moment = at(day, 9)
        number = await sim.open_pull_request(
            REPO, author=author, title=f"{name} change", files={path: f"{name}\n"}
        )
        prs[name] = number
        return number

    async def merge(number: int, day: str) -> None:
        clock.moment = at(day, 18)
        await sim.close_pull_request(REPO, number, merge=True)

    early = await open_pr("early", "2025-01-02", "alice", "core/early.py")
    await sim.submit_review(REPO, early, reviewer="gus")
    await merge(early, "2025-01-03")  # before the period

    same = await open_pr("same", "2025-01-10", "alice", "core/a.py")
    clock.moment = at("2025-01-10", 11)
    await sim.submit_review(REPO, same, reviewer="anna")
    await merge(same, "2025-01-11")

    asked = await open_pr("asked", "2025-01-12", "alice", "core/b.py")
    await sim.request_review(REPO, asked, reviewer="ivan", sender="alice")
    clock.moment = at("2025-01-12", 15)
    await sim.submit_review(REPO, asked, reviewer="ivan")
    await merge(asked, "2025-01-13")

    docs = await open_pr("docs", "2025-01-20", "gus", "docs/readme.md")
    await merge(docs, "2025-01-20")

    clock.moment = at("2025-02-01", 8)
    await sim.push_to_branch(REPO, "main", {MAP_PATH: MAP_AFTER}, author="gus")

    later = await open_pr("later", "2025-02-05", "alice", "core/c.py")
    clock.moment = at("2025-02-05", 10)
    await sim.submit_review(REPO, later, reviewer="anna")
    await merge(later, "2025-02-06")

    bare = await open_pr("bare", "2025-02-10", "gina", "core/d.py")
    await merge(bare, "2025-02-11")

    abandoned = await open_pr("abandoned", "2025-02-12", "alice", "core/e.py")
    clock.moment = at("2025-02-12", 18)
    await sim.close_pull_request(REPO, abandoned)
    clock.moment = at("2025-03-02")
    return prs


async def _collect(
    sim: GitHubSimulator,
    token: str,
    *,
    since: datetime,
    until: datetime,
    progress: Progress | None = None,
) -> Report:
    """`report`'s collection over [since, until), as the App with `token`."""
    client = connect(
        Credentials(token=Secret(token)), api_url=sim.url, graphql_url=sim.graphql_url, owner=OWNER
    )
    async with client as gh:
        return await collect(
            gh,
            MapSource(map_path=MAP_PATH, bundled_map=Path("config/affiliations.yml")),
            owner=OWNER,
            repo=NAME,
            since=since,
            until=until,
            endpoint=sim.graphql_url,
            progress=progress,
            app_id=APP_ID,
        )


async def test_report_judges_each_pr_by_the_map_in_force_when_merged(
    sim: GitHubSimulator, app_private_key_pem: str, clock: Clock
) -> None:
    from bot.report_html import render_html

    prs = await merged_history(sim, clock)
    token = await mint_token(sim, app_private_key_pem)
    seen: list[tuple[int, int]] = []
    report = await _collect(
        sim,
        token,
        since=at("2025-01-05", 0),
        until=at("2025-03-01", 0),
        progress=lambda done, total: seen.append((done, total)),
    )

    numbers = [pr.number for pr in report.merged]
    assert numbers == [prs[n] for n in ("same", "asked", "docs", "later", "bare")]
    assert [pr.number for pr in report.major] == [
        prs[n] for n in ("same", "asked", "later", "bare")
    ]
    # Before the correction anna counted as Acme; after it, as Initech.
    assert [pr.number for pr in report.same_company_only] == [prs["same"]]
    assert [pr.number for pr in report.independent] == [prs["asked"], prs["later"]]
    assert [pr.number for pr in report.unapproved] == [prs["bare"]]
    assert report.independent_share == 0.5
    assert report.wait_hours == (6.0,)
    assert report.by_member["ivan"].requested == 1
    assert report.by_member["anna"].approvals == 2
    assert report.by_member["anna"].independent == 1
    assert report.by_company["Acme"].approvals == 1
    assert report.by_company["Initech"].approvals == 2
    assert len(report.maps) == 2
    assert seen[-1] == (5, 5)

    operations = [call.operation_id for call in sim.calls]
    queries = [call.query_name for call in sim.calls]
    assert operations.count("pulls/list") == 1
    assert queries.count("MergedPullRequest") == 5
    assert queries.count("MapAtCommit") == 2  # one read per distinct map blob
    assert queries.count("MapHistory") == 1  # how the map's changes landed
    assert writes(sim) == []
    # The correction was pushed directly: counted beside the merges over the check.
    (unreviewed,) = report.unreviewed_map_changes
    assert unreviewed.how == "direct push: a commit by @gus"
    assert unreviewed.commit.committed_at == at("2025-02-01", 8)

    markdown = render_markdown(report)
    assert f"[#{prs['same']}](https://github.com/{REPO}/pull/{prs['same']})" in markdown
    assert "| Major, with independent approval | 2 (50%) |" in markdown
    assert "| Changes of the map that landed unreviewed | 1 |" in markdown
    assert f"[`{unreviewed.commit.oid[:7]}`]({unreviewed.commit.url}), 2025-02-01" in markdown
    page = render_html(report)
    assert page.count("<svg") == 3
    assert "<script" not in page
    assert "http" not in page.replace("https://github.com/", "").replace(
        "http://www.w3.org/2000/svg", ""
    )


async def test_report_judges_a_backport_by_the_default_branch_map_when_merged(
    sim: GitHubSimulator, app_private_key_pem: str, clock: Clock
) -> None:

    clock.moment = at("2025-01-02")
    await sim.push_to_branch(REPO, "release-1.0", {"README.md": "1.0\n"}, author="gus")
    clock.moment = at("2025-02-01", 8)  # on main only: anna works for Initech
    await sim.push_to_branch(REPO, "main", {MAP_PATH: MAP_AFTER}, author="gus")
    clock.moment = at("2025-02-05", 9)
    number = await sim.open_pull_request(
        REPO, author="alice", title="Backport", files={"core/x.py": "x\n"}, base="release-1.0"
    )
    await sim.submit_review(REPO, number, reviewer="anna")
    clock.moment = at("2025-02-06", 18)
    await sim.close_pull_request(REPO, number, merge=True)
    clock.moment = at("2025-03-02")
    token = await mint_token(sim, app_private_key_pem)
    report = await _collect(sim, token, since=at("2025-02-02", 0), until=at("2025-03-01", 0))

    # release-1.0's own map still has anna at Acme; main's, in force then, at Initech.
    assert [pr.number for pr in report.independent] == [number]
    assert report.same_company_only == ()
    assert [call.query_name for call in sim.calls].count("DefaultMapAt") == 1
    assert writes(sim) == []


async def test_report_lists_prs_merged_while_the_coi_check_was_not_successful(
    sim: GitHubSimulator, app_private_key_pem: str, clock: Clock
) -> None:
    from bot.affiliations.model import DEFAULT_CHECK_NAME
    from bot.report_html import render_html

    token = await mint_token(sim, app_private_key_pem)
    headers = {
        "Authorization": f"token {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    numbers: dict[str, int] = {}
    async with aiohttp.ClientSession() as session:
        for day, (name, runs) in enumerate(
            [
                (
                    "passed",
                    [("action_required", DEFAULT_CHECK_NAME), ("success", DEFAULT_CHECK_NAME)],
                ),
                ("bypassed", [("action_required", DEFAULT_CHECK_NAME), ("success", "lint")]),
                ("unchecked", []),
                # Merged while a major change waited for an approval: over the check, too.
                ("waiting", [("in_progress", DEFAULT_CHECK_NAME)]),
            ],
            start=10,
        ):
            clock.moment = at(f"2025-01-{day}", 9)
            number = await sim.open_pull_request(
                REPO, author="alice", title=f"{name} change", files={"core/x.py": f"{name}\n"}
            )
            numbers[name] = number
            for conclusion, check in runs:
                body = {
                    "name": check,
                    "head_sha": sim.head_sha(REPO, number),
                    "status": "completed",
                    "conclusion": conclusion,
                    "output": {"title": conclusion, "summary": conclusion},
                }
                if conclusion == "in_progress":  # a status, as the App writes it
                    del body["conclusion"]
                    body["status"] = "in_progress"
                async with session.post(
                    f"{sim.url}/repos/{REPO}/check-runs", json=body, headers=headers
                ) as response:
                    assert response.status == 201
            # A workflow job named like the App's check never stands in for it.
            sim.add_foreign_check_run(
                REPO, sim.head_sha(REPO, number), name=DEFAULT_CHECK_NAME, conclusion="success"
            )
            clock.moment = at(f"2025-01-{day}", 18)
            await sim.close_pull_request(REPO, number, merge=True)
    clock.moment = at("2025-02-01")
    report = await _collect(sim, token, since=at("2025-01-01", 0), until=at("2025-02-01", 0))
    assert [(pr.number, pr.check) for pr in report.unchecked] == [
        (numbers["bypassed"], "action_required"),
        (numbers["unchecked"], "missing"),
        (numbers["waiting"], "in_progress"),
    ]
    assert [call.query_name for call in sim.calls].count("MergedPullRequest") == 4
    markdown = render_markdown(report)
    assert "## Merged while the COI check was not successful" in markdown
    bypassed, unchecked = numbers["bypassed"], numbers["unchecked"]
    assert (
        f"- [#{bypassed}](https://github.com/{REPO}/pull/{bypassed}) bypassed change, merged "
        "2025-01-11: COI check `action_required`"
    ) in markdown
    assert "unchecked change, merged 2025-01-12: no COI check run" in markdown
    assert (
        "waiting change, merged 2025-01-13: the COI check was waiting for an approval "
        "(`in_progress`)"
    ) in markdown
    assert f"#{numbers['passed']}]" not in markdown.split("not successful")[1].split("##")[0]
    page = render_html(report)
    assert f'<a href="https://github.com/{REPO}/pull/{unchecked}">#{unchecked}</a>' in page
    assert "no COI check run" in page


async def test_check_json_lists_what_github_shows_against_the_map(
    sim: GitHubSimulator, app_private_key_pem: str
) -> None:
    number = await conflicted_pr(sim)
    sim.set_profile("anna", company="Globex")  # the map has her at Acme
    token = await mint_token(sim, app_private_key_pem)

    _, text = await run_check(sim, f"{REPO}#{number}", {"GITHUB_TOKEN": token}, as_json=True)

    evidence = json.loads(text)["evidence"]
    assert evidence["policy"] == "warn"
    (contradiction,) = evidence["contradictions"]
    assert contradiction["login"] == "anna"
    assert contradiction["company"] == "globex"
    assert any("Globex" in shown for shown in contradiction["github_shows"])
    assert contradiction["fix"]


async def test_check_prints_a_votes_tally_and_writes_nothing(
    sim: GitHubSimulator, app_private_key_pem: str
) -> None:
    number = await conflicted_pr(sim)
    await sim.set_labels(REPO, number, ["TSC:voting"], sender="gus")
    await sim.post_comment(REPO, number, author="ivan", body="/coi vote yes fine by me")
    await sim.post_comment(REPO, number, author="anna", body="/coi vote no")
    token = await mint_token(sim, app_private_key_pem)

    status, text = await run_check(sim, f"{REPO}#{number}", {"GITHUB_TOKEN": token})
    assert status == 1
    assert "TSC vote: Vote open: yes 1, no 0, abstain 0; closes " in text
    assert "| @anna | maintainer | 1 | Acme | no (counted as abstain) | 0 " in text
    assert "coi-bot:vote-open" not in text
    _, as_json = await run_check(sim, f"{REPO}#{number}", {"GITHUB_TOKEN": token}, as_json=True)
    vote = json.loads(as_json)["vote"]
    assert (vote["status"], vote["conclusion"]) == ("in_progress", None)
    assert writes(sim) == []
