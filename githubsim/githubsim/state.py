"""The simulator's in-memory GitHub: plain dataclasses, git object ids, and small helpers.

Nothing here does I/O; `githubsim.simulator` serves this state over HTTP.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime

PERMISSION_LEVELS = ("none", "read", "triage", "write", "maintain", "admin")
# `GET .../permission` reports the legacy levels: maintain counts as write, triage as read.
LEGACY_PERMISSION = {
    "none": "none",
    "read": "read",
    "triage": "read",
    "write": "write",
    "maintain": "write",
    "admin": "admin",
}


def iso(moment: datetime) -> str:
    """GitHub's timestamp format: UTC, seconds, `Z` suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def blob_sha(text: str) -> str:
    """The git blob id of a file's content, as `git hash-object` computes it."""
    data = text.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def node_id(type_name: str, database_id: int) -> str:
    """A legacy-format global node id (`MDExOlB1bGxSZXF1ZXN0...`), unique per type and id."""
    raw = f"0{len(type_name):02d}:{type_name}{database_id}"
    return base64.b64encode(raw.encode()).decode()


@functools.lru_cache(maxsize=8192)  # the same file versions are diffed on every snapshot
def count_changed_lines(old: str | None, new: str | None) -> tuple[int, int]:
    """Additions and deletions between two versions of a file, as a line diff counts them."""
    import difflib

    old_lines = old.splitlines() if old is not None else []
    new_lines = new.splitlines() if new is not None else []
    additions = deletions = 0
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            deletions += i2 - i1
        if tag in ("replace", "insert"):
            additions += j2 - j1
    return additions, deletions


@dataclass
class User:
    login: str
    id: int
    node_id: str
    email: str | None = None
    name: str | None = None
    bot: bool = False
    # The profile's free-text `company` field, as the user typed it.
    company: str | None = None
    # Organizations whose membership the user made public, in the order they joined.
    public_orgs: list[str] = field(default_factory=list)

    @property
    def type(self) -> str:
        return "Bot" if self.bot else "User"


@dataclass
class GitIdentity:
    name: str
    email: str
    login: str | None
    date: datetime


@dataclass
class Commit:
    sha: str
    tree: dict[str, str]
    parents: list[str]
    message: str
    author: GitIdentity
    committer: GitIdentity

    @property
    def tree_sha(self) -> str:
        listing = "".join(f"{path}\0{blob_sha(text)}\n" for path, text in sorted(self.tree.items()))
        return hashlib.sha1(listing.encode(), usedforsecurity=False).hexdigest()


@dataclass
class Label:
    id: int
    node_id: str
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class Reaction:
    id: int
    node_id: str
    user: str
    content: str
    created_at: datetime


@dataclass
class ContentEdit:
    """One edit of a comment, as GraphQL's UserContentEdit lists it: who, when, and the text."""

    id: int
    editor: str
    edited_at: datetime
    body: str  # the text after this edit (GitHub shows it as the edit's diff)


@dataclass
class Comment:
    id: int
    node_id: str
    issue_number: int
    user: str
    body: str
    created_at: datetime
    updated_at: datetime
    via_app: bool = False
    reactions: list[Reaction] = field(default_factory=list)
    # GraphQL's minimizedReason ("duplicate", "off-topic"...); None while the comment is shown.
    minimized_reason: str | None = None
    edits: list[ContentEdit] = field(default_factory=list)  # oldest first


@dataclass
class Review:
    id: int
    node_id: str
    user: str
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED
    body: str
    commit_id: str
    submitted_at: datetime


@dataclass
class FileChange:
    path: str
    status: str  # added | removed | modified (REST spelling)
    additions: int
    deletions: int
    blob: str | None  # new blob sha; None when removed
    previous_path: str | None = None  # set on renames: REST's previous_filename

    @property
    def change_type(self) -> str:
        """The GraphQL `PatchStatus` for this change (GraphQL gives no old path for a rename)."""
        return {
            "added": "ADDED",
            "removed": "DELETED",
            "modified": "MODIFIED",
            "renamed": "RENAMED",
        }[self.status]


# git's default rename threshold (`git diff -M`: 50 % similar); pairs are compared by content
# only while both sides are small, as git itself gives up past `diff.renameLimit`.
RENAME_SIMILARITY = 0.5
RENAME_PAIRS_COMPARED = 100


