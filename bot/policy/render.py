"""The check run a verdict shows: title, Markdown summary and text, annotations, fingerprint.

Everything stays inside GitHub's documented limits (shared/github/LIMITS.md): summary and text at
most 65,535 characters, annotation titles at most 255, at most 50 annotations per request.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.affiliations.loader import MapError
from bot.policy.markdown import code, mention, named_company, no_mentions, one_line, text
from bot.policy.records import record_line
from bot.policy.trust import PushVerdict, held_line
from bot.policy.verdict import Approval, MapRef, Verdict

MAX_OUTPUT_CHARS = 65_535
MAX_TITLE_CHARS = 200  # no documented maximum: keep it to what GitHub's UI shows on one line
MAX_ANNOTATION_TITLE = 255
# GitHub takes 64 KB of message: 4,000 characters stay below it whatever their UTF-8 width.
MAX_ANNOTATION_MESSAGE = 4_000
MAX_ANNOTATIONS_PER_REQUEST = 50
FINGERPRINT_CHARS = 32
WAITING_TITLE = "Major change: waiting for an approval to judge"


@dataclass(frozen=True, slots=True)
class CheckOutput:
    conclusion: str
    title: str
    summary: str
    text: str
    annotations: tuple[dict[str, object], ...]
    fingerprint: str  # stored in the run's external_id: an unchanged output is never rewritten


def _cell(value: str) -> str:
    # One table cell: a pipe would open a new column, a newline would end the row.
    if value.isidentifier():  # the common case: a login or company id needs no escaping
        return value
    return " ".join(value.replace("\\", "\\\\").replace("|", "\\|").split())


def _markdown_cell(value: str) -> str:
    # Markdown built by policy/ with its user text already inert: keep it on one line and
    # give every pipe not yet escaped its backslash.
    return re.sub(r"(?<!\\)\|", r"\\|", one_line(value))


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _title(verdict: Verdict) -> str:
    if verdict.map_errors:
        title = (
            f"The affiliation map {verdict.map_ref.path} is invalid "
            f"({_plural(len(verdict.map_errors), 'error')})"
        )
    elif verdict.head_map_errors:
        title = f"This PR's affiliation map has {_plural(_head_map_error_count(verdict), 'error')}"
    elif verdict.waiting:
        title = WAITING_TITLE
    elif verdict.conclusion != "success":
        parts: list[str] = []
        if verdict.needs_independent_review:
            parts.append(
                f"needs {_plural(verdict.missing, 'independent approval')} from another company"
            )
        if verdict.protected is not None and not verdict.protected.satisfied:
            missing = verdict.protected.missing
            companies = "1 more company" if missing == 1 else f"{missing} more companies"
            parts.append(f"protected files need approvals from {companies}")
        title = "; ".join(parts)
        title = title[:1].upper() + title[1:]
    elif not verdict.classification.major:
        title = "Not a major change"
    elif verdict.independent_count and verdict.independent_count >= verdict.independent_required:
        title = "Major change with independent approval"
    else:
        title = "Major change, no approval from the authors' companies"
    title = " ".join(title.split())
    return title if len(title) <= MAX_TITLE_CHARS else title[: MAX_TITLE_CHARS - 1] + "…"


def _companies(names: dict[str, str], ids: Sequence[str]) -> str:
    # Company names are the map's text, inert; the id beside them tells look-alikes apart.
    return ", ".join(named_company(names.get(c, c), c) for c in ids) or "none on record"


def _shown(names: dict[str, str], ids: Sequence[str], shown_by: str | None) -> str:
    """Companies, and where they come from when GitHub showed them rather than the map."""
    listed = _companies(names, ids)
    # `shown_by` is policy's Markdown, its user text already inert (shown_companies.describe).
    return f"{listed}; {_markdown_cell(shown_by)}" if shown_by else listed


def _approval_row(approval: Approval, names: dict[str, str]) -> str:
    counted = "yes" if approval.counted else "no"
    tsc = "" if approval.tsc else " (not TSC)"
    stale = f" ({_markdown_cell(approval.stale)})" if approval.stale else ""
    return (
        f"| {mention(approval.reviewer)}{tsc} | {_when(approval.submitted_at)}{stale} "
        f"| {_shown(names, approval.companies, approval.shown_by)} | {counted} "
        f"| {_markdown_cell(approval.why_not or '')} |"
    )


def _author(display: str, login: str | None) -> str:
    # "@login", or "Name <email>" as a commit's author wrote it.
    return mention(login) if login is not None and display == f"@{login}" else text(display)


def _authors_section(verdict: Verdict, names: dict[str, str]) -> list[str]:
    lines = ["", "### Authors", "", "| Author | Found as | Companies |", "|---|---|---|"]
    for author in verdict.authors:
        known = "" if author.known else " (not in the map)"
        companies = _shown(names, author.companies, author.shown_by)
        if not author.known and not author.companies:
            known, companies = "", "unaffiliated, not in the map"
        lines.append(
            f"| {_author(author.display, author.login)}{known} | {', '.join(author.roles)} "
            f"| {companies} |"
        )
    if not verdict.authors:
        lines.append("| (none known) | | |")
    return lines


def _approvals_section(verdict: Verdict, names: dict[str, str]) -> list[str]:
    lines = ["", "### Approvals", ""]
    if not verdict.approvals:
        return [*lines, "No approvals yet."]
    lines += [
        "| Reviewer | Submitted | Companies then | Counted | Why not |",
        "|---|---|---|---|---|",
    ]
    lines += [_approval_row(a, names) for a in verdict.approvals]
    lines += [
        "",
        f"Independent approvals: {verdict.independent_count} "
        f"(required: {verdict.independent_required}, policy `require: {verdict.require}`).",
    ]
    return lines


def _classification_section(verdict: Verdict) -> list[str]:
    kind = "Major" if verdict.classification.major else "Not major"
    lines = ["", f"### {kind} change", ""]
    # Reasons are Markdown whose user text was made inert where it entered (policy/classify.py).
    lines += [f"- {one_line(reason)}" for reason in verdict.classification.reasons]
    lines.append(
        f"- {_plural(verdict.classification.changed_files, 'file')}, "
        f"{_plural(verdict.classification.changed_lines, 'line')} changed"
    )
    return lines


def _protected_section(verdict: Verdict, names: dict[str, str]) -> list[str]:
    protected = verdict.protected
    if protected is None:
        return []
    done = "satisfied" if protected.satisfied else f"{protected.missing} more needed"
    lines = [
        "",
        "### Protected files",
        "",
        f"Changed: {', '.join(code(p) for p in protected.files[:20])}"
        + (f" and {len(protected.files) - 20} more" if len(protected.files) > 20 else ""),
        "",
        f"Approvals from TSC members of {protected.required_companies} companies are needed; "
        f"approving companies: {_companies(names, protected.approving_companies)} "
        f"({done}).",
    ]
    if protected.own_entry_changed:
        who = ", ".join(mention(login) for login in protected.own_entry_changed)
        lines.append(f"Not counted, because this PR changes their own map entry: {who}.")
    return lines


def _declarations_section(verdict: Verdict) -> list[str]:
    if not verdict.declarations:
        return []
    return [
        "",
        "### Declared conflicts",
        "",
        "| Who | Declared by | Reason |",
        "|---|---|---|",
        *(
            f"| {mention(d.login)} | {mention(d.by)} | {text(d.reason or '')} |"
            for d in verdict.declarations
        ),
    ]


def _accounts_section(verdict: Verdict) -> list[str]:
    """Who was recognised by their GitHub id under a new login, and which map logins are now
    someone else's account (treated as people not in the map)."""
    if not verdict.accounts:
        return []
    lines = ["", "### Accounts", ""]
    for note in verdict.accounts:
        login, person = mention(note.login), mention(note.person)
        if note.renamed:
            lines.append(
                f"- {login} is {person} of the map (GitHub id {note.map_id}), recognised by id "
                "under a new login: update the map's login."
            )
        elif note.account_id is None:
            lines.append(
                f"- GitHub knows no account {login} now: {person} of the map (id {note.map_id}) "
                "was renamed or deleted, and is not asked to review under that login."
            )
        else:
            lines.append(
                f"- {login} is GitHub id {note.account_id}, not {person} of the map (id "
                f"{note.map_id}): the login now belongs to another account, treated as someone "
                "not in the map."
            )
    return lines


