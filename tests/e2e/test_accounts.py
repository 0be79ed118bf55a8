"""People are accounts: a renamed TSC member is still themselves, a re-registered login is not.

Played over real HTTP: the map binds each person to GitHub's numeric id, and the simulator
renames accounts (same id, new login) and lets anyone register a freed login (new id)."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from githubsim.simulator import GitHubSimulator

from bot.dryrun import check_command
from bot.stage import Stage
from tests.e2e.conftest import REPO, latest_check, seed

MAP_PATH = ".github/affiliations.yml"
PEOPLE = {"alice": "acme", "anna": "acme", "gus": "globex"}


def map_with_ids(sim: GitHubSimulator) -> str:
    """Alice and Anna of Acme, Gus of Globex: three TSC members, each bound to their account."""
    people = "".join(
        f"  {login}: {{id: {sim.users[login].id}, role: maintainer,"
        f" affiliations: [{{company: {company}}}]}}\n"
        for login, company in PEOPLE.items()
    )
    return (
        "version: 1\n"
        "companies:\n  acme: {name: Acme}\n  globex: {name: Globex}\n"
        f"people:\n{people}"
        'policy:\n  major: {paths: ["core/**"]}\n'
    )


@pytest.fixture
async def stage(stage_factory: Callable[..., Stage]) -> AsyncIterator[Stage]:
    async with stage_factory() as running:
        for login in PEOPLE:
            running.sim.add_user(login, email=f"{login}@acme.example")
        seed(running, repo_files={MAP_PATH: map_with_ids(running.sim)})
        yield running
        assert running.sim.violations == [], "the bot made requests GitHub would refuse"


async def _major_pr_approved_by_a_colleague(sim: GitHubSimulator) -> int:
    number = await sim.open_pull_request(
        REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
    )
    await sim.submit_review(REPO, number, reviewer="anna")
    return number


async def test_a_renamed_tsc_members_approval_is_recognised_under_the_new_login(
    stage: Stage,
) -> None:
    sim = stage.sim
    sim.rename_user("gus", "gustav")
    number = await _major_pr_approved_by_a_colleague(sim)
    await sim.submit_review(REPO, number, reviewer="gustav")
    await stage.settle()
    run = latest_check(stage, number)
    summary = run["output"]["summary"]
    assert run["conclusion"] == "success", summary
    assert "@gustav is @gus of the map" in summary
    assert "update the map's login" in summary
    assert sim.review_requests(REPO, number) == []


async def test_a_same_company_approval_under_a_new_login_still_asks_for_independent_review(
    stage: Stage,
) -> None:
    sim = stage.sim
    sim.rename_user("anna", "anna-b")
    number = await sim.open_pull_request(
        REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
    )
    await sim.submit_review(REPO, number, reviewer="anna-b")
    await stage.settle()
    run = latest_check(stage, number)
    summary = run["output"]["summary"]
    assert run["conclusion"] == "action_required", summary
    assert "same company as the authors, Acme (`acme`)" in summary
    assert "@anna-b is @anna of the map" in summary
    assert sim.review_requests(REPO, number) == ["gus"]


async def test_whoever_registers_a_freed_login_is_not_that_tsc_member(stage: Stage) -> None:
    sim = stage.sim
    sim.rename_user("gus", "gustav")
    impostor = sim.add_user("gus")
    number = await _major_pr_approved_by_a_colleague(sim)
    await sim.submit_review(REPO, number, reviewer="gus")
    await stage.settle()
    run = latest_check(stage, number)
    summary = run["output"]["summary"]
    assert run["conclusion"] == "action_required", summary
    assert f"@gus is GitHub id {impostor.id}, not @gus of the map" in summary
    assert "the login now belongs to another account" in summary
    [row] = [line for line in summary.splitlines() if line.startswith("| @gus ")]
    assert "| no | no write access to the repository |" in row, row
    assert "Globex" not in row  # not Gus: nobody's company
    assert "gus" not in sim.review_requests(REPO, number)


async def test_a_freed_login_with_write_access_still_does_not_pass_the_check(stage: Stage) -> None:
    # Even with write access (granted by mistake to "gus"), the newcomer is not Gus of Globex.
    sim = stage.sim
    sim.rename_user("gus", "gustav")
    sim.add_user("gus")
    sim.set_permission(REPO, "gus", "write")
    number = await _major_pr_approved_by_a_colleague(sim)
    await sim.submit_review(REPO, number, reviewer="gus")
    await stage.settle()
    run = latest_check(stage, number)
    summary = run["output"]["summary"]
    assert run["conclusion"] == "action_required", summary
    [row] = [line for line in summary.splitlines() if line.startswith("| @gus ")]
    assert "not in the affiliation map" in row, row


async def test_a_freed_login_is_never_asked_to_review(stage: Stage) -> None:
    # Gus renamed; someone else took "gus" and never touched the PR: only the candidates' ids,
    # read with their review load, tell the bot that "gus" is no longer Gus.
    sim = stage.sim
    sim.rename_user("gus", "gustav")
    impostor = sim.add_user("gus")
    number = await _major_pr_approved_by_a_colleague(sim)
    await stage.settle()
    run = latest_check(stage, number)
    summary = run["output"]["summary"]
    assert run["conclusion"] == "action_required"
    assert sim.review_requests(REPO, number) == []
    assert f"@gus is GitHub id {impostor.id}, not @gus of the map" in summary
    assert "No eligible third-party TSC member is left to ask" in summary


async def test_check_json_names_the_renamed_and_the_reused_login(stage: Stage) -> None:
    sim = stage.sim
    gus = sim.users["gus"].id
    sim.rename_user("gus", "gustav")
    impostor = sim.add_user("gus")
    number = await _major_pr_approved_by_a_colleague(sim)
    await sim.submit_review(REPO, number, reviewer="gustav")
    await sim.submit_review(REPO, number, reviewer="gus")
    out = io.StringIO()
    status = await check_command(
        f"{REPO}#{number}",
        urls=(sim.url, sim.graphql_url),
        proposed=None,
        as_json=True,
        map_path=MAP_PATH,
        bundled_map=Path("config/affiliations.yml"),
        environ={"GITHUB_TOKEN": sim.issue_token("acme")},
        out=out,
    )
    verdict = json.loads(out.getvalue())
    assert status == 0, verdict["summary"]
    assert verdict["accounts"] == [
        {"login": "gus", "id": impostor.id, "person": "gus", "map_id": gus, "renamed": False},
        {"login": "gustav", "id": gus, "person": "gus", "map_id": gus, "renamed": True},
    ]
    counted = {a["reviewer"]: a["counted"] for a in verdict["approvals"]}
    assert counted == {"anna": False, "gustav": True, "gus": False}


def _bot_comments(stage: Stage, number: int) -> list[str]:
    return [str(c["body"]) for c in stage.sim.comments(REPO, number) if c["user"]["type"] == "Bot"]


async def test_whoever_took_a_freed_login_opens_no_vote_on_an_issue(stage: Stage) -> None:
    # An issue's vote reads no commit and no review: only its actors' ids tell "gus" from Gus.
    sim = stage.sim
    sim.rename_user("gus", "gustav")
    sim.add_user("gus")
    number = await sim.open_issue(REPO, author="alice", title="Adopt a release cadence")
    await sim.set_issue_labels(REPO, number, ["TSC:voting"], sender="gus")
    await stage.settle()
    assert sim.issue(REPO, number).labels == []
    (reply,) = [b for b in _bot_comments(stage, number) if "coi-bot:vote-label" in b]
    assert "only TSC members open a vote: @gus is not on the TSC" in reply


async def test_on_an_issue_a_renamed_member_votes_and_whoever_took_the_login_does_not(
    stage: Stage,
) -> None:
    sim = stage.sim
    sim.rename_user("gus", "gustav")
    sim.add_user("gus")
    number = await sim.open_issue(REPO, author="alice", title="Adopt a release cadence")
    await sim.set_issue_labels(REPO, number, ["TSC:voting"], sender="gustav")
    await stage.settle()
    assert sim.issue(REPO, number).labels == ["TSC:voting"]
    await sim.post_comment(REPO, number, author="gus", body="/coi vote yes")
    await sim.post_comment(REPO, number, author="gustav", body="/coi vote no")
    await stage.settle()
    (live,) = [b for b in _bot_comments(stage, number) if "coi-bot:vote-live" in b]
    assert "yes 0, no 1, abstain 0" in live, live
    assert "| @gustav | maintainer | 1 | Globex | no | 1 |" in live, live
    assert "| @gus | none | 0 | none on record | yes | 0 |" in live, live


async def test_a_kept_declaration_stays_its_declarers_after_a_rename_and_a_reused_login(
    stage: Stage,
) -> None:
    # The App's record names the declarer by the login of that day: once Gus is "gustav" and
    # someone else holds "gus", the kept declaration is still Gus's, not the newcomer's.
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
    )
    declaration = await sim.post_comment(
        REPO, number, author="gus", body="/coi declare consults for Acme"
    )
    await sim.submit_review(REPO, number, reviewer="gus")
    await stage.settle()  # the declaration is on the App's record
    await sim.delete_comment(REPO, declaration, sender="alice")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "action_required"

    sim.rename_user("gus", "gustav")
    sim.add_user("gus")
    await sim.post_comment(REPO, number, author="gus", body="Looks fine to me")
    await stage.settle()
    run = latest_check(stage, number)
    summary = run["output"]["summary"]
    assert run["conclusion"] == "action_required", summary
    assert "consults for Acme" in summary


async def test_a_kept_declaration_about_a_renamed_member_stays_on_them(stage: Stage) -> None:
    # Anna declared Gus conflicted; once "gus" is someone else's, the kept record is still Gus's.
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
    )
    declaration = await sim.post_comment(
        REPO, number, author="anna", body="/coi declare @gus consults for Acme"
    )
    await stage.settle()
    await sim.delete_comment(REPO, declaration, sender="alice")
    await stage.settle()

    sim.rename_user("gus", "gustav")
    sim.add_user("gus")
    await sim.post_comment(REPO, number, author="gus", body="Looks fine to me")
    await sim.submit_review(REPO, number, reviewer="gustav")
    await stage.settle()
    run = latest_check(stage, number)
    summary = run["output"]["summary"]
    assert run["conclusion"] == "action_required", summary
    rows = [line for line in summary.splitlines() if line.startswith("| @gustav ")]
    assert any("consults for Acme" in row for row in rows), summary
