"""Per-PR leases, so that one replica at a time evaluates a PR and no update is lost.

    {prefix}lease:pr:{pr}    owner token, PX ttl: the replica evaluating that PR
    {prefix}dirty:pr:{pr}    "1": an event for that PR arrived while it was leased

1. A worker with work for a PR calls `acquire`. One script either takes the lease (SET NX PX)
   and clears the dirty mark (the evaluation about to start reads everything marked before it),
   or, when another replica holds the lease, sets the dirty mark and answers False. Marking in
   the same script closes the race where the holder releases between a failed acquire and a
   separate mark.
2. The holder renews (`renew`, compare-and-pexpire) while an evaluation runs longer than its ttl
   allows.
3. The holder calls `release`, one script: when the PR is dirty it clears the mark, keeps the
   lease for another ttl and answers EVALUATE_AGAIN; otherwise it deletes the lease if still
   owned (RELEASED). A holder whose lease expired meanwhile gets LOST when another replica holds
   it now; when the lease is free but the PR dirty, it takes the lease back and answers
   EVALUATE_AGAIN, since nobody else is going to evaluate that mark.
4. A cancelled evaluation `abandon`s its lease: deleted if still owned, the dirty mark kept (the
   stream entry the evaluation was for is evaluated again elsewhere, bot.replicas.stream).
"""

from __future__ import annotations

import enum

from bot.replicas.link import RedisLink, check_ttl

DIRTY_TTL_MS = 3_600_000  # a mark outlives any lease; a stale one costs one extra evaluation

# KEYS[1] lease; ARGV[1] owner token, ARGV[2] ttl ms.
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS[1] lease; ARGV[1] owner token.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS[1] lease, KEYS[2] dirty mark; ARGV[1] owner token, ARGV[2] lease ttl ms, ARGV[3] mark ttl.
_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('DEL', KEYS[2])
  return 1
end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
return 0
"""

# KEYS[1] lease, KEYS[2] dirty mark; ARGV[1] owner token, ARGV[2] lease ttl ms.
_TAKE_FREE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""

# KEYS[1] lease, KEYS[2] dirty mark; ARGV[1] owner token, ARGV[2] lease ttl ms.
# Returns 1 released, 2 evaluate again (lease kept or taken back), 0 held by another owner.
_RELEASE_PR = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return 0
end
if redis.call('DEL', KEYS[2]) == 1 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
if holder then
  redis.call('DEL', KEYS[1])
end
return 1
"""


class ReleaseOutcome(enum.Enum):
    RELEASED = "released"
    EVALUATE_AGAIN = "evaluate again"  # the lease is still (or again) the caller's
    LOST = "lost"  # the lease expired and another replica holds it now; it evaluates the rest


class PullRequestLeases:
    def __init__(self, link: RedisLink) -> None:
        self._link = link
        client = link.client
        self._renew = client.register_script(RENEW)
        self._abandon = client.register_script(RELEASE)
        self._acquire = client.register_script(_ACQUIRE)
        self._release = client.register_script(_RELEASE_PR)
        self._take_free = client.register_script(_TAKE_FREE)

    def _keys(self, pr: str) -> list[str]:
        return [self._link.key(f"lease:pr:{pr}"), self._link.key(f"dirty:pr:{pr}")]

    async def acquire(self, pr: str, owner_token: str, ttl_ms: int) -> bool:
        """Take the PR's lease; when another replica holds it, mark the PR dirty: False."""
        check_ttl(ttl_ms)
        async with self._link.run("acquire_pr"):
            taken = await self._acquire(
                keys=self._keys(pr), args=[owner_token, ttl_ms, DIRTY_TTL_MS]
            )
        return bool(taken)

    async def take_free(self, pr: str, owner_token: str, ttl_ms: int) -> bool:
        """Take the PR's lease if nobody holds it, without marking the PR dirty otherwise: for a
        replica waiting for the lease after `acquire` marked it once (repeated marks would
        keep the holder evaluating again as long as the waiter asks)."""
        check_ttl(ttl_ms)
        async with self._link.run("take_free_pr"):
            taken = await self._take_free(keys=self._keys(pr), args=[owner_token, ttl_ms])
        return bool(taken)

    async def renew(self, pr: str, owner_token: str, ttl_ms: int) -> bool:
        """Extend a lease still held; False when it expired (another replica may hold it now)."""
        check_ttl(ttl_ms)
        async with self._link.run("renew_pr"):
            renewed = await self._renew(keys=self._keys(pr)[:1], args=[owner_token, ttl_ms])
        return bool(renewed)

    async def release(self, pr: str, owner_token: str, ttl_ms: int) -> ReleaseOutcome:
        """Let go of the lease, unless the PR turned dirty: then evaluate again (ttl_ms more)."""
        check_ttl(ttl_ms)
        async with self._link.run("release_pr"):
            outcome = await self._release(keys=self._keys(pr), args=[owner_token, ttl_ms])
        return {1: ReleaseOutcome.RELEASED, 2: ReleaseOutcome.EVALUATE_AGAIN}.get(
            int(outcome), ReleaseOutcome.LOST
        )

    async def abandon(self, pr: str, owner_token: str) -> bool:
        """Free the lease of a cancelled evaluation (if still owned); the dirty mark stays."""
        async with self._link.run("abandon_pr"):
            return bool(await self._abandon(keys=self._keys(pr)[:1], args=[owner_token]))
