"""Slash commands: the grammar of one comment, and the replay of a PR's comments into state.

State lives in GitHub: declarations and overrides are the comments that made them, replayed as
they are now (edited bodies as their last editor's acts, deleted comments gone), plus the
declarations the App's check run recorded whose comment someone who may not lower the bar deleted
or edited away (see bot.policy.records).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from bot.affiliations.index import AffiliationMap
from bot.affiliations.model import LOGIN_PATTERN
from bot.intents import CommentEdit
from bot.policy.authors import collect_authors
from bot.policy.classify import Override
from bot.policy.conflicts import (
    Conflict,
    Declaration,
    Parties,
    RefusedAct,
    conflict_on_pr,
    may_not_lower_the_bar,
)
from bot.policy.facts import Comment, PullRequestFacts, RecordedDeclaration
from bot.policy.markdown import code, mention

__all__ = ["Declaration"]  # declared in bot.policy.conflicts; still importable from here

CommandKind = Literal[
    "declare", "withdraw", "recheck", "request", "major", "minor", "vote", "unknown"
]
KNOWN_KINDS: tuple[CommandKind, ...] = (
    "declare",
    "withdraw",
    "recheck",
    "request",
    "major",
    "minor",
    "vote",
)
VOTE_CHOICES = ("yes", "no", "abstain")

# GitHub logins: alphanumerics and single hyphens, at most 39 characters; apps end in "[bot]".
_LOGIN = re.compile(rf"@({LOGIN_PATTERN})(\[bot\])?")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INLINE_CODE = re.compile(r"(`+).*?\1")
# Four spaces (or a tab) of indentation make a Markdown code block.
_INDENTED_CODE = re.compile(r"^(?: {4}|\t)")


def usage(prefix: str) -> str:
    return (
        f"`{prefix} declare [@login] [reason]`, `{prefix} withdraw [@login]`, "
        f"`{prefix} recheck`, `{prefix} request`, `{prefix} major [reason]`, "
        f"`{prefix} minor [reason]`, `{prefix} vote yes|no|abstain [reason]`"
    )


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    kind: CommandKind
    text: str  # the command's line as written, for replies
    line: int  # 1-based line in the comment body
    target: str | None = None  # login without "@", for declare/withdraw
    reason: str | None = None
    error: str | None = None  # set when the line starts with the prefix but does not parse
    choice: str | None = None  # yes, no or abstain, for vote


def _command_lines(body: str) -> list[tuple[int, str]]:
    """Lines outside fenced code, quotes and indented code, with inline code removed."""
    lines: list[tuple[int, str]] = []
    fence: str | None = None
    for number, raw in enumerate(body.splitlines(), start=1):
        opening = _FENCE.match(raw)
        if fence is not None:
            # A fence closes only with the same character, at least as long, and nothing after.
            closing = opening is not None and opening.group(1)[0] == fence[0]
            if closing and len(raw.strip()) >= len(fence) and not raw.strip().strip(fence[0]):
                fence = None
            continue
        if opening:
            fence = opening.group(1)
            continue
        if _INDENTED_CODE.match(raw) or raw.lstrip().startswith(">"):
            continue
        lines.append((number, _INLINE_CODE.sub(" ", raw).strip()))
    return lines


def _parse_line(text: str, *, number: int, prefix: str) -> ParsedCommand | None:
    head, _, rest = text.partition(" ")
    if head.casefold() != prefix.casefold():
        return None
    verb, _, arguments = rest.strip().partition(" ")
    arguments = arguments.strip()
    kind = verb.casefold()
    if kind not in KNOWN_KINDS:
        shown = code(verb) if verb else "nothing"
        return ParsedCommand(
            "unknown",
            text,
            number,
            error=f"unknown command {shown} after `{prefix}`; use {usage(prefix)}",
        )
    known_kind: CommandKind = kind
    if kind in ("recheck", "request"):
        if arguments:
            return ParsedCommand(
                known_kind, text, number, error=f"`{prefix} {kind}` takes no arguments"
            )
        return ParsedCommand(known_kind, text, number)
    if kind in ("major", "minor"):
        return ParsedCommand(known_kind, text, number, reason=arguments or None)
    if kind == "vote":
        return _parse_vote(text, number, arguments, prefix=prefix)
    target: str | None = None
    if arguments.startswith("@"):
        first, _, arguments = arguments.partition(" ")
        login = _LOGIN.fullmatch(first)
        if login is None:
            return ParsedCommand(
                known_kind,
                text,
                number,
                error=f"{code(first)} is not a GitHub login; use `{prefix} {kind} @login`",
            )
        target = first[1:]
        arguments = arguments.strip()
    if kind == "withdraw" and arguments:
        return ParsedCommand(
            known_kind,
            text,
            number,
            target=target,
            error=f"`{prefix} withdraw` takes at most one @login: `{prefix} withdraw [@login]`",
        )
    return ParsedCommand(known_kind, text, number, target=target, reason=arguments or None)


def _parse_vote(text: str, number: int, arguments: str, *, prefix: str) -> ParsedCommand:
    """`vote yes|no|abstain [reason]`."""
    choice, _, reason = arguments.partition(" ")
    if choice.casefold() not in VOTE_CHOICES:
        shown = f"`{choice}`" if choice else "nothing"
        return ParsedCommand(
            "vote",
            text,
            number,
            error=f"a vote is yes, no or abstain, not {shown}: "
            f"`{prefix} vote yes|no|abstain [reason]`",
        )
    return ParsedCommand(
        "vote", text, number, reason=reason.strip() or None, choice=choice.casefold()
    )


def parse_commands(body: str, *, prefix: str) -> list[ParsedCommand]:
    """Every command in a comment body, one per line, in order.

    A command is a line that starts with the prefix (case-insensitive) followed by a space or
    the end of the line; nothing inside `>` quotes or fenced, indented or inline code counts.
    """
    prefix = prefix.strip()
    if not prefix or " " in prefix:
        raise ValueError(f"a command prefix is one word such as '/coi', not {prefix!r}")
    commands: list[ParsedCommand] = []
    if prefix.casefold() not in body.casefold():  # most comments: no need to read them closely
        return commands
    for number, text in _command_lines(body):
        parsed = _parse_line(text, number=number, prefix=prefix)
        if parsed is not None:
            commands.append(parsed)
    return commands


def holds_request(body: str, *, prefix: str) -> bool:
    """Whether a comment body holds a well-formed `request` command (who wrote it aside)."""
    return any(
        command.kind == "request" and command.error is None
        for command in parse_commands(body, prefix=prefix)
    )


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    comment_id: str
    comment_database_id: int | None
    author: str
    command: str
    kind: CommandKind
    applied: bool
    reason: str | None = None  # why it was refused; None when applied
    target: str | None = None
    comment_url: str | None = None  # where the comment is on GitHub, for the check run's links
    # Who edited the command into someone else's comment: the act, and the rights, are theirs.
    editor: str | None = None

    @property
    def actor(self) -> str:
        """Whose act the command is: the editor's when someone else edited it in."""
        return self.editor or self.author

    @property
    def shown_author(self) -> str:
        """ "@gus", or "@gus (edited by @wendy)" when wendy edited gus's comment."""
        edited = f" (edited by {mention(self.editor)})" if self.editor else ""
        return f"{mention(self.author)}{edited}"

    @property
    def wants_request(self) -> bool:
        return self.applied and self.kind == "request"


