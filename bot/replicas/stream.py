"""The shared stream of acknowledged deliveries (`{prefix}work`, consumer group `workers`).

An entry is appended by `bot.replicas.dedupe` together with its delivery ID's claim, before the
webhook answers 202. Each replica `read`s new entries as its own consumer; an entry stays pending
(in the group's PEL) while the replica routes it and until every evaluation it asked for has
finished; then `ack` acknowledges and deletes it in one script, so the stream holds only
unfinished work (`backlog`) and nothing is ever trimmed unread.

A live replica `touch`es the entries it holds every claim interval, which keeps their idle time
below `claim_idle_ms`; a dead replica's entries idle past it, and `claim_stale` (XAUTOCLAIM) on a
live replica takes them over: a replica killed mid-evaluation loses nothing. A replica stopping
with work left `hand_over`s it: its entries look idle at once, and the next claim takes them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis.exceptions

from bot.replicas.link import RedisLink, text

log = logging.getLogger(__name__)

STREAM = "work"
GROUP = "workers"
# The PR lease's ttl (bot.replicas.lease), and above the claim interval (bot.web.inbox), so
# that a live replica's touch always comes first.
DEFAULT_CLAIM_IDLE_MS = 10_000
# A consumer gone quiet this long with nothing pending is a replica that stopped: forgotten.
CONSUMER_IDLE_MS = 3_600_000

# KEYS[1] stream; ARGV group, then entry ids. Acknowledged and deleted together: nothing else
# deletes entries, so an entry leaves the stream only once its work is done.
_ACK = """
local done = 0
for index = 2, #ARGV do
  done = done + redis.call('XACK', KEYS[1], ARGV[1], ARGV[index])
  redis.call('XDEL', KEYS[1], ARGV[index])
end
return done
"""

# KEYS[1] stream; ARGV group, consumer, idle ms to set, then entry ids. Only entries still
# pending to `consumer` are touched: one another replica claimed meanwhile stays its own.
_TOUCH = """
local touched = 0
for index = 4, #ARGV do
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[index], ARGV[index], 1)
  if pending[1] and pending[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[index], 'IDLE', ARGV[3], 'JUSTID')
    touched = touched + 1
  end
