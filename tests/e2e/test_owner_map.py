"""Issue 26: when the owner's `.github` repository cannot be read, the summary says so.

The owner's map would decide a repository without a map of its own; an App installed on
selected repositories that leave `.github` out cannot read it, and falling back to the bundled
map without a word would hide which rules judged the PR.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from bot.jobs.reconciler import map_decided
from bot.stage import Stage
from tests.e2e.conftest import MAP, NAME, OWNER, REPO, Clock, latest_check, seed

MAP_PATH = ".github/affiliations.yml"
# The owner's map: anna at Globex, so her approval of alice's change is independent.
OWNER_MAP = MAP.replace(
    "anna: {role: maintainer, affiliations: [{company: acme}]}",
    "anna: {role: maintainer, affiliations: [{company: globex}]}",
)
UNREAD = (
    f"The owner's repository `{OWNER}/.github` could not be read (the App is not installed "
    "there, or it does not exist), so no map of it was used: the bundled map decided instead."
)


@pytest.mark.parametrize(
    ("owner_repository", "selected", "conclusion", "source", "named"),
    [
        (True, None, "success", "owner", False),  # installed everywhere: the owner's map
        (True, [NAME], "action_required", "bundled", True),  # not installed on `.github`
        (False, None, "action_required", "bundled", True),  # no `.github` repository
    ],
)
async def test_an_owner_repository_the_app_cannot_read_is_named(
    stage_factory: Callable[..., Stage],
    owner_repository: bool,
    selected: list[str] | None,
    conclusion: str,
    source: str,
    named: bool,
) -> None:
    async with stage_factory() as stage:
        seed(stage)
        sim = stage.sim
        if owner_repository:
            sim.add_repo(OWNER, ".github", files={MAP_PATH: OWNER_MAP})
        if selected is not None:
            await sim.select_repositories(OWNER, selected)
        number = await sim.open_pull_request(
            REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
        )
        await sim.submit_review(REPO, number, reviewer="anna")
        await stage.settle()
        run = latest_check(stage, number)
        summary = run["output"]["summary"]
        assert run["conclusion"] == conclusion
        assert map_decided(summary)[1] == source
        assert (UNREAD in summary) is named
        assert sim.violations == []


async def test_giving_the_app_the_owner_repository_puts_its_map_in_force_at_once(
    stage_factory: Callable[..., Stage], clock: Clock
) -> None:
    async with stage_factory(clock=clock) as stage:
        seed(stage)
        sim = stage.sim
        sim.add_repo(OWNER, ".github", files={MAP_PATH: OWNER_MAP})
        await sim.select_repositories(OWNER, [NAME])
        await stage.settle()
        number = await sim.open_pull_request(
            REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
        )
        await sim.submit_review(REPO, number, reviewer="anna")
        await stage.settle()
        assert latest_check(stage, number)["conclusion"] == "action_required"

        # No push, no new event on the PR: the installation's change alone judges it again.
        clock.moment += timedelta(minutes=1)
        await sim.select_repositories(OWNER, [NAME, ".github"])
        await stage.settle()
        run = latest_check(stage, number)
        assert run["conclusion"] == "success"
        assert map_decided(run["output"]["summary"])[1] == "owner"
        assert UNREAD not in run["output"]["summary"]

        # Taken away again: the bundled map decides, and the summary says why.
        clock.moment += timedelta(minutes=1)  # GitHub's installation `updated_at` moves on
        await sim.select_repositories(OWNER, [NAME])
        await stage.settle()
        run = latest_check(stage, number)
        assert run["conclusion"] == "action_required"
        assert UNREAD in run["output"]["summary"]
        assert sim.violations == []
