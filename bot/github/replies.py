"""Answering commands: a `+1` reaction when applied, one kept-up-to-date reply when refused.

Everything is derived from GitHub's state, read by the evaluation's one snapshot query, so a
command is never answered twice across evaluations:

- a comment with an applied command gets a `+1` unless the App's `+1` is already on it
  (`reactionGroups.viewerHasReacted`); that reaction also marks a `request` as carried out.
  A comment that holds no applied command any more (edited, or refused under a new map) loses
  the App's `+1` (`removeReaction`), so the mark never says "applied" of a refused command;
- refusals go into ONE comment per PR, found again by `REPLY_MARKER` among the App's own
  comments (`viewerDidAuthor`), and edited only when its text would change. Refused button
  clicks leave no comment to re-derive them from, so their lines are carried over from the
  reply's previous text (the last `MAX_CLICK_LINES`).
- two evaluations racing (two bot processes) can both create that reply: GitHub has no
  create-if-absent for comments. The oldest visible one is the reply; each younger one is hidden
  as a duplicate (`minimizeComment`, classifier DUPLICATE), as GitHub's own UI does. Minimized
  replies are no longer the App's reply, so nothing is hidden twice.

docs.github.com/en/rest/reactions/reactions, docs.github.com/en/rest/issues/comments,
docs.github.com/en/graphql/reference/mutations#minimizecomment,
docs.github.com/en/graphql/reference/mutations#removereaction
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import gidgethub.abc

from bot.github.queries import MINIMIZE_DUPLICATE_REPLY, REMOVE_APPLIED_MARK
from bot.policy.commands import CommandOutcome, already_reacted, usage
from bot.policy.conflicts import RefusedAct
from bot.policy.facts import Comment, PullRequestFacts
from bot.policy.markdown import code, mention, one_line, text

REPLY_MARKER = "<!-- coi-bot:reply -->"
CLICK_MARKER = "<!-- coi-bot:click -->"
THUMBS_UP_REST = "+1"
MAX_CLICK_LINES = 10
MAX_REPLY_CHARS = 65_536  # GitHub refuses a longer comment body (422)
MAX_QUOTED_CHARS = 300  # of a command or a reason quoted in a line: the comment holds the rest
ALL_CLEAR = "Every command on this pull request has been applied; nothing is refused any more."

# Hides a younger copy of the reply; validated against GitHub's schema in the tests.
ReplyWrite = Literal["created", "updated", "unchanged", "none"]


@dataclass(frozen=True, slots=True)
class Answers:
    reacted: tuple[int, ...]  # comment database ids given a `+1` now
    reply: ReplyWrite
    hidden: tuple[str, ...] = ()  # node ids of duplicate replies minimized now
    unmarked: tuple[str, ...] = ()  # node ids of comments whose `+1` was taken back now


def _age(comment: Comment) -> tuple[datetime, bool, int, str]:
    # createdAt has one-second precision: the REST id, increasing on GitHub, breaks ties.
    return (
        comment.created_at,
        comment.database_id is None,
        comment.database_id or 0,
        comment.id,
    )


def own_replies(facts: PullRequestFacts) -> tuple[Comment, ...]:
    """The App's visible marked comments on this PR, oldest first: the first is the reply."""
    return tuple(
        sorted(
            (
                comment
                for comment in facts.comments
                if comment.by_viewer and REPLY_MARKER in comment.body and not comment.is_minimized
            ),
            key=_age,
        )
    )


def own_reply(facts: PullRequestFacts) -> Comment | None:
    """The App's reply on this PR: its oldest visible own comment carrying the marker."""
    replies = own_replies(facts)
    return replies[0] if replies else None


def duplicate_replies(facts: PullRequestFacts) -> tuple[Comment, ...]:
    """Younger visible copies of the reply, left by evaluations that raced to create it."""
    return own_replies(facts)[1:]


def comments_to_react(
    facts: PullRequestFacts, outcomes: Iterable[CommandOutcome]
) -> tuple[int, ...]:
    """Database ids of comments with an applied command and no `+1` from the App yet."""
    by_id = {comment.id: comment for comment in facts.comments}
    due: list[int] = []
    for outcome in outcomes:
        comment = by_id.get(outcome.comment_id)
        if not outcome.applied or comment is None or comment.database_id is None:
            continue
        if not already_reacted(comment) and comment.database_id not in due:
            due.append(comment.database_id)
    return tuple(due)


def marks_to_remove(facts: PullRequestFacts, outcomes: Iterable[CommandOutcome]) -> tuple[str, ...]:
    """Node ids of comments with the App's `+1` and no applied command any more."""
    applied = {outcome.comment_id for outcome in outcomes if outcome.applied}
    return tuple(
        comment.id
        for comment in facts.comments
        if already_reacted(comment) and comment.id not in applied
    )


def _clipped(value: str) -> str:
    # One line of the reply; cut before escaping, so that no escape is cut in half.
    line = one_line(value)
    return line if len(line) <= MAX_QUOTED_CHARS else line[: MAX_QUOTED_CHARS - 1] + "…"


def _command_line(outcome: CommandOutcome) -> str:
    where = (
        f" ([comment](#issuecomment-{outcome.comment_database_id}))"
        if outcome.comment_database_id is not None
        else ""
    )
    # The reason is Markdown whose user text policy/commands.py already made inert.
    return (
        f"- {outcome.shown_author}{where}: {code(_clipped(outcome.command))}: "
        f"{_clipped(outcome.reason or 'refused')}"
    )


def click_line(outcome: CommandOutcome) -> str:
    return (
        f"- {mention(outcome.author)} clicked {text(outcome.command)}: "
        f"{_clipped(outcome.reason or 'refused')} {CLICK_MARKER}"
    )