def _link(url: str | None) -> str:
    return f"[comment]({url})" if url and url.startswith("https://") else ""


def _refused_section(verdict: Verdict) -> list[str]:
    """Every act that asked for less review, or was refused, and had no effect: who, what, why."""
    # Reasons and acts are Markdown that policy/ built with its user text already inert.
    rows = [
        (o.shown_author, code(o.command), _markdown_cell(o.reason or ""), o.comment_url)
        for o in verdict.command_outcomes
        if not o.applied
    ]
    rows += [
        (
            mention(a.actor) if a.actor else "someone",
            _markdown_cell(a.act),
            _markdown_cell(a.why),
            a.url,
        )
        for a in verdict.refused_acts
    ]
    if not rows:
        return []
    lines = ["", "### Refused or ignored", "", "| Who | What | Why | Where |", "|---|---|---|---|"]
    lines += [f"| {who} | {what} | {why} | {_link(url)} |" for who, what, why, url in rows]
    return lines


def _requests_section(
    verdict: Verdict, requested: Sequence[str], no_candidate: bool, waiting_on: Sequence[str] = ()
) -> list[str]:
    if not (verdict.needs_independent_review or requested or no_candidate or waiting_on):
        return []
    lines = ["", "### Review requested", ""]
    if waiting_on and not requested:
        who = ", ".join(mention(login) for login in waiting_on)
        lines.append(
            f"The check waits on {who} (their review request was removed twice by someone "
            "conflicted on this pull request) or a decision by a TSC member with no conflict "
            "on it; nobody else is asked."
        )
    elif requested:
        lines.append("Asked: " + ", ".join(mention(login) for login in requested) + ".")
    elif no_candidate:
        lines.append(
            "No eligible third-party TSC member is left to ask: the TSC must act "
            "(ask someone by hand, or update the map)."
        )
    else:
        lines.append("Nobody asked yet.")
    return lines