def _renames(removed: dict[str, str], added: dict[str, str]) -> dict[str, str]:
    """new path -> old path: identical contents first, then the most similar above 50 %."""
    import difflib

    found: dict[str, str] = {}
    by_content: dict[str, list[str]] = {}
    for old_path, text in sorted(removed.items()):
        by_content.setdefault(text, []).append(old_path)
    for new_path, text in sorted(added.items()):
        if by_content.get(text):
            found[new_path] = by_content[text].pop(0)
    left_old = [path for path in sorted(removed) if path not in found.values()]
    left_new = [path for path in sorted(added) if path not in found]
    if len(left_old) > RENAME_PAIRS_COMPARED or len(left_new) > RENAME_PAIRS_COMPARED:
        return found
    for new_path in left_new:
        best, best_ratio = None, RENAME_SIMILARITY
        for old_path in left_old:
            matcher = difflib.SequenceMatcher(
                a=removed[old_path].splitlines(), b=added[new_path].splitlines(), autojunk=False
            )
            if matcher.quick_ratio() >= best_ratio and (ratio := matcher.ratio()) >= best_ratio:
                best, best_ratio = old_path, ratio
        if best is not None:
            found[new_path] = best
            left_old.remove(best)
    return found


@dataclass
class ReviewRequestEvent:
    """A review request added or removed, as the PR's timeline lists it: whom, by whom, when."""

    id: int
    node_id: str
    reviewer: str
    actor: str
    created_at: datetime
    removed: bool = False  # ReviewRequestRemovedEvent rather than ReviewRequestedEvent

    @property
    def item_type(self) -> str:
        """GraphQL's `PullRequestTimelineItemsItemType` for this event."""
        return "REVIEW_REQUEST_REMOVED_EVENT" if self.removed else "REVIEW_REQUESTED_EVENT"

    @property
    def typename(self) -> str:
        return "ReviewRequestRemovedEvent" if self.removed else "ReviewRequestedEvent"


@dataclass
class LabelEvent:
    """A label added to or removed from a PR, as its timeline lists it: which, by whom, when."""

    id: int
    node_id: str
    label: str
    actor: str
    created_at: datetime
    removed: bool = False  # UnlabeledEvent rather than LabeledEvent

    @property
    def item_type(self) -> str:
        return "UNLABELED_EVENT" if self.removed else "LABELED_EVENT"

    @property
    def typename(self) -> str:
        return "UnlabeledEvent" if self.removed else "LabeledEvent"


@dataclass
class CommentDeletion:
    """A comment deleted from a PR or an issue, as its timeline lists it: who deleted whose
    comment, when.

    GitHub's CommentDeletedEvent names the comment's author but not the comment."""

    id: int
    node_id: str
    actor: str
    comment_author: str
    created_at: datetime

    item_type = "COMMENT_DELETED_EVENT"
    typename = "CommentDeletedEvent"


@dataclass(frozen=True)
class MergeGroup:
    """One entry of a merge queue: the PR's changes on top of everything queued before it."""

    repo: str
    numbers: tuple[int, ...]  # the PRs its head ref names
    head_sha: str
    head_ref: str  # refs/heads/gh-readonly-queue/<base>/pr-<n>-<base_sha>
    base_ref: str  # refs/heads/<base>
    base_sha: str  # the commit it is built on: the base branch's tip, or the entry ahead


@dataclass
class PullRequest:
    number: int
    id: int
    node_id: str
    author: str
    title: str
    body: str
    base_ref: str
    head_ref: str
    base_sha: str
    commit_shas: list[str]
    created_at: datetime
    updated_at: datetime
    draft: bool = False
    state: str = "open"
    merged: bool = False
    closed_at: datetime | None = None
    labels: list[str] = field(default_factory=list)
    requested_reviewers: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    reactions: list[Reaction] = field(default_factory=list)
    merge_commit_sha: str | None = None  # the commit the merge put on the base branch
    merged_by: str | None = None  # who merged it
    review_request_events: list[ReviewRequestEvent] = field(default_factory=list)
    label_events: list[LabelEvent] = field(default_factory=list)
    comment_deletions: list[CommentDeletion] = field(default_factory=list)

    @property
    def head_sha(self) -> str:
        return self.commit_shas[-1]


@dataclass
class Issue:
    """An issue: numbered with the repository's pull requests, labelled and commented alike."""

    number: int
    id: int
    node_id: str
    author: str
    title: str
    body: str
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    closed_at: datetime | None = None
    labels: list[str] = field(default_factory=list)
    reactions: list[Reaction] = field(default_factory=list)
    label_events: list[LabelEvent] = field(default_factory=list)
    comment_deletions: list[CommentDeletion] = field(default_factory=list)


