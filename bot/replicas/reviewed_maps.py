"""Map versions known to have landed reviewed, shared by the replicas through Redis.

Implements `bot.github.map_source.ReviewedMaps`: a version one replica found reviewed (from the
map's history, or a push's verdict) costs no history read on the others. `{prefix}reviewed-maps`
is one set that only grows, by one `owner/repo@blob` per reviewed map change, and two keys per
repository naming its map's first version (its bootstrap). With Redis down, nothing is known and
nothing is lost: the map source reads the history again (and takes its first version as it is).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress

from bot.replicas.coordinator import Coordinator
from bot.replicas.link import CoordinationUnavailable


class SharedReviewedMaps:
    def __init__(self, coordinator: Coordinator) -> None:
        self._link = coordinator.link
        self._key = self._link.key("reviewed-maps")

    async def known(self, key: str) -> bool:
        try:
            async with self._link.run("reviewed_map_known"):
                return bool(await self._link.client.sismember(self._key, key))
        except CoordinationUnavailable:  # logged and counted by the link
            return False

    async def remember(self, keys: Iterable[str]) -> None:
        found = list(keys)
        if not found:
            return
        # Lost with Redis down: another replica reads the history once more, never wrongly.
        with suppress(CoordinationUnavailable):
            async with self._link.run("remember_reviewed_maps"):
                await self._link.client.sadd(self._key, *found)
