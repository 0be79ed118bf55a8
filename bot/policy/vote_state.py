"""A vote's whole story from GitHub's state: label changes open and cancel it, comments cast it.

Pure: nothing is stored anywhere but on GitHub. The label's timeline says when a vote opened and
who opened or removed it; the comments, as they are now, are the ballots; `now` says whether the
deadline has passed. Replaying them gives the same vote after a restart as before it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.affiliations.index import AffiliationMap
from bot.policy.ballot_records import KeptBallot, kept_ballots
from bot.policy.commands import CommandOutcome, ParsedCommand, parse_commands
from bot.policy.conflicts import Declaration
from bot.policy.facts import (
    ChangedFile,
    Comment,
    CommentDeletion,
    LabelChange,
    RecordedBallot,
)
from bot.policy.vote_conflicts import Proposal, conflicts
from bot.policy.votes import (
    Ballot,
    Choice,
    Tally,
    Voter,
    VoteRules,
    electorate,
    rules_for,
    tally,
)

Status = Literal["none", "open", "closed", "cancelled"]


@dataclass(frozen=True, slots=True)
class LabelRefusal:
    """A change of the vote label that does not count, and why (the bot replies once)."""

    actor: str
    added: bool
    at: datetime
    why: str


@dataclass(frozen=True, slots=True)
class VoteState:
    status: Status
    opened_at: datetime | None = None
    opened_by: str | None = None
    closed_at: datetime | None = None  # the deadline, or the ballot that decided it early
    cancelled_by: str | None = None
    tally: Tally | None = None
    outcomes: tuple[CommandOutcome, ...] = ()  # every vote command, applied or refused
    refusals: tuple[LabelRefusal, ...] = ()
    # The label is on now only because someone who may not open a vote added it: take it off.
    remove_label: bool = False
    conflicts: Mapping[str, str] = field(default_factory=dict)
    # The ballots counted, for the tally's record, and why each kept one stands.
    ballots: tuple[RecordedBallot, ...] = ()
    kept: tuple[str, ...] = ()
    kept_ballots: tuple[RecordedBallot, ...] = ()  # the ballots `kept` says why of, in order


NO_VOTE = VoteState("none")


@dataclass(frozen=True, slots=True)
class _Command:
    comment: Comment
    author: str
    command: ParsedCommand
    # Why a recorded ballot stands whose comment no longer says it: no comment to answer.
    kept: str | None = None


class _Vote:
    """One vote from its opening: its rules, voters and conflicts are those of that moment."""

    def __init__(
        self,
        amap: AffiliationMap,
        *,
        opened_at: datetime,
        opened_by: str,
        rules: VoteRules,
        commands: Sequence[_Command],
        proposal: Proposal,
        declared: Mapping[str, Declaration],
        closed_by_record: datetime | None = None,
    ) -> None:
        day = opened_at.date()
        self.opened_at, self.opened_by, self.rules = opened_at, opened_by, rules
        # When the App recorded this vote's close: whatever the comments say now, it closed then.
        self.closed_by_record = closed_by_record
        self.commands = [c for c in commands if c.comment.created_at >= opened_at]
        self.voters: dict[str, Voter] = electorate(
            amap, day, also=[c.author for c in self.commands]
        )
        self.conflicts = conflicts(amap, self.voters.values(), proposal, declared=declared, day=day)
        self.amap = amap

    def replay(
        self, until: datetime
    ) -> tuple[Tally, list[CommandOutcome], datetime | None, dict[str, _Command]]:
        """The tally at `until`, every command's outcome, when the vote closed (if it did), and
        each voter's counted command."""
        ballots: dict[str, Ballot] = {}
        counted: dict[str, _Command] = {}
        outcomes: list[CommandOutcome] = []
        deadline = self.opened_at + self.rules.duration
        closed_at: datetime | None = None
        current = self._tally(ballots, self.opened_at)
        if current.outcome != "open":
            closed_at = self.opened_at
        for entry in self.commands:
            cast_at = entry.comment.written_at
            if cast_at > until:
                break
            if closed_at is None and cast_at >= deadline:
                closed_at = deadline
            if closed_at is None and self.closed_by_record is not None:
                # GitHub keeps whole seconds: a vote of the record's own second may precede it.
                closed_at = self.closed_by_record if cast_at > self.closed_by_record else None
            refusal = self._refusal(entry, closed_at)
            if refusal is None:
                key = self.amap.key_of(entry.author)
                choice: Choice = _choice(entry.command.choice)
                ballots[key] = Ballot(key, choice, entry.command.reason, entry.comment.id)
                counted[key] = entry
                current = self._tally(ballots, cast_at)
                if closed_at is None and current.outcome != "open":
                    closed_at = cast_at
            if entry.kept is None:
                outcomes.append(_outcome(entry, refusal))
        if closed_at is None and until >= deadline:
            closed_at = deadline
        if closed_at is None and self.closed_by_record is not None:
            closed_at = self.closed_by_record if until >= self.closed_by_record else None
        final = self._tally(ballots, closed_at if closed_at is not None else until)
        return final, outcomes, closed_at, counted

    def _tally(self, ballots: Mapping[str, Ballot], now: datetime) -> Tally:
        return tally(
            self.rules,
            self.voters,
            ballots.values(),
            conflicts=self.conflicts,
            opened_at=self.opened_at,
            now=now,
        )

    def _refusal(self, entry: _Command, closed_at: datetime | None) -> str | None:
        if entry.command.error is not None:
            return entry.command.error
        if closed_at is not None:
            return f"the vote closed at {_when(closed_at)}: no vote counts after that"
        deadline = self.opened_at + self.rules.duration
        if entry.comment.updated_at > deadline:
            return _edited_late(deadline)
        if self.closed_by_record is not None and entry.comment.updated_at > self.closed_by_record:
            return _edited_late(self.closed_by_record)
        return None