end
return touched
"""


@dataclass(frozen=True, slots=True)
class Work:
    """One webhook delivery as the webhook received it, waiting in the stream."""

    entry_id: str
    event: str
    delivery: str
    body: bytes


class WorkStream:
    def __init__(self, link: RedisLink, *, claim_idle_ms: int = DEFAULT_CLAIM_IDLE_MS) -> None:
        self._link = link
        self.key = link.key(STREAM)
        self.claim_idle_ms = claim_idle_ms
        self._ack = link.client.register_script(_ACK)
        self._touch = link.client.register_script(_TOUCH)

    async def append(self, event: str, delivery: str, body: bytes) -> str:
        """Append a delivery without claiming its ID (tools and tests; the webhook's path
        appends through `DeliveryClaims.accept`)."""
        async with self._link.run("enqueue"):
            entry_id = await self._link.client.xadd(
                self.key,
                {b"event": event.encode(), b"delivery": delivery.encode(), b"body": body},
            )
        return text(entry_id)

    async def backlog(self) -> int:
        """Entries acknowledged to GitHub and not finished yet, across replicas."""
        async with self._link.run("backlog"):
            return int(await self._link.client.xlen(self.key))

    async def read(self, consumer: str, *, count: int = 10, block_ms: int = 0) -> list[Work]:
        """New entries for `consumer`; waits up to `block_ms` for one (0: answers at once)."""
        if count <= 0:
            raise ValueError(f"count must be positive, not {count}")
        if not 0 <= block_ms <= self._link.max_block_ms:
            raise ValueError(
                f"block_ms must be between 0 and {self._link.max_block_ms}, not {block_ms}"
            )
        async with self._link.run("read"):
            client = self._link.blocking if block_ms else self._link.client
            response = await self._with_group(
                client.xreadgroup,
                GROUP,
                consumer,
                {self.key: ">"},
                count=count,
                # Redis reads BLOCK 0 as "forever": leave BLOCK out instead
                block=block_ms or None,
            )
            entries = [entry for _, stream_entries in response or [] for entry in stream_entries]
            return await self._works(entries)

    async def ack(self, entry_ids: Sequence[str]) -> None:
        """The entries' work is done: acknowledged and deleted, no replica takes them again."""
        if not entry_ids:
            return
        async with self._link.run("ack"):
            try:
                await self._ack(keys=[self.key], args=[GROUP, *entry_ids])
            except redis.exceptions.ResponseError as error:
                if not _lost_group(error):
                    raise
                # Redis was emptied meanwhile: the entries are gone with it

    async def touch(self, consumer: str, entry_ids: Sequence[str]) -> int:
        """Reset the idle time of the entries `consumer` still holds (it is alive)."""
        return await self._set_idle("touch", consumer, entry_ids, idle_ms=0)

    async def hand_over(self, consumer: str, entry_ids: Sequence[str]) -> int:
        """Make the entries `consumer` holds look abandoned: the next claim elsewhere takes
        them (a replica stopping with work left)."""
        return await self._set_idle("hand_over", consumer, entry_ids, idle_ms=CONSUMER_IDLE_MS)

    async def _set_idle(
        self, operation: str, consumer: str, entry_ids: Sequence[str], *, idle_ms: int
    ) -> int:
        if not entry_ids:
            return 0
        async with self._link.run(operation):
            try:
                return int(
                    await self._touch(keys=[self.key], args=[GROUP, consumer, idle_ms, *entry_ids])
                )
            except redis.exceptions.ResponseError as error:
                if not _lost_group(error):
                    raise
                return 0

    async def claim_stale(self, consumer: str, *, count: int = 10) -> list[Work]:
        """Entries other consumers read but left untouched for longer than claim_idle_ms."""
        if count <= 0:
            raise ValueError(f"count must be positive, not {count}")
        claimed: list[Any] = []
        cursor: str | bytes = "0-0"
        async with self._link.run("claim_stale"):
            while len(claimed) < count:
                response = await self._with_group(
                    self._link.client.xautoclaim,
                    self.key,
                    GROUP,
                    consumer,
                    self.claim_idle_ms,
                    start_id=cursor,
                    count=count - len(claimed),
                )
                # Redis 7 answers [cursor, entries, deleted ids]; deleted ones left the PEL now
                cursor, entries = response[0], response[1]
                deleted = response[2] if len(response) > 2 else []
                if deleted:
                    # only `ack` deletes, after acknowledging: something else removed these
                    log.error(
                        "pending deliveries were deleted from the stream unfinished",
                        extra={"entries": [text(entry) for entry in deleted]},
                    )
                claimed.extend(entries)
                if text(cursor) == "0-0":
                    break
            return await self._works(claimed)

    async def forget_stopped_consumers(self) -> int:
        """Delete consumers that hold nothing and have been quiet for an hour: each restart
        adds one, and Redis would keep them all."""
        forgotten = 0
        async with self._link.run("forget_consumers"):
            try:
                consumers = await self._link.client.xinfo_consumers(self.key, GROUP)
            except redis.exceptions.ResponseError as error:
                if not _lost_group(error):
                    raise
                return 0
            for consumer in consumers:
                if int(consumer["pending"]) == 0 and int(consumer["idle"]) > CONSUMER_IDLE_MS:
                    await self._link.client.xgroup_delconsumer(
                        self.key, GROUP, text(consumer["name"])
                    )
                    forgotten += 1
        return forgotten

    async def _with_group(
        self, command: Callable[..., Awaitable[Any]], *args: Any, **options: Any
    ) -> Any:
        """Run a group command, creating the group first when Redis lost it (or never had it)."""
        try:
            return await command(*args, **options)
        except redis.exceptions.ResponseError as error:
            if not _lost_group(error):
                raise
        try:
            # from id 0: deliveries enqueued before any worker read are delivered too
            await self._link.client.xgroup_create(self.key, GROUP, id="0", mkstream=True)
        except redis.exceptions.ResponseError as error:
            if not str(error).startswith("BUSYGROUP"):  # another replica created it meanwhile
                raise
        return await command(*args, **options)

    async def _works(self, entries: list[Any]) -> list[Work]:
        works = []
        for entry_id, fields in entries:
            try:
                work = Work(
                    entry_id=text(entry_id),
                    event=fields[b"event"].decode(),
                    delivery=fields[b"delivery"].decode(),
                    body=fields[b"body"],
                )
            except (KeyError, TypeError, AttributeError, UnicodeDecodeError):
                # no code of ours writes such an entry; acknowledged so that it is not retried
                log.error("dropping a malformed work entry", extra={"entry": text(entry_id)})
                await self._ack(keys=[self.key], args=[GROUP, entry_id])
                continue
            works.append(work)
        return works


def _lost_group(error: redis.exceptions.ResponseError) -> bool:
    """The stream or its group is gone (Redis emptied or restarted): recreated, never fatal.
    A read blocked when that happens is answered UNBLOCKED."""
    message = str(error)
    return message.startswith("NOGROUP") or message.startswith("UNBLOCKED")
