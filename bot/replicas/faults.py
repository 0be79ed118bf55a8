"""Deliveries whose handler failed after the 202, whichever replica routed them.

`{prefix}faults`: a sorted set of delivery IDs scored by when, for the one replica that asks
GitHub to redeliver (the background jobs run on one replica only); at most MAX_FAULTS, none past
GitHub's redelivery window.
"""

from __future__ import annotations

from bot.github.deliveries import REDELIVERY_WINDOW_SECONDS
from bot.replicas.link import RedisLink, text

# A fault storm cannot grow the set beyond this.
MAX_FAULTS = 10_000

# KEYS[1] faults; ARGV[1] delivery ID, ARGV[2] now, ARGV[3] oldest score kept, ARGV[4] most kept.
_RECORD = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[4]) + 1))
return 1
"""

# KEYS[1] faults; ARGV[1] delivery ID, ARGV[2] latest score removed.
_FORGET = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
"""


class SharedFaults:
    def __init__(self, link: RedisLink, *, window_seconds: int = REDELIVERY_WINDOW_SECONDS) -> None:
        self._link = link
        self._key = link.key("faults")
        self.window_seconds = window_seconds
        self._record = link.client.register_script(_RECORD)
        self._forget = link.client.register_script(_FORGET)

    async def record(self, guid: str) -> None:
        """Keep a delivery ID for the replica that asks GitHub to redeliver."""
        now = self._link.clock()
        async with self._link.run("record_fault"):
            await self._record(
                keys=[self._key], args=[guid, now, now - self.window_seconds, MAX_FAULTS]
            )

    async def recorded(self) -> tuple[list[str], float]:
        """Every delivery ID recorded within GitHub's window, oldest first, and the time they
        were read at (for `forget`)."""
        now = self._link.clock()
        async with self._link.run("faults"):
            members = await self._link.client.zrangebyscore(
                self._key, now - self.window_seconds, "+inf"
            )
        return [text(member) for member in members if isinstance(member, str | bytes)], now

    async def forget(self, guid: str, *, recorded_before: float) -> None:
        """GitHub was asked for this delivery again. A fault recorded after `recorded_before`
        (the redelivery failed again, on some replica) is kept, to be asked for again."""
        async with self._link.run("forget_fault"):
            await self._forget(keys=[self._key], args=[guid, recorded_before])