@dataclass(frozen=True, slots=True)
class CommandState:
    declarations: dict[str, Declaration] = field(default_factory=dict)
    override: Override | None = None
    outcomes: tuple[CommandOutcome, ...] = ()
    # Deletions and edits by someone who may not lower the bar: the declarations they removed
    # stand (restored from the App's record), and these acts are listed as refused.
    refused_acts: tuple[RefusedAct, ...] = ()


def _participants(facts: PullRequestFacts) -> set[str]:
    logins = {facts.opener} | {r.author for r in facts.reviews} | {c.author for c in facts.comments}
    logins |= {c.author_login for c in facts.commits} | set(facts.requested_reviewers)
    return {login.lower() for login in logins if login}


class _Replay:
    def __init__(
        self,
        facts: PullRequestFacts,
        amap: AffiliationMap,
        writers: frozenset[str],
        parties: Parties | None = None,
    ):
        self.facts = facts
        self.amap = amap
        self.parties = parties or Parties(amap, collect_authors(facts, amap))
        self.writers = frozenset(w.lower() for w in writers)
        self.participants = _participants(facts)
        self.prefix = amap.policy.command_prefix
        self.declarations: dict[str, Declaration] = {}
        self.override: Override | None = None
        self.override_unconflicted = False  # the override in force is an unconflicted member's
        self.outcomes: list[CommandOutcome] = []

    def conflict(self, login: str, comment: Comment) -> Conflict | None:
        """Whether `login` is conflicted on this PR at the comment's act, declarations so far."""
        day = comment.written_at.astimezone(UTC).date()
        return conflict_on_pr(self.parties, login, day=day, declared=self.declarations)

    def _refusal(self, author: str, command: ParsedCommand, comment: Comment | None) -> str | None:
        """Why `author` may not run `command` (written in `comment`; None for a button), or
        None when they may."""
        amap, prefix = self.amap, self.prefix
        if command.error is not None:
            return command.error
        is_tsc = amap.is_tsc(author)
        if command.kind in ("major", "minor"):
            if not is_tsc:
                return f"only TSC members may use `{prefix} {command.kind}`"
            conflict = None
            if command.kind == "minor" and comment is not None:
                conflict = self.conflict(author, comment)
            if conflict is not None:
                # Less review is for those with no stake in the change.
                return (
                    f"{conflict.sentence}: only a TSC member with no conflict on this pull "
                    f"request may use `{prefix} minor`"
                )
            return None
        if command.kind in ("recheck", "request"):
            opener = self.facts.opener
            if (
                is_tsc
                or author.lower() in self.writers
                or (opener and opener.lower() == author.lower())
            ):
                return None
            return (
                f"`{prefix} {command.kind}` is for the PR's author, people with write access "
                "and TSC members"
            )
        target = command.target or author
        if command.target is not None and not self._is_known_login(command.target):
            return (
                f"unknown login {code('@' + command.target)}: not in the map nor on this pull "
                f"request; use `{prefix} {command.kind} @login`"
            )
        if amap.key_of(target) != amap.key_of(author):
            return None if is_tsc else f"only TSC members may {command.kind} for someone else"
        if amap.is_known(author) or author.lower() in self.writers:
            return None
        return (
            f"only people in the affiliation map or with write access may `{prefix} {command.kind}`"
        )

    def _withdrawal_refusal(
        self, comment: Comment, author: str, existing: Declaration
    ) -> str | None:
        """A declaration is withdrawn by its declarer, or by a TSC member with no conflict on
        this PR: never by its subject (unless they made it), an author or a colleague."""
        if self.amap.key_of(existing.by) == self.amap.key_of(author):
            return None
        only = (
            f"only @{existing.by}, who declared it, or a TSC member with no conflict on this "
            "pull request may withdraw it"
        )
        if not self.amap.is_tsc(author):
            return f"@{existing.by} declared this conflict: {only}"
        conflict = self.conflict(author, comment)
        if conflict is not None:
            return f"{conflict.sentence}: {only}"
        return None

    def _is_known_login(self, login: str) -> bool:
        lowered = login.lower()
        return self.amap.is_known(login) or lowered in self.writers or lowered in self.participants

    def apply(self, comment: Comment, author: str, command: ParsedCommand) -> None:
        """Judge and apply `command` as `author`'s act (the comment's writer, see
        Comment.writer)."""
        refusal = self._refusal(author, command, comment)
        if refusal is None:
            refusal = self._effect(comment, author, command)
        self.outcomes.append(
            CommandOutcome(
                comment_id=comment.id,
                comment_database_id=comment.database_id,
                author=comment.author or author,
                command=command.text,
                kind=command.kind,
                applied=refusal is None,
                reason=refusal,
                target=command.target,
                comment_url=comment.url,
                editor=comment.edited_by_other,
            )
        )

    def _effect(self, comment: Comment, author: str, command: ParsedCommand) -> str | None:
        """Apply an allowed command; a reason when it turns out to have nothing to act on."""
        if command.kind in ("major", "minor"):
            kind: Literal["major", "minor"] = "major" if command.kind == "major" else "minor"
            conflict = self.conflict(author, comment)
            if conflict is not None and self.override_unconflicted and self.override is not None:
                standing = self.override
                return (
                    f"{conflict.sentence}: @{standing.by}'s `{self.prefix} {standing.kind}` "
                    "stands; an override by someone conflicted never cancels one by a TSC "
                    "member with no conflict"
                )
            self.override = Override(
                kind,
                author,
                command.reason,
                comment.id,
                in_comment_of=comment.author if comment.edited_by_other else None,
            )
            self.override_unconflicted = conflict is None
        elif command.kind == "declare":
            target = command.target or author
            key = self.amap.key_of(target)
            shown = self.amap.login_of(target) or target
            comment_author = comment.author if comment.edited_by_other else None
            self.declarations[key] = Declaration(
                shown,
                author,
                command.reason,
                comment.id,
                comment_author=comment_author,
                at=comment.written_at,
                login_id=_account_id_of(self.facts, self.amap, shown),
                by_id=_account_id_of(self.facts, self.amap, author),
                author_id=_account_id_of(self.facts, self.amap, comment_author or author),
            )
        elif command.kind == "withdraw":
            target = command.target or author
            key = self.amap.key_of(target)
            existing = self.declarations.get(key)
            if existing is None:
                who = code("@" + target)
                return f"{who} has no conflict declared on this pull request to withdraw"
            refusal = self._withdrawal_refusal(comment, author, existing)
            if refusal is not None:
                return refusal
            del self.declarations[key]
        return None


