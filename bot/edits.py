"""A PR comment edited: carried from the webhook to the engine, beside check-run button clicks.

A comment the App already answered with its `+1` (which also marks a `/coi request` as carried
out) and then edited into a `/coi request` must still ask for a reviewer. Only the webhook knows
the text before the edit (`changes.body.from`), and only the engine knows the map's command
prefix, so the edit travels with the PR through the scheduler and the engine decides whether it
added a request (docs.github.com/en/webhooks/webhook-events-and-payloads#issue_comment).
"""

from __future__ import annotations

from dataclasses import dataclass


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
