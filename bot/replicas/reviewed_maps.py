"""Map versions known to have landed reviewed, shared by the replicas through Redis.

Implements `bot.github.map_source.ReviewedMaps` on the Coordinator: a version one replica found
reviewed (from the map's history, or a push's verdict) costs no history read on the others.
With Redis down, nothing is known and nothing is lost: the map source reads the history again.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress

from bot.replicas.coordinator import CoordinationUnavailable, Coordinator


class SharedReviewedMaps:
    def __init__(self, coordinator: Coordinator) -> None:
        self._coordinator = coordinator

    async def known(self, key: str) -> bool:
        try:
            return await self._coordinator.reviewed_map_known(key)
        except CoordinationUnavailable:  # logged and counted by the Coordinator
            return False

    async def remember(self, keys: Iterable[str]) -> None:
        # Lost with Redis down: another replica reads the history once more, never wrongly.
        with suppress(CoordinationUnavailable):
            await self._coordinator.remember_reviewed_maps(list(keys))