def replay(
    facts: PullRequestFacts,
    amap: AffiliationMap,
    *,
    writers: frozenset[str],
    parties: Parties | None = None,
) -> CommandState:
    """Replay every command of the PR's comments, oldest first, into declarations and overrides.

    `writers` are the logins with write access to the repository (looked up by the I/O layer).
    `parties`: whom conflicts are judged against (built from `facts` when not given).
    Comments by bots (the map's `bots`, `[bot]` logins, GitHub's Bot type) are never commands.
    """
    state = _Replay(facts, amap, writers, parties)
    restored, refused_acts = _declarations_kept(facts, amap, state.parties)
    acts = [*((comment, None) for comment in facts.comments), *restored]
    for comment, kept in sorted(acts, key=lambda act: (act[0].created_at, act[0].id)):
        writer = comment.writer
        if writer is None or _by_bot(comment, amap):
            continue
        # A kept declaration names its people as this view keys them, which may be no login.
        commands = [kept] if kept is not None else parse_commands(comment.body, prefix=state.prefix)
        for command in commands:
            if command.kind == "vote":  # a vote's own replay judges it (bot.policy.vote_state)
                continue
            state.apply(comment, writer, command)
    return CommandState(
        declarations=dict(sorted(state.declarations.items())),
        override=state.override,
        outcomes=tuple(state.outcomes),
        refused_acts=refused_acts,
    )


