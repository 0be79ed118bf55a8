"""`issue_comment` on a PR: slash commands live in comments, and editing or deleting a comment
changes or undoes its command, so every created, edited or deleted PR comment re-evaluates.

An edit that may have added a `request` also carries the text before the edit to the engine
(`CommentEdit`): the App's `+1` from an earlier command would otherwise mark it as carried out.
An edit that turns an applied command into a refused one takes that `+1` back, and the reply
says why the command is refused now.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gidgethub import routing, sansio

from bot.handlers.common import Scheduling, is_bot, issue_ref, log, pull_request_ref
from bot.intents import CommentEdit

router = routing.Router()

EVALUATED_ACTIONS = ("created", "edited", "deleted")
# Every `request` command holds this word (the parser casefolds its verb); the prefix is the
# map's, known only to the engine.
REQUEST_VERB = "request"


def request_edit(data: Mapping[str, Any]) -> CommentEdit | None:
    """The edit to hand to the engine, or None when it cannot have added a `request`."""
    if data.get("action") != "edited":
        return None
    changes = data.get("changes")
    change = changes.get("body") if isinstance(changes, Mapping) else None
    previous = change.get("from") if isinstance(change, Mapping) else None
    if not isinstance(previous, str):
        return None  # the body did not change
    comment = data["comment"]
    body = comment.get("body")
    if not isinstance(body, str) or REQUEST_VERB not in body.casefold():
        return None
    comment_id = comment.get("id")
    if isinstance(comment_id, bool) or not isinstance(comment_id, int) or comment_id < 1:
        log.warning("edited comment without a REST id: re-evaluated without the edit")
        return None
    node_id = comment.get("node_id")
    return CommentEdit(
        comment_id=comment_id,
        node_id=node_id if isinstance(node_id, str) and node_id else None,
        previous_body=previous,
    )


async def evaluate_commented_pull_request(
    event: sansio.Event, *args: Any, scheduler: Scheduling, **kwargs: Any
) -> None:
    issue = event.data["issue"]
    # Bots' comments are never commands (DESIGN.md), and the bot's own replies must not loop.
    if is_bot(event.data["comment"].get("user")):
        log.info("comment by a bot: ignored")
        return
    # Issues and PRs share comments; only a PR's issue carries `pull_request`. On an issue, a
    # comment can only be a vote.
    if not issue.get("pull_request"):
        on_issue = issue_ref(event.data, issue["number"])
        if on_issue is not None:
            scheduler.schedule(on_issue)
        return
    ref = pull_request_ref(event.data, issue["number"])
    if ref is None:
        return
    edit = request_edit(event.data)
    if edit is None:
        scheduler.schedule(ref)
    else:
        scheduler.schedule(ref, edit=edit)


for _action in EVALUATED_ACTIONS:
    router.add(evaluate_commented_pull_request, "issue_comment", action=_action)
