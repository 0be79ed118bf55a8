"""A map's first version is its bootstrap, in force unreviewed: only the first one the App saw.

An admin who rewrites the map's history with a new first version (a force push), or moves the
default branch to a line of history whose first map is another (every PR is judged by the
default branch's map), would otherwise bring in a map nobody reviewed as a bootstrap.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.stage import Stage
from tests.e2e.conftest import MAP, REPO, latest_check, seed
from tests.e2e.test_map_trust import MAP_PATH, MOVED, colleague_approved_pr, commit_check, tip


async def bootstrapped(stage: Stage) -> tuple[str, int]:
    """The repository's first commit (no map), its map's first version pushed on it, and
    alice's PR that anna's approval leaves `action_required` by that map."""
    seed(stage)
    root = tip(stage)
    first = await stage.sim.push_to_branch(REPO, "main", {MAP_PATH: MAP}, author="alice")
    await stage.settle()
    assert commit_check(stage, first)["conclusion"] == "neutral", "the bootstrap"
    return root, await colleague_approved_pr(stage)


async def test_a_force_push_that_replaces_the_first_version_is_held(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory() as stage:
        root, waiting = await bootstrapped(stage)
        # The history rewritten from the root: the friendlier map is now the first version.
        forced = await stage.sim.push_to_branch(
            REPO, "main", {MAP_PATH: MOVED}, author="alice", onto=root
        )
        await stage.settle()
        assert commit_check(stage, forced)["conclusion"] == "failure"
        run = latest_check(stage, waiting)
        assert run["conclusion"] == "action_required", "anna is still alice's colleague"
        assert f"without review in [`{forced[:7]}`]" in run["output"]["summary"]
        assert stage.sim.violations == []


async def test_a_default_branch_moved_to_another_first_version_is_held(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory() as stage:
        sim = stage.sim
        root, waiting = await bootstrapped(stage)
        # Another line of history, its own first map, made the default branch by an admin.
        other = await sim.push_to_branch(
            REPO, "friendly", {MAP_PATH: MOVED}, author="alice", onto=root
        )
        await stage.settle()
        repository = sim.find_repo(*REPO.split("/"))
        assert repository is not None
        repository.default_branch = "friendly"
        await sim.post_comment(REPO, waiting, author="alice", body="/coi recheck")
        await stage.settle()
        run = latest_check(stage, waiting)
        assert run["conclusion"] == "action_required", "anna is still alice's colleague"
        assert f"without review in [`{other[:7]}`]" in run["output"]["summary"]
        assert "default branch `friendly`" not in run["output"]["summary"], "not its map"
        assert sim.violations == []
