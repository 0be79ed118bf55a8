"""What `coi-bot audit` prints: text for a TSC meeting, JSON for scripts (keys in README.md).

Printing only: the facts come from `bot.audit_github`, the findings from the pure rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.affiliations.audit_rules import (
    SEVERITIES,
    AuditFacts,
    EditError,
    Finding,
    MapEdit,
    suggestion_diff,
)
from bot.audit_github import AuditedMap
from bot.policy.trust import LandedChange

JSON_FORMAT = 1  # bumped when a key of the --json output changes meaning


@dataclass(frozen=True, slots=True)
class AuditResult:
    repository: str
    day: date
    since: date
    audited: AuditedMap
    facts: AuditFacts
    profiles_read: int
    pull_requests_read: int
    findings: tuple[Finding, ...]
    history: tuple[LandedChange, ...] | None = None  # with --history

    @property
    def status(self) -> int:
        """0 when nothing is above info, 1 otherwise."""
        return 1 if any(f.severity != "info" for f in self.findings) else 0


def _map_line(audited: AuditedMap) -> str:
    ref = audited.ref
    if audited.file is not None:
        return f"map: {audited.file} (given with --map)"
    return f"map: {ref.path} ({ref.source}, blob {(ref.blob_sha or '')[:12]})"


def _diff_or_error(text: str | None, edits: Sequence[MapEdit], *, path: str) -> str | None:
    if text is None or not edits:
        return None
    try:
        return suggestion_diff(text, edits, path=path)
    except EditError as error:
        return f"(no diff: {error})\n"


def _path_of(audited: AuditedMap) -> str:
    return audited.file if audited.file is not None else audited.ref.path


_HEADINGS = {"error": "ERRORS", "warning": "WARNINGS", "info": "INFO"}


def _counts(findings: Sequence[Finding]) -> dict[str, int]:
    return {severity: sum(f.severity == severity for f in findings) for severity in SEVERITIES}


def as_text(result: AuditResult, *, suggest: bool) -> str:
    """For a TSC meeting: what was read, then the findings grouped by severity."""
    facts = result.facts
    lines = [
        f"coi-bot audit {result.repository} on {result.day.isoformat()}",
        _map_line(result.audited),
        f"read: {len(facts.collaborators)} people with write access, {result.profiles_read}"
        f" profiles, {result.pull_requests_read} pull requests updated since"
        f" {result.since.isoformat()}",
    ]
    if facts.unknown_accounts:
        unknown = ", ".join(f"@{login}" for login in facts.unknown_accounts)
        lines.append(f"not on GitHub (check the spelling in the map): {unknown}")
    if result.history is not None:
        lines += _history_lines(result.history, since=result.since)
    path = _path_of(result.audited)
    for severity in SEVERITIES:
        group = [f for f in result.findings if f.severity == severity]
        if not group:
            continue
        lines += ["", f"{_HEADINGS[severity]} ({len(group)})"]
        for finding in group:
            lines += ["", f"  {finding.message}  [{finding.rule}]"]
            lines += [f"    - {seen.describe()}: {seen.url}" for seen in finding.evidence]
            if finding.fix:
                lines.append(f"    fix: {finding.fix}")
            diff = (
                _diff_or_error(result.audited.text, finding.edits, path=path) if suggest else None
            )
            if diff:
                lines += [f"      {line}" for line in diff.splitlines()]
    counts = _counts(result.findings)
    lines += [
        "",
        ", ".join(
            f"{counts[s]} {s}{'s' if counts[s] != 1 and s != 'info' else ''}" for s in SEVERITIES
        )
        if result.findings
        else "no findings",
    ]
    if suggest:
        patch = _diff_or_error(
            result.audited.text, [e for f in result.findings for e in f.edits], path=path
        )
        if patch:
            lines += ["", "every suggested change together (git apply):", patch.rstrip("\n")]
    return "\n".join(lines) + "\n"


def _history_lines(history: Sequence[LandedChange], *, since: date) -> list[str]:
    """Every change of the map and the protected files, newest first, and how it landed."""
    lines = ["", f"HISTORY ({len(history)} changes since {since.isoformat()})"]
    if not history:
        lines.append("  no change of the map or of a protected file in the period")
    for change in history:
        commit = change.commit
        mark = "reviewed" if change.reviewed else "NOT REVIEWED"
        lines += [
            "",
            f"  {commit.committed_at.date().isoformat()} {commit.oid[:7]} {change.path}: {mark}",
            f"    {change.how}",
            f"    {commit.url}",
        ]
        if change.changes is not None:
            lines += [f"    {line}" for line in change.changes.lines()]
    return lines


def _history_json(change: LandedChange) -> dict[str, Any]:
    commit, landed = change.commit, change.commit.pull_request
    found = change.changes
    return {
        "path": change.path,
        "commit": commit.oid,
        "url": commit.url,
        "committed_at": commit.committed_at.isoformat(),
        "author": commit.author,
        "reviewed": change.reviewed,
        "how": change.how,
        "pull_request": None
        if landed is None
        else {
            "number": landed.number,
            "merged_by": landed.merged_by,
            "check": landed.check,
            "approvers": list(landed.approvers),
        },
        "changes": None
        if found is None
        else {
            "people_added": list(found.people_added),
            "people_removed": list(found.people_removed),
            "people_moved": list(found.people_moved),
            "roles_changed": list(found.roles_changed),
            "companies_added": list(found.companies_added),
            "companies_removed": list(found.companies_removed),
            "policy_changed": found.policy_changed,
        },
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def as_json_dict(result: AuditResult, *, suggest: bool) -> dict[str, Any]:
    """Stable keys (README, "coi-bot audit"); `diff` and `patch` are null without --suggest."""
    audited = result.audited
    path = _path_of(audited)
    return {
        "format": JSON_FORMAT,
        "repository": result.repository,
        "day": result.day.isoformat(),
        "since": result.since.isoformat(),
        "map": {
            "path": audited.ref.path,
            "blob_sha": audited.ref.blob_sha,
            "source": audited.ref.source,
            "file": audited.file,
        },
        "read": {
            "collaborators": [
                {"login": c.login, "permission": c.permission, "url": c.url}
                for c in result.facts.collaborators
            ],
            "profiles": result.profiles_read,
            "unknown_accounts": list(result.facts.unknown_accounts),
            "pull_requests": result.pull_requests_read,
        },
        "counts": _counts(result.findings),
        "findings": [
            {
                "severity": f.severity,
                "rule": f.rule,
                "person": f.person,
                "message": f.message,
                "evidence": [
                    {"kind": s.kind, "value": s.value, "url": s.url, "description": s.describe()}
                    for s in f.evidence
                ],
                "fix": f.fix,
                "edits": [
                    {"op": e.op, "path": list(e.path), "value": _jsonable(e.value)} for e in f.edits
                ],
                "diff": _diff_or_error(audited.text, f.edits, path=path) if suggest else None,
            }
            for f in result.findings
        ],
        "history": None
        if result.history is None
        else [_history_json(change) for change in result.history],
        "patch": _diff_or_error(
            audited.text, [e for f in result.findings for e in f.edits], path=path
        )
        if suggest
        else None,
    }