def _account_id_of(facts: PullRequestFacts, amap: AffiliationMap, login: str) -> int | None:
    """The GitHub account behind a login: its id as the snapshot read it, else the map's id of
    the person this view keys by that login (a person's other `logins` carry none)."""
    lowered = login.lower()
    for account in facts.accounts:
        if account.login.lower() == lowered:
            return account.id
    key = amap.login_of(login)
    return None if key is None or key.lower() != lowered else amap.document.people[key].id


def _login_now(amap: AffiliationMap, login: str, account_id: int | None) -> str:
    """Who a recorded login names now: the map person bound to its account, as this view keys
    them (by the login GitHub shows for the account now); else the login as written, as the map
    matches the people it binds to no id."""
    key = None if account_id is None else amap.key_of_account(account_id)
    return login if key is None else key


def _as_now(amap: AffiliationMap, record: RecordedDeclaration) -> RecordedDeclaration:
    return dataclasses.replace(
        record,
        comment_author=_login_now(amap, record.comment_author, record.comment_author_id),
        login=_login_now(amap, record.login, record.login_id),
        by=_login_now(amap, record.by, record.by_id),
    )


def _declarations_kept(
    facts: PullRequestFacts, amap: AffiliationMap, parties: Parties
) -> tuple[tuple[tuple[Comment, ParsedCommand], ...], tuple[RefusedAct, ...]]:
    """Recorded declarations whose comment someone who may not lower the bar deleted, or edited
    away: each comes back as the declarer's comment as it was, with the act that is refused.

    Allowed to remove one: the comment's author, its declarer, a TSC member with no conflict.
    GitHub names a deletion's actor but not the comment: every deletion of that author's
    comments since the declaration must be allowed, and with none on the timeline (beyond its
    last 100), the declaration stands."""
    prefix = amap.policy.command_prefix
    present = {comment.id: comment for comment in facts.comments}
    # The record names accounts: each login read back as the login its account has now.
    records = [_as_now(amap, record) for record in facts.recorded_declarations]
    then = {
        amap.key_of(r.login): Declaration(r.login, r.by, r.reason, r.comment_id) for r in records
    }

    def refusal(actor: str | None, record: RecordedDeclaration, at: datetime) -> str | None:
        if actor is not None and amap.key_of(actor) in {
            amap.key_of(record.comment_author),
            amap.key_of(record.by),
        }:
            return None
        return may_not_lower_the_bar(parties, actor, day=at.date(), declared=then)

    restored: list[tuple[Comment, ParsedCommand]] = []
    refused: list[RefusedAct] = []
    for record in records:
        what = f"@{record.login}'s conflict declared by @{record.by}"
        comment = present.get(record.comment_id)
        if comment is not None:
            editor = comment.edited_by_other
            if editor is None or comment.last_edited_at is None:
                continue  # the replay of its current text decides
            why = refusal(editor, record, comment.last_edited_at)
            if why is None:
                continue
            refused.append(
                RefusedAct(editor, f"edited away {what}", why, comment.url, keeps_declaration=True)
            )
        else:
            author_key = amap.key_of(record.comment_author)
            deletions = [
                d
                for d in facts.comment_deletions
                if d.comment_author is not None
                and amap.key_of(d.comment_author) == author_key
                and d.at >= record.at
            ]
            if not deletions:
                why = "who deleted its comment is not on the timeline's last 100 deletions"
                refused.append(RefusedAct(None, f"deleted {what}", why, keeps_declaration=True))
            else:
                barred = [(d, w) for d in deletions if (w := refusal(d.actor, record, d.at))]
                if not barred:
                    continue
                deletion, why = barred[-1]
                refused.append(
                    RefusedAct(deletion.actor, f"deleted {what}", why, keeps_declaration=True)
                )
        own = amap.key_of(record.login) == amap.key_of(record.by)
        target = "" if own else f" @{record.login}"
        body = f"{prefix} declare{target} {record.reason or ''}".rstrip()
        restored.append(
            (
                Comment(
                    id=record.comment_id,
                    author=record.by,
                    body=body,
                    created_at=record.at,
                    updated_at=record.at,
                ),
                ParsedCommand(
                    "declare",
                    body,
                    1,
                    target=None if own else record.login,
                    reason=record.reason,
                ),
            )
        )
    return tuple(restored), tuple(refused)


