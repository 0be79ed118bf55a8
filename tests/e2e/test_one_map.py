"""Issue 26, "one map for people": every PR is judged by the default branch's map, whatever its
base. A backport into an old release branch, whose map still shows anna at Globex, is judged by
today's map (anna works at Acme now); editing the release branch's map changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.github.map_source import git_blob_sha
from bot.jobs.reconciler import map_decided
from bot.stage import Stage
from tests.e2e.conftest import MAP, REPO, latest_check, seed

MAP_PATH = ".github/affiliations.yml"
ANNA_AT_ACME = "anna: {role: maintainer, affiliations: [{company: acme}]}"
ANNA_AT_GLOBEX = "anna: {role: maintainer, affiliations: [{company: globex}]}"
# The map as it was when `release-1.0` was cut: anna still at Globex.
WHEN_CUT = MAP.replace(ANNA_AT_ACME, ANNA_AT_GLOBEX)
RELEASE = "release-1.0"


async def reviewed_map_change(stage: Stage, text: str, *, base: str | None = None) -> int:
    """A map PR by carl, approved by Globex and Initech, merged."""
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO, author="carl", title="Map update", files={MAP_PATH: text}, base=base
    )
    for reviewer in ("gus", "ivan"):
        await sim.submit_review(REPO, number, reviewer=reviewer)
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "success"
    await sim.close_pull_request(REPO, number, merge=True, sender="gus")
    await stage.settle()
    return number


async def release_cut_before_anna_moved(stage: Stage) -> None:
    """`release-1.0` keeps the map of its cut; main's map moved anna to Acme through review."""
    seed(stage, repo_files={MAP_PATH: WHEN_CUT})
    await stage.sim.push_to_branch(REPO, RELEASE, {"README.md": "1.0\n"}, author="gus")
    await reviewed_map_change(stage, MAP)


async def test_a_backport_is_judged_by_the_default_branch_map(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory() as stage:
        await release_cut_before_anna_moved(stage)
        sim = stage.sim
        number = await sim.open_pull_request(
            REPO, author="alice", title="Backport", files={"core/x.py": "x\n"}, base=RELEASE
        )
        await sim.submit_review(REPO, number, reviewer="anna")
        await stage.settle()
        run = latest_check(stage, number)
        # By release-1.0's own map anna is Globex, an independent approval; she is Acme today.
        assert run["conclusion"] == "action_required"
        summary = run["output"]["summary"]
        assert map_decided(summary) == (git_blob_sha(MAP.encode()), "repository")
        assert "on the default branch `main`, which judges every pull request" in summary

        # Its merge group into the release branch is judged by the same map.
        [group] = await sim.enqueue(REPO, [number])
        await stage.settle()
        [group_run] = sim.check_runs(REPO, group.head_sha)
        assert group_run["conclusion"] == "action_required"
        assert sim.violations == []


async def test_editing_a_release_branch_map_puts_nothing_in_force(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory() as stage:
        await release_cut_before_anna_moved(stage)
        sim = stage.sim
        backport = await sim.open_pull_request(
            REPO, author="alice", title="Backport", files={"core/x.py": "x\n"}, base=RELEASE
        )
        await sim.submit_review(REPO, backport, reviewer="anna")
        await stage.settle()
        assert latest_check(stage, backport)["conclusion"] == "action_required"

        # A map PR into the release branch is a change to protected files like any other ...
        moved = await sim.open_pull_request(
            REPO, author="alice", title="anna", files={MAP_PATH: WHEN_CUT + "# 1.0\n"}, base=RELEASE
        )
        await sim.submit_review(REPO, moved, reviewer="gus")
        await stage.settle()
        assert latest_check(stage, moved)["conclusion"] == "action_required"
        await sim.submit_review(REPO, moved, reviewer="ivan")
        await stage.settle()
        assert latest_check(stage, moved)["conclusion"] == "success"
        await sim.close_pull_request(REPO, moved, merge=True, sender="gus")
        await stage.settle()

        # ... and once merged there, it is still not the map in force.
        await sim.post_comment(REPO, backport, author="alice", body="/coi recheck")
        await stage.settle()
        run = latest_check(stage, backport)
        assert run["conclusion"] == "action_required"
        assert map_decided(run["output"]["summary"]) == (git_blob_sha(MAP.encode()), "repository")
        assert sim.violations == []


async def test_a_broken_map_on_a_release_branch_pr_is_still_reported(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory() as stage:
        await release_cut_before_anna_moved(stage)
        sim = stage.sim
        number = await sim.open_pull_request(
            REPO,
            author="carl",
            title="Typo",
            files={MAP_PATH: MAP.replace("company: initech", "company: initek")},
            base=RELEASE,
        )
        await stage.settle()
        run = latest_check(stage, number)
        assert run["conclusion"] == "failure"
        assert "initek" in run["output"]["text"]
        assert sim.violations == []
