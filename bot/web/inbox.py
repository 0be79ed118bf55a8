"""The inbox between acknowledging a webhook delivery and routing it.

`POST /webhook` only verifies a delivery and offers its raw bytes here before answering 202; the
router task takes deliveries out, parses and routes them. `Inbox` is the whole contract between
the two sides, so that a durable inbox (a Redis stream: acknowledged means stored) can replace
the in-memory one without touching either side.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Protocol

from bot.replicas.coordinator import CoordinationUnavailable, Coordinator, Work
from bot.web.signature import body_key

log = logging.getLogger(__name__)

JOIN_POLL_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class RawDelivery:
    """One verified delivery as GitHub sent it: nothing parsed yet."""

    event: str  # X-GitHub-Event
    delivery_id: str  # X-GitHub-Delivery
    body: bytes


class Inbox(Protocol):
    async def offer(self, delivery: RawDelivery) -> bool:
        """Keep `delivery` for the router; False when full or closed (the door answers 503)."""

    async def take(self) -> RawDelivery | None:
        """The next delivery, waiting for one; None once closed and empty."""

    async def done(self, delivery: RawDelivery) -> None:
        """The router has finished with `delivery` (handed over, or given up): forget it."""

    def close(self) -> None:
        """Refuse further offers; `take` returns what is left, then None (shutdown)."""

    def leftovers(self) -> list[RawDelivery]:
        """What is still held and would be lost with this process (the shutdown log)."""

    async def join(self) -> None:
        """Wait until every delivery offered so far is done (tests, benchmarks)."""

    @property
    def depth(self) -> int:
        """Deliveries waiting to be taken."""


class MemoryInbox:
    """A bounded asyncio queue: what it holds dies with the process (one replica, no Redis)."""

    def __init__(self, *, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, not {maxsize}")
        self._maxsize = maxsize
        # Unbounded underneath: the bound is checked in offer(), so that close() can always
        # append its end marker (None).
        self._queue: asyncio.Queue[RawDelivery | None] = asyncio.Queue()
        self._closed = False
        self._end_marked = False  # close()'s None is in the queue, not yet taken

    async def offer(self, delivery: RawDelivery) -> bool:
        if self._closed or self._queue.qsize() >= self._maxsize:
            return False
        self._queue.put_nowait(delivery)
        return True

    async def take(self) -> RawDelivery | None:
        if self._closed and self._queue.empty():
            return None
        delivery = await self._queue.get()
        if delivery is None:
            self._end_marked = False
            self._queue.task_done()
        return delivery

    async def done(self, delivery: RawDelivery) -> None:
        self._queue.task_done()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._end_marked = True
            self._queue.put_nowait(None)  # wakes a take() that waits

    def leftovers(self) -> list[RawDelivery]:
        held: list[RawDelivery] = []
        while not self._queue.empty():
            delivery = self._queue.get_nowait()
            self._queue.task_done()
            if delivery is not None:
                held.append(delivery)
        self._end_marked = False
        return held

    async def join(self) -> None:
        await self._queue.join()

    @property
    def depth(self) -> int:
        return self._queue.qsize() - (1 if self._end_marked else 0)


@dataclass(frozen=True, slots=True)
class StreamedDelivery(RawDelivery):
    """A delivery read from the shared stream: acknowledged there once the router is done."""

    entry_id: str


class RedisInbox:
    """The inbox of one replica among several: a Redis stream, acknowledged means stored.

    `offer` claims the delivery ID for every replica (a delivery another replica already took is
    answered as kept, and dropped) and appends the delivery to the stream before the 202. `take`
    reads the stream as this replica's consumer and, every `claim_every_seconds`, claims entries
    a dead replica read and never acknowledged; `done` acknowledges the entry. An entry left
    unacknowledged by a shutdown or a crash is thus routed by another replica.

    Redis unreachable: offers go to a `MemoryInbox` (never a 5xx, never a drop: as a single
    replica), `take` serves that one first, and the stream is tried again at the next offer or
    after `retry_seconds`. Redis's own errors are logged and counted by the Coordinator.
    """

    def __init__(
        self,
        coordinator: Coordinator,
        *,
        consumer: str,
        maxsize: int,
        read_count: int = 10,
        block_ms: int = 500,
        claim_every_seconds: float = 5.0,
        retry_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._coordinator = coordinator
        self._consumer = consumer
        self._fallback = MemoryInbox(maxsize=maxsize)
        self._read_count = read_count
        self._block_ms = min(block_ms, coordinator.max_block_ms)
        self._claim_every = claim_every_seconds
        self._retry_seconds = retry_seconds
        self._clock = clock
        self._next_claim = clock()  # at start: whatever a replica that died before us left
        self._read: deque[StreamedDelivery] = deque()
        self._closed = False
        self._in_hand = 0  # taken from the stream, not yet done
        self._offered = 0  # deliveries this replica appended to the stream
        self._seen_empty_after = 0  # `_offered` when a read last found the stream drained
        self._changed = asyncio.Event()

    async def offer(self, delivery: RawDelivery) -> bool:
        if self._closed:
            return False
        try:
            if not await self._coordinator.claim_delivery(delivery.delivery_id):
                return True  # another replica took this delivery: it is kept there
            # The same signed body under another ID is a replay (bot.web.signature.body_key).
            if not await self._coordinator.claim_delivery(body_key(delivery.body)):
                return True
            await self._coordinator.enqueue(delivery.event, delivery.delivery_id, delivery.body)
        except CoordinationUnavailable:
            return await self._offer_locally(delivery)
        self._offered += 1
        self._changed.set()
        return True

    async def _offer_locally(self, delivery: RawDelivery) -> bool:
        kept = await self._fallback.offer(delivery)
        self._changed.set()
        return kept

    async def take(self) -> RawDelivery | None:
        while True:
            if self._fallback.depth:
                return await self._fallback.take()
            if self._read:
                self._in_hand += 1
                return self._read.popleft()
            if self._closed:
                return None  # what the stream still holds is routed by the other replicas
            self._changed.clear()
            try:
                await self._read_stream()
            except CoordinationUnavailable:
                await self._wait_for_change(self._retry_seconds)

    async def _read_stream(self) -> None:
        if self._clock() >= self._next_claim:
            self._next_claim = self._clock() + self._claim_every
            claimed = await self._coordinator.claim_stale(self._consumer, count=self._read_count)
            if claimed:
                log.warning("claimed %d deliveries a stopped replica left", len(claimed))
                self._read.extend(_streamed(work) for work in claimed)
                return
        offered = self._offered
        works = await self._coordinator.read(
            self._consumer, count=self._read_count, block_ms=self._block_ms
        )
        self._read.extend(_streamed(work) for work in works)
        if not works:
            self._seen_empty_after = offered
            self._changed.set()

    async def _wait_for_change(self, seconds: float) -> None:
        with suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._changed.wait()

    async def done(self, delivery: RawDelivery) -> None:
        if not isinstance(delivery, StreamedDelivery):
            await self._fallback.done(delivery)
            return
        self._in_hand -= 1
        self._changed.set()
        try:
            await self._coordinator.ack(delivery.entry_id)
        except CoordinationUnavailable:
            # left pending: a replica claims it later and routes it again (idempotent)
            log.warning("could not acknowledge a routed delivery in the stream")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._fallback.close()
            self._changed.set()

    def leftovers(self) -> list[RawDelivery]:
        # Entries read from the stream stay pending there: another replica claims them.
        return self._fallback.leftovers()

    async def join(self) -> None:
        """Wait until this replica's part is done: its local deliveries routed, and the stream
        read empty after its last offer (what another replica took, that one routes)."""
        while True:
            await self._fallback.join()
            drained = self._seen_empty_after >= self._offered or self._closed
            if drained and not self._read and not self._in_hand:
                return
            self._changed.clear()
            await self._wait_for_change(JOIN_POLL_SECONDS)

    @property
    def depth(self) -> int:
        return self._fallback.depth + len(self._read)


def _streamed(work: Work) -> StreamedDelivery:
    return StreamedDelivery(work.event, work.delivery, work.body, work.entry_id)
