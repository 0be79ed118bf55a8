"""The check run a verdict shows: title, Markdown summary and text, annotations, fingerprint.

Everything stays inside GitHub's documented limits (shared/github/LIMITS.md): summary and text at
most 65,535 characters, annotation titles at most 255, at most 50 annotations per request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.affiliations.loader import MapError
from bot.policy.trust import PushVerdict, held_line
from bot.policy.verdict import Approval, Verdict

MAX_OUTPUT_CHARS = 65_535
MAX_TITLE_CHARS = 200  # no documented maximum: keep it to what GitHub's UI shows on one line
MAX_ANNOTATION_TITLE = 255
MAX_ANNOTATIONS_PER_REQUEST = 50
FINGERPRINT_CHARS = 32


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
        title = f"This PR's affiliation map has {_plural(len(verdict.head_map_errors), 'error')}"
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
    return ", ".join(names.get(c, c) for c in ids) or "none on record"


def _approval_row(approval: Approval, names: dict[str, str]) -> str:
    counted = "yes" if approval.counted else "no"
    tsc = "" if approval.tsc else " (not TSC)"
    return (
        f"| @{_cell(approval.reviewer)}{tsc} | {_when(approval.submitted_at)} "
        f"| {_cell(_companies(names, approval.companies))} | {counted} "
        f"| {_cell(approval.why_not or '')} |"
    )


def _authors_section(verdict: Verdict, names: dict[str, str]) -> list[str]:
    lines = ["", "### Authors", "", "| Author | Found as | Companies |", "|---|---|---|"]
    for author in verdict.authors:
        known = "" if author.known else " (not in the map)"
        lines.append(
            f"| {_cell(author.display)}{known} | {', '.join(author.roles)} "
            f"| {_cell(_companies(names, author.companies))} |"
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
    lines += [f"- {_cell(reason)}" for reason in verdict.classification.reasons]
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
        f"Changed: {', '.join(f'`{_cell(p)}`' for p in protected.files[:20])}"
        + (f" and {len(protected.files) - 20} more" if len(protected.files) > 20 else ""),
        "",
        f"Approvals from TSC members of {protected.required_companies} companies are needed; "
        f"approving companies: {_cell(_companies(names, protected.approving_companies))} "
        f"({done}).",
    ]
    if protected.own_entry_changed:
        who = ", ".join(f"@{login}" for login in protected.own_entry_changed)
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
            f"| @{_cell(d.login)} | @{_cell(d.by)} | {_cell(d.reason or '')} |"
            for d in verdict.declarations
        ),
    ]


def _requests_section(verdict: Verdict, requested: Sequence[str], no_candidate: bool) -> list[str]:
    if not (verdict.needs_independent_review or requested or no_candidate):
        return []
    lines = ["", "### Review requested", ""]
    if requested:
        lines.append("Asked: " + ", ".join(f"@{_cell(login)}" for login in requested) + ".")
    elif no_candidate:
        lines.append(
            "No eligible third-party TSC member is left to ask: the TSC must act "
            "(ask someone by hand, or update the map)."
        )
    else:
        lines.append("Nobody asked yet.")
    return lines


def _head_map_note(verdict: Verdict) -> list[str]:
    if not verdict.head_map_errors:
        return []
    return [
        "",
        f"This PR's new map has {_plural(len(verdict.head_map_errors), 'error')}, "
        "annotated on their lines; the base branch's map decided this verdict.",
    ]


def _summary(
    verdict: Verdict,
    *,
    names: dict[str, str],
    requested: Sequence[str],
    no_candidate: bool,
) -> str:
    lines = [f"**{verdict.conclusion}**: " + "; ".join(verdict.reasons) + "."]
    if verdict.map_errors:
        lines += ["", "No pull request can be judged until the map is fixed; see the details."]
        lines += ["", _map_line(verdict)]
        return "\n".join(lines)
    lines += _authors_section(verdict, names)
    lines += _approvals_section(verdict, names)
    lines += _classification_section(verdict)
    lines += _protected_section(verdict, names)
    lines += _declarations_section(verdict)
    lines += _requests_section(verdict, requested, no_candidate)
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
        f"| @{_cell(found.login)} | {_cell(found.map_says)} "
        f"| {_cell('; '.join(found.github_shows))} | {_cell(found.fix)} |"
        for found in verdict.contradictions
    ]
    if verdict.evidence == "block":
        lines += ["", "Policy `evidence: block`: this evidence also decides independence."]
    else:
        lines += ["", "Policy `evidence: warn`: the verdict follows the map; fix the map to agree."]
    return lines


def _map_line(verdict: Verdict) -> str:
    ref = verdict.map_ref
    blob = f" at blob `{ref.blob_sha}`" if ref.blob_sha else ""
    line = f"Decided by the map `{_cell(ref.path)}`{blob} ({ref.source})."
    # Before the map line, which closes the summary (bot.jobs.reconciler reads it there).
    return line if ref.held is None else f"{held_line(ref.held)}\n\n{line}"


def _text(verdict: Verdict) -> str:
    lines: list[str] = []
    if verdict.map_errors or verdict.head_map_errors:
        lines += ["### Map errors", ""]
        lines += [f"- `{_cell(str(e))}`" for e in (*verdict.map_errors, *verdict.head_map_errors)]
        lines.append("")
    if verdict.command_outcomes:
        lines += ["### Commands", "", "| Comment | By | Command | Result |", "|---|---|---|---|"]
        for outcome in verdict.command_outcomes:
            result = "applied" if outcome.applied else f"refused: {outcome.reason}"
            lines.append(
                f"| {_cell(outcome.comment_id)} | @{_cell(outcome.author)} "
                f"| `{_cell(outcome.command)}` | {_cell(result)} |"
            )
        lines.append("")
    if verdict.classification.matched_files:
        lines += ["### Files matched by major-change paths", ""]
        lines += [f"- `{_cell(path)}`" for path in verdict.classification.matched_files]
        lines.append("")
    if verdict.files_truncated or verdict.commits_truncated:
        lines.append(
            "GitHub lists at most 3,000 files and 250 commits of a pull request; this one has "
            "more, so some authors or files may be missing above."
        )
    if not lines:
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


def _annotations(verdict: Verdict) -> tuple[dict[str, object], ...]:
    errors: list[MapError] = list(verdict.head_map_errors)
    if verdict.map_ref.source == "repository":
        # Only a map in this repository has lines GitHub can annotate.
        errors = [*verdict.map_errors, *errors]
    annotations: list[dict[str, object]] = []
    for error in errors:
        line = max(1, error.line)
        annotation: dict[str, object] = {
            "path": error.path,
            "start_line": line,
            "end_line": line,
            "annotation_level": "failure",
            "message": error.message[:60_000],
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
) -> CheckOutput:
    """The check run for a verdict. `requested`: who was asked to review on this evaluation;
    `no_candidate`: a review is needed but nobody eligible is left to ask."""
    names = dict(verdict.company_names)
    title = _title(verdict)
    summary = fit(_summary(verdict, names=names, requested=requested, no_candidate=no_candidate))
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


# Worst first: a merge group shows the worst conclusion among its PRs.
CONCLUSION_RANK = {"failure": 3, "action_required": 2, "neutral": 1, "success": 0}


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
    conclusion = max((entry.conclusion for entry in entries), key=_rank)
    if conclusion not in CONCLUSION_RANK:
        conclusion = "failure"  # a conclusion this renderer does not know never passes
    failing = [entry for entry in entries if entry.conclusion != "success"]
    total = _plural(len(entries), "pull request")
    if not failing:
        title = (
            f"#{entries[0].number} passes: {entries[0].title}"
            if len(entries) == 1
            else f"All {total} in this merge group pass"
        )
        head = f"**success**: every pull request in this merge group passes ({total})."
    else:
        title = (
            f"#{failing[0].number}: {failing[0].title}"
            if len(failing) == 1
            else f"{len(failing)} of {total} do not pass: "
            + ", ".join(f"#{entry.number}" for entry in failing)
        )
        head = (
            f"**{conclusion}**: {len(failing)} of {total} in this merge group "
            f"{'does' if len(failing) == 1 else 'do'} not pass; the group passes only when "
            "every one does."
        )
    lines = [head, "", "| Pull request | Conclusion | Verdict |", "|---|---|---|"]
    lines += [f"| #{e.number} | {e.conclusion} | {_cell(e.title)} |" for e in entries]
    for entry in failing:
        lines += ["", f"## #{entry.number}: {entry.conclusion}", ""]
        lines.append(entry.summary or entry.title)
    summary = fit("\n".join(lines))
    title = _clip_title(title)
    fingerprint = _fingerprint(check_name, conclusion, title, summary)
    return CheckOutput(conclusion, title, summary, "", (), fingerprint)


def render_map_push(verdict: PushVerdict, *, check_name: str) -> CheckOutput:
    """The check on a pushed commit that changed the map in force (bot.policy.trust)."""
    summary = fit(verdict.summary)
    fingerprint = _fingerprint(check_name, verdict.conclusion, verdict.title, summary)
    return CheckOutput(verdict.conclusion, verdict.title, summary, "", (), fingerprint)