def _choice(text: str | None) -> Choice:
    if text == "yes":
        return "yes"
    if text == "no":
        return "no"
    if text == "abstain":
        return "abstain"
    raise ValueError(f"a parsed vote carries yes, no or abstain, not {text!r}")


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _outcome(entry: _Command, refusal: str | None) -> CommandOutcome:
    return CommandOutcome(
        comment_id=entry.comment.id,
        comment_database_id=entry.comment.database_id,
        author=entry.comment.author or entry.author,
        editor=entry.comment.edited_by_other,
        command=entry.command.text,
        kind="vote",
        applied=refusal is None,
        reason=refusal,
    )


def vote_commands(
    comments: Iterable[Comment], amap: AffiliationMap, kept: Iterable[KeptBallot] = ()
) -> list[_Command]:
    """Every `vote` command in people's comments, in the order they were written, with the
    recorded ballots that stand (`kept`) at the moment their voters wrote them."""
    prefix = amap.policy.command_prefix
    found: list[_Command] = [_kept_command(k, prefix) for k in kept]
    # A vote is its writer's: someone who edited another's comment cast what it now says, then.
    for comment in comments:
        writer = comment.writer
        if writer is None or comment.author_is_bot or amap.is_bot(writer):
            continue
        for command in parse_commands(comment.body, prefix=prefix):
            if command.kind == "vote":
                found.append(_Command(comment, writer, command))
    return sorted(
        found, key=lambda c: (c.comment.written_at, c.comment.database_id or 0, c.comment.id)
    )


def _kept_command(kept: KeptBallot, prefix: str) -> _Command:
    """A recorded ballot as its voter's comment was when the App counted it."""
    ballot = kept.ballot
    body = f"{prefix} vote {ballot.choice} {ballot.reason or ''}".rstrip()
    comment = Comment(
        id=ballot.comment_id,
        author=ballot.comment_author or ballot.voter,
        body=body,
        created_at=ballot.at,
        updated_at=ballot.at,
        database_id=ballot.comment_database_id,
    )
    command = ParsedCommand("vote", body, 1, choice=ballot.choice, reason=ballot.reason)
    return _Command(comment, ballot.voter, command, kept=kept.why)


