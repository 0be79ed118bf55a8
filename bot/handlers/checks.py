"""`check_suite` and `check_run`: GitHub asks for a (re)run, or a user clicked a button.

Both name their PRs in `pull_requests`; it is empty for PRs from forks (LIMITS.md, "Forks"),
and such a delivery is ignored: the PR's own events still evaluate it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gidgethub import routing, sansio

from bot.handlers.common import Scheduling, log, pull_request_ref

router = routing.Router()

SUITE_ACTIONS = ("requested", "rerequested")
# `requested_action` covers both buttons: Recheck and Request reviewer both need an evaluation.
RUN_ACTIONS = ("rerequested", "requested_action")


def _schedule_each(
    data: Mapping[str, Any], pull_requests: Iterable[Mapping[str, Any]], scheduler: Scheduling
) -> None:
    numbers = sorted({pull_request["number"] for pull_request in pull_requests})
    if not numbers:
        log.info("check event names no pull request: ignored")
    for number in numbers:
        ref = pull_request_ref(data, number)
        if ref is not None:
            scheduler.schedule(ref)


async def evaluate_suite_pull_requests(
    event: sansio.Event, *args: Any, scheduler: Scheduling, **kwargs: Any
) -> None:
    _schedule_each(event.data, event.data["check_suite"]["pull_requests"], scheduler)


async def evaluate_run_pull_requests(
    event: sansio.Event, *args: Any, scheduler: Scheduling, **kwargs: Any
) -> None:
    _schedule_each(event.data, event.data["check_run"]["pull_requests"], scheduler)


for _action in SUITE_ACTIONS:
    router.add(evaluate_suite_pull_requests, "check_suite", action=_action)
for _action in RUN_ACTIONS:
    router.add(evaluate_run_pull_requests, "check_run", action=_action)
