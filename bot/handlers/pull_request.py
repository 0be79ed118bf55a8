"""`pull_request`: a change to the PR itself (commits, labels, draft state, review requests)."""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio

from bot.handlers.common import Scheduling, pull_request_ref

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
)


async def evaluate_pull_request(
    event: sansio.Event, *args: Any, scheduler: Scheduling, **kwargs: Any
) -> None:
    ref = pull_request_ref(event.data, event.data["pull_request"]["number"])
    if ref is not None:
        scheduler.schedule(ref)


for _action in EVALUATED_ACTIONS:
    router.add(evaluate_pull_request, "pull_request", action=_action)
