"""`pull_request`: a change to the PR itself (commits, labels, draft state, review requests)."""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio

from bot.handlers.common import (
    Scheduling,
    installation_id,
    repository_of,
    schedule_payload_pull_request,
)
from bot.pr import MergedPullRequestRef

router = routing.Router()

EVALUATED_ACTIONS = (
    "opened",
    "reopened",
    "synchronize",
    "edited",
    "ready_for_review",
    "labeled",
    "unlabeled",
    # A removed request makes room for the next candidate; a new one may settle who is pending.
    "review_request_removed",
    "review_requested",
    # The open PRs a closed one shared its head commit with are judged again without it.
    "closed",
)


for _action in EVALUATED_ACTIONS:
    router.add(schedule_payload_pull_request, "pull_request", action=_action)


@router.register("pull_request", action="closed")
async def look_at_merge(
    event: sansio.Event, *args: Any, scheduler: Scheduling, **kwargs: Any
) -> None:
    """A merge over a check that did not pass is said on the PR (bot.map_verdicts)."""
    pull = event.data.get("pull_request") or {}
    if not pull.get("merged"):
        return
    installation = installation_id(event.data)
    if installation is None:
        return
    owner, repo = repository_of(event.data)
    merged_by = (pull.get("merged_by") or {}).get("login") or (event.data.get("sender") or {}).get(
        "login"
    )
    scheduler.schedule(
        MergedPullRequestRef(installation, owner, repo, int(pull["number"]), str(merged_by))
    )