def _is_stranger_opener(
    facts: PullRequestFacts, amap: AffiliationMap, login: str, writers: frozenset[str]
) -> bool:
    """The PR's opener, with neither a map entry nor write access: anyone can open a PR."""
    opener = facts.opener
    return (
        opener is not None
        and amap.key_of(login) == amap.key_of(opener)
        and not amap.is_known(login)
        and login.lower() not in {w.lower() for w in writers}
    )


def limit_strangers_requests(
    facts: PullRequestFacts,
    amap: AffiliationMap,
    outcomes: Sequence[CommandOutcome],
    *,
    writers: frozenset[str],
    major: bool,
) -> tuple[CommandOutcome, ...]:
    """An opener outside the map and without write access may `request` only on a major PR,
    and once per PR: a TSC member's time is not theirs to spend at will."""
    prefix = amap.policy.command_prefix
    asked = False
    limited: list[CommandOutcome] = []
    for outcome in outcomes:
        if (
            outcome.applied
            and outcome.kind == "request"
            and _is_stranger_opener(facts, amap, outcome.actor, writers)
        ):
            if not major:
                outcome = dataclasses.replace(
                    outcome,
                    applied=False,
                    reason=(
                        f"`{prefix} request` by the PR's opener outside the map and without "
                        "write access works only on a major change; this one is not"
                    ),
                )
            elif asked:
                outcome = dataclasses.replace(
                    outcome,
                    applied=False,
                    reason=(
                        f"the PR's opener outside the map and without write access may use "
                        f"`{prefix} request` once per pull request, and already did"
                    ),
                )
            else:
                asked = True
        limited.append(outcome)
    return tuple(limited)


