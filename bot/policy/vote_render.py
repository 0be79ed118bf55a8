"""What a vote shows: the `TSC vote` check run's title and summary, and the bot's comments.

The same Markdown serves the live check run, the final comment and, on an issue, the one comment
edited in place. User text (reasons) goes into code spans: never markup, never a mention.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.affiliations.index import AffiliationMap
from bot.policy.ballot_records import ballot_line
from bot.policy.facts import Comment, RecordedBallot
from bot.policy.markdown import as_shown, code, text
from bot.policy.render import MAX_OUTPUT_CHARS, MAX_TITLE_CHARS, fit
from bot.policy.vote_state import VoteState
from bot.policy.votes import Tally, VoterRow, show

# Found again among the App's own comments: the final tally of the vote opened at that moment.
FINAL_MARKER = "<!-- coi-bot:vote-final {opened} {conclusion} -->"
CANCEL_MARKER = "<!-- coi-bot:vote-cancelled {opened} -->"
LABEL_MARKER = "<!-- coi-bot:vote-label {actor} {at} -->"
# The one comment that shows a vote's tally on an issue, edited in place.
LIVE_MARKER = "<!-- coi-bot:vote-live -->"
# The map the vote opened under (its blob and where it was found): its rules hold to the end.
OPENED_MARKER = "<!-- coi-bot:vote-opened {opened} blob={blob} source={source} -->"
_OPENED = re.compile(r"<!-- coi-bot:vote-opened (\S+) blob=(\S+) source=(\S+) -->")
# In an open vote's summary: the reconciler finds open votes and their close after a restart.
OPEN_VOTE_MARKER = "<!-- coi-bot:vote-open closes={closes} -->"
_OPEN_VOTE = re.compile(r"<!-- coi-bot:vote-open closes=(\S+) -->")


def open_vote_marker(closes_at: datetime) -> str:
    return OPEN_VOTE_MARKER.format(closes=closes_at.strftime("%Y-%m-%dT%H:%M:%S%z"))


def open_vote_closes(summaries: Iterable[str | None]) -> datetime | None:
    """The close time an open vote's check run carries, among a head's run summaries."""
    for summary in summaries:
        found = _OPEN_VOTE.search(summary or "")
        if found is not None:
            try:
                return datetime.strptime(found.group(1), "%Y-%m-%dT%H:%M:%S%z")
            except ValueError:
                return None
    return None


def app_record(comment: Comment) -> bool:
    """Whether a comment is a record as the App wrote it. Anyone with write access may edit
    any comment, the App's too: once someone else edited it (an unknown editor included), its
    text is theirs, and a forged final tally or opening map must not be trusted."""
    if not comment.by_viewer:
        return False
    if comment.last_edited_at is None:
        return True
    return comment.editor is not None and comment.edited_by_other is None


@dataclass(frozen=True, slots=True)
class VoteOutput:
    status: str  # in_progress | completed
    conclusion: str | None  # success, failure, cancelled; None while open
    title: str
    summary: str
    fingerprint: str
    # The ballots counted, hidden in the run's text (an issue's live comment): read back next time.
    record: str = ""


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _code(value: str) -> str:
    """User text as one code span on one line: no markup, no mention, no table break."""
    return code(value) if value.strip() else ""


def _cell(value: str) -> str:
    # Role and company names come from the map in force: one cell, its pipes escaped.
    return " ".join(value.replace("|", "\\|").split())


def _why(value: str) -> str:
    # Why a vote does not count may quote a nominee's OWNERS.md line or a declared reason.
    return text(value)


def _row(row: VoterRow, amap: AffiliationMap) -> str:
    who = row.voter
    companies = ", ".join(amap.company_name(c) for c in who.companies) or "none on record"
    vote: str = row.choice or "not voted"
    if row.counted_as is not None and row.counted_as != row.choice:
        vote += f" (counted as {row.counted_as})"
    reason = f" {_code(row.reason)}" if row.reason else ""
    return (
        f"| @{who.login} | {_cell(who.role or 'none')} | {who.weight} | {_cell(companies)} "
        f"| {vote}{reason} | {show(row.counted)} | {_why(row.why_not or '')} |"
    )


def _title(state: VoteState, tally: Tally) -> str:
    counts = f"yes {show(tally.yes)}, no {show(tally.no)}, abstain {show(tally.abstain)}"
    if state.status == "cancelled":
        title = f"Vote cancelled by @{state.cancelled_by}"
    elif state.status == "open":
        title = f"Vote open: {counts}; closes {_when(tally.closes_at)}"
    else:
        title = f"Vote {tally.outcome}: {counts}"
    return title[:MAX_TITLE_CHARS]


def vote_summary(state: VoteState, tally: Tally, amap: AffiliationMap) -> str:
    """The tally in Markdown: the rule and why, each voter, each company, quorum, the close."""
    rules = tally.rules
    base = "the yes and no weight cast" if rules.of == "cast" else "all weight that may vote"
    cap = "none" if rules.company_cap is None else str(rules.company_cap)
    lines = [
        f"**{tally.reason}**",
        "",
        f"Rule: {rules.why}: yes must be {rules.threshold_phrase} of {base}; quorum "
        f"{show(rules.quorum)} of the eligible weight; company cap {cap}; conflicted voters "
        f"{'abstain' if rules.conflicted == 'abstain' else 'count'}.",
        f"Opened by @{state.opened_by} at {_when(state.opened_at or tally.closes_at)}; "
        + (
            f"closed at {_when(state.closed_at)}."
            if state.closed_at is not None and state.status != "cancelled"
            else f"closes at {_when(tally.closes_at)}."
        ),
        "",
        "| Voter | Role | Weight | Company | Vote | Counted | Why not |",
        "| --- | --- | ---: | --- | --- | ---: | --- |",
    ]
    lines += [_row(row, amap) for row in tally.rows]
    if state.kept:
        lines += ["", *(f"- {text(why)}." for why in state.kept)]
    lines += [
        "",
        "| Company | Yes cast | No cast | Abstain | Yes counted | No counted |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {_cell(group.name)} | {group.yes_cast} | {group.no_cast} | {group.abstain_cast} "
        f"| {show(group.yes)} | {show(group.no)} |"
        for group in tally.groups
    ]
    lines += [
        "",
        f"Totals counted: yes {show(tally.yes)}, no {show(tally.no)}, abstain "
        f"{show(tally.abstain)}; eligible weight {show(tally.eligible)}.",
        f"Quorum: {tally.voted} of {tally.electorate_weight} eligible weight voted, "
        f"{show(tally.quorum_needed)} needed ({'met' if tally.quorum_met else 'not met'}).",
    ]
    # Room for the open-vote marker after the cut.
    return fit("\n".join(lines) + "\n", limit=MAX_OUTPUT_CHARS - 100)


def vote_output(state: VoteState, amap: AffiliationMap) -> VoteOutput:
    """The check run for a vote that exists (open, closed or cancelled)."""
    tally = state.tally
    if tally is None:
        raise ValueError("a vote's check run needs its tally: no vote is open here")
    title = _title(state, tally)
    summary = vote_summary(state, tally, amap)
    if state.status == "open":
        summary += f"\n{open_vote_marker(tally.closes_at)}\n"
        status, conclusion = "in_progress", None
    elif state.status == "cancelled":
        status, conclusion = "completed", "cancelled"
    else:
        status, conclusion = "completed", "success" if tally.outcome == "passed" else "failure"
    record = ballot_line(state.ballots) if state.status == "open" else ""
    # Beyond half of what GitHub takes (some 140 ballots) none is recorded: an issue's one
    # comment must hold the record and the tally both.
    if len(record) > MAX_OUTPUT_CHARS // 2:
        record = ""
    digest = output_digest(status, conclusion, title, summary, record)
    return VoteOutput(status, conclusion, title, summary, digest, record)


def output_digest(
    status: str, conclusion: str | None, title: str, summary: str, record: str = ""
) -> str:
    """What the run's `external_id` keeps: an unchanged output is never written again."""
    text = f"{status}\n{conclusion}\n{title}\n{summary}"
    if record:  # a tally without ballots keeps the digest it had before ballots were recorded
        text += f"\n{record}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def frozen_output(body: str, conclusion: str) -> VoteOutput:
    """A closed vote's run, read back from its final comment: the result as it was closed."""
    _, _, rest = body.replace("\r\n", "\n").partition("\n")
    heading, _, summary = rest.partition("\n\n")
    title = heading.removeprefix("### ")
    return VoteOutput(
        "completed",
        conclusion,
        title,
        summary,
        output_digest("completed", conclusion, title, summary),
    )


