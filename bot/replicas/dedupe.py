"""Delivery IDs claimed across replicas, and the append to the stream that goes with the claim.

`{prefix}delivery:{guid}` ("1", EX GitHub's redelivery window) marks a delivery some replica
accepted. `accept` claims the ID and appends the delivery to the stream in one script, so that
no kill can leave a claimed ID without its entry (a redelivery would then look like a duplicate
and be dropped), and refuses when the stream already holds `max_backlog` unfinished deliveries.
"""

from __future__ import annotations

import enum

from bot.github.deliveries import REDELIVERY_WINDOW_SECONDS
from bot.replicas.link import RedisLink
from bot.replicas.stream import STREAM

# KEYS[1] the delivery's claim, KEYS[2] stream, KEYS[3] the body's claim (a replay under another
# ID is a duplicate too); ARGV ttl seconds, most unfinished entries (0: no bound), event, delivery
# ID, body. Returns 0 for a duplicate, -1 when full, else the entry id.
_ACCEPT = """
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then
  return 0
end
local most = tonumber(ARGV[2])
if most > 0 and redis.call('XLEN', KEYS[2]) >= most then
  return -1
end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
redis.call('SET', KEYS[3], '1', 'EX', ARGV[1])
return redis.call('XADD', KEYS[2], '*', 'event', ARGV[3], 'delivery', ARGV[4], 'body', ARGV[5])
"""


class Acceptance(enum.Enum):
    KEPT = "kept"  # claimed and appended
    DUPLICATE = "duplicate"  # some replica accepted this delivery ID already
    FULL = "full"  # the backlog is at its bound: answer 503, GitHub's redelivery comes back


class DeliveryClaims:
    def __init__(self, link: RedisLink, *, ttl_seconds: int = REDELIVERY_WINDOW_SECONDS) -> None:
        self._link = link
        self.ttl_seconds = ttl_seconds
        self._stream = link.key(STREAM)
        self._accept = link.client.register_script(_ACCEPT)

    def _key(self, guid: str) -> str:
        return self._link.key(f"delivery:{guid}")

    async def accept(
        self, event: str, guid: str, body: bytes, *, body_guid: str, max_backlog: int = 0
    ) -> Acceptance:
        """Claim `guid` and `body_guid` (bot.web.signature.body_key) and append the delivery,
        unless either is claimed already or the backlog is full."""
        async with self._link.run("accept"):
            answer = await self._accept(
                keys=[self._key(guid), self._stream, self._key(body_guid)],
                args=[self.ttl_seconds, max_backlog, event, guid, body],
            )
        if answer == 0:
            return Acceptance.DUPLICATE
        if answer == -1:
            return Acceptance.FULL
        return Acceptance.KEPT

    async def claim(self, guid: str) -> bool:
        """True the first time any replica claims this delivery ID; False for a duplicate."""
        async with self._link.run("claim_delivery"):
            claimed = await self._link.client.set(
                self._key(guid), b"1", nx=True, ex=self.ttl_seconds
            )
        return bool(claimed)

    async def release(self, guid: str) -> None:
        """Forget a delivery that was refused or failed, so that its redelivery is processed."""
        async with self._link.run("release_delivery"):
            await self._link.client.delete(self._key(guid))
