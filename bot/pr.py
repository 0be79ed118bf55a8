"""The key of one pull request in one installation: what the queue coalesces on."""

from __future__ import annotations

from dataclasses import dataclass


class _InRepository:
    """What every ref names: a repository of one installation."""

    __slots__ = ()
    owner: str
    repo: str

    @property
    def repo_slug(self) -> str:
        return f"{self.owner}/{self.repo}"


@dataclass(frozen=True, slots=True, order=True)
class PullRequestRef(_InRepository):
    installation_id: int
    owner: str
    repo: str
    number: int

    def __str__(self) -> str:
        return f"{self.owner}/{self.repo}#{self.number}"


@dataclass(frozen=True, slots=True, order=True)
class MergeGroupRef(_InRepository):
    """A merge queue's group of PRs, judged together on the group's head commit."""

    installation_id: int
    owner: str
    repo: str
    head_sha: str  # where the check is written
    head_ref: str  # refs/heads/gh-readonly-queue/<base>/pr-<n>-<sha>: names the PR
    base_ref: str  # the branch the group merges into
    default_branch: str = ""  # the repository's: its map decides ("": GitHub's default is read)

    def __str__(self) -> str:
        return f"{self.owner}/{self.repo}@{self.head_sha[:7]} (merge group)"


@dataclass(frozen=True, slots=True, order=True)
class IssueRef(_InRepository):
    """An issue in one installation: it holds a TSC vote when it carries the vote label."""

    installation_id: int
    owner: str
    repo: str
    number: int

    def __str__(self) -> str:
        return f"{self.owner}/{self.repo} issue #{self.number}"


@dataclass(frozen=True, slots=True, order=True)
class MapPushRef(_InRepository):
    """A push to a default branch that changed the map: its verdict goes on the pushed commit."""

    installation_id: int
    owner: str
    repo: str
    head_sha: str  # the pushed commit: where the verdict is written
    before: str  # the branch's tip before the push (all zeros when it was created)
    branch: str
    pusher: str
    forced: bool
    commits: tuple[str, ...] = ()  # the pushed commits that touched the map

    def __str__(self) -> str:
        return f"{self.owner}/{self.repo}@{self.head_sha[:7]} (map push)"


@dataclass(frozen=True, slots=True, order=True)
class MergedPullRequestRef(_InRepository):
    """A PR just merged: said on the PR when it was merged over a check that did not pass."""

    installation_id: int
    owner: str
    repo: str
    number: int
    merged_by: str

    def __str__(self) -> str:
        return f"{self.owner}/{self.repo}#{self.number} (merged)"


# What the scheduler queues and the engine evaluates: one PR, one merge group, an issue's vote,
# one map push, or one merge to look at.
WorkRef = PullRequestRef | MergeGroupRef | IssueRef | MapPushRef | MergedPullRequestRef
