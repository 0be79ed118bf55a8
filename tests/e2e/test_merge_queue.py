"""Merge queues end to end: the check required on PRs is written on each merge group's head."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from githubsim.state import MergeGroup

from bot.github.queries import GROUP_PULL_REQUESTS_PER_COMMIT
from bot.stage import Stage
from tests.e2e.conftest import REPO, count, latest_check


async def major_change(stage: Stage, *, approver: str) -> int:
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
    )
    await sim.submit_review(REPO, number, reviewer=approver)
    await stage.settle()
    return number


def group_check(stage: Stage, group: MergeGroup) -> dict[str, Any]:
    runs = stage.sim.check_runs(REPO, group.head_sha)
    assert len(runs) == 1, "one run of the check on the group's head, updated in place"
    run: dict[str, Any] = runs[0]
    assert run["name"] == "COI review"
    return run


async def test_a_passing_pr_passes_its_merge_group(stage: Stage) -> None:
    number = await major_change(stage, approver="gus")  # Globex approves Acme's change
    assert latest_check(stage, number)["conclusion"] == "success"
    stage.sim.reset_calls()

    [group] = await stage.sim.enqueue(REPO, [number])
    await stage.settle()

    run = group_check(stage, group)
    assert run["conclusion"] == "success"
    assert run["output"]["title"].startswith(f"#{number} passes")
    assert f"| #{number} | success |" in run["output"]["summary"]
    assert run["actions"] == [], "no buttons on a group: there is no PR to act on"
    assert count(stage, query="Snapshot") == 1
    assert count(stage, operation="checks/list-for-ref") == 1
    assert count(stage, operation="checks/create") == 1


async def test_a_same_company_approval_holds_the_group_with_the_real_verdict(
    stage: Stage,
) -> None:
    sim = stage.sim
    number = await major_change(stage, approver="anna")  # Acme approves Acme's change
    pr_check = latest_check(stage, number)
    assert pr_check["conclusion"] == "action_required"
    requested = sim.review_requests(REPO, number)

    [group] = await sim.enqueue(REPO, [number])
    await stage.settle()

    run = group_check(stage, group)
    assert run["conclusion"] == "action_required"
    assert run["output"]["title"] == f"#{number}: {pr_check['output']['title']}"
    summary = run["output"]["summary"]
    assert f"| #{number} | action_required |" in summary
    assert f"## #{number}: action_required" in summary
    assert "anna" in summary, "the PR's own summary, not a rubber stamp"
    assert sim.review_requests(REPO, number) == requested, "a group evaluation asks nobody"

    # GitHub asks again for the same group after the independent approval: updated in place.
    await sim.submit_review(REPO, number, reviewer=requested[0])
    await stage.settle()
    sim.reset_calls()
    await sim.request_merge_group_checks(group)
    await stage.settle()
    assert group_check(stage, group)["conclusion"] == "success"
    assert count(stage, operation="checks/update") == 1
    assert count(stage, operation="checks/create") == 0


async def test_a_redelivered_group_event_writes_nothing_new(stage: Stage) -> None:
    sim = stage.sim
    number = await major_change(stage, approver="gus")
    [group] = await sim.enqueue(REPO, [number])
    await stage.settle()
    first = group_check(stage, group)

    sim.reset_calls()
    await sim.request_merge_group_checks(group)  # the same event in a new delivery
    delivery = next(d for d in sim.deliveries if d.event == "merge_group")
    await sim.redeliver(delivery)  # GitHub's redelivery: the same delivery ID
    await stage.settle()

    assert group_check(stage, group)["id"] == first["id"]
    assert count(stage, operation="checks/list-for-ref") == 1, "the redelivery is a duplicate"
    assert count(stage, operation="checks/create") + count(stage, operation="checks/update") == 0
    assert sim.deliveries[-1].status_code == 200


async def test_a_closed_pr_fails_its_group(stage: Stage) -> None:
    sim = stage.sim
    number = await major_change(stage, approver="gus")
    [group] = await sim.enqueue(REPO, [number])
    await stage.settle()
    await sim.close_pull_request(REPO, number)
    await sim.request_merge_group_checks(group)
    await stage.settle()

    run = group_check(stage, group)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"] == f"#{number}: #{number} is closed"


async def test_a_merged_pr_keeps_its_verdict_when_the_event_comes_late(stage: Stage) -> None:
    sim = stage.sim
    number = await major_change(stage, approver="gus")
    [group] = await sim.enqueue(REPO, [number])
    await stage.settle()
    await sim.close_pull_request(REPO, number, merge=True)
    await stage.settle()
    sim.reset_calls()
    await sim.request_merge_group_checks(group)
    await stage.settle()

    assert group_check(stage, group)["conclusion"] == "success"
    assert count(stage, operation="checks/create") + count(stage, operation="checks/update") == 0


async def test_a_group_naming_a_pr_that_cannot_be_read_fails(stage: Stage) -> None:
    sim = stage.sim
    number = await major_change(stage, approver="gus")
    [group] = await sim.enqueue(REPO, [number])
    await stage.settle()
    missing = replace(
        group, head_ref=group.head_ref.replace(f"/pr-{number}-", "/pr-404-"), numbers=(404,)
    )
    await sim.request_merge_group_checks(missing)
    await stage.settle()

    run = group_check(stage, group)
    assert run["conclusion"] == "failure"
    assert "#404 cannot be read" in run["output"]["title"]
    assert "Could not resolve to a PullRequest" in run["output"]["summary"]


async def test_a_group_of_several_prs_passes_only_if_each_does(stage: Stage) -> None:
    sim = stage.sim
    passing = await major_change(stage, approver="gus")
    held = await major_change(stage, approver="anna")
    [group] = await sim.enqueue(REPO, [passing])
    await stage.settle()
    assert group_check(stage, group)["conclusion"] == "success"
    both = replace(
        group,
        head_ref=f"{group.head_ref}/pr-{held}-{group.base_sha}",
        numbers=(passing, held),
    )
    sim.reset_calls()
    await sim.request_merge_group_checks(both)
    await stage.settle()

    run = group_check(stage, group)
    assert run["conclusion"] == "action_required"
    assert run["output"]["title"].startswith(f"#{held}: ")
    assert f"| #{passing} | success |" in run["output"]["summary"]
    assert f"| #{held} | action_required |" in run["output"]["summary"]
    assert count(stage, query="Snapshot") == 2
    assert count(stage, operation="checks/update") == 1


async def test_a_group_holding_a_failing_pr_ahead_of_a_passing_one_fails(stage: Stage) -> None:
    # The attack: with "only merge non-failing pull requests" off, GitHub merges the entries
    # ahead of a passing group. The group names only its own PR; its commits hold both.
    sim = stage.sim
    held = await major_change(stage, approver="anna")
    passing = await major_change(stage, approver="gus")
    first, second = await sim.enqueue(REPO, [held, passing])
    await stage.settle()

    assert group_check(stage, first)["conclusion"] == "action_required"
    run = group_check(stage, second)
    assert run["conclusion"] == "action_required", "the held PR's changes are in this group"
    summary = run["output"]["summary"]
    assert f"| #{held} | action_required |" in summary
    assert f"| #{passing} | success |" in summary
    assert summary.index(f"| #{held} |") < summary.index(f"| #{passing} |"), "queue order"


async def test_the_group_reads_its_commits_once(stage: Stage) -> None:
    sim = stage.sim
    number = await major_change(stage, approver="gus")
    sim.reset_calls()
    [group] = await sim.enqueue(REPO, [number])
    await stage.settle()

    assert group_check(stage, group)["conclusion"] == "success"
    assert count(stage, query="MergeGroupCommits") == 1
    assert count(stage, query="Snapshot") == 1, "the group's one PR, read once"


async def test_a_group_whose_prs_cannot_all_be_listed_fails(stage: Stage) -> None:
    sim = stage.sim
    number = await major_change(stage, approver="gus")
    head = sim.head_sha(REPO, number)
    url, sim.webhook_url = sim.webhook_url, None  # the copies are opened unheard
    try:
        for copy in range(GROUP_PULL_REQUESTS_PER_COMMIT):
            await sim.open_pull_request_at(
                REPO, author="alice", title="Copy", head_sha=head, head=f"copy/{copy}"
            )
    finally:
        sim.webhook_url = url
    [group] = await sim.enqueue(REPO, [number])
    await stage.settle()

    run = group_check(stage, group)
    assert run["conclusion"] == "failure"
    assert "Not every pull request was read" in run["output"]["summary"]


async def test_a_waiting_pr_fails_its_group_at_once(stage: Stage) -> None:
    # Queued while the bot was down, or by an admin: no approval was ever judged on it.
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
    )
    await stage.settle()
    assert latest_check(stage, number)["status"] == "in_progress"

    [group] = await sim.enqueue(REPO, [number])
    await stage.settle()

    run = group_check(stage, group)
    # Judged once: an in_progress group check would hold the queue until its timeout.
    assert (run["status"], run["conclusion"]) == ("completed", "action_required")
    assert f"| #{number} | in_progress |" in run["output"]["summary"]
    assert "is judged once, when it is queued" in run["output"]["summary"]
