"""Merge queues: a group per queued PR on a read-only branch, announced by `merge_group`."""

from __future__ import annotations

import re

import pytest
from githubsim.validation import WebhookPayloadValidator

from githubsim import GitHubSimulator
from tests_sim.conftest import APP_ID, Api, Receiver, Seed

REPO = "acme/widgets"


async def open_two(sim: GitHubSimulator) -> tuple[int, int]:
    first = await sim.open_pull_request(REPO, author="alice", title="A", files={"a.py": "a\n"})
    second = await sim.open_pull_request(REPO, author="bob", title="B", files={"b.py": "b\n"})
    return first, second


async def test_each_queued_pr_gets_a_group_built_on_the_one_ahead(
    sim: GitHubSimulator, seed: Seed, receiver: Receiver
) -> None:
    first, second = await open_two(sim)
    main = sim.repos[REPO].branches["main"]
    groups = await sim.enqueue(REPO, [first, second])

    assert [g.numbers for g in groups] == [(first,), (second,)]
    assert groups[0].base_sha == main
    assert groups[1].base_sha == groups[0].head_sha, "the second group includes the first"
    for group in groups:
        assert re.fullmatch(
            rf"refs/heads/gh-readonly-queue/main/pr-{group.numbers[0]}-{group.base_sha}",
            group.head_ref,
        )
        assert (
            sim.repos[REPO].branches[group.head_ref.removeprefix("refs/heads/")] == group.head_sha
        )
    tree = sim.repos[REPO].commits[groups[1].head_sha].tree
    assert (tree["a.py"], tree["b.py"]) == ("a\n", "b\n")
    assert sim.merge_queues[(REPO, "main")] == groups

    requested = [p for e, p in receiver.events() if e == "merge_group"]
    assert [p["merge_group"]["head_sha"] for p in requested] == [g.head_sha for g in groups]
    assert requested[0]["merge_group"]["base_ref"] == "refs/heads/main"
    assert requested[0]["merge_group"]["head_commit"]["id"] == groups[0].head_sha
    suites = [p for e, p in receiver.events() if e == "check_suite"]
    assert suites[-1]["check_suite"]["head_sha"] == groups[1].head_sha
    assert suites[-1]["check_suite"]["pull_requests"] == [], "GitHub names no PR for a group"


async def test_the_payloads_match_githubs_schema(
    sim: GitHubSimulator,
    seed: Seed,
    receiver: Receiver,
    payload_validator: WebhookPayloadValidator,
) -> None:
    first, _ = await open_two(sim)
    [group] = await sim.enqueue(REPO, [first], sender="bob")
    await sim.request_merge_group_checks(group)
    payloads = [p for e, p in receiver.events() if e == "merge_group"]
    assert len(payloads) == 2
    for payload in payloads:
        assert payload_validator.errors("merge_group", payload) == []
    destroyed = sim.merge_group_payload("destroyed", group, sender="bob") | {"reason": "merged"}
    assert payload_validator.errors("merge_group", destroyed) == []
    assert payloads[0]["sender"]["login"] == "bob"
    assert payloads[0]["installation"]["id"] == seed.installation_id


async def test_a_closed_pr_cannot_be_queued(sim: GitHubSimulator, seed: Seed) -> None:
    first, _ = await open_two(sim)
    await sim.close_pull_request(REPO, first)
    with pytest.raises(ValueError, match="not open"):
        await sim.enqueue(REPO, [first])


async def test_the_apps_runs_on_a_group_head_are_listed_by_name_and_app(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    first, _ = await open_two(sim)
    [group] = await sim.enqueue(REPO, [first])
    await api.login(seed.installation_id)
    for name in ("COI review", "other"):
        status, _, _ = await api.call(
            "POST",
            f"/repos/{REPO}/check-runs",
            json={
                "name": name,
                "head_sha": group.head_sha,
                "conclusion": "success",
                "output": {"title": "t", "summary": "s"},
            },
        )
        assert status == 201
    status, body, _ = await api.call(
        "GET",
        f"/repos/{REPO}/commits/{group.head_sha}/check-runs"
        f"?check_name=COI%20review&app_id={APP_ID}&filter=all&per_page=100",
    )
    assert status == 200
    assert [run["name"] for run in body["check_runs"]] == ["COI review"]
    _, other_app, _ = await api.call(
        "GET", f"/repos/{REPO}/commits/{group.head_sha}/check-runs?app_id={APP_ID + 1}"
    )
    assert other_app["check_runs"] == []
