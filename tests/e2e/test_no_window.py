"""No window before the first judgement, and GitHub's order of reviews, end to end.

The attacks: Alice's major change has no approval, so its check used to pass (`success` under
`require: when_conflicted`). Anna, her colleague, approves while the bot is down (or its delivery is
lost): GitHub would merge at once, before anyone judged that approval. Or Anna requests changes and
approves within one second: GitHub's latest state is APPROVED, whatever order the node ids give.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from githubsim.state import node_id

from bot.stage import Stage
from tests.e2e.conftest import REPO, Clock, check_writes, latest_check, seed
from tests.e2e.test_commands import open_core_pr, open_docs_pr
from tests.e2e.test_reconcile import reconciler, redeliverer

WAITING_TITLE = "Major change: waiting for an approval to judge"
CHECK = "COI review"


def github_would_merge(stage: Stage, number: int) -> bool:
    """Whether branch protection requiring `COI review` lets the PR merge now."""
    stage.sim.require_checks(REPO, CHECK)
    return not stage.sim.merge_blockers(REPO, number)


def assert_waiting(run: dict[str, Any]) -> None:
    assert run["status"] == "in_progress"
    assert run["conclusion"] is None
    assert run["completed_at"] is None
    assert run["output"]["title"] == WAITING_TITLE
    assert "waiting for an approval to judge" in run["output"]["summary"]


async def waiting_major_change(stage: Stage) -> int:
    number = await open_core_pr(stage)
    await stage.settle()
    run = latest_check(stage, number)
    assert_waiting(run)
    assert not github_would_merge(stage, number), "no approval yet: nothing to merge on"
    assert stage.sim.review_requests(REPO, number) == [], "nobody is asked before an approval"
    return number


async def approve_unheard(stage: Stage, number: int, reviewer: str) -> None:
    """An approval whose webhook never reaches the bot (down, or the delivery lost)."""
    url, stage.sim.webhook_url = stage.sim.webhook_url, None
    try:
        await stage.sim.submit_review(REPO, number, reviewer=reviewer)
        await stage.settle()
    finally:
        stage.sim.webhook_url = url


async def test_a_colleagues_approval_while_the_bot_is_down_cannot_merge(stage: Stage) -> None:
    sim = stage.sim
    number = await waiting_major_change(stage)

    await approve_unheard(stage, number, "anna")
    run = latest_check(stage, number)
    assert_waiting(run)  # fails closed: the approval GitHub would count is not judged yet
    assert sim.merge_blockers(REPO, number) == [f"Required status check {CHECK!r} is in_progress."]
    with pytest.raises(ValueError, match="GitHub refuses the merge"):
        await sim.close_pull_request(REPO, number, merge=True, sender="alice")

    # The lost delivery arrives: now the approval is judged.
    report = await redeliverer(stage).look_once()
    await stage.settle()
    assert report.redelivered
    run = latest_check(stage, number)
    assert run["conclusion"] == "action_required"
    assert not github_would_merge(stage, number)
    assert "@anna" in run["output"]["summary"]
    asked = sim.review_requests(REPO, number)
    assert asked in (["gus"], ["gina"]), "a TSC member of another company is asked"


async def test_the_reconciler_judges_an_approval_it_never_heard_of(stage: Stage) -> None:
    number = await waiting_major_change(stage)
    cycle = reconciler(stage)
    first = await cycle.reconcile_once()
    await stage.settle()
    # A waiting run is a verdict: never "missing" (at most the one same-second look).
    assert "missing" not in first.queued
    assert (await cycle.reconcile_once()).repaired == 0, "a waiting PR is current"

    await approve_unheard(stage, number, "anna")
    assert_waiting(latest_check(stage, number))
    repaired = await cycle.reconcile_once()
    await stage.settle()
    assert repaired.queued == {"changed": 1}, "the run's startedAt is behind the approval"
    assert latest_check(stage, number)["conclusion"] == "action_required"


async def test_an_independent_approval_ends_the_wait(stage: Stage) -> None:
    number = await waiting_major_change(stage)
    await stage.sim.submit_review(REPO, number, reviewer="gus")
    await stage.settle()
    run = latest_check(stage, number)
    assert run["status"] == "completed"
    assert run["conclusion"] == "success"
    assert github_would_merge(stage, number)
    assert run["completed_at"] is not None


async def test_a_drive_by_approval_does_not_end_the_wait(stage: Stage) -> None:
    sim = stage.sim
    number = await waiting_major_change(stage)
    sim.add_user("stranger")  # no write access: GitHub does not count the approval
    await sim.submit_review(REPO, number, reviewer="stranger")
    await stage.settle()
    run = latest_check(stage, number)
    assert_waiting(run)
    assert "no write access" in run["output"]["summary"]


async def test_a_dismissed_approval_sets_the_run_back_to_waiting(stage: Stage) -> None:
    sim = stage.sim
    number = await waiting_major_change(stage)
    review = await sim.submit_review(REPO, number, reviewer="gus")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "success"

    await sim.dismiss_review(REPO, number, review, sender="alice", message="rebased")
    await stage.settle()
    # GitHub does not open a completed run again: it waits as a completed, blocking verdict.
    run = latest_check(stage, number)
    assert (run["status"], run["conclusion"]) == ("completed", "action_required")
    assert run["output"]["title"] == WAITING_TITLE
    assert "waiting for an approval to judge" in run["output"]["summary"]
    assert not github_would_merge(stage, number)


async def test_a_push_after_the_approval_waits_and_asks_the_approver_again(stage: Stage) -> None:
    sim = stage.sim
    number = await waiting_major_change(stage)
    await sim.submit_review(REPO, number, reviewer="gus")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "success"

    # The approval covers an older head now (`stale_approvals: ignore`): it ends no wait.
    await sim.push_commits(REPO, number, author="alice", files={"core/more.py": "y = 2\n"})
    await stage.settle()
    run = latest_check(stage, number)
    assert_waiting(run)
    assert "approved an older head" in run["output"]["summary"]
    assert sim.review_requests(REPO, number) == ["gus"], "only the lapsed approver, again"


async def test_a_minor_change_with_no_approval_passes(stage: Stage) -> None:
    number = await open_docs_pr(stage)
    await stage.settle()
    run = latest_check(stage, number)
    assert run["conclusion"] == "success"
    assert run["output"]["title"] == "Not a major change"
    assert github_would_merge(stage, number)


async def test_a_merge_while_waiting_is_a_merge_over_the_check(stage: Stage) -> None:
    sim = stage.sim
    number = await waiting_major_change(stage)
    # Only an admin's bypass merges while the required check waits.
    await sim.close_pull_request(REPO, number, merge=True, sender="ivan", bypass=True)
    await stage.settle()
    said = [c["body"] for c in sim.comments(REPO, number) if "Merged over" in c["body"]]
    assert len(said) == 1
    assert "`COI review` was `in_progress`" in said[0]


# -- GitHub's order within a second --------------------------------------------------------------


@pytest.fixture
async def still_stage(stage_factory: Callable[..., Stage], clock: Clock) -> AsyncIterator[Stage]:
    """The simulator's clock held still: every review lands in the same second."""
    async with stage_factory(clock=clock) as running:
        seed(running)
        yield running
        assert running.sim.violations == [], "the bot made requests GitHub would refuse"


