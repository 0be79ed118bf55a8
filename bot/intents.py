"""What a person asked of the bot since a PR's last evaluation, carried from the webhook to it.

The scheduler coalesces events, never intents: the evaluation that takes a PR's queued entry
gets every button click and, per edited comment, its text from before the burst's first edit.

- A click on one of the check run's buttons: the clicker (`sender.login` of
  `check_run.requested_action`) must be allowed to run the matching command, so the click travels
  with the PR instead of being folded into a plain re-evaluation.
- A PR comment edited: a comment the App already answered with its `+1` (which also marks a
  `/coi request` as carried out) and then edited into a `/coi request` must still ask. Only the
  webhook knows the text before the edit (`changes.body.from`), and only the map knows the command
  prefix, so the edit travels with the PR and the evaluation decides whether it added a request
  (docs.github.com/en/webhooks/webhook-events-and-payloads#issue_comment).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ButtonIdentifier = Literal["recheck", "request"]
BUTTON_IDENTIFIERS: tuple[ButtonIdentifier, ...] = ("recheck", "request")


@dataclass(frozen=True, slots=True)
class ButtonClick:
    login: str
    identifier: ButtonIdentifier

    def __post_init__(self) -> None:
        if self.identifier not in BUTTON_IDENTIFIERS:
            raise ValueError(
                f"unknown button {self.identifier!r}: the check run has 'recheck' and 'request'"
            )
        if not self.login:
            raise ValueError("a button click needs the clicker's login")


@dataclass(frozen=True, slots=True)
class CommentEdit:
    comment_id: int  # the REST id (`comment.id`)
    node_id: str | None  # the GraphQL id (`comment.node_id`), as the PR's snapshot names it
    previous_body: str  # `changes.body.from`: the text before this edit

    def __post_init__(self) -> None:
        if isinstance(self.comment_id, bool) or not isinstance(self.comment_id, int):
            raise ValueError(f"an edited comment needs its REST id, not {self.comment_id!r}")
        if self.comment_id < 1:
            raise ValueError(f"a comment id is positive, not {self.comment_id}")
        if not isinstance(self.previous_body, str):
            raise ValueError("an edited comment needs the text it had before (changes.body.from)")


@dataclass(frozen=True, slots=True)
class Intents:
    """Clicks and comment edits since the last evaluation; empty for a plain re-evaluation."""

    clicks: tuple[ButtonClick, ...] = ()
    edits: tuple[CommentEdit, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.clicks or self.edits)


NO_INTENTS = Intents()