def vote_state(
    amap: AffiliationMap,
    *,
    labels: Iterable[str],
    label_changes: Iterable[LabelChange],
    comments: Iterable[Comment],
    files: Iterable[ChangedFile],
    proposal: Proposal,
    declared: Mapping[str, Declaration],
    now: datetime,
    map_at: Callable[[datetime], AffiliationMap] | None = None,
    closed_by_record: Callable[[datetime], datetime | None] | None = None,
    recorded_ballots: Iterable[RecordedBallot] = (),
    comment_deletions: Iterable[CommentDeletion] = (),
    account_ids: Mapping[str, int | None] | None = None,
) -> VoteState:
    """The vote on a PR or issue as its label changes and comments tell it, at `now`.

    A TSC member adding the label opens a vote (from the label's time); anyone else's label is
    refused and taken off. A TSC member with no conflict on the vote removing the label cancels
    it; anyone else's removal is refused and the vote goes on. Commands written before the
    opening are no votes; those after the close are refused.

    `map_at`: the map in force at a label event's time (default: `amap`). Who may open a vote,
    and the vote's rules, voters and conflicts, are those of the map in force when it opened.
    `closed_by_record`: when the App recorded the close of the vote opened at a moment (its
    final comment), if it did: the vote stays closed from then, an edit made since counts not.
    `recorded_ballots`: those the App's last tally counted; one whose comment someone other than
    its voter deleted (`comment_deletions`) or edited stands. `account_ids`: by login, for the
    record of the ballots counted now."""
    votes = amap.policy.votes
    wanted = votes.label.casefold()
    comments = tuple(comments)
    kept = kept_ballots(amap, recorded_ballots, comments=comments, deletions=comment_deletions)
    commands = vote_commands(comments, amap, kept)
    changed = tuple(files)
    vote: _Vote | None = None
    cancelled_by: str | None = None
    cancelled_at: datetime | None = None
    refusals: list[LabelRefusal] = []
    last_refused_add = False
    for change in sorted(label_changes, key=lambda c: c.at):
        actor = change.actor
        if change.label.casefold() != wanted or actor is None or amap.is_bot(actor):
            continue
        live = vote is not None and cancelled_by is None and vote.replay(change.at)[2] is None
        if change.added:
            last_refused_add = False
            if live:
                continue
            opening_map = amap if map_at is None else map_at(change.at)
            if not opening_map.is_tsc(actor):
                refusals.append(LabelRefusal(actor, True, change.at, _not_tsc(actor, votes.label)))
                last_refused_add = True
                continue
            vote = _Vote(
                opening_map,
                opened_at=change.at,
                opened_by=actor,
                rules=rules_for(opening_map.policy.votes, changed),
                commands=commands,
                proposal=proposal,
                declared=declared,
                closed_by_record=None if closed_by_record is None else closed_by_record(change.at),
            )
            cancelled_by = cancelled_at = None
            continue
        last_refused_add = False
        if not live or vote is None:
            continue
        why = _cancel_refusal(vote.amap, vote, actor)
        if why is None:
            cancelled_by, cancelled_at = actor, change.at
        else:
            refusals.append(LabelRefusal(actor, False, change.at, why))
    on_now = any(label.casefold() == wanted for label in labels)
    remove = on_now and last_refused_add
    if vote is None:
        refused = tuple(_outcome(c, _no_vote(votes.label)) for c in commands if c.kept is None)
        return VoteState("none", outcomes=refused, refusals=tuple(refusals), remove_label=remove)
    final, outcomes, closed_at, counted = vote.replay(cancelled_at or now)
    if closed_at is not None:
        outcomes = [_edited_after(outcome, vote.commands, closed_at) for outcome in outcomes]
    status: Status = "open" if closed_at is None else "closed"
    if cancelled_at is not None:
        status = "cancelled"
        gone = f"the vote was cancelled at {_when(cancelled_at)}"
        outcomes += [
            _outcome(c, gone)
            for c in vote.commands
            if c.comment.created_at > cancelled_at and c.kept is None
        ]
    early = f"written before the vote opened at {_when(vote.opened_at)}"
    before = [
        _outcome(c, early)
        for c in commands
        if c.comment.created_at < vote.opened_at and c.kept is None
    ]
    outcomes = before + outcomes
    return VoteState(
        status,
        opened_at=vote.opened_at,
        opened_by=vote.opened_by,
        closed_at=closed_at,
        cancelled_by=cancelled_by,
        tally=final,
        outcomes=tuple(outcomes),
        refusals=tuple(refusals),
        remove_label=remove,
        conflicts=vote.conflicts,
        ballots=tuple(_record(entry, account_ids or {}) for entry in counted.values()),
        kept=tuple(entry.kept for entry in counted.values() if entry.kept is not None),
        kept_ballots=tuple(
            _record(entry, account_ids or {})
            for entry in counted.values()
            if entry.kept is not None
        ),
    )


def _record(entry: _Command, account_ids: Mapping[str, int | None]) -> RecordedBallot:
    """A counted ballot as the tally records it: who, what, which comment, when written."""
    comment = entry.comment
    return RecordedBallot(
        voter=entry.author,
        choice=_choice(entry.command.choice),
        reason=entry.command.reason,
        comment_id=comment.id,
        at=comment.written_at,
        comment_database_id=comment.database_id,
        voter_id=account_ids.get(entry.author),
        comment_author=comment.author or entry.author,
    )


def _edited_after(
    outcome: CommandOutcome, commands: Sequence[_Command], closed_at: datetime
) -> CommandOutcome:
    """A vote edited after the close is refused: the result as closed stands (its final
    comment keeps it), whatever the comment says now."""
    edited = any(
        entry.comment.id == outcome.comment_id and entry.comment.updated_at > closed_at
        for entry in commands
    )
    if not outcome.applied or not edited:
        return outcome
    return dataclasses.replace(outcome, applied=False, reason=_edited_late(closed_at))


def _edited_late(closed_at: datetime) -> str:
    return f"edited after the vote closed at {_when(closed_at)}: the edit does not count"


def _not_tsc(actor: str, label: str) -> str:
    return f"only TSC members open a vote: @{actor} is not on the TSC, so `{label}` comes off"


def _no_vote(label: str) -> str:
    return f"no vote is open here: a TSC member opens one with the label `{label}`"


def _cancel_refusal(amap: AffiliationMap, vote: _Vote, actor: str) -> str | None:
    if not amap.is_tsc(actor):
        return f"@{actor} is not on the TSC: the vote goes on"
    conflict = vote.conflicts.get(amap.key_of(actor))
    if conflict is not None:
        return f"@{actor} is conflicted on this vote ({conflict}): the vote goes on"
    return None
