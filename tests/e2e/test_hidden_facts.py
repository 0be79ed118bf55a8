"""Facts a conflicted author could hide from the check, end to end on the simulator."""

from __future__ import annotations

from bot.stage import Stage
from tests.e2e.conftest import REPO, count, latest_check


async def test_a_push_after_an_independent_approval_asks_for_it_again_once(stage: Stage) -> None:
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO, author="alice", title="Small fix", files={"core/engine.py": "x = 1\n"}
    )
    await sim.submit_review(REPO, number, reviewer="anna")  # Acme: the author's company
    await sim.submit_review(REPO, number, reviewer="gus")  # Globex: independent
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "success"
    approved = sim.head_sha(REPO, number)

    # The author pushes a big change after the independent approval.
    await sim.push_commits(REPO, number, author="alice", files={"core/engine.py": "x = 2\n" * 600})
    await stage.settle()
    run = latest_check(stage, number)
    summary = run["output"]["summary"]
    assert run["conclusion"] == "action_required", summary
    assert f"(approved {approved[:7]}, 1 commit ago)" in summary
    assert "approved an older head: not what is merged (`stale_approvals: ignore`)" in summary
    assert sim.review_requests(REPO, number) == ["gus"], "the stale approver is asked again"
    assert count(stage, operation="pulls/request-reviewers") == 1

    # Gus comments on the new head without approving: the request is answered, never repeated.
    sim.reset_calls()
    await sim.submit_review(REPO, number, reviewer="gus", state="COMMENTED")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "action_required"
    requested = sim.review_requests(REPO, number)
    assert "gus" not in requested, "gus was asked once for this head"
    assert count(stage, operation="pulls/request-reviewers") == 1  # a third party instead
    assert requested
    assert requested[0] in ("ivan", "gina")
    assert requested[0] != "gus"

    sim.reset_calls()
    await sim.submit_review(REPO, number, reviewer="gus")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "success"


async def test_a_stale_same_company_approval_still_asks_for_independent_review(
    stage: Stage,
) -> None:
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO, author="alice", title="Docs", files={"docs/a.md": "a\n"}
    )
    await sim.submit_review(REPO, number, reviewer="anna")  # Acme, on a minor change
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "success"
    await sim.push_commits(REPO, number, author="alice", files={"core/engine.py": "x = 1\n"})
    await stage.settle()
    run = latest_check(stage, number)
    assert run["conclusion"] == "action_required", run["output"]["summary"]
    assert "@anna, not independent of the authors" in run["output"]["summary"]
    assert sim.review_requests(REPO, number), "a third-party reviewer is asked"
    assert "anna" not in sim.review_requests(REPO, number)
