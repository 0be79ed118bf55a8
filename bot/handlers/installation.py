"""`installation` and `installation_repositories`: evaluate the open PRs of repositories the
App was just given, so that their checks exist before anyone pushes.

The owner's `.github` repository given or taken away changes which map the App can read for
every repository of the owner without one (bot/github/map_source.py): all of them are judged
again, and what was cached about it is forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gidgethub import routing, sansio

from bot.handlers.common import Scheduling, installation_id
from bot.handlers.push import OWNER_MAP_REPOSITORY

router = routing.Router()


def _sweep_each(
    data: Mapping[str, Any], repositories: Iterable[Mapping[str, Any]], scheduler: Scheduling
) -> None:
    installation = installation_id(data)
    if installation is None:
        return
    for repository in repositories:
        owner, _, name = repository["full_name"].partition("/")
        scheduler.sweep(installation, owner, name)
    _owner_map_access_changed(installation, repositories, scheduler)


def _owner_map_access_changed(
    installation: int, repositories: Iterable[Mapping[str, Any]], scheduler: Scheduling
) -> None:
    for repository in repositories:
        owner, _, name = repository["full_name"].partition("/")
        if name.lower() == OWNER_MAP_REPOSITORY:
            scheduler.map_changed(owner, name)
            scheduler.sweep_owner(installation, owner)


@router.register("installation", action="created")
async def evaluate_installed_repositories(
    event: sansio.Event, *args: Any, scheduler: Scheduling, **kwargs: Any
) -> None:
    # `repositories` is absent when the App was installed on "all repositories" of a large owner.
    _sweep_each(event.data, event.data.get("repositories") or (), scheduler)


@router.register("installation_repositories", action="added")
async def evaluate_added_repositories(
    event: sansio.Event, *args: Any, scheduler: Scheduling, **kwargs: Any
) -> None:
    _sweep_each(event.data, event.data["repositories_added"], scheduler)


@router.register("installation_repositories", action="removed")
async def evaluate_after_removed_repositories(
    event: sansio.Event, *args: Any, scheduler: Scheduling, **kwargs: Any
) -> None:
    # The removed repositories' PRs cannot be read any more; only the owner's map matters here.
    installation = installation_id(event.data)
    if installation is not None:
        _owner_map_access_changed(installation, event.data["repositories_removed"], scheduler)