def final_comment(state: VoteState, output: VoteOutput) -> str:
    """The one comment that closes a vote, with the marker that finds it again."""
    assert state.opened_at is not None
    marker = FINAL_MARKER.format(opened=stamp(state.opened_at), conclusion=output.conclusion)
    return f"{marker}\n### {output.title}\n\n{output.summary}"


def cancel_comment(state: VoteState, label: str) -> str:
    assert state.opened_at is not None
    marker = CANCEL_MARKER.format(opened=stamp(state.opened_at))
    return f"{marker}\n@{state.cancelled_by} removed `{label}`: the vote is cancelled.\n"


# The App's reply when a ballot stands although its comment is gone: its record survives pushes.
KEPT_PREFIX = "<!-- coi-bot:ballot-kept "
KEPT_MARKER = KEPT_PREFIX + "{comment} -->"


def kept_comment(ballot: RecordedBallot, why: str) -> str:
    marker = KEPT_MARKER.format(comment=ballot.comment_id)
    return f"{marker}\n{text(why)}.\n{ballot_line([ballot])}\n"


def label_comment(actor: str, at: datetime, why: str) -> str:
    marker = LABEL_MARKER.format(actor=actor, at=stamp(at))
    return f"{marker}\n@{actor}: {why}.\n"


def parse_final(body: str) -> tuple[str, str] | None:
    """(opened stamp, conclusion) of a final comment's marker, or None for any other text."""
    first = body.split("\n", 1)[0].strip()
    prefix, suffix = "<!-- coi-bot:vote-final ", " -->"
    if not (first.startswith(prefix) and first.endswith(suffix)):
        return None
    parts = first[len(prefix) : -len(suffix)].split()
    return (parts[0], parts[1]) if len(parts) == 2 else None