# What an issue number names: comments, labels and reactions treat both alike.
Thread = PullRequest | Issue


@dataclass
class Repository:
    owner: str
    name: str
    id: int
    node_id: str
    default_branch: str
    created_at: datetime
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    permissions: dict[str, str] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    issues: dict[int, Issue] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    private: bool = False
    next_number: int = 1

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def resolve_ref(self, ref: str) -> Commit | None:
        """A branch name, `refs/heads/...`, or a (full or abbreviated) commit sha."""
        branch = ref.removeprefix("refs/heads/")
        if branch in self.branches:
            return self.commits[self.branches[branch]]
        if len(ref) >= 7:
            matches = [sha for sha in self.commits if sha.startswith(ref.lower())]
            if len(matches) == 1:
                return self.commits[matches[0]]
        return None

    def ancestry(self, sha: str) -> set[str]:
        """Every commit reachable from `sha`, itself included."""
        seen: set[str] = set()
        todo = [sha]
        while todo:
            current = todo.pop()
            if current not in seen and current in self.commits:
                seen.add(current)
                todo.extend(self.commits[current].parents)
        return seen

    def commits_between(self, base_sha: str, head_sha: str) -> list[Commit]:
        """The commits of `head_sha` not in `base_sha`, oldest first (a compare's commits)."""
        only_head = self.ancestry(head_sha) - self.ancestry(base_sha)
        return [commit for sha, commit in self.commits.items() if sha in only_head]

    def pull_files(self, pull: PullRequest) -> list[FileChange]:
        """The PR's changed files: the head tree against the base it was opened on."""
        base = self.commits[pull.base_sha].tree
        head = self.commits[pull.head_sha].tree
        renames = _renames(
            {path: text for path, text in base.items() if path not in head},
            {path: text for path, text in head.items() if path not in base},
        )
        renamed_away = set(renames.values())
        changes = []
        for path in sorted(set(base) | set(head)):
            if path in renamed_away:
                continue  # listed once, under its new path
            previous = renames.get(path)
            old = base.get(path) if previous is None else base[previous]
            new = head.get(path)
            if old == new and previous is None:
                continue
            status = "added" if old is None else "removed" if new is None else "modified"
            additions, deletions = count_changed_lines(old, new)
            changes.append(
                FileChange(
                    path=path,
                    status="renamed" if previous is not None else status,
                    additions=additions,
                    deletions=deletions,
                    blob=blob_sha(new) if new is not None else None,
                    previous_path=previous,
                )
            )
        return changes


@dataclass
class Annotation:
    path: str
    start_line: int
    end_line: int
    annotation_level: str
    message: str
    title: str | None = None
    raw_details: str | None = None
    start_column: int | None = None
    end_column: int | None = None


@dataclass
class CheckSuite:
    id: int
    node_id: str
    repo: str
    head_sha: str
    head_branch: str | None
    app_id: int
    created_at: datetime
    updated_at: datetime


@dataclass
class CheckRun:
    id: int
    node_id: str
    repo: str
    suite_id: int
    app_id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    started_at: datetime
    completed_at: datetime | None
    external_id: str | None = None
    details_url: str | None = None
    title: str | None = None
    summary: str | None = None
    text: str | None = None
    annotations: list[Annotation] = field(default_factory=list)
    actions: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Team:
    id: int
    node_id: str
    org: str
    slug: str
    name: str
    members: dict[str, str] = field(default_factory=dict)  # login -> member | maintainer


@dataclass
class Installation:
    id: int
    account: str
    created_at: datetime
    # GitHub's "Only select repositories": their lower-case full names; None: all of them.
    repositories: frozenset[str] | None = None
    updated_at: datetime | None = None  # the last change of that selection


@dataclass
class InstallationToken:
    token: str
    installation_id: int
    expires_at: datetime


@dataclass
class Delivery:
    id: int
    guid: str
    event: str
    action: str | None
    installation_id: int | None
    repository_id: int | None
    body: bytes
    headers: dict[str, str]
    delivered_at: datetime
    redelivery: bool
    status_code: int = 0
    duration: float = 0.0
    response_body: str = ""
    response_headers: dict[str, str] = field(default_factory=dict)


class IdSequence:
    """Monotonic ids that look like GitHub's (large, distinct per kind)."""

    def __init__(self, start: int) -> None:
        self._counter = itertools.count(start)

    def __call__(self) -> int:
        return next(self._counter)
