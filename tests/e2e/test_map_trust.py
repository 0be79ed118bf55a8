"""Issue 22's stories: the map is the root of trust, and an admin is an attacker like any other.

A colleague's PR needs an independent approval because anna, its approver, works at Acme like
its author. Moving anna to Globex in the map turns that PR green: reviewed, it takes effect;
pushed or merged around the review, it is held and the pushed commit carries a failing check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.stage import Stage
from tests.e2e.conftest import MAP, OWNER, REPO, count, latest_check, seed

MAP_PATH = ".github/affiliations.yml"
ANNA_AT_ACME = "anna: {role: maintainer, affiliations: [{company: acme}]}"
ANNA_AT_GLOBEX = "anna: {role: maintainer, affiliations: [{company: globex}]}"
MOVED = MAP.replace(ANNA_AT_ACME, ANNA_AT_GLOBEX)
ACCEPTING = MAP + "  unreviewed_map: accept\n"


def commit_check(stage: Stage, sha: str, repo: str = REPO) -> dict[str, Any]:
    runs = stage.sim.check_runs(repo, sha)
    assert len(runs) == 1, f"one check on {sha[:7]}, not {len(runs)}"
    run: dict[str, Any] = runs[0]
    return run


def tip(stage: Stage, repo: str = REPO, branch: str = "main") -> str:
    found = stage.sim.find_repo(*repo.split("/"))
    assert found is not None
    return found.branches[branch]


async def colleague_approved_pr(stage: Stage) -> int:
    """alice's major change approved by anna, her colleague: action_required by the seed map."""
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
    )
    await sim.submit_review(REPO, number, reviewer="anna")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "action_required"
    return number


async def map_pr(stage: Stage, text: str, *, approvers: tuple[str, ...]) -> int:
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO, author="carl", title="Move anna", files={MAP_PATH: text}
    )
    for reviewer in approvers:
        await sim.submit_review(REPO, number, reviewer=reviewer)
    await stage.settle()
    return number


@pytest.mark.parametrize("check_name", ["COI review", "Independent review"])
async def test_a_reviewed_map_pr_takes_effect_and_its_merge_commit_passes(
    stage_factory: Callable[..., Stage], check_name: str
) -> None:
    # The check's name is the map's to choose: the history finds the App's runs by any name.
    named = f"  check_name: {check_name}\n"
    async with stage_factory() as stage:
        seed(stage, repo_files={MAP_PATH: MAP + named})
        sim = stage.sim
        waiting = await colleague_approved_pr(stage)
        number = await map_pr(stage, MOVED + named, approvers=("gus", "ivan"))
        assert latest_check(stage, number)["conclusion"] == "success"

        await sim.close_pull_request(REPO, number, merge=True, sender="gus")
        await stage.settle()
        merge_commit = sim.pull(REPO, number).merge_commit_sha
        assert merge_commit is not None
        assert tip(stage) == merge_commit
        verdict = commit_check(stage, merge_commit)
        assert (verdict["name"], verdict["conclusion"]) == (check_name, "success")
        assert verdict["output"]["title"] == (
            f"Map change reviewed in #{number}: approvals from Globex, Initech"
        )
        assert "`anna`" in verdict["output"]["summary"], "what changed: anna's affiliation"
        # In force: anna is at Globex now, so her approval of alice's PR is independent.
        run = latest_check(stage, waiting)
        assert run["conclusion"] == "success"
        assert "without review" not in run["output"]["summary"]
        assert not [c for c in sim.comments(REPO, number) if "Merged over" in c["body"]]
        assert sim.violations == []


