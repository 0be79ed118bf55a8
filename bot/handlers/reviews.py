"""`pull_request_review`: an approval given, changed or dismissed changes the verdict."""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio

from bot.handlers.common import Scheduling, pull_request_ref

router = routing.Router()

EVALUATED_ACTIONS = ("submitted", "edited", "dismissed")


async def evaluate_reviewed_pull_request(
    event: sansio.Event, *args: Any, scheduler: Scheduling, **kwargs: Any
) -> None:
    ref = pull_request_ref(event.data, event.data["pull_request"]["number"])
    if ref is not None:
        scheduler.schedule(ref)


for _action in EVALUATED_ACTIONS:
    router.add(evaluate_reviewed_pull_request, "pull_request_review", action=_action)
