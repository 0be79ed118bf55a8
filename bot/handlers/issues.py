"""`issues`: an issue holds a TSC vote while it carries the vote label, so a label change, an
edit or a reopening evaluates its vote (which label is the vote's only the map knows)."""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio

from bot.handlers.common import Scheduling, issue_ref

router = routing.Router()

EVALUATED_ACTIONS = ("opened", "reopened", "edited", "labeled", "unlabeled")


async def evaluate_issue_vote(
    event: sansio.Event, *args: Any, scheduler: Scheduling, **kwargs: Any
) -> None:
    ref = issue_ref(event.data, event.data["issue"]["number"])
    if ref is not None:
        scheduler.schedule(ref)


for _action in EVALUATED_ACTIONS:
    router.add(evaluate_issue_vote, "issues", action=_action)