async def test_a_direct_push_is_held_and_its_commit_fails(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory() as stage:
        seed(stage, repo_files={MAP_PATH: MAP})
        sim = stage.sim
        waiting = await colleague_approved_pr(stage)
        # The push also tries to switch itself to `accept`: the policy in force says hold.
        pushed = await sim.push_to_branch(
            REPO, "main", {MAP_PATH: MOVED + "  unreviewed_map: accept\n"}, author="alice"
        )
        await stage.settle()
        verdict = commit_check(stage, pushed)
        assert verdict["conclusion"] == "failure"
        assert verdict["output"]["title"] == (
            "Map changed without independent review: pushed by @alice (Acme)"
        )
        summary = verdict["output"]["summary"]
        assert "affiliations changed: `anna`" in summary
        assert "the policy changed" in summary
        run = latest_check(stage, waiting)
        assert run["conclusion"] == "action_required", "the last reviewed map still decides"
        assert f"without review in [`{pushed[:7]}`]" in run["output"]["summary"]
        assert f"/commit/{pushed}" in run["output"]["summary"]
        assert sim.violations == []


async def test_an_admin_merge_over_the_check_is_held_and_said_on_the_pr(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory() as stage:
        seed(stage, repo_files={MAP_PATH: MAP})
        sim = stage.sim
        waiting = await colleague_approved_pr(stage)
        number = await map_pr(stage, MOVED, approvers=("alice",))
        assert latest_check(stage, number)["conclusion"] == "action_required"

        await sim.close_pull_request(REPO, number, merge=True, sender="alice")
        await stage.settle()
        merge_commit = sim.pull(REPO, number).merge_commit_sha
        assert merge_commit is not None
        verdict = commit_check(stage, merge_commit)
        assert verdict["conclusion"] == "failure"
        assert verdict["output"]["title"] == (
            f"Map changed without independent review: #{number} merged by @alice (Acme)"
        )
        assert latest_check(stage, waiting)["conclusion"] == "action_required"
        said = [c["body"] for c in sim.comments(REPO, number) if "Merged over" in c["body"]]
        assert len(said) == 1
        assert "`@alice` (Acme) merged this pull request" in said[0]
        assert "`COI review` was `action_required`" in said[0]

        # A redelivery of the merge says nothing twice.
        closed = [d for d in sim.deliveries if d.event == "pull_request" and d.action == "closed"]
        await sim.redeliver(closed[-1])
        await stage.settle()
        assert len([c for c in sim.comments(REPO, number) if "Merged over" in c["body"]]) == 1
        assert sim.violations == []


async def test_a_reviewed_change_ends_the_hold(stage_factory: Callable[..., Stage]) -> None:
    async with stage_factory() as stage:
        seed(stage, repo_files={MAP_PATH: MAP})
        sim = stage.sim
        waiting = await colleague_approved_pr(stage)
        await sim.push_to_branch(REPO, "main", {MAP_PATH: MOVED}, author="alice")
        await stage.settle()
        assert latest_check(stage, waiting)["conclusion"] == "action_required"

        # The same move, and one more entry, through a PR that Globex and Initech approve.
        reviewed = MOVED.replace("people:\n", "people:\n  zed: {role: contributor}\n")
        number = await map_pr(stage, reviewed, approvers=("gus", "ivan"))
        assert latest_check(stage, number)["conclusion"] == "success"
        await sim.close_pull_request(REPO, number, merge=True, sender="gus")
        await stage.settle()
        assert commit_check(stage, tip(stage))["conclusion"] == "success"
        run = latest_check(stage, waiting)
        assert run["conclusion"] == "success"
        assert "without review" not in run["output"]["summary"]
        assert sim.violations == []


async def test_accept_applies_an_unreviewed_map_but_its_commit_still_fails(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory() as stage:
        seed(stage, repo_files={MAP_PATH: ACCEPTING})
        sim = stage.sim
        waiting = await colleague_approved_pr(stage)
        pushed = await sim.push_to_branch(
            REPO,
            "main",
            {MAP_PATH: ACCEPTING.replace(ANNA_AT_ACME, ANNA_AT_GLOBEX)},
            author="alice",
        )
        await stage.settle()
        assert commit_check(stage, pushed)["conclusion"] == "failure"
        run = latest_check(stage, waiting)
        assert run["conclusion"] == "success"
        assert "without review" not in run["output"]["summary"]
        assert sim.violations == []


async def test_a_first_map_is_its_bootstrap(stage_factory: Callable[..., Stage]) -> None:
    async with stage_factory() as stage:
        seed(stage)  # no map in the repository, none in the owner's `.github`
        sim = stage.sim
        pushed = await sim.push_to_branch(REPO, "main", {MAP_PATH: MOVED}, author="alice")
        await stage.settle()
        verdict = commit_check(stage, pushed)
        assert verdict["conclusion"] == "neutral"
        assert verdict["output"]["title"] == "First map of this repository: in force as it is"
        number = await sim.open_pull_request(
            REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
        )
        await sim.submit_review(REPO, number, reviewer="anna")
        await stage.settle()
        run = latest_check(stage, number)
        assert run["conclusion"] == "success", "in force as it is: anna at Globex"
        assert "without review" not in run["output"]["summary"]
        assert sim.violations == []


async def test_the_owners_map_is_guarded_the_same_way(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory() as stage:
        seed(stage)
        sim = stage.sim
        owner_repo = f"{OWNER}/.github"
        sim.add_repo(OWNER, ".github", files={MAP_PATH: MAP})
        waiting = await colleague_approved_pr(stage)

        pushed = await sim.push_to_branch(owner_repo, "main", {MAP_PATH: MOVED}, author="alice")
        await stage.settle()
        assert commit_check(stage, pushed, owner_repo)["conclusion"] == "failure"
        run = latest_check(stage, waiting)
        assert run["conclusion"] == "action_required"
        assert f"without review in [`{pushed[:7]}`]" in run["output"]["summary"]

        # widgets' own first map is no bootstrap: the owner's map governed it before.
        own = await sim.push_to_branch(REPO, "main", {MAP_PATH: MOVED}, author="alice")
        await stage.settle()
        assert commit_check(stage, own)["conclusion"] == "failure"
        run = latest_check(stage, waiting)
        assert run["conclusion"] == "action_required"
        assert f"without review in [`{own[:7]}`]" in run["output"]["summary"]
        assert sim.violations == []


async def test_after_a_restart_the_verdicts_come_back_from_github(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory() as stage:
        seed(stage, repo_files={MAP_PATH: MAP})
        sim = stage.sim
        waiting = await colleague_approved_pr(stage)
        pushed = await sim.push_to_branch(REPO, "main", {MAP_PATH: MOVED}, author="alice")
        await stage.settle()
        assert commit_check(stage, pushed)["conclusion"] == "failure"

        await stage.restart_bot()
        sim.reset_calls()
        await sim.submit_review(REPO, waiting, reviewer="carl")
        await stage.settle()
        run = latest_check(stage, waiting)
        assert run["conclusion"] == "action_required", "still held after the restart"
        assert f"without review in [`{pushed[:7]}`]" in run["output"]["summary"]
        assert count(stage, query="MapHistory") == 1, "one read for a version never judged"

        sim.reset_calls()
        await sim.submit_review(REPO, waiting, reviewer="ivan", state="COMMENTED")
        await stage.settle()
        assert count(stage, query="MapHistory") == 0, "none after"
        assert sim.violations == []


async def test_a_reviewed_version_costs_one_history_read_then_none(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory() as stage:
        seed(stage, repo_files={MAP_PATH: MAP})
        sim = stage.sim
        await colleague_approved_pr(stage)
        assert count(stage, query="MapHistory") == 1, "the seed map, never judged: one read"
        sim.reset_calls()
        await sim.open_pull_request(REPO, author="gus", title="Docs", files={"docs/a.md": "a\n"})
        await stage.settle()
        assert count(stage, query="MapHistory") == 0
        assert sim.violations == []


async def test_a_force_push_that_rewrites_the_maps_history_fails_and_is_held(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory() as stage:
        seed(stage, repo_files={MAP_PATH: MAP})
        sim = stage.sim
        waiting = await colleague_approved_pr(stage)
        first = tip(stage)
        number = await map_pr(stage, MOVED, approvers=("gus", "ivan"))
        await sim.close_pull_request(REPO, number, merge=True, sender="gus")
        await stage.settle()
        assert latest_check(stage, waiting)["conclusion"] == "success"

        # History rewritten: the reviewed merge is gone, another text is pushed in its place.
        rewritten = MOVED.replace("people:\n", "people:\n  zed: {role: contributor}\n")
        forced = await sim.push_to_branch(
            REPO, "main", {MAP_PATH: rewritten}, author="alice", onto=first
        )
        await stage.settle()
        verdict = commit_check(stage, forced)
        assert verdict["conclusion"] == "failure"
        assert verdict["output"]["title"] == "Map force-pushed by @alice (Acme)"
        run = latest_check(stage, waiting)
        assert run["conclusion"] == "action_required", "back to the first map, the last trusted"
        assert f"without review in [`{forced[:7]}`]" in run["output"]["summary"]
        assert sim.violations == []


async def test_a_commit_that_passed_on_another_branch_is_not_reviewed_here(
    stage_factory: Callable[..., Stage],
) -> None:
    """The App's `success` on a commit is no review of the default branch's map: a map PR into
    another branch passes there (judged by main's map), and its head is then pushed onto main."""
    async with stage_factory() as stage:
        seed(stage, repo_files={MAP_PATH: MAP})
        sim = stage.sim
        waiting = await colleague_approved_pr(stage)
        await sim.push_to_branch(REPO, "release", {"README.md": "release\n"}, author="gus")
        number = await sim.open_pull_request(
            REPO, author="alice", title="Move anna", files={MAP_PATH: MOVED}, base="release"
        )
        # Into release as into main, one company is not enough for a map change: main's map.
        await sim.submit_review(REPO, number, reviewer="gus")
        await stage.settle()
        assert latest_check(stage, number)["conclusion"] == "action_required"
        await sim.submit_review(REPO, number, reviewer="ivan")
        await stage.settle()
        assert latest_check(stage, number)["conclusion"] == "success"

        head = sim.head_sha(REPO, number)
        await sim.push_existing(REPO, "main", head, author="alice")
        await stage.settle()
        # The commit keeps one run of the check, which the release PR's evaluations share with
        # the push's verdict; what decides is that main's PRs are not judged by this map.
        assert commit_check(stage, head)["name"] == "COI review"
        run = latest_check(stage, waiting)
        assert run["conclusion"] == "action_required"
        assert f"without review in [`{head[:7]}`]" in run["output"]["summary"]
        assert sim.violations == []


async def test_a_map_deleted_by_a_direct_push_is_held_too(
    stage_factory: Callable[..., Stage],
) -> None:
    # The bundled map would let anna's approval count: deleting the repository's map must not.
    async with stage_factory(map_text=MOVED) as stage:
        seed(stage, repo_files={MAP_PATH: MAP})
        sim = stage.sim
        waiting = await colleague_approved_pr(stage)
        deleted = await sim.push_to_branch(REPO, "main", {MAP_PATH: None}, author="alice")
        await stage.settle()
        verdict = commit_check(stage, deleted)
        assert verdict["conclusion"] == "failure"
        assert "people removed: `alice`, `anna`" in verdict["output"]["summary"]
        run = latest_check(stage, waiting)
        assert run["conclusion"] == "action_required"
        assert f"without review in [`{deleted[:7]}`]" in run["output"]["summary"]
        assert "(repository)." in run["output"]["summary"]

        # Deleted through a PR that Globex and Initech approve: the bundled map is in force.
        restored = await sim.push_to_branch(REPO, "main", {MAP_PATH: MAP}, author="alice")
        await stage.settle()
        assert commit_check(stage, restored)["conclusion"] == "failure"
        number = await sim.open_pull_request(
            REPO, author="carl", title="No map", files={MAP_PATH: None}
        )
        for reviewer in ("gus", "ivan"):
            await sim.submit_review(REPO, number, reviewer=reviewer)
        await stage.settle()
        assert latest_check(stage, number)["conclusion"] == "success"
        await sim.close_pull_request(REPO, number, merge=True, sender="gus")
        await stage.settle()
        run = latest_check(stage, waiting)
        assert run["conclusion"] == "success", "anna at Globex in the bundled map"
        assert "(bundled)." in run["output"]["summary"]
        assert "without review" not in run["output"]["summary"]
        assert sim.violations == []
