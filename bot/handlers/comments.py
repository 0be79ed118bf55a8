"""`issue_comment` on a PR: slash commands live in comments, and editing or deleting a comment
changes or undoes its command, so every created, edited or deleted PR comment re-evaluates."""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio

from bot.handlers.common import Scheduling, is_bot, log, pull_request_ref

router = routing.Router()

EVALUATED_ACTIONS = ("created", "edited", "deleted")


async def evaluate_commented_pull_request(
    event: sansio.Event, *args: Any, scheduler: Scheduling, **kwargs: Any
) -> None:
    issue = event.data["issue"]
    # Issues and PRs share comments; only a PR's issue carries `pull_request`.
    if not issue.get("pull_request"):
        log.info("comment on an issue, not a pull request: ignored")
        return
    # Bots' comments are never commands (DESIGN.md), and the bot's own replies must not loop.
    if is_bot(event.data["comment"].get("user")):
        log.info("comment by a bot: ignored")
        return
    ref = pull_request_ref(event.data, issue["number"])
    if ref is not None:
        scheduler.schedule(ref)


for _action in EVALUATED_ACTIONS:
    router.add(evaluate_commented_pull_request, "issue_comment", action=_action)
