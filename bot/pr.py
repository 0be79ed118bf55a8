"""The key of one pull request in one installation: what the queue coalesces on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class PullRequestRef:
    installation_id: int
    owner: str
    repo: str
    number: int

    @property
    def repo_slug(self) -> str:
        return f"{self.owner}/{self.repo}"

    def __str__(self) -> str:
        return f"{self.owner}/{self.repo}#{self.number}"