def _head_map_error_count(verdict: Verdict) -> int:
    return len(verdict.head_map_errors) + verdict.head_map_errors_omitted


def _head_map_note(verdict: Verdict) -> list[str]:
    if not verdict.head_map_errors:
        return []
    return [
        "",
        f"This PR's new map has {_plural(_head_map_error_count(verdict), 'error')}, "
        "annotated on their lines; the default branch's map decided this verdict.",
    ]


def _summary(
    verdict: Verdict,
    *,
    names: dict[str, str],
    requested: Sequence[str],
    no_candidate: bool,
    waiting_on: Sequence[str] = (),
) -> str:
    lines = [f"**{verdict.conclusion}**: " + "; ".join(map(one_line, verdict.reasons)) + "."]
    if verdict.map_errors:
        lines += ["", "No pull request can be judged until the map is fixed; see the details."]
        lines += ["", _map_line(verdict)]
        return "\n".join(lines)
    lines += _authors_section(verdict, names)
    lines += _approvals_section(verdict, names)
    lines += _classification_section(verdict)
    lines += _protected_section(verdict, names)
    lines += _declarations_section(verdict)
    lines += _refused_section(verdict)
    lines += _accounts_section(verdict)
    lines += _requests_section(verdict, requested, no_candidate, waiting_on)
    lines += _out_of_date(verdict)
    lines += _head_map_note(verdict)
    lines += ["", _map_line(verdict)]
    return "\n".join(lines)


