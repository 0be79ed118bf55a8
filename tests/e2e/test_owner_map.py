"""Issue 26: when the owner's `.github` repository cannot be read, the summary says so.

The owner's map would decide a repository without a map of its own; an App installed on
selected repositories that leave `.github` out cannot read it, and falling back to the bundled
map without a word would hide which rules judged the PR.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.jobs.reconciler import map_decided
from bot.stage import Stage
from tests.e2e.conftest import MAP, NAME, OWNER, REPO, latest_check, seed

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
            sim.select_repositories(OWNER, selected)
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