def opened_comment(state: VoteState, *, blob: str | None, source: str, prefix: str) -> str:
    """The one comment that says a vote opened, under which rules, until when."""
    assert state.opened_at is not None
    assert state.tally is not None
    marker = OPENED_MARKER.format(opened=stamp(state.opened_at), blob=blob or "-", source=source)
    rules = state.tally.rules
    return (
        f"{marker}\n@{state.opened_by} opened a TSC vote: yes must be {rules.threshold_phrase} "
        f"({rules.why}). It closes at {_when(state.tally.closes_at)}. Vote with "
        f"`{prefix} vote yes|no|abstain [reason]`; the check run shows the tally.\n"
    )


def parse_opened(body: str) -> tuple[str, str | None, str] | None:
    """(opened stamp, map blob or None, map source) of an opening comment's marker."""
    found = _OPENED.match(body)
    if found is None:
        return None
    blob = found.group(2)
    return found.group(1), None if blob == "-" else blob, found.group(3)


@dataclass(frozen=True, slots=True)
class ClosedVote:
    """A vote as its final comment tells it, for the report."""

    opened: str  # the opening's stamp
    conclusion: str  # success, failure
    title: str
    abstentions: tuple[tuple[str, str], ...]  # (login, why) of each conflicted abstention


_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def closed_votes(bodies: Iterable[str]) -> tuple[ClosedVote, ...]:
    """The votes closed on a PR or issue, from the App's final comments among `bodies`."""
    found: list[ClosedVote] = []
    for body in bodies:
        parsed = parse_final(body)
        if parsed is None:
            continue
        output = frozen_output(body, parsed[1])
        abstentions = conflicted_abstentions(output.summary)
        found.append(ClosedVote(parsed[0], parsed[1], output.title, abstentions))
    return tuple(found)


def conflicted_abstentions(summary: str) -> tuple[tuple[str, str], ...]:
    """(login, why) of each vote a tally's summary shows counted as an abstention."""
    abstentions = []
    for line in summary.splitlines():
        cells = [cell.strip() for cell in _UNESCAPED_PIPE.split(line)[1:-1]]
        if len(cells) == 7 and "(counted as abstain)" in cells[4]:
            abstentions.append((cells[0].removeprefix("@"), as_shown(cells[6])))
    return tuple(abstentions)
