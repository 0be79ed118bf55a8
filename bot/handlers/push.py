"""`push`: a new map on a default branch changes the verdict of every open PR it governs.

- a push to a repository's default branch touching `Settings.map_path` gets a verdict on its
  pushed commit (bot.pr.MapPushRef: how the change landed) and sweeps that repository;
- the same push to the owner's `.github` repository changes the fallback map of every
  repository of the owner (DESIGN.md, "Which map decides a PR"), so it sweeps every repository
  of the owner that the installation can see (the scheduler's `sweep_owner`), except those with
  a map of their own, which the owner's does not govern (bot/engine.py). Sweeps take turns from
  the reconciler's pacer and wait while live events need the hour's budget (bot/github/pacing.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gidgethub import routing, sansio

from bot.handlers.common import Scheduling, installation_id, log, repository_of
from bot.pr import MapPushRef

router = routing.Router()

OWNER_MAP_REPOSITORY = ".github"


def touched_paths(data: Mapping[str, Any]) -> set[str]:
    """Every path added, modified or removed by the pushed commits."""
    paths: set[str] = set()
    commits = list(data.get("commits") or ())
    if data.get("head_commit"):
        commits.append(data["head_commit"])
    for commit in commits:
        for key in ("added", "modified", "removed"):
            paths.update(commit.get(key) or ())
    return paths


def changes_map(data: Mapping[str, Any], *, map_path: str) -> bool:
    default_branch = data["repository"]["default_branch"]
    if data["ref"] != f"refs/heads/{default_branch}":
        return False
    return map_path in touched_paths(data)


def map_push_ref(data: Mapping[str, Any], installation: int, *, map_path: str) -> MapPushRef:
    """The push as its verdict needs it: the pushed commit, who pushed, and the map's commits."""
    owner, repo = repository_of(data)
    pusher = data.get("pusher") or {}
    sender = data.get("sender") or {}
    login = sender.get("login") if isinstance(sender, Mapping) else None
    name = pusher.get("name") if isinstance(pusher, Mapping) else None
    touching = tuple(
        str(commit["id"])
        for commit in data.get("commits") or ()
        if isinstance(commit, Mapping)
        and commit.get("id")
        and any(map_path in (commit.get(key) or ()) for key in ("added", "modified", "removed"))
    )
    return MapPushRef(
        installation_id=installation,
        owner=owner,
        repo=repo,
        head_sha=str(data["after"]),
        before=str(data.get("before") or "0" * 40),
        branch=str(data["ref"]).removeprefix("refs/heads/"),
        pusher=str(login or name or "unknown"),
        forced=bool(data.get("forced")),
        commits=touching,
    )


@router.register("push")
async def evaluate_governed_pull_requests(
    event: sansio.Event, *args: Any, scheduler: Scheduling, map_path: str, **kwargs: Any
) -> None:
    if not changes_map(event.data, map_path=map_path):
        log.info("push does not change the map on the default branch: ignored")
        return
    installation = installation_id(event.data)
    if installation is None:
        return
    owner, repo = repository_of(event.data)
    scheduler.map_changed(owner, repo)
    scheduler.schedule(map_push_ref(event.data, installation, map_path=map_path))
    if repo == OWNER_MAP_REPOSITORY:
        scheduler.sweep_owner(installation, owner)
    else:
        scheduler.sweep(installation, owner, repo)
