"""Slash commands: the grammar of one comment, and the replay of a PR's comments into state.

State lives in GitHub: declarations and overrides are nothing but the comments that made them, so
replaying the comments as they are now (edited bodies, deleted comments gone) is the whole story.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.affiliations.index import AffiliationMap
from bot.intents import CommentEdit
from bot.policy.classify import Override
from bot.policy.facts import LOGIN_PATTERN, Comment, PullRequestFacts

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
        shown = f"`{verb}`" if verb else "nothing"
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
                error=f"`{first}` is not a GitHub login; use `{prefix} {kind} @login`",
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
class Declaration:
    """A conflict declared on this PR by command: that person's approval is not independent."""

    login: str
    by: str
    reason: str | None
    comment_id: str


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

    @property
    def wants_request(self) -> bool:
        return self.applied and self.kind == "request"


@dataclass(frozen=True, slots=True)
class CommandState:
    declarations: dict[str, Declaration] = field(default_factory=dict)
    override: Override | None = None
    outcomes: tuple[CommandOutcome, ...] = ()


def _participants(facts: PullRequestFacts) -> set[str]:
    logins = {facts.opener} | {r.author for r in facts.reviews} | {c.author for c in facts.comments}
    logins |= {c.author_login for c in facts.commits} | set(facts.requested_reviewers)
    return {login.lower() for login in logins if login}


class _Replay:
    def __init__(self, facts: PullRequestFacts, amap: AffiliationMap, writers: frozenset[str]):
        self.facts = facts
        self.amap = amap
        self.writers = frozenset(w.lower() for w in writers)
        self.participants = _participants(facts)
        self.prefix = amap.policy.command_prefix
        self.declarations: dict[str, Declaration] = {}
        self.override: Override | None = None
        self.outcomes: list[CommandOutcome] = []

    def _refusal(self, author: str, command: ParsedCommand) -> str | None:
        """Why `author` may not run `command`, or None when they may."""
        amap, prefix = self.amap, self.prefix
        if command.error is not None:
            return command.error
        is_tsc = amap.is_tsc(author)
        if command.kind in ("major", "minor"):
            return None if is_tsc else f"only TSC members may use `{prefix} {command.kind}`"
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
                f"unknown login @{command.target}: not in the map nor on this pull request; "
                f"use `{prefix} {command.kind} @login`"
            )
        if amap.key_of(target) != amap.key_of(author):
            return None if is_tsc else f"only TSC members may {command.kind} for someone else"
        if amap.is_known(author) or author.lower() in self.writers:
            return None
        return (
            f"only people in the affiliation map or with write access may `{prefix} {command.kind}`"
        )

    def _is_known_login(self, login: str) -> bool:
        lowered = login.lower()
        return self.amap.is_known(login) or lowered in self.writers or lowered in self.participants

    def apply(self, comment: Comment, author: str, command: ParsedCommand) -> None:
        refusal = self._refusal(author, command)
        if refusal is None:
            refusal = self._effect(comment, author, command)
        self.outcomes.append(
            CommandOutcome(
                comment_id=comment.id,
                comment_database_id=comment.database_id,
                author=author,
                command=command.text,
                kind=command.kind,
                applied=refusal is None,
                reason=refusal,
                target=command.target,
            )
        )

    def _effect(self, comment: Comment, author: str, command: ParsedCommand) -> str | None:
        """Apply an allowed command; a reason when it turns out to have nothing to act on."""
        if command.kind in ("major", "minor"):
            kind: Literal["major", "minor"] = "major" if command.kind == "major" else "minor"
            self.override = Override(kind, author, command.reason, comment.id)
        elif command.kind == "declare":
            target = command.target or author
            key = self.amap.key_of(target)
            shown = self.amap.login_of(target) or target
            self.declarations[key] = Declaration(shown, author, command.reason, comment.id)
        elif command.kind == "withdraw":
            target = command.target or author
            key = self.amap.key_of(target)
            existing = self.declarations.get(key)
            if existing is None:
                return f"@{target} has no conflict declared on this pull request to withdraw"
            declared_by_other = self.amap.key_of(existing.by) != key
            if declared_by_other and not self.amap.is_tsc(author):
                # A TSC member's declaration about someone is not theirs to undo.
                return f"@{existing.by} declared this conflict: only a TSC member may withdraw it"
            del self.declarations[key]
        return None


def replay(
    facts: PullRequestFacts, amap: AffiliationMap, *, writers: frozenset[str]
) -> CommandState:
    """Replay every command of the PR's comments, oldest first, into declarations and overrides.

    `writers` are the logins with write access to the repository (looked up by the I/O layer).
    Comments by bots (the map's `bots`, `[bot]` logins, GitHub's Bot type) are never commands.
    """
    state = _Replay(facts, amap, writers)
    for comment in sorted(facts.comments, key=lambda c: (c.created_at, c.id)):
        author = comment.author
        if author is None or comment.author_is_bot or amap.is_bot(author):
            continue
        for command in parse_commands(comment.body, prefix=state.prefix):
            if command.kind == "vote":  # a vote's own replay judges it (bot.policy.vote_state)
                continue
            state.apply(comment, author, command)
    return CommandState(
        declarations=dict(sorted(state.declarations.items())),
        override=state.override,
        outcomes=tuple(state.outcomes),
    )


ButtonKind = Literal["recheck", "request"]


def logins_needing_write_check(facts: PullRequestFacts, amap: AffiliationMap) -> frozenset[str]:
    """Commenters whose command turns on write access the map cannot settle (lower case).

    Recheck and request: the PR's author and TSC members need no look-up. Declare and withdraw
    for oneself: people in the map need none. Everything else is decided by the map alone.
    """
    prefix = amap.policy.command_prefix
    opener = (facts.opener or "").lower()
    needed: set[str] = set()
    for comment in facts.comments:
        author = comment.author
        if author is None or comment.author_is_bot or amap.is_bot(author):
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
        return not amap.is_tsc(author) and author.lower() != opener
    if command.kind in ("declare", "withdraw"):
        for_oneself = command.target is None or amap.key_of(command.target) == amap.key_of(author)
        return for_oneself and not amap.is_known(author)
    return False


def button_needs_write_check(facts: PullRequestFacts, amap: AffiliationMap, *, login: str) -> bool:
    """Whether a button click by `login` needs a write-access look-up to be judged."""
    return _needs_write_check(
        amap, login, ParsedCommand("recheck", "", 0), opener=(facts.opener or "").lower()
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
    refusal = _Replay(facts, amap, writers)._refusal(login, command)
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
