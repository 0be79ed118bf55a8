"""Which pull requests a merge queue's group holds, read from the group's head ref.

GitHub names a merge group's branch `gh-readonly-queue/<base>/pr-<number>-<sha>`
(docs.github.com/en/webhooks/webhook-events-and-payloads#merge_group). The ref is the only place
the `merge_group` payload names the PR; every `pr-<number>-<sha>` segment is read, should a
group ever name several.
"""

from __future__ import annotations

import re

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
