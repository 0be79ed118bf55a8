"""Branch protection's required status checks: what GitHub lets merge, and what an admin bypass
does."""

from __future__ import annotations

from typing import Any

import pytest

from githubsim import GitHubSimulator
from tests_sim.conftest import Api, Seed

REPO = "acme/widgets"


async def _run(api: Api, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    status, run, _ = await api.call(method, f"/repos/{REPO}/check-runs{path}", json=body)
    assert status in (200, 201), run
    return dict(run)


async def test_a_required_check_must_be_completed_and_pass(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    number = await sim.open_pull_request(REPO, author="alice", title="t", files={"a": "b\n"})
    sim.require_checks(REPO, "COI review")
    assert sim.merge_blockers(REPO, number) == ["Required status check 'COI review' is expected."]

    await api.login(seed.installation_id)
    head = sim.head_sha(REPO, number)
    run = await _run(
        api,
        "POST",
        "",
        {"name": "COI review", "head_sha": head, "status": "in_progress"},
    )
    assert sim.merge_blockers(REPO, number) == [
        "Required status check 'COI review' is in_progress."
    ]
    with pytest.raises(ValueError, match=r"GitHub refuses the merge: .* is in_progress"):
        await sim.close_pull_request(REPO, number, merge=True)
    assert sim.pull(REPO, number).state == "open"

    await _run(api, "PATCH", f"/{run['id']}", {"conclusion": "action_required"})
    assert sim.merge_blockers(REPO, number) == [
        "Required status check 'COI review' is action_required."
    ]
    for passing in ("neutral", "success"):
        await _run(api, "PATCH", f"/{run['id']}", {"conclusion": passing})
        assert sim.merge_blockers(REPO, number) == []
    await sim.close_pull_request(REPO, number, merge=True)
    assert sim.pull(REPO, number).merged


async def test_an_admin_bypass_merges_over_the_check(sim: GitHubSimulator, seed: Seed) -> None:
    number = await sim.open_pull_request(REPO, author="alice", title="t", files={"a": "b\n"})
    sim.require_checks(REPO, "COI review")
    await sim.close_pull_request(REPO, number, merge=True, sender="bob", bypass=True)
    assert sim.pull(REPO, number).merged


async def test_without_required_checks_anything_merges(sim: GitHubSimulator, seed: Seed) -> None:
    number = await sim.open_pull_request(REPO, author="alice", title="t", files={"a": "b\n"})
    assert sim.merge_blockers(REPO, number) == []
    await sim.close_pull_request(REPO, number, merge=True)
    assert sim.pull(REPO, number).merged
