"""The ballots the App records with each live tally, read back at the next evaluation: a vote is
only its writer's, so one whose comment someone else deleted or edited away stands from this
record (GitHub keeps no text of a deleted comment, and names no deleted comment, only its author).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from bot.affiliations.index import AffiliationMap
from bot.policy.facts import Comment, CommentDeletion, RecordedBallot
from bot.policy.records import account_id, hidden_rows, read_hidden_rows

_MARKER = "coi-bot:ballots"
_CHOICES = ("yes", "no", "abstain")


def ballot_line(ballots: Iterable[RecordedBallot]) -> str:
    """One hidden line for the tally's text; empty when no ballot is counted."""
    rows = [
        {
            "voter": b.voter,
            "voter_id": b.voter_id,
            "author": b.comment_author,
            "choice": b.choice,
            "reason": b.reason,
            "comment": b.comment_id,
            "comment_db": b.comment_database_id,
            "at": b.at.isoformat(),
        }
        for b in ballots
    ]
    return hidden_rows(_MARKER, rows)


def read_ballots(text: str | None) -> tuple[RecordedBallot, ...]:
    """The ballots a tally's text recorded; nothing for text the App did not write in this form
    (a record that does not parse is ignored, never trusted in part)."""
    return read_hidden_rows(_MARKER, text, _ballot)


def _ballot(row: Mapping[str, object]) -> RecordedBallot:
    choice = str(row["choice"])
    if choice not in _CHOICES:
        raise ValueError(f"not a vote: {choice!r}")
    database_id = row.get("comment_db")
    if database_id is not None and (type(database_id) is not int or database_id <= 0):
        raise ValueError(f"not a comment id: {database_id!r}")
    reason = row.get("reason")
    return RecordedBallot(
        voter=str(row["voter"]),
        choice=choice,
        reason=None if reason is None else str(reason),
        comment_id=str(row["comment"]),
        at=datetime.fromisoformat(str(row["at"])),
        comment_database_id=database_id,
        voter_id=account_id(row.get("voter_id")),
        comment_author=str(row["author"]),
    )


@dataclass(frozen=True, slots=True)
class KeptBallot:
    """A recorded ballot that stands although its comment no longer says it, and why."""

    ballot: RecordedBallot
    why: str


def kept_ballots(
    amap: AffiliationMap,
    records: Iterable[RecordedBallot],
    *,
    comments: Iterable[Comment],
    deletions: Iterable[CommentDeletion],
) -> tuple[KeptBallot, ...]:
    """Recorded ballots whose comment someone other than the voter deleted or edited.

    GitHub names a deletion's actor and the deleted comment's author, not the comment: every
    deletion of that author's comments since the ballot must be the voter's own for the ballot
    to be withdrawn; with none on the timeline (beyond its last 100), the ballot stands."""
    present = {comment.id: comment for comment in comments}
    removals = tuple(deletions)
    kept: list[KeptBallot] = []
    seen: set[tuple[str, str]] = set()
    for record in records:
        if (record.voter.lower(), record.comment_id) in seen:
            continue  # recorded by the run and by the App's reply alike
        seen.add((record.voter.lower(), record.comment_id))
        voter = _login_now(amap, record)
        voter_key = amap.key_of(voter)
        what = f"@{voter}'s vote stands: its comment was"
        comment = present.get(record.comment_id)
        if comment is not None:
            editor = comment.edited_by_other
            if editor is not None and amap.key_of(editor) != voter_key:
                kept.append(KeptBallot(_as(record, voter), f"{what} edited by @{editor}"))
            continue
        author = record.comment_author or record.voter
        # The voter's own comment is their account's, under whatever login it has now.
        author_key = voter_key if author.lower() == record.voter.lower() else amap.key_of(author)
        since = [
            d
            for d in removals
            if d.comment_author is not None
            and amap.key_of(d.comment_author) == author_key
            and d.at >= record.at
        ]
        if not since:
            why = f"{what} deleted, and who deleted it is not on the timeline's last 100 deletions"
            kept.append(KeptBallot(_as(record, voter), why))
            continue
        others = [d for d in since if d.actor is None or amap.key_of(d.actor) != voter_key]
        if others:
            by = others[-1].actor
            who = f"@{by}" if by is not None else "a deleted account"
            kept.append(KeptBallot(_as(record, voter), f"{what} deleted by {who}"))
    return tuple(kept)


def _login_now(amap: AffiliationMap, record: RecordedBallot) -> str:
    """The voter as the map keys them now: logins change hands, the account stays."""
    key = None if record.voter_id is None else amap.key_of_account(record.voter_id)
    return record.voter if key is None else key


def _as(record: RecordedBallot, voter: str) -> RecordedBallot:
    if voter == record.voter:
        return record
    return replace(record, voter=voter)
