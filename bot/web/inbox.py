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
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Protocol

from bot.replicas.coordinator import Coordinator
from bot.replicas.dedupe import Acceptance
from bot.replicas.link import CoordinationUnavailable
from bot.replicas.stream import Work
from bot.web.signature import body_key

log = logging.getLogger(__name__)

JOIN_POLL_SECONDS = 0.02
# How often each replica claims what a dead one left: with the stream's claim idle time (the
# lease's ttl), the bound on finishing a dead replica's work (README).
DEFAULT_CLAIM_EVERY_SECONDS = 5.0
# How often a replica deletes the stream's consumers that stopped (one per replica's start).
FORGET_CONSUMERS_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class RawDelivery:
    """One verified delivery as GitHub sent it: nothing parsed yet."""

    event: str  # X-GitHub-Event
    delivery_id: str  # X-GitHub-Delivery
    body: bytes


class Inbox(Protocol):
    # True when an acknowledged delivery outlives this process until its evaluations finished:
    # the router then tells `done` which evaluations those are.
    durable: bool

    async def offer(self, delivery: RawDelivery) -> bool:
        """Keep `delivery` for the router; False when full or closed (the door answers 503)."""

    async def take(self) -> RawDelivery | None:
        """The next delivery, waiting for one; None once closed and empty."""

    async def done(
        self, delivery: RawDelivery, evaluated: Sequence[asyncio.Future[None]] = ()
    ) -> None:
        """The router has finished with `delivery` (handed over, or given up). `evaluated`: the
        evaluations it asked for; a durable inbox forgets the delivery only once they finished
        (a cancelled one: the delivery is handed to another replica)."""

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

    durable = False

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

    async def done(
        self, delivery: RawDelivery, evaluated: Sequence[asyncio.Future[None]] = ()
    ) -> None:
        self._queue.task_done()  # in memory: what the scheduler holds dies with it anyway

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

    `offer` claims the delivery ID for every replica and appends the delivery to the stream in
    one script before the 202 (a delivery another replica already took is answered as kept, and
    dropped); it refuses (503) once the stream holds `maxsize` unfinished deliveries across
    replicas. `take` reads the stream as this replica's consumer and, every
    `claim_every_seconds`, claims entries a dead replica left. `done` acknowledges and deletes
    an entry once every evaluation its delivery asked for has finished: until then this replica
    holds it, and its keeper task touches what it holds every `claim_every_seconds`, so that
    only a dead replica's entries idle long enough to be claimed (bot.replicas.stream). At
    shutdown `hand_over` gives what is left to the other replicas at once.

    Redis unreachable: offers go to a `MemoryInbox` (never a 5xx, never a drop: as a single
    replica), `take` serves that one first, and the stream is tried again at the next offer or
    after `retry_seconds`. Redis's own errors are logged and counted by the link.
    """

    durable = True

    def __init__(
        self,
        coordinator: Coordinator,
        *,
        consumer: str,
        maxsize: int,
        read_count: int = 10,
        block_ms: int = 500,
        claim_every_seconds: float = DEFAULT_CLAIM_EVERY_SECONDS,
        retry_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._deliveries = coordinator.deliveries
        self._stream = coordinator.stream
        self._consumer = consumer
        self._maxsize = maxsize
        self._fallback = MemoryInbox(maxsize=maxsize)
        self._read_count = read_count
        self._block_ms = min(block_ms, coordinator.link.max_block_ms)
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
        # Entries this replica holds (read, routing, or waiting for their evaluations).
        self._held: set[str] = set()
        self._finished: list[str] = []  # evaluated: to acknowledge at the keeper's next turn
        self._abandoned: set[str] = set()  # an evaluation was cancelled: to hand over
        self._keeper: asyncio.Task[None] | None = None
        self._keeper_woken = asyncio.Event()

    @property
    def keeper_alive(self) -> bool:
        """False once the keeper task died (the health check fails)."""
        return self._keeper is None or not self._keeper.done()

    @property
    def held(self) -> int:
        """Stream entries this replica holds: read, routing, or waiting for evaluations."""
        return len(self._held)

    async def offer(self, delivery: RawDelivery) -> bool:
        if self._closed:
            return False
        try:
            acceptance = await self._deliveries.accept(
                delivery.event,
                delivery.delivery_id,
                delivery.body,
                body_guid=body_key(delivery.body),
                max_backlog=self._maxsize,
            )
        except CoordinationUnavailable:
            return await self._offer_locally(delivery)
        if acceptance is Acceptance.FULL:
            return False
        if acceptance is Acceptance.KEPT:
            self._offered += 1
            self._changed.set()
        return True  # a duplicate is kept where another replica took it

    async def _offer_locally(self, delivery: RawDelivery) -> bool:
        kept = await self._fallback.offer(delivery)
        self._changed.set()
        return kept

    async def take(self) -> RawDelivery | None:
        self._start_keeper()
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
            claimed = await self._stream.claim_stale(self._consumer, count=self._read_count)
            if claimed:
                log.warning("claimed %d deliveries a stopped replica left", len(claimed))
                self._hold(claimed)
                return
        offered = self._offered
        works = await self._stream.read(
            self._consumer, count=self._read_count, block_ms=self._block_ms
        )
        self._hold(works)
        if not works:
            self._seen_empty_after = offered
            self._changed.set()

    def _hold(self, works: list[Work]) -> None:
        for work in works:
            self._held.add(work.entry_id)
            self._read.append(_streamed(work))

    async def _wait_for_change(self, seconds: float) -> None:
        with suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._changed.wait()

    async def done(
        self, delivery: RawDelivery, evaluated: Sequence[asyncio.Future[None]] = ()
    ) -> None:
        if not isinstance(delivery, StreamedDelivery):
            await self._fallback.done(delivery)
            return
        self._in_hand -= 1
        self._changed.set()
        waiting = [future for future in evaluated if not future.done()]
        if not waiting:
            self._evaluated(delivery.entry_id, evaluated)
            await self._flush()
            return
        remaining = len(waiting)

        def one_finished(_: asyncio.Future[None]) -> None:
            nonlocal remaining
            remaining -= 1
            if remaining == 0:
                self._evaluated(delivery.entry_id, evaluated)
                self._keeper_woken.set()

        for future in waiting:
            future.add_done_callback(one_finished)
        self._start_keeper()

    def _evaluated(self, entry_id: str, evaluations: Sequence[asyncio.Future[None]]) -> None:
        if any(future.cancelled() for future in evaluations):
            self._abandoned.add(entry_id)  # the scheduler stopped first: another replica
        else:
            self._finished.append(entry_id)

    async def _flush(self) -> None:
        """Acknowledge (and delete) the entries whose evaluations finished."""
        finished, self._finished = self._finished, []
        if not finished:
            return
        try:
            await self._stream.ack(finished)
        except CoordinationUnavailable:
            # left pending: a replica claims it later and routes it again (idempotent)
            log.warning("could not acknowledge %d evaluated deliveries", len(finished))
        self._held.difference_update(finished)

    def _start_keeper(self) -> None:
        if self._keeper is None:
            self._keeper = asyncio.create_task(self._keep(), name="coi-inbox-keeper")

    async def _keep(self) -> None:
        """Acknowledge what was evaluated, and touch what is held, until `hand_over`."""
        next_touch = self._clock() + self._claim_every / 2
        next_forget = self._clock()
        while True:
            with suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, next_touch - self._clock())):
                    await self._keeper_woken.wait()
            self._keeper_woken.clear()
            try:
                await self._flush()
                if self._clock() >= next_touch:
                    # half the claim interval: well inside claim_idle_ms (bot.replicas.stream)
                    next_touch = self._clock() + self._claim_every / 2
                    held = sorted(self._held - self._abandoned)
                    with suppress(CoordinationUnavailable):
                        await self._stream.touch(self._consumer, held)
                        if self._clock() >= next_forget:
                            next_forget = self._clock() + FORGET_CONSUMERS_SECONDS
                            await self._stream.forget_stopped_consumers()
            except Exception:
                # a bug or an unexpected answer: the next turn tries again, the keeper lives on
                log.exception("the inbox's keeper failed; trying again")

    async def hand_over(self) -> None:
        """At shutdown, after the scheduler stopped: acknowledge what was evaluated and make the
        rest (read, or whose evaluation was cancelled) claimable by another replica at once."""
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
        await self._flush()
        left = sorted(self._held)
        if not left:
            return
        try:
            await self._stream.hand_over(self._consumer, left)
        except CoordinationUnavailable:
            log.warning("could not hand %d deliveries over: they are claimed when idle", len(left))
            return
        log.info("handed %d unfinished deliveries to the other replicas", len(left))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._fallback.close()
            self._changed.set()

    def leftovers(self) -> list[RawDelivery]:
        # Entries read from the stream stay pending there: `hand_over` gives them away.
        return self._fallback.leftovers()

    async def join(self) -> None:
        """Wait until this replica's part is routed: its local deliveries, and the stream read
        empty after its last offer (what another replica took, that one routes)."""
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
