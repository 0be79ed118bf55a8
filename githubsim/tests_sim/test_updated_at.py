"""A PR's `updatedAt` moves with every change GitHub records, and a run keeps its `completedAt`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.jobs.reconciler import OPEN_PULL_REQUESTS
from githubsim import GitHubSimulator
from tests_sim.conftest import APP_ID, MAP_PATH, Api, Clock, Seed

Change = Callable[[GitHubSimulator, str, int], Awaitable[Any]]


async def _review(sim: GitHubSimulator, repo: str, number: int) -> None:
    await sim.submit_review(repo, number, reviewer="bob", state="APPROVED")


async def _edit_review(sim: GitHubSimulator, repo: str, number: int) -> None:
    review_id = sim.pull(repo, number).reviews[0].id
    await sim.edit_review(repo, number, review_id, body="on second thought")


async def _dismiss(sim: GitHubSimulator, repo: str, number: int) -> None:
    review_id = sim.pull(repo, number).reviews[0].id
    await sim.dismiss_review(repo, number, review_id, sender="alice")


async def _comment(sim: GitHubSimulator, repo: str, number: int) -> None:
    await sim.post_comment(repo, number, author="carol", body="nice")


async def _edit_comment(sim: GitHubSimulator, repo: str, number: int) -> None:
    comment_id = await sim.post_comment(repo, number, author="carol", body="nice")
    sim.clock.advance(seconds=30)  # type: ignore[attr-defined]
    await sim.edit_comment(repo, comment_id, body="very nice")


async def _app_comment(sim: GitHubSimulator, repo: str, number: int) -> None:
    sim.add_app_comment(repo, number, body="the App's reply")


async def _label(sim: GitHubSimulator, repo: str, number: int) -> None:
    await sim.set_labels(repo, number, ["major"], sender="alice")


async def _commit(sim: GitHubSimulator, repo: str, number: int) -> None:
    await sim.push_commits(repo, number, files={"b.py": "b\n"}, author="alice")


async def _edit(sim: GitHubSimulator, repo: str, number: int) -> None:
    await sim.edit_pull_request(repo, number, title="a better title")


CHANGES: dict[str, Change] = {
    "review": _review,
    "comment": _comment,
    "comment edited": _edit_comment,
    "comment by the App": _app_comment,
    "label": _label,
    "commit": _commit,
    "edit": _edit,
}


async def _listing(api: Api, seed: Seed) -> dict[str, Any]:
    await api.login(seed.installation_id)
    data = await api.graphql(
        OPEN_PULL_REQUESTS,
        owner="acme",
        name="widgets",
        appId=APP_ID,
        checkName="COI review",
        mapPath=MAP_PATH,
    )
    assert "errors" not in data, data
    node: dict[str, Any] = data["data"]["repository"]["pullRequests"]["nodes"][0]
    return node


@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_every_change_moves_the_pull_requests_updated_at(
    change: str, sim: GitHubSimulator, api: Api, seed: Seed, clock: Clock
) -> None:
    number = await sim.open_pull_request(seed.repo, author="alice", title="t", files={"a": "a\n"})
    before = (await _listing(api, seed))["updatedAt"]
    clock.advance(minutes=1)
    await CHANGES[change](sim, seed.repo, number)
    after = (await _listing(api, seed))["updatedAt"]
    assert after > before


@pytest.mark.parametrize("change", [_edit_review, _dismiss])
async def test_a_review_edited_or_dismissed_moves_it_too(
    change: Change, sim: GitHubSimulator, api: Api, seed: Seed, clock: Clock
) -> None:
    number = await sim.open_pull_request(seed.repo, author="alice", title="t", files={"a": "a\n"})
    await _review(sim, seed.repo, number)
    before = (await _listing(api, seed))["updatedAt"]
    clock.advance(minutes=1)
    await change(sim, seed.repo, number)
    assert (await _listing(api, seed))["updatedAt"] > before


async def _passed_run(sim: GitHubSimulator, api: Api, seed: Seed) -> dict[str, Any]:
    """A new PR's head with a `COI review` run written completed, `success`, at 12:00."""
    number = await sim.open_pull_request(seed.repo, author="alice", title="t", files={"a": "a\n"})
    await api.login(seed.installation_id)
    status, created, _ = await api.call(
        "POST",
        f"/repos/{seed.repo}/check-runs",
        json={
            "name": "COI review",
            "head_sha": sim.head_sha(seed.repo, number),
            "status": "completed",
            "conclusion": "success",
            "completed_at": "2026-04-01T12:00:00Z",
            "output": {"title": "ok", "summary": "ok"},
        },
    )
    assert status == 201
    run: dict[str, Any] = created
    return run


async def test_a_check_run_shows_when_it_completed(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    await _passed_run(sim, api, seed)
    node = await _listing(api, seed)
    [run] = node["headCommit"]["nodes"][0]["commit"]["checkSuites"]["nodes"][0]["checkRuns"][
        "nodes"
    ]
    assert run["completedAt"] == "2026-04-01T12:00:00Z"


async def test_a_completed_run_is_not_opened_again(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    created = await _passed_run(sim, api, seed)
    # GitHub keeps a completed run completed, its conclusion too, whatever status is sent.
    status, updated, _ = await api.call(
        "PATCH",
        f"/repos/{seed.repo}/check-runs/{created['id']}",
        json={"status": "in_progress", "output": {"title": "again", "summary": "again"}},
    )
    assert status == 200
    assert (updated["status"], updated["conclusion"], updated["completed_at"]) == (
        "completed",
        "success",
        "2026-04-01T12:00:00Z",
    )
    assert updated["output"]["title"] == "again"
    node = await _listing(api, seed)
    [run] = node["headCommit"]["nodes"][0]["commit"]["checkSuites"]["nodes"][0]["checkRuns"][
        "nodes"
    ]
    assert (run["status"], run["completedAt"]) == ("COMPLETED", "2026-04-01T12:00:00Z")
