"""Is a pull request a *major* change? Every rule that fired is kept as a reason for the summary.

Precedence, strongest first: a TSC member's latest `/coi major|minor` override (a conflicted
member's never cancels an unconflicted one's, see bot.policy.commands), then a `minor_labels`
label (counted only when set by an unconflicted TSC member, see bot.policy.labels), then the
`policy.major` rules (ANY match).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from bot.affiliations.model import Policy
from bot.policy.facts import ChangedFile, PullRequestFacts
from bot.policy.markdown import code, mention, text

# How many file names a reason lists before it says "and N more": the summary must stay short.
LISTED_FILES = 5


@dataclass(frozen=True, slots=True)
class Override:
    """A TSC member's `/coi major` or `/coi minor`: the latest wins, unless it is a conflicted
    member's and the one before an unconflicted member's."""

    kind: Literal["major", "minor"]
    by: str
    reason: str | None
    comment_id: str
    in_comment_of: str | None = None  # whose comment `by` edited it into, if not their own


@dataclass(frozen=True, slots=True)
class Classification:
    major: bool
    reasons: tuple[str, ...]
    # The files the `major.paths` rules matched, sorted; empty when no path rule fired.
    matched_files: tuple[str, ...] = ()
    changed_lines: int = 0
    changed_files: int = 0


@lru_cache(maxsize=1024)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex for a repository-relative glob: `*` and `?` stay in one directory, `**` crosses.

    Patterns are anchored at the repository root; a trailing `/` means everything below it.
    """
    if not pattern.strip():
        raise ValueError("an empty glob pattern matches nothing: remove it from the policy")
    body = pattern.strip().lstrip("/")
    parts: list[str] = []
    index = 0
    while index < len(body):
        if body.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
        elif body.startswith("**", index):
            parts.append(".*")
            index += 2
        elif body[index] == "*":
            parts.append("[^/]*")
            index += 1
        elif body[index] == "?":
            parts.append("[^/]")
            index += 1
        else:
            parts.append(re.escape(body[index]))
            index += 1
    if body.endswith("/"):
        parts.append(".*")
    # A path may hold any character but NUL and `/` separators, newlines included.
    return re.compile("".join(parts), re.DOTALL)


@lru_cache(maxsize=256)
def _any_glob(patterns: tuple[str, ...]) -> re.Pattern[str]:
    # One alternation first, so that most files cost one regex call however many rules exist.
    return re.compile("|".join(f"(?:{glob_regex(p).pattern})" for p in patterns), re.DOTALL)


def matching_files(
    files: Iterable[ChangedFile], patterns: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    """pattern -> sorted paths it matches; a rename matches on its old path too, and is named
    by both (`old → new`) whichever matched."""
    if not patterns:
        return {}
    combined = _any_glob(tuple(patterns))
    hits: dict[str, set[str]] = {}
    for changed in files:
        names = (
            (changed.path,)
            if changed.previous_path is None
            else (
                changed.path,
                changed.previous_path,
            )
        )
        shown = renamed_name(changed)
        for name in names:
            if combined.fullmatch(name) is None:
                continue
            if len(patterns) == 1:
                hits.setdefault(patterns[0], set()).add(shown)
                continue
            for pattern in patterns:
                if glob_regex(pattern).fullmatch(name) is not None:
                    hits.setdefault(pattern, set()).add(shown)
    return {pattern: tuple(sorted(paths)) for pattern, paths in hits.items()}


def renamed_name(changed: ChangedFile) -> str:
    """A file as reasons name it: its path, or `old → new` for a rename."""
    if changed.previous_path is None or changed.previous_path == changed.path:
        return changed.path
    return f"{changed.previous_path} → {changed.path}"


def list_files(paths: Sequence[str], *, limit: int = LISTED_FILES) -> str:
    shown = ", ".join(code(p) for p in paths[:limit])
    hidden = len(paths) - limit
    return shown if hidden <= 0 else f"{shown} and {hidden} more"


def _label_set(labels: Iterable[str]) -> dict[str, str]:
    # GitHub label names are case-insensitive: "Major" and "major" are one label.
    return {label.casefold(): label for label in labels}


def classify(
    facts: PullRequestFacts,
    policy: Policy,
    *,
    override: Override | None,
    labels: Sequence[str] | None = None,
) -> Classification:
    """`labels`: the labels to read instead of the PR's (those judged by who set them, see
    bot.policy.labels)."""
    changed_lines = sum(f.additions + f.deletions for f in facts.files)
    changed_files = len(facts.files)

    if override is not None:
        why = f": {text(override.reason)}" if override.reason else ""
        reason = f"`/coi {override.kind}` by {mention(override.by)}{why}"
        if override.in_comment_of:
            reason = (
                f"`/coi {override.kind}` in {mention(override.in_comment_of)}'s comment, "
                f"edited by {mention(override.by)}{why}"
            )
        return Classification(
            major=override.kind == "major",
            reasons=(reason,),
            changed_lines=changed_lines,
            changed_files=changed_files,
        )

    on_pr = _label_set(facts.labels if labels is None else labels)
    minor = [on_pr[name] for name in _label_set(policy.minor_labels) if name in on_pr]
    if minor:
        reasons = tuple(f"label {code(label)} marks the change minor" for label in sorted(minor))
        return Classification(
            major=False, reasons=reasons, changed_lines=changed_lines, changed_files=changed_files
        )

    rules = policy.major
    reasons_list: list[str] = []
    by_pattern = matching_files(facts.files, rules.paths)
    matched: set[str] = set()
    for pattern in rules.paths:
        paths = by_pattern.get(pattern, ())
        if paths:
            matched.update(paths)
            count = f"{len(paths)} file{'s' if len(paths) != 1 else ''}"
            reasons_list.append(f"path rule {code(pattern)} matches {count}: {list_files(paths)}")
    if rules.changed_lines is not None and changed_lines >= rules.changed_lines:
        reasons_list.append(f"{changed_lines} changed lines (rule: {rules.changed_lines} or more)")
    if rules.changed_files is not None and changed_files >= rules.changed_files:
        reasons_list.append(f"{changed_files} changed files (rule: {rules.changed_files} or more)")
    major_labels = [on_pr[name] for name in _label_set(rules.labels) if name in on_pr]
    reasons_list.extend(f"label {code(label)}" for label in sorted(major_labels))

    if facts.files_truncated:
        # GitHub lists at most 3,000 files: a path rule may hide beyond them, so say so.
        reasons_list.append("GitHub lists only the first 3,000 files: more changed than shown")
    major = bool(reasons_list)
    if not major:
        reasons_list.append("no major-change rule matched")
    return Classification(
        major=major,
        reasons=tuple(reasons_list),
        matched_files=tuple(sorted(matched)),
        changed_lines=changed_lines,
        changed_files=changed_files,
    )