def _by_bot(comment: Comment, amap: AffiliationMap) -> bool:
    """Bots' comments are never commands, nor a bot's edits of a person's comment."""
    return comment.author_is_bot or any(
        login is not None and amap.is_bot(login) for login in (comment.author, comment.editor)
    )


ButtonKind = Literal["recheck", "request"]


def logins_needing_write_check(facts: PullRequestFacts, amap: AffiliationMap) -> frozenset[str]:
    """Commenters whose command turns on write access the map cannot settle (lower case).

    Recheck and request: TSC members need no look-up, nor the PR's author (for a request: one
    in the map, since an opener outside it without write access may ask only once). Declare
    and withdraw for oneself: people in the map need none. Everything else is decided by the
    map alone.
    """
    prefix = amap.policy.command_prefix
    opener = (facts.opener or "").lower()
    needed: set[str] = set()
    for comment in facts.comments:
        author = comment.writer
        if author is None or _by_bot(comment, amap):
            continue
        for command in parse_commands(comment.body, prefix=prefix):
            if command.error is not None or author.lower() in needed:
                continue
            if _needs_write_check(amap, author, command, opener=opener):
                needed.add(author.lower())
    return frozenset(needed)


def _needs_write_check(
    amap: AffiliationMap, author: str, command: ParsedCommand, *, opener: str
) -> bool:
    if command.kind in ("recheck", "request"):
        if amap.is_tsc(author):
            return False
        # An opener outside the map is limited in asking unless they have write access.
        stranger_opener = command.kind == "request" and not amap.is_known(author)
        return author.lower() != opener or stranger_opener
    if command.kind in ("declare", "withdraw"):
        for_oneself = command.target is None or amap.key_of(command.target) == amap.key_of(author)
        return for_oneself and not amap.is_known(author)
    return False


