""" "No map here" forgotten by every replica when a push changes a map: Redis pub/sub.

The replica that routes a push forgets its cached absence at once and publishes `owner/repo` on
`{prefix}maps`; every replica's listener forgets the same absence when the message arrives.
A message published while a replica's subscription was broken is lost to it: its cached absence
then lasts at most its own expiry (bot.github.map_source.MISSING_TTL_SECONDS), as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import redis.exceptions

from bot.replicas.link import UNAVAILABLE, CoordinationUnavailable, RedisLink, text

log = logging.getLogger(__name__)

RESUBSCRIBE_SECONDS = 1.0


class MapChanges:
    def __init__(self, link: RedisLink) -> None:
        self._link = link
        self.channel = link.key("maps")

    async def publish(self, owner: str, repo: str) -> None:
        async with self._link.run("publish_map_change"):
            await self._link.client.publish(self.channel, f"{owner}/{repo}")

    async def listen(self, forget: Callable[[str, str], None]) -> None:
        """Call `forget(owner, repo)` for every change published, until cancelled; a broken
        subscription is made again."""
        while True:
            try:
                await self._subscribed(forget)
            except (*UNAVAILABLE, CoordinationUnavailable, redis.exceptions.ResponseError):
                await asyncio.sleep(RESUBSCRIBE_SECONDS)

    async def _subscribed(self, forget: Callable[[str, str], None]) -> None:
        pubsub = self._link.blocking.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            while True:
                message = await pubsub.get_message(timeout=self._link.max_block_ms / 1000)
                if message is None or message.get("type") != "message":
                    continue
                owner, _, repo = text(message["data"]).partition("/")
                if owner and repo:
                    forget(owner, repo)
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
