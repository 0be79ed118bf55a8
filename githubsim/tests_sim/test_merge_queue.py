"""Merge queues: a group per queued PR on a read-only branch, announced by `merge_group`."""

from __future__ import annotations

import re
from typing import Any

import pytest
from githubsim.validation import WebhookPayloadValidator

from bot.github.queries import MERGE_GROUP_COMMITS
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


async def test_a_group_compared_with_its_base_lists_the_prs_queued_ahead(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    first, second = await open_two(sim)
    groups = await sim.enqueue(REPO, [first, second])
    await api.login(seed.installation_id)

    async def compare(head_ref: str, after: str | None = None) -> dict[str, Any]:
        result = await api.graphql(
            MERGE_GROUP_COMMITS,
            owner="acme",
            name="widgets",
            baseRef="refs/heads/main",
            headRef=head_ref,
            after=after,
        )
        assert "errors" not in result, result
        found: dict[str, Any] = result["data"]["repository"]["ref"]["compare"]
        return found

    commits = (await compare(groups[1].head_ref))["commits"]
    oids = [node["oid"] for node in commits["nodes"]]
    repo = sim.repos[REPO]
    heads = [sim.head_sha(REPO, first), sim.head_sha(REPO, second)]
    assert oids == [heads[0], heads[1], groups[0].head_sha, groups[1].head_sha], "oldest first"
    assert set(oids) == repo.ancestry(groups[1].head_sha) - repo.ancestry(repo.branches["main"])
    associated = {
        node["oid"]: [(p["number"], p["state"]) for p in node["associatedPullRequests"]["nodes"]]
        for node in commits["nodes"]
    }
    assert associated[heads[0]] == [(first, "OPEN")]
    assert associated[groups[1].head_sha] == [], "the queue's merge commits belong to no PR"
    assert commits["pageInfo"]["hasNextPage"] is False
    assert [n["oid"] for n in (await compare(groups[0].head_ref))["commits"]["nodes"]] == [
        heads[0],
        groups[0].head_sha,
    ]
    result = await api.graphql(
        MERGE_GROUP_COMMITS,
        owner="acme",
        name="widgets",
        baseRef="refs/heads/main",
        headRef="refs/heads/gone",
        after=None,
    )
    assert result["data"]["repository"]["ref"]["compare"] is None


async def test_a_comparison_says_how_two_refs_stand(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    first, _ = await open_two(sim)
    query = """
    query($base: String!, $head: String!) { repository(owner: "acme", name: "widgets") {
      ref(qualifiedName: $base) { name compare(headRef: $head) {
        status aheadBy behindBy commits(first: 1) { totalCount authorCount } } } } }
    """
    await api.login(seed.installation_id)
    head_branch = sim.pull(REPO, first).head_ref

    async def status(base: str, head: str) -> tuple[str, int, int]:
        result = await api.graphql(query, base=base, head=head)
        found = result["data"]["repository"]["ref"]["compare"]
        return found["status"], found["aheadBy"], found["behindBy"]

    assert await status("main", head_branch) == ("AHEAD", 1, 0)
    assert await status(head_branch, "main") == ("BEHIND", 0, 1)
    assert await status("main", "main") == ("IDENTICAL", 0, 0)
    await sim.push_to_branch(REPO, "main", {"other": "x\n"})
    assert await status("main", head_branch) == ("DIVERGED", 1, 1)
    result = await api.graphql(query, base="refs/heads/nope", head="main")
    assert result["data"]["repository"]["ref"] is None
