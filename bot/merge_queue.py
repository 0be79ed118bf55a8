"""Which pull requests a merge queue's group holds: named by its head ref, and found in its commits.

GitHub names a merge group's branch `gh-readonly-queue/<base>/pr-<number>-<sha>`
(docs.github.com/en/webhooks/webhook-events-and-payloads#merge_group). The ref is the only place
the `merge_group` payload names the PR; every `pr-<number>-<sha>` segment is read, should a
group ever name several. The group's head also holds the PRs queued ahead of it: those are found
in its commits (`group_contents`, read by bot.github.merge_groups).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

QUEUE_PREFIX = "refs/heads/gh-readonly-queue/"
_ENTRY = r"pr-(\d+)-[0-9a-fA-F]{7,64}"
_ENTRIES = re.compile(rf"{_ENTRY}(?:[/-]{_ENTRY})*")


def branch_name(ref: str) -> str:
    """`main` for `refs/heads/main` (a bare branch name is returned as it is)."""
    return ref.removeprefix("refs/heads/")


def queued_pull_requests(head_ref: str, *, base_ref: str) -> tuple[int, ...] | None:
    """The PR numbers a merge group's head ref names, in order; None when the ref is not a
    merge queue branch of `base_ref` (`refs/heads/<base>` or `<base>`)."""
    prefix = f"{QUEUE_PREFIX}{branch_name(base_ref)}/"
    if not base_ref or not head_ref.startswith(prefix):
        return None
    entries = head_ref.removeprefix(prefix)
    if _ENTRIES.fullmatch(entries) is None:
        return None
    numbers = [int(number) for number in re.findall(r"(?:^|[/-])pr-(\d+)-", entries)]
    if any(number < 1 for number in numbers):
        return None
    return tuple(dict.fromkeys(numbers))


@dataclass(frozen=True, slots=True)
class GroupContents:
    """The PRs a merge group holds, in queue order, and whether any could not be listed."""

    numbers: tuple[int, ...]
    incomplete: bool = False  # a commit belongs to more PRs than one read lists


def group_contents(
    commits: Iterable[Mapping[str, Any]], *, named: Sequence[int], complete: bool = True
) -> GroupContents:
    """Every open PR whose head commit is among the group's commits (`oid` and its
    `associatedPullRequests`, oldest first), in that order, then the named ones not found:
    a group holds each PR queued ahead of it, whatever its branch name says. `complete`: the
    commits listed are all the group's."""
    nodes = [commit for commit in commits if commit]
    oids = {commit.get("oid") for commit in nodes}
    found: dict[int, None] = {}
    incomplete = not complete
    for commit in nodes:
        associated = commit.get("associatedPullRequests") or {}
        pulls = [pull for pull in associated.get("nodes") or () if pull]
        if len(pulls) < int(associated.get("totalCount") or 0):
            incomplete = True
        for pull in pulls:
            if pull.get("state") == "OPEN" and pull.get("headRefOid") in oids:
                found.setdefault(int(pull["number"]), None)
    for number in named:
        found.setdefault(number, None)
    return GroupContents(tuple(found), incomplete)
