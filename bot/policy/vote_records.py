"""Every vote a PR or issue held, as the App's own comments tell it: what `report` lists.

The App comments once when a vote opens, once when it closes (the conclusion and the tally as
closed) and once when it is cancelled, each marked with the opening's time
(bot/policy/vote_render.py). A vote with neither of the last two is open: its tally is the live
one, the check run's on a PR, the comment edited in place on an issue.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from bot.policy.facts import Comment
from bot.policy.vote_render import (
    LIVE_MARKER,
    app_record,
    closed_votes,
    conflicted_abstentions,
    frozen_output,
    parse_opened,
)

Outcome = Literal["passed", "failed", "cancelled", "open"]
# How each comment that records a vote begins (bot/policy/vote_render.py).
_RECORDS = (
    "<!-- coi-bot:vote-opened ",
    "<!-- coi-bot:vote-final ",
    "<!-- coi-bot:vote-cancelled ",
    LIVE_MARKER,
)
_CANCELLED = re.compile(r"<!-- coi-bot:vote-cancelled (\S+) -->\n@(\S+) removed ")


@dataclass(frozen=True, slots=True)
class HeldVote:
    opened_at: datetime
    outcome: Outcome
    title: str  # the tally's title as it closed, or as it stands while open
    closed_at: datetime | None = None  # when the App said it closed, or was cancelled
    abstentions: tuple[tuple[str, str], ...] = ()  # (login, why) of each conflicted abstention

    def in_period(self, since: datetime, until: datetime) -> bool:
        """Whether it opened, or closed, in [since, until)."""
        closed = self.closed_at is not None and since <= self.closed_at < until
        return since <= self.opened_at < until or closed


def _moment(stamp: str) -> datetime | None:
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None  # not a stamp the App writes: no vote of the App's


def held_votes(
    comments: Iterable[Comment], *, live: tuple[str, str] | None = None
) -> tuple[HeldVote, ...]:
    """The votes the App's comments among `comments` record, oldest first. `live`: (title,
    summary) of the open vote's tally; on an issue, the App's live comment gives it."""
    votes: dict[datetime, HeldVote] = {}
    for comment in sorted((c for c in comments if app_record(c)), key=lambda c: c.created_at):
        body = comment.body.replace("\r\n", "\n")  # GitHub may store CRLF
        if body.startswith(LIVE_MARKER) and live is None:
            shown = frozen_output(body, "open")
            live = shown.title, shown.summary
        opened = parse_opened(body)
        moment = _moment(opened[0]) if opened is not None else None
        if moment is not None:
            votes.setdefault(moment, HeldVote(moment, "open", "Vote open"))
        for closed in closed_votes([body]):
            moment = _moment(closed.opened)
            if moment is not None:
                outcome: Outcome = "passed" if closed.conclusion == "success" else "failed"
                votes[moment] = HeldVote(
                    moment, outcome, closed.title, comment.created_at, closed.abstentions
                )
        cancelled = _CANCELLED.match(body)
        moment = _moment(cancelled.group(1)) if cancelled is not None else None
        known = votes.get(moment) if moment is not None else None
        if (
            cancelled is not None
            and moment is not None
            and (known is None or known.outcome == "open")
        ):
            title = f"Vote cancelled by @{cancelled.group(2)}"
            votes[moment] = HeldVote(moment, "cancelled", title, comment.created_at)
    found = sorted(votes.values(), key=lambda vote: vote.opened_at)
    still_open = [index for index, vote in enumerate(found) if vote.outcome == "open"]
    if live is not None and still_open and live[0].startswith("Vote open"):
        last = found[still_open[-1]]  # only the latest vote can be the live one
        found[still_open[-1]] = HeldVote(
            last.opened_at, "open", live[0], None, conflicted_abstentions(live[1])
        )
    return tuple(found)


def records_of_another(comments: Iterable[Comment]) -> bool:
    """Whether a bot other than the reader wrote vote records here: read with a token that is
    not the App's, its records cannot be told from a forger's, and none is counted."""
    return any(
        c.author_is_bot and not c.by_viewer and c.body.startswith(_RECORDS) for c in comments
    )
