"""Issue 5's end-to-end stories: webhooks in, GitHub calls out, over real HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from bot.stage import Stage
from bot.web.signature import sign
from tests.e2e.conftest import MAP, NAME, OWNER, REPO, check_writes, count, latest_check, seed


async def test_same_company_approval_asks_for_an_independent_one(stage: Stage) -> None:
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
    )
    await stage.settle()
    first = latest_check(stage, number)
    assert first["status"] == "in_progress", "no approval yet: waiting for one to judge"
    assert first["conclusion"] is None
    assert sim.review_requests(REPO, number) == []

    await sim.submit_review(REPO, number, reviewer="anna")
    await stage.settle()
    run = latest_check(stage, number)
    assert run["conclusion"] == "action_required"
    requested = sim.review_requests(REPO, number)
    assert len(requested) == 1
    assert requested[0] in {"gus", "gina", "ivan"}, "a TSC member of another company"

    await sim.submit_review(REPO, number, reviewer=requested[0])
    await stage.settle()
    run = latest_check(stage, number)
    assert run["conclusion"] == "success"
    assert "anna" in run["output"]["summary"]
    assert sim.tokens_minted == 1, "one installation token for the whole story"


async def test_each_evaluation_costs_one_read_and_at_most_one_write(stage: Stage) -> None:
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
    )
    await stage.settle()
    assert count(stage, query="Snapshot") == 1
    assert check_writes(stage) == 1

    # An event that changes nothing the check shows: read again, write nothing.
    sim.reset_calls()
    await sim.set_labels(REPO, number, ["documentation"], sender="alice")
    await stage.settle()
    assert count(stage, query="Snapshot") == 1
    assert check_writes(stage) == 0
    rest_reads = [c for c in sim.calls if c.kind == "rest" and c.method == "GET"]
    assert all(c.status == 304 for c in rest_reads), "the map is read only while its ETag holds"


async def test_a_minor_change_passes_without_review_requests(stage: Stage) -> None:
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO, author="alice", title="Typo", files={"docs/readme.md": "typo fixed\n"}
    )
    await sim.submit_review(REPO, number, reviewer="anna")
    await stage.settle()
    run = latest_check(stage, number)
    assert run["conclusion"] == "success"
    assert (
        "not a major change" in run["output"]["title"].lower()
        or "minor" in run["output"]["title"].lower()
    )
    assert sim.review_requests(REPO, number) == []


async def test_a_map_change_needs_two_companies_and_is_judged_by_the_base_map(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory() as stage:
        seed(stage, repo_files={".github/affiliations.yml": MAP})
        sim = stage.sim
        # alice moves herself to Globex in her PR: the base map still says Acme.
        alice_at = "alice: {role: maintainer, emails: [alice@acme.example], affiliations: "
        new_map = MAP.replace(alice_at + "[{company: acme}]}", alice_at + "[{company: globex}]}")
        assert new_map != MAP
        number = await sim.open_pull_request(
            REPO, author="carl", title="Update the map", files={".github/affiliations.yml": new_map}
        )
        await sim.submit_review(REPO, number, reviewer="anna")
        await sim.submit_review(REPO, number, reviewer="alice")
        await stage.settle()
        run = latest_check(stage, number)
        assert run["conclusion"] == "action_required", (
            "two approvals, one company (and an own entry)"
        )

        await sim.submit_review(REPO, number, reviewer="gus")
        await stage.settle()
        assert latest_check(stage, number)["conclusion"] == "success"
        assert sim.violations == []


async def test_a_broken_map_in_a_pr_fails_the_check_with_annotations(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory() as stage:
        seed(stage, repo_files={".github/affiliations.yml": MAP})
        sim = stage.sim
        broken = MAP.replace("{company: initech}", "{company: initeck}")
        number = await sim.open_pull_request(
            REPO, author="alice", title="Map", files={".github/affiliations.yml": broken}
        )
        await stage.settle()
        run = latest_check(stage, number)
        assert run["conclusion"] == "failure"
        annotations = run["output"].get("annotations") or run.get("annotations") or []
        line = broken.splitlines().index(next(x for x in broken.splitlines() if "initeck" in x)) + 1
        assert any(a["start_line"] == line and "initech" in a["message"] for a in annotations)


async def post(stage: Stage, body: bytes, headers: dict[str, str]) -> int:
    url = f"{stage.bot_url}/webhook"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as r,
    ):
        return r.status


def shared_payload(reference_dir: Path, name: str, stage: Stage, number: int) -> dict[str, Any]:
    """A recorded GitHub delivery, pointed at the simulated repository and PR."""
    payload: dict[str, Any] = json.loads((reference_dir / "payloads" / name).read_text())
    sim = stage.sim
    repo = sim.find_repo(OWNER, NAME)
    assert repo is not None
    payload["repository"] = sim.repo_json(repo)
    payload["pull_request"] = sim.pull_json(repo, sim.pull(REPO, number))
    payload["number"] = number
    payload["installation"] = {"id": next(iter(sim.installations)), "node_id": "MDIz"}
    return payload


async def test_bad_or_missing_signatures_are_refused_before_any_github_call(
    stage: Stage, reference_dir: Path
) -> None:
    number = await stage.sim.open_pull_request(
        REPO, author="alice", title="t", files={"a.txt": "a\n"}
    )
    await stage.settle()
    stage.sim.reset_calls()
    body = json.dumps(
        shared_payload(reference_dir, "pull_request/labeled.payload.json", stage, number)
    )
    headers = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "d-1"}
    assert await post(stage, body.encode(), headers) == 401
    forged = {**headers, "X-Hub-Signature-256": sign(body.encode(), secret="not-the-secret")}
    assert await post(stage, body.encode(), forged) == 401
    await stage.settle()
    assert stage.sim.calls == []


async def test_a_duplicate_delivery_is_processed_once(stage: Stage, reference_dir: Path) -> None:
    number = await stage.sim.open_pull_request(
        REPO, author="alice", title="t", files={"a.txt": "a\n"}
    )
    await stage.settle()
    stage.sim.reset_calls()
    payload = shared_payload(reference_dir, "pull_request/labeled.payload.json", stage, number)
    assert await stage.sim.deliver("pull_request", payload, delivery_id="same-id") == 202
    await stage.settle()
    assert await stage.sim.deliver("pull_request", payload, delivery_id="same-id") == 200
    await stage.settle()
    assert count(stage, query="Snapshot") == 1


async def test_an_unknown_event_is_acknowledged_and_ignored(stage: Stage) -> None:
    stage.sim.reset_calls()
    status = await stage.sim.deliver("star", {"action": "created", "installation": {"id": 1}})
    await stage.settle()
    assert status == 200
    assert stage.sim.calls == []


async def test_a_burst_of_50_events_on_one_pr_is_evaluated_at_most_twice(
    stage_factory: Callable[..., Stage], reference_dir: Path
) -> None:
    async with stage_factory(coalesce_seconds=0.3) as stage:
        seed(stage)
        number = await stage.sim.open_pull_request(
            REPO, author="alice", title="t", files={"a.txt": "a\n"}
        )
        await stage.settle()
        stage.sim.reset_calls()
        payload = shared_payload(reference_dir, "pull_request/labeled.payload.json", stage, number)
        # Fifty distinct bodies: the same body twice is a replay, answered as a duplicate.
        statuses = await asyncio.gather(
            *(stage.sim.deliver("pull_request", {**payload, "burst_index": i}) for i in range(50))
        )
        assert set(statuses) == {202}
        await stage.settle()
        assert 1 <= count(stage, query="Snapshot") <= 2
        assert stage.sim.violations == []


async def request_after_a_colleague_approves(stage: Stage) -> int:
    number = await stage.sim.open_pull_request(
        REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
    )
    await stage.sim.submit_review(REPO, number, reviewer="anna")
    await stage.settle()
    return number


async def test_a_candidate_github_refuses_is_skipped_for_the_next(stage: Stage) -> None:
    for login in ("gus", "gina"):  # no longer collaborators: GitHub answers 422 for them
        stage.sim.set_permission(REPO, login, "none")
    number = await request_after_a_colleague_approves(stage)
    assert stage.sim.review_requests(REPO, number) == ["ivan"]
    assert latest_check(stage, number)["conclusion"] == "action_required"


async def test_when_github_refuses_every_candidate_the_check_still_says_so(stage: Stage) -> None:
    for login in ("gus", "gina", "ivan"):
        stage.sim.set_permission(REPO, login, "none")
    number = await request_after_a_colleague_approves(stage)
    assert stage.sim.review_requests(REPO, number) == []
    run = latest_check(stage, number)
    assert run["conclusion"] == "action_required"
    assert "No eligible third-party TSC member is left to ask" in run["output"]["summary"]


async def test_a_token_github_revoked_is_minted_anew_and_the_evaluation_goes_on(
    stage: Stage,
) -> None:
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
    )
    await stage.settle()
    assert sim.tokens_minted == 1
    sim.tokens.clear()  # GitHub revoked every installation token (e.g. a suspension lifted)

    await sim.submit_review(REPO, number, reviewer="anna")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "action_required"
    assert sim.tokens_minted == 2, "one new token, not one per call"
    refused = [c for c in sim.calls if c.status == 401]
    assert len(refused) == 1, "only the first call with the revoked token is refused"