def kept_click_lines(previous: str | None) -> list[str]:
    """The refused-click lines of the reply's previous text, in order."""
    if previous is None:
        return []
    return [line for line in previous.splitlines() if line.endswith(CLICK_MARKER)]


def _kept_line(act: RefusedAct) -> str:
    who = mention(act.actor) if act.actor else "Someone"
    return f"- {who} {_clipped(act.act)}: {_clipped(act.why)}; the declaration stands"


def reply_body(
    refused: Sequence[CommandOutcome],
    *,
    prefix: str,
    clicks: Sequence[str] = (),
    kept: Sequence[RefusedAct] = (),
    record: str = "",
) -> str:
    """The reply's whole text: current refusals of comments, then refused clicks, then syntax;
    then declarations whose removal did not count, with the App's record of those in force."""
    lines = [REPLY_MARKER]
    tail: list[str] = []
    if kept:
        tail += ["", "Declared conflicts removed by someone who may not remove them:", ""]
        tail += [_kept_line(act) for act in kept]
    if record:
        tail += ["", record]
    if not refused and not clicks:
        lines.append(ALL_CLEAR)
        return "\n".join(lines + tail) + "\n"
    lines += ["Some commands on this pull request could not be applied:", ""]
    tail = ["", f"Commands: {usage(prefix)}.", *tail]
    listed = [_command_line(outcome) for outcome in refused] + list(clicks)
    return "\n".join(lines + _fitting(listed, lines, tail) + tail) + "\n"


def _fitting(listed: list[str], head: list[str], tail: list[str]) -> list[str]:
    """As many of `listed` as fit in one comment with `head` and `tail`, then "... and N more"."""
    room = MAX_REPLY_CHARS - sum(len(line) + 1 for line in (*head, *tail)) - 1
    if sum(len(line) + 1 for line in listed) <= room:
        return listed
    room -= len(f"- ... and {len(listed)} more") + 1
    kept: list[str] = []
    for line in listed:
        if len(line) + 1 > room:
            break
        kept.append(line)
        room -= len(line) + 1
    return [*kept, f"- ... and {len(listed) - len(kept)} more"]


def desired_reply(
    facts: PullRequestFacts,
    outcomes: Sequence[CommandOutcome],
    *,
    prefix: str,
    refused_clicks: Sequence[CommandOutcome] = (),
    kept: Sequence[RefusedAct] = (),
    record: str = "",
) -> str | None:
    """What the reply should say now, or None when no reply is needed (and none exists)."""
    existing = own_reply(facts)
    refused = [outcome for outcome in outcomes if not outcome.applied]
    clicks = kept_click_lines(existing.body if existing else None)
    for outcome in refused_clicks:
        line = click_line(outcome)
        if line not in clicks:
            clicks.append(line)
    clicks = clicks[-MAX_CLICK_LINES:]
    if existing is None and not refused and not clicks and not kept:
        return None
    return reply_body(refused, prefix=prefix, clicks=clicks, kept=kept, record=record)


async def answer_commands(
    gh: gidgethub.abc.GitHubAPI,
    facts: PullRequestFacts,
    outcomes: Sequence[CommandOutcome],
    *,
    prefix: str,
    endpoint: str,
    refused_clicks: Sequence[CommandOutcome] = (),
    kept: Sequence[RefusedAct] = (),
    record: str = "",
) -> Answers:
    """React to newly applied commands, take back stale `+1`s, update the reply, hide duplicates.

    Nothing already done is done again: with one visible reply (the usual case) this writes at
    most once; a stale `+1` or a duplicate costs one mutation each, once. `kept`: removals of
    declarations that did not count, said in the reply with `record` (the declarations in force,
    see bot.policy.records), which the next snapshot reads back whatever the head commit.
    """
    url_vars: dict[str, str | int] = {"owner": facts.owner, "repo": facts.repo}
    reacted = comments_to_react(facts, outcomes)
    for comment_id in reacted:
        # 200 when the reaction already exists, 201 when created: idempotent either way.
        await gh.post(
            "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
            {**url_vars, "comment_id": comment_id},
            data={"content": THUMBS_UP_REST},
        )
    unmarked = marks_to_remove(facts, outcomes)
    for subject_id in unmarked:
        await gh.graphql(REMOVE_APPLIED_MARK, endpoint=endpoint, subjectId=subject_id)
    body = desired_reply(
        facts, outcomes, prefix=prefix, refused_clicks=refused_clicks, kept=kept, record=record
    )
    existing = own_reply(facts)
    reply: ReplyWrite
    if body is None:
        reply = "none"
    elif existing is None:
        await gh.post(
            "/repos/{owner}/{repo}/issues/{issue_number}/comments",
            {**url_vars, "issue_number": facts.number},
            data={"body": body},
        )
        reply = "created"
    elif existing.body.replace("\r\n", "\n") == body:  # GitHub may store CRLF
        reply = "unchanged"
    elif existing.database_id is None:
        raise ValueError(f"{facts.slug}: the App's reply {existing.id} has no REST id to edit")
    else:
        await gh.patch(
            "/repos/{owner}/{repo}/issues/comments/{comment_id}",
            {**url_vars, "comment_id": existing.database_id},
            data={"body": body},
        )
        reply = "updated"
    hidden = tuple(duplicate.id for duplicate in duplicate_replies(facts))
    for subject_id in hidden:
        # Two evaluations hiding the same copy at once is harmless: minimizing is idempotent.
        await gh.graphql(MINIMIZE_DUPLICATE_REPLY, endpoint=endpoint, subjectId=subject_id)
    return Answers(reacted, reply, hidden, unmarked)
