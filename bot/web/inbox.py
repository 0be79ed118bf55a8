"""The inbox between acknowledging a webhook delivery and routing it.

`POST /webhook` only verifies a delivery and offers its raw bytes here before answering 202; the
router task takes deliveries out, parses and routes them. `Inbox` is the whole contract between
the two sides, so that a durable inbox (a Redis stream: acknowledged means stored) can replace
the in-memory one without touching either side.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol


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
