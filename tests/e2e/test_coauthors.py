"""Authors who approve their own work: a co-author trailer, a fix-up push, a rebase."""

from __future__ import annotations

from bot.stage import Stage
from tests.e2e.conftest import REPO, latest_check


async def test_a_named_co_author_who_approves_asks_for_independent_review(stage: Stage) -> None:
    # Any login can be named in a trailer: Ivan names Alice, Alice approves, GitHub counts it.
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO,
        author="ivan",
        title="Rework core",
        files={"core/engine.py": "x = 1\n"},
        co_authors=["alice"],
    )
    await sim.submit_review(REPO, number, reviewer="alice")
    await stage.settle()
    run = latest_check(stage, number)
    assert run["conclusion"] == "action_required"
    assert "| @alice | co-author |" in run["output"]["summary"]
    assert "an author of this pull request" in run["output"]["summary"]
    assert sim.review_requests(REPO, number)[0] in {"gus", "gina"}


async def test_a_colleague_who_pushed_a_fix_up_is_an_author(stage: Stage) -> None:
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO, author="ivan", title="Rework core", files={"core/engine.py": "x = 1\n"}
    )
    await sim.push_commits(REPO, number, author="anna", files={"core/engine.py": "x = 2\n"})
    await sim.submit_review(REPO, number, reviewer="anna")
    await stage.settle()
    run = latest_check(stage, number)
    assert run["conclusion"] == "action_required"
    assert "| @anna | commit author |" in run["output"]["summary"]


async def test_whoever_rebased_the_commits_is_an_author(stage: Stage) -> None:
    # Ivan's commit, pushed by Anna: Acme is an authors' company, so Alice is not independent.
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO, author="ivan", title="Rework core", files={"core/engine.py": "x = 1\n"}
    )
    await sim.push_commits(
        REPO, number, author="ivan", committer="anna", files={"core/engine.py": "x = 2\n"}
    )
    await sim.submit_review(REPO, number, reviewer="alice")
    await stage.settle()
    run = latest_check(stage, number)
    assert run["conclusion"] == "action_required"
    assert "| @anna | committer |" in run["output"]["summary"]
    assert sim.review_requests(REPO, number)[0] in {"gus", "gina"}
