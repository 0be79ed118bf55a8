"""`check_suite` and `check_run`: GitHub asks for a (re)run, or a user clicked a button.

Both name their PRs in `pull_requests`; it is empty for PRs from forks (LIMITS.md, "Forks"),
and such a delivery is ignored: the PR's own events still evaluate it. A button click
(`requested_action`) travels with its clicker to the engine, which honours it only for people
allowed to run the matching command; `rerequested` is GitHub's own re-run: just re-evaluate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gidgethub import routing, sansio

from bot.handlers.common import Scheduling, log, pull_request_ref
from bot.intents import BUTTON_IDENTIFIERS, ButtonClick

router = routing.Router()

SUITE_ACTIONS = ("requested", "rerequested")


def _schedule_each(
    data: Mapping[str, Any],
    pull_requests: Iterable[Mapping[str, Any]],
    scheduler: Scheduling,
    *,
    click: ButtonClick | None = None,
) -> None:
    numbers = sorted({pull_request["number"] for pull_request in pull_requests})
    if not numbers:
        log.info("check event names no pull request: ignored")
    for number in numbers:
        ref = pull_request_ref(data, number)
        if ref is None:
            continue
        if click is None:
            scheduler.schedule(ref)
        else:
            scheduler.schedule(ref, click=click)


async def evaluate_suite_pull_requests(
    event: sansio.Event, *args: Any, scheduler: Scheduling, **kwargs: Any
) -> None:
    _schedule_each(event.data, event.data["check_suite"]["pull_requests"], scheduler)


@router.register("check_run", action="rerequested")
async def evaluate_run_pull_requests(
    event: sansio.Event, *args: Any, scheduler: Scheduling, **kwargs: Any
) -> None:
    _schedule_each(event.data, event.data["check_run"]["pull_requests"], scheduler)


@router.register("check_run", action="requested_action")
async def evaluate_clicked_button(
    event: sansio.Event, *args: Any, scheduler: Scheduling, **kwargs: Any
) -> None:
    identifier = (event.data.get("requested_action") or {}).get("identifier")
    login = (event.data.get("sender") or {}).get("login")
    click = None
    if identifier in BUTTON_IDENTIFIERS and login:
        click = ButtonClick(login=login, identifier=identifier)
    else:
        # Not one of our buttons (an older release's?): still worth a fresh evaluation.
        log.info("button %r clicked by %r: evaluated without a click", identifier, login)
    _schedule_each(event.data, event.data["check_run"]["pull_requests"], scheduler, click=click)


for _action in SUITE_ACTIONS:
    router.add(evaluate_suite_pull_requests, "check_suite", action=_action)