def _out_of_date(verdict: Verdict) -> list[str]:
    """What GitHub shows against the map, with the edit that would settle each (issue 14)."""
    if verdict.evidence == "ignore" or not verdict.contradictions:
        return []
    lines = [
        "",
        "### The map may be out of date",
        "",
        "| Person | The map says | GitHub shows | Fix in the map |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {mention(found.login)} | {text(found.map_says)} "
        f"| {text('; '.join(found.github_shows))} | {_markdown_cell(found.fix)} |"
        for found in verdict.contradictions
    ]
    if verdict.evidence == "block":
        lines += ["", "Policy `evidence: block`: this evidence also decides independence."]
    else:
        lines += ["", "Policy `evidence: warn`: the verdict follows the map; fix the map to agree."]
    return lines


def _map_line(verdict: Verdict) -> str:
    return decided_by(verdict.map_ref)


def decided_by(ref: MapRef) -> str:
    """The line that closes a summary: which map decided (the reconciler reads it back)."""
    blob = f" at blob `{ref.blob_sha}`" if ref.blob_sha else ""
    line = f"Decided by the map {code(ref.path)}{blob} ({ref.source})."
    if ref.branch:  # after the sentence the reconciler reads back
        line += f" {default_branch_note(ref.branch)}"
    if ref.unread_owner is not None:
        line = f"{unread_owner_line(ref)}\n\n{line}"
    # Before the map line, which closes the summary (bot.jobs.reconciler reads it there).
    return line if ref.held is None else f"{held_line(ref.held)}\n\n{line}"


def unread_owner_line(ref: MapRef) -> str:
    """Why the owner's `.github` map did not decide: the App cannot read that repository."""
    instead = {"repository": "the repository's map", "owner": "the owner's map"}
    return (
        f"The owner's repository {code(ref.unread_owner or '')} could not be read (the App is not "
        "installed there, or it does not exist), so no map of it was used: "
        f"{instead.get(ref.source, 'the bundled map')} decided instead."
    )


def default_branch_note(branch: str) -> str:
    """Why a PR into another branch is judged by this map (one map for people)."""
    return (
        f"It is the map on the default branch {code(branch)}, which judges every pull request "
        "whatever its base."
    )


def _text(verdict: Verdict) -> str:
    # First, so that cutting the text to GitHub's limit never drops the App's record.
    record = record_line(verdict.declarations)
    lines: list[str] = [record, ""] if record else []
    if verdict.map_errors or verdict.head_map_errors:
        lines += ["### Map errors", ""]
        lines += [f"- {code(str(e))}" for e in (*verdict.map_errors, *verdict.head_map_errors)]
        if verdict.head_map_errors_omitted:
            lines.append(f"- ... and {verdict.head_map_errors_omitted} more")
        unannotated = len(_errors_to_annotate(verdict)) - MAX_ANNOTATIONS_PER_REQUEST
        if unannotated > 0:
            lines += [
                "",
                f"The first {MAX_ANNOTATIONS_PER_REQUEST} errors are annotated on their lines; "
                f"{unannotated} more are listed here only.",
            ]
        lines.append("")
    if verdict.command_outcomes:
        lines += ["### Commands", "", "| Comment | By | Command | Result |", "|---|---|---|---|"]
        for outcome in verdict.command_outcomes:
            result = "applied" if outcome.applied else f"refused: {outcome.reason}"
            lines.append(
                f"| {code(outcome.comment_id)} | {outcome.shown_author} "
                f"| {code(outcome.command)} | {_markdown_cell(result)} |"
            )
        lines.append("")
    if verdict.classification.matched_files:
        lines += ["### Files matched by major-change paths", ""]
        lines += [f"- {code(path)}" for path in verdict.classification.matched_files]
        lines.append("")
    if verdict.files_truncated or verdict.commits_truncated:
        lines.append(
            "GitHub lists at most 3,000 files and 250 commits of a pull request; this one has "
            "more, so some authors or files may be missing above."
        )
    if len(lines) == (2 if record else 0):
        lines.append("Nothing more to show.")
    return "\n".join(lines).rstrip() + "\n"


