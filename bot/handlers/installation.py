"""`installation` and `installation_repositories`: evaluate the open PRs of repositories the
App was just given, so that their checks exist before anyone pushes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gidgethub import routing, sansio

from bot.handlers.common import Scheduling, installation_id

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