def button_needs_write_check(facts: PullRequestFacts, amap: AffiliationMap, *, login: str) -> bool:
    """Whether a button click by `login` needs a write-access look-up to be judged."""
    return _needs_write_check(
        amap, login, ParsedCommand("request", "", 0), opener=(facts.opener or "").lower()
    )


def judge_button(
    facts: PullRequestFacts,
    amap: AffiliationMap,
    *,
    login: str,
    kind: ButtonKind,
    label: str,
    writers: frozenset[str],
) -> CommandOutcome:
    """A click on the check run's `Recheck` or `Request reviewer` button, judged exactly as
    the matching command: the PR's author, people with write access and TSC members only."""
    if kind not in ("recheck", "request"):
        raise ValueError(f"no button runs {kind!r}: only 'recheck' and 'request'")
    command = ParsedCommand(kind, f"{amap.policy.command_prefix} {kind}", 0)
    refusal = _Replay(facts, amap, writers)._refusal(login, command, None)
    if refusal is None and kind == "request" and _is_stranger_opener(facts, amap, login, writers):
        # A click leaves no trace to count: such an opener asks by comment, once.
        refusal = (
            f"the PR's opener outside the map and without write access asks with "
            f"`{amap.policy.command_prefix} request`, once, on a major change"
        )
    return CommandOutcome(
        comment_id="",
        comment_database_id=None,
        author=login,
        command=f"the {label} button",
        kind=kind,
        applied=refusal is None,
        reason=refusal,
    )


# The App's `+1` on a comment: GraphQL's ReactionContent. It means "applied", and for a `request`
# also "carried out".
APPLIED_MARK = "THUMBS_UP"


def already_reacted(comment: Comment) -> bool:
    return APPLIED_MARK in comment.viewer_reactions


def new_request_asked(facts: PullRequestFacts, outcomes: Iterable[CommandOutcome]) -> bool:
    """An applied `request` command not yet answered: the App's `+1` marks it carried out."""
    by_id = {comment.id: comment for comment in facts.comments}
    return any(
        outcome.wants_request
        and outcome.comment_id in by_id
        and not already_reacted(by_id[outcome.comment_id])
        for outcome in outcomes
    )


def edited_comment(facts: PullRequestFacts, edit: CommentEdit) -> Comment | None:
    """The edited comment as the PR's snapshot has it now; None once it is deleted."""
    for comment in facts.comments:
        if comment.database_id == edit.comment_id or (
            edit.node_id is not None and comment.id == edit.node_id
        ):
            return comment
    return None


def request_added_by_edit(
    facts: PullRequestFacts,
    outcomes: Sequence[CommandOutcome],
    edits: Sequence[CommentEdit],
    *,
    prefix: str,
) -> bool:
    """An edit turned a comment without a `request` into one whose `request` is allowed.

    Judged like a fresh command by the comment's author (the replay's outcome); the App's `+1`
    from the comment's earlier command must not mark this new request as carried out."""
    allowed = {outcome.comment_id for outcome in outcomes if outcome.wants_request}
    for edit in edits:
        comment = edited_comment(facts, edit)
        if (
            comment is not None
            and comment.id in allowed
            and not holds_request(edit.previous_body, prefix=prefix)
        ):
            return True
    return False


def review_asked_by_person(
    facts: PullRequestFacts,
    outcomes: Sequence[CommandOutcome],
    clicks: Sequence[CommandOutcome],
    edits: Sequence[CommentEdit],
    *,
    prefix: str,
) -> bool:
    """Someone allowed to asked for a reviewer since the last evaluation: a fresh `request`
    command, a comment edited into one, or a click on `Request reviewer`."""
    return (
        new_request_asked(facts, outcomes)
        or request_added_by_edit(facts, outcomes, edits, prefix=prefix)
        or any(click.applied and click.kind == "request" for click in clicks)
    )