def fit(markdown: str, *, limit: int = MAX_OUTPUT_CHARS) -> str:
    """Cut Markdown at a line boundary to at most `limit` characters, saying what was left out."""
    if len(markdown) <= limit:
        return markdown
    note_template = "\n\n… {} more characters not shown (GitHub allows {:,} here)."
    note = note_template.format(len(markdown), limit)
    room = limit - len(note)
    cut = markdown.rfind("\n", 0, room)
    kept = markdown[: cut if cut > 0 else room]
    return kept + note_template.format(len(markdown) - len(kept), limit)


def _errors_to_annotate(verdict: Verdict) -> list[MapError]:
    errors: list[MapError] = list(verdict.head_map_errors)
    if verdict.map_ref.source == "repository":
        # Only a map in this repository has lines GitHub can annotate.
        errors = [*verdict.map_errors, *errors]
    return errors


def _annotations(verdict: Verdict) -> tuple[dict[str, object], ...]:
    """At most one request's worth: every further request would be one more write."""
    annotations: list[dict[str, object]] = []
    for error in _errors_to_annotate(verdict)[:MAX_ANNOTATIONS_PER_REQUEST]:
        line = max(1, error.line)
        annotation: dict[str, object] = {
            "path": error.path,
            "start_line": line,
            "end_line": line,
            "annotation_level": "failure",
            "message": no_mentions(error.message)[:MAX_ANNOTATION_MESSAGE],
            "title": "Invalid affiliation map"[:MAX_ANNOTATION_TITLE],
        }
        if error.column >= 1:
            annotation["start_column"] = error.column
            annotation["end_column"] = error.column
        annotations.append(annotation)
    return tuple(annotations)


def _fingerprint(*parts: object) -> str:
    encoded = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()[:FINGERPRINT_CHARS]


def render(
    verdict: Verdict,
    *,
    check_name: str,
    requested: Sequence[str] = (),
    no_candidate: bool = False,
    waiting_on: Sequence[str] = (),
) -> CheckOutput:
    """The check run for a verdict. `requested`: who was asked to review on this evaluation;
    `no_candidate`: a review is needed but nobody eligible is left to ask; `waiting_on`:
    reviewers the check waits on (see bot.policy.removals)."""
    names = dict(verdict.company_names)
    title = _title(verdict)
    summary = fit(
        _summary(
            verdict,
            names=names,
            requested=requested,
            no_candidate=no_candidate,
            waiting_on=waiting_on,
        )
    )
    text = fit(_text(verdict))
    annotations = _annotations(verdict)
    fingerprint = _fingerprint(check_name, verdict.conclusion, title, summary, text, annotations)
    return CheckOutput(
        conclusion=verdict.conclusion,
        title=title,
        summary=summary,
        text=text,
        annotations=annotations,
        fingerprint=fingerprint,
    )


def annotation_batches(
    annotations: Sequence[dict[str, object]], size: int = MAX_ANNOTATIONS_PER_REQUEST
) -> list[list[dict[str, object]]]:
    """Annotations in requests of at most `size` (GitHub: 50), in order; [] when there are none."""
    if not 1 <= size <= MAX_ANNOTATIONS_PER_REQUEST:
        raise ValueError(f"batch size must be 1 to {MAX_ANNOTATIONS_PER_REQUEST}, got {size}")
    return [list(annotations[i : i + size]) for i in range(0, len(annotations), size)]


# Worst first: a merge group, or a commit several PRs share, shows the worst conclusion among
# its PRs; a PR still waiting for a verdict holds the rest (it blocks, where `neutral` passes).
CONCLUSION_RANK = {
    "failure": 4,
    "action_required": 3,
    "in_progress": 2,
    "neutral": 1,
    "success": 0,
}


