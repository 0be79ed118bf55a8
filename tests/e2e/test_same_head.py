"""One verdict per commit: every open PR whose head is the commit shares its one check run.

The attack: Alice's major PR has only a colleague's approval (`action_required`). She opens a
second PR with the same head commit (from another branch or a fork: a commit SHA is its content)
and no approval; judged alone, it would write `success` on the commit the first one needs, and
GitHub would let the first merge.
"""

from __future__ import annotations

from bot.stage import Stage
from tests.e2e.conftest import REPO, check_writes, count, latest_check
from tests.e2e.test_reconcile import reconciler


async def held_major_change(stage: Stage) -> int:
    """Alice's major change, approved by Anna of her own company: held for independent review."""
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
    )
    await sim.submit_review(REPO, number, reviewer="anna")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "action_required"
    return number


async def test_a_twin_pr_without_approval_cannot_pass_the_shared_head(stage: Stage) -> None:
    sim = stage.sim
    held = await held_major_change(stage)
    head = sim.head_sha(REPO, held)
    sim.reset_calls()

    twin = await sim.open_pull_request_at(
        REPO, author="alice", title="Same commit, no approvals", head_sha=head, head="fork/copy"
    )
    await stage.settle()

    run = latest_check(stage, twin)
    assert run == latest_check(stage, held), "one run on the shared head commit"
    assert run["conclusion"] == "action_required"
    summary = run["output"]["summary"]
    assert f"| #{held} | action_required |" in summary
    assert f"| #{twin} | in_progress |" in summary, "no approval: waiting for one to judge"
    assert f"## #{held}: action_required" in summary, "the held PR's own summary is shown"
    assert "pull requests with this head commit" in summary
    assert count(stage, query="Snapshot") == 2, "the twin's event read both PRs, once each"
    assert run["actions"], "the PRs' buttons stay on their run"


async def test_an_event_on_either_twin_judges_both(stage: Stage) -> None:
    sim = stage.sim
    held = await held_major_change(stage)
    twin = await sim.open_pull_request_at(
        REPO, author="carl", title="Copy", head_sha=sim.head_sha(REPO, held), head="fork/copy"
    )
    await stage.settle()

    written = latest_check(stage, held)
    sim.reset_calls()
    await sim.post_comment(REPO, twin, author="carl", body="/coi recheck")
    await stage.settle()
    await sim.post_comment(REPO, held, author="alice", body="/coi recheck")
    await stage.settle()
    assert latest_check(stage, held) == written, "the same run, whichever PR's event judged"
    assert count(stage, query="Snapshot") == 4
    assert check_writes(stage) == 0

    # The independent approval lands on the held PR: the twin, with no approval, still waits.
    await sim.submit_review(REPO, held, reviewer="gus")
    await stage.settle()
    run = latest_check(stage, twin)
    # The run was completed (held): GitHub does not open it again, so the wait blocks as
    # action_required (bot/github/checks.py).
    assert (run["status"], run["conclusion"]) == ("completed", "action_required")
    assert f"| #{held} | success |" in run["output"]["summary"]
    assert f"| #{twin} | in_progress |" in run["output"]["summary"]

    # Once the twin is approved too, every PR with this head passes.
    await sim.submit_review(REPO, twin, reviewer="gina")
    await stage.settle()
    run = latest_check(stage, twin)
    assert run["conclusion"] == "success"
    assert (
        "every pull request with this head commit passes (2 pull requests)"
        in (run["output"]["summary"])
    )


async def test_the_reconciler_keeps_the_verdict_of_every_twin(stage: Stage) -> None:
    sim = stage.sim
    held = await held_major_change(stage)
    twin = await sim.open_pull_request_at(
        REPO, author="alice", title="Copy", head_sha=sim.head_sha(REPO, held), head="fork/copy"
    )
    await stage.settle()
    written = latest_check(stage, twin)
    sim.reset_calls()

    cycle = reconciler(stage)
    first = await cycle.reconcile_once()
    await stage.settle()
    # A change in the check's own second is looked at once more (bot/jobs/reconciler.py): it
    # writes nothing, and the next cycle is quiet.
    assert first.queued in ({}, {"changed": 1})
    assert (await cycle.reconcile_once()).repaired == 0, "a shared check is current for each PR"
    assert check_writes(stage) == 0
    assert latest_check(stage, held) == written
    assert written["conclusion"] == "action_required"


async def test_a_twin_that_moves_on_leaves_the_head_to_the_others(stage: Stage) -> None:
    sim = stage.sim
    held = await held_major_change(stage)
    await sim.submit_review(REPO, held, reviewer="gus")
    await stage.settle()
    twin = await sim.open_pull_request_at(
        REPO, author="alice", title="Copy", head_sha=sim.head_sha(REPO, held), head="fork/copy"
    )
    await stage.settle()
    shared = latest_check(stage, held)
    # The twin, with no approval, waits on this head; the run had passed, so it blocks completed.
    assert (shared["status"], shared["conclusion"]) == ("completed", "action_required")
    assert f"| #{held} | success |" in shared["output"]["summary"]

    await sim.push_commits(REPO, twin, author="alice", files={"core/more.py": "y = 2\n"})
    await sim.post_comment(REPO, held, author="alice", body="/coi recheck")
    await stage.settle()

    moved = latest_check(stage, twin)
    assert moved["status"] == "in_progress", "its own head, judged alone: no approval yet"
    own = latest_check(stage, held)
    assert own["conclusion"] == "success"
    assert f"#{twin}" not in own["output"]["summary"], "no longer shares the held PR's head"


async def test_closing_the_twin_that_held_the_commit_lets_the_other_pass(stage: Stage) -> None:
    sim = stage.sim
    held = await held_major_change(stage)
    await sim.submit_review(REPO, held, reviewer="gus")  # independently approved: it passes
    await stage.settle()
    stale = await sim.open_pull_request_at(
        REPO, author="alice", title="Stale copy", head_sha=sim.head_sha(REPO, held), head="copy"
    )
    await sim.submit_review(REPO, stale, reviewer="anna")  # the copy has Acme's approval only
    await stage.settle()
    assert latest_check(stage, held)["conclusion"] == "action_required", "the copy holds it"

    await sim.close_pull_request(REPO, stale)
    await stage.settle()

    run = latest_check(stage, held)
    assert run["conclusion"] == "success"
    assert f"#{stale}" not in run["output"]["summary"]