def _skip_to_reversed_node_ids(stage: Stage) -> None:
    """Spend ids until the next two reviews' node ids sort against their creation: ordering by
    node id would then take the first review for the last (GitHub's databaseId does not)."""
    for _ in range(1_000):
        taken = stage.sim.next_id()
        if node_id("PullRequestReview", taken + 1) > node_id("PullRequestReview", taken + 2):
            return
    raise AssertionError("no pair of ids whose node ids sort backwards")


@pytest.mark.parametrize(
    ("first", "last", "conclusion"),
    [
        # GitHub's latest is the approval: Anna's same-company approval holds the change.
        ("CHANGES_REQUESTED", "APPROVED", "action_required"),
        # GitHub's latest is the change request: no approval is left, the change waits.
        ("APPROVED", "CHANGES_REQUESTED", "in_progress"),
    ],
)
async def test_two_reviews_in_one_second_follow_githubs_order(
    still_stage: Stage, first: str, last: str, conclusion: str
) -> None:
    stage, sim = still_stage, still_stage.sim
    number = await open_core_pr(stage)
    await stage.settle()
    _skip_to_reversed_node_ids(stage)
    first_id = await sim.submit_review(REPO, number, reviewer="anna", state=first, body="hm")
    last_id = await sim.submit_review(REPO, number, reviewer="anna", state=last, body="ok")
    await stage.settle()

    reviews = {review.id: review for review in sim.pull(REPO, number).reviews}
    assert reviews[first_id].submitted_at == reviews[last_id].submitted_at, "one second"
    assert reviews[first_id].node_id > reviews[last_id].node_id, "node ids sort backwards"
    run = latest_check(stage, number)
    assert (run["conclusion"] or run["status"]) == conclusion
    assert check_writes(stage) >= 1