@dataclass(frozen=True, slots=True)
class GroupEntry:
    """One PR of a merge group: its own check's conclusion, title and summary, or why it could
    not be judged (closed, unreadable: `failure`)."""

    number: int
    conclusion: str
    title: str
    summary: str = ""


def _rank(conclusion: str) -> int:
    return CONCLUSION_RANK.get(conclusion, CONCLUSION_RANK["failure"])


def _clip_title(title: str) -> str:
    return title if len(title) <= MAX_TITLE_CHARS else title[: MAX_TITLE_CHARS - 1] + "…"


def render_merge_group(entries: Sequence[GroupEntry], *, check_name: str) -> CheckOutput:
    """The check on a merge group's head: `success` only when every PR in it passes, else the
    worst conclusion among them, with each PR's conclusion and each failing PR's own summary."""
    if not entries:
        title = "This merge group names no pull request"
        summary = (
            "**failure**: the merge group's head ref names no pull request, so nothing in it "
            "could be judged."
        )
        fingerprint = _fingerprint(check_name, "failure", title, summary)
        return CheckOutput("failure", title, summary, "", (), fingerprint)
    return render_together(entries, check_name=check_name, place="in this merge group", once=True)


def render_together(
    entries: Sequence[GroupEntry],
    *,
    check_name: str,
    place: str,
    footer: str = "",
    once: bool = False,
) -> CheckOutput:
    """One check for several PRs judged together (`place`: "in this merge group", ...): the
    worst conclusion among them, with each PR's conclusion and each failing PR's own summary;
    `footer` closes the summary. `once`: nothing judges them again (a merge group), so a PR
    still waiting for an approval fails them rather than leaves them `in_progress`."""
    conclusion = max((entry.conclusion for entry in entries), key=_rank)
    if conclusion not in CONCLUSION_RANK:
        conclusion = "failure"  # a conclusion this renderer does not know never passes
    # An `in_progress` group check would hold the queue until its timeout: fail it at once.
    settled = once and conclusion == "in_progress"
    if settled:
        conclusion = "action_required"
    failing = [entry for entry in entries if entry.conclusion != "success"]
    total = _plural(len(entries), "pull request")
    if not failing:
        title = (
            f"#{entries[0].number} passes: {entries[0].title}"
            if len(entries) == 1
            else f"All {total} {place} pass"
        )
        head = f"**success**: every pull request {place} passes ({total})."
    else:
        title = (
            f"#{failing[0].number}: {failing[0].title}"
            if len(failing) == 1
            else f"{len(failing)} of {total} do not pass: "
            + ", ".join(f"#{entry.number}" for entry in failing)
        )
        head = (
            f"**{conclusion}**: {len(failing)} of {total} {place} "
            f"{'does' if len(failing) == 1 else 'do'} not pass; they pass only when "
            "every one does."
        )
    if settled:
        head += (
            " A pull request still waiting for an approval to judge cannot pass: this group "
            "is judged once, when it is queued."
        )
    lines = [head, "", "| Pull request | Conclusion | Verdict |", "|---|---|---|"]
    lines += [f"| #{e.number} | {e.conclusion} | {_cell(e.title)} |" for e in entries]
    for entry in failing:
        lines += ["", f"## #{entry.number}: {entry.conclusion}", ""]
        lines.append(entry.summary or entry.title)
    if footer:
        lines += ["", footer]
    summary = fit("\n".join(lines))
    title = _clip_title(title)
    fingerprint = _fingerprint(check_name, conclusion, title, summary)
    return CheckOutput(conclusion, title, summary, "", (), fingerprint)


def render_map_push(verdict: PushVerdict, *, check_name: str) -> CheckOutput:
    """The check on a pushed commit that changed the map in force (bot.policy.trust)."""
    summary = fit(verdict.summary)
    fingerprint = _fingerprint(check_name, verdict.conclusion, verdict.title, summary)
    return CheckOutput(verdict.conclusion, verdict.title, summary, "", (), fingerprint)
