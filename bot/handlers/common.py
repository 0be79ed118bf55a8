"""What every handler shares: the scheduling interface they are given and payload helpers.

Handlers never import the web layer or the engine: the webhook passes them an object with
these methods (`router.dispatch(event, scheduler=...)`), and they only decide which PRs
to queue.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from gidgethub import sansio

from bot.intents import ButtonClick, CommentEdit
from bot.pr import IssueRef, PullRequestRef, WorkRef

log = logging.getLogger("bot.handlers")


class Scheduling(Protocol):
    def schedule(
        self,
        ref: WorkRef,
        *,
        click: ButtonClick | None = None,
        edit: CommentEdit | None = None,
    ) -> bool:
        """Queue one PR (with the button clicked or the comment edited, if any); False when the
        queue is full."""

    def sweep(self, installation_id: int, owner: str, repo: str) -> bool:
        """Queue every open PR of one repository; False when refused."""

    def sweep_owner(self, installation_id: int, owner: str) -> bool:
        """Queue every open PR of every repository of `owner` in the installation."""

    def map_changed(self, owner: str, repo: str) -> None:
        """A map was pushed to `owner/repo`; forget what was cached about it."""


def installation_id(data: Mapping[str, Any]) -> int | None:
    """The installation the delivery belongs to; GitHub App deliveries always carry one."""
    installation = data.get("installation")
    if isinstance(installation, Mapping) and isinstance(installation.get("id"), int):
        return int(installation["id"])
    log.info("delivery without an installation: nothing to evaluate it with")
    return None


def repository_of(data: Mapping[str, Any]) -> tuple[str, str]:
    repository = data["repository"]
    return repository["owner"]["login"], repository["name"]


def pull_request_ref(data: Mapping[str, Any], number: int) -> PullRequestRef | None:
    installation = installation_id(data)
    if installation is None:
        return None
    owner, repo = repository_of(data)
    return PullRequestRef(installation_id=installation, owner=owner, repo=repo, number=number)


def issue_ref(data: Mapping[str, Any], number: int) -> IssueRef | None:
    installation = installation_id(data)
    if installation is None:
        return None
    owner, repo = repository_of(data)
    return IssueRef(installation_id=installation, owner=owner, repo=repo, number=number)


def is_bot(user: Mapping[str, Any] | None) -> bool:
    return user is not None and user.get("type") == "Bot"


async def schedule_payload_pull_request(
    event: sansio.Event, *args: Any, scheduler: Scheduling, **kwargs: Any
) -> None:
    """Queue the PR a `pull_request` or `pull_request_review` payload is about."""
    ref = pull_request_ref(event.data, event.data["pull_request"]["number"])
    if ref is not None:
        scheduler.schedule(ref)
