"""What a background job remembers, kept in Redis so that it survives a handover: the replica
that takes the jobs over (a rolling deploy, a death) reads what the last holder wrote, instead of
asking GitHub for every failed delivery again or queueing every changed PR again.

`{prefix}job:{name}` is a hash of entries and `{prefix}job:{name}:order` a sorted set of the
same fields by when they were written; `save` trims both to the newest `max_entries` and drops
entries older than `max_age_seconds`, in one script. A field saved with `pinned` is never
trimmed (a job's cursor).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from typing import Protocol

from bot.replicas.link import CoordinationUnavailable, RedisLink, text


class JobMemory(Protocol):
    """Where a background job keeps what must survive a handover (JobState with Redis)."""

    async def load(self) -> dict[str, str]: ...

    async def save(
        self, entries: Mapping[str, str], *, pinned: frozenset[str] = frozenset()
    ) -> None: ...


# KEYS[1] hash, KEYS[2] order; ARGV now, oldest score kept, most kept, then field, value, score
# triples (score "pin": never trimmed).
_SAVE = """
for index = 4, #ARGV, 3 do
  redis.call('HSET', KEYS[1], ARGV[index], ARGV[index + 1])
  local score = ARGV[index + 2]
  if score == 'pin' then score = '+inf' end
  redis.call('ZADD', KEYS[2], score, ARGV[index])
end
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2])
local most = tonumber(ARGV[3])
local count = redis.call('ZCARD', KEYS[2])
if count > most then
  for _, field in ipairs(redis.call('ZRANGE', KEYS[2], 0, count - most - 1)) do
    table.insert(old, field)
  end
end
for _, field in ipairs(old) do
  redis.call('HDEL', KEYS[1], field)
  redis.call('ZREM', KEYS[2], field)
end
return #old
"""


class JobState:
    """One job's bounded memory in Redis; `load` all of it, `save` what changed."""

    def __init__(
        self, link: RedisLink, name: str, *, max_entries: int, max_age_seconds: float
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        self._link = link
        self._keys = [link.key(f"job:{name}"), link.key(f"job:{name}:order")]
        self.max_entries = max_entries
        self.max_age_seconds = max_age_seconds
        self._save = link.client.register_script(_SAVE)

    async def load(self) -> dict[str, str]:
        """Everything remembered; empty when Redis cannot answer (the job goes on with what it
        remembers itself)."""
        try:
            async with self._link.run("load_job_state"):
                raw = await self._link.client.hgetall(self._keys[0])
        except CoordinationUnavailable:
            return {}
        return {text(field): text(value) for field, value in raw.items()}

    async def save(
        self, entries: Mapping[str, str], *, pinned: frozenset[str] = frozenset()
    ) -> None:
        if not entries:
            return
        now = self._link.clock()
        args: list[str | float | int] = [now, now - self.max_age_seconds, self.max_entries]
        for field, value in entries.items():
            args += [field, value, "pin" if field in pinned else now]
        with suppress(CoordinationUnavailable):  # logged by the link; kept in memory here
            async with self._link.run("save_job_state"):
                await self._save(keys=self._keys, args=args)
