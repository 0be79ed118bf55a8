"""Typed keys of the application's state (aiohttp warns on plain string keys)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Coroutine, Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from cachetools import FIFOCache, TTLCache

from bot.github.deliveries import REDELIVERY_WINDOW_SECONDS
from bot.metrics import Metrics
from bot.replicas.coordinator import Coordinator
from bot.replicas.link import CoordinationUnavailable
from bot.scheduler import (
    Evaluate,
    ForgetMap,
    InstallationRepositories,
    OpenPullRequests,
    Scheduler,
)
from bot.settings import Settings
from bot.web.inbox import Inbox

log = logging.getLogger(__name__)

DELIVERY_MEMORY = 100_000
# Handler faults are rare: a few thousand is plenty, and caps what a fault storm can hold.
FAULT_MEMORY = 10_000


class _Background:
    """Redis writes the webhook's path does not wait for; `settle` waits for those under way."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def _unless_unreachable(work: Awaitable[object], *, warning: str, delivery_id: str) -> None:
    """Wait for a Redis write; Redis down is logged (the Coordinator counts it), not raised."""
    try:
        await work
    except CoordinationUnavailable:
        log.warning(warning, extra={"delivery": delivery_id})


class DeliveryLedger:
    """Delivery IDs already accepted, so that a redelivered event is not processed twice.

    Bounded in size, first in first out; an ID is released again when its delivery was refused
    (503) or failed, so that GitHub's redelivery of it is processed. GitHub redelivers only
    within 3 days, so an older ID can never come back and no clock is needed (a TTLCache's
    claim took 10 us, this one's 4).

    With `shared` (several replicas), the claim every replica sees is taken in Redis by the
    inbox's offer (`RedisInbox`), after this local one; a release here releases it there too,
    in the background (the webhook's path stays synchronous; Redis down: the key expires).
    """

    def __init__(
        self,
        *,
        maxsize: int = DELIVERY_MEMORY,
        shared: Coordinator | None = None,
    ) -> None:
        # Delivery ID -> its body's key (or True), and body key -> True.
        self._seen: FIFOCache[str, str | bool] = FIFOCache(maxsize=maxsize)
        self._shared = shared
        self._background = _Background()

    def claim(self, delivery_id: str, body: str | None = None) -> bool:
        """True the first time an ID is claimed with a body (`body_key`) not seen either;
        False for a duplicate: the same ID, or the same signed body under another ID."""
        if delivery_id in self._seen or (body is not None and body in self._seen):
            return False
        self._seen[delivery_id] = body if body is not None else True
        if body is not None:
            self._seen[body] = True
        return True

    def release(self, delivery_id: str) -> None:
        body = self._seen.pop(delivery_id, None)
        keys = [delivery_id]
        if isinstance(body, str):
            self._seen.pop(body, None)
            keys.append(body)
        if self._shared is not None:
            for key in keys:
                self._background.start(
                    _unless_unreachable(
                        self._shared.deliveries.release(key),
                        warning="could not release a delivery ID in redis",
                        delivery_id=delivery_id,
                    )
                )

    async def settle(self) -> None:
        """Wait for the shared releases under way (shutdown, tests)."""
        await self._background.settle()

    def __len__(self) -> int:
        return len(self._seen)


class FailedAfterAck:
    """Delivery IDs answered 202 whose handling then failed (a bug, not bad input).

    GitHub recorded those deliveries as successes, so the redeliverer asks for them again by
    this set; a delivery ID leaves it once a redelivery of it is handled. Bounded in size and
    time (GitHub redelivers within 3 days).

    With `shared` (several replicas), each fault is also recorded in Redis, in the background,
    because the redeliverer runs on one replica only: `to_ask` gives it the faults of every
    replica, and `asked` forgets one there once GitHub was asked (a replica that fails on the
    redelivery records it anew). Redis down: the local faults are still asked for.
    """

    def __init__(
        self,
        *,
        maxsize: int = FAULT_MEMORY,
        ttl_seconds: float = REDELIVERY_WINDOW_SECONDS,
        shared: Coordinator | None = None,
    ) -> None:
        self._ids: TTLCache[str, bool] = TTLCache(maxsize=maxsize, ttl=ttl_seconds)
        self._shared = shared
        self._background = _Background()
        self._shared_read_at = 0.0  # when `to_ask` last read the shared faults

    def add(self, delivery_id: str) -> None:
        self._ids[delivery_id] = True
        if self._shared is not None:
            self._background.start(
                _unless_unreachable(
                    self._shared.faults.record(delivery_id),
                    warning="could not share a failed delivery ID: "
                    "only this replica's redeliverer asks for it",
                    delivery_id=delivery_id,
                )
            )

    async def to_ask(self) -> list[str]:
        """This replica's faults and, with Redis, every replica's."""
        faults = list(self)
        if self._shared is not None:
            with suppress(CoordinationUnavailable):  # logged and counted by the Coordinator
                shared, self._shared_read_at = await self._shared.faults.recorded()
                faults.extend(fault for fault in shared if fault not in self._ids)
        return faults

    async def asked(self, delivery_id: str) -> None:
        """GitHub was asked again: forgotten in Redis, unless it failed anew since `to_ask`.
        Locally it stays until a redelivery of it is handled here (`discard`)."""
        if self._shared is not None:
            await _unless_unreachable(
                self._shared.faults.forget(delivery_id, recorded_before=self._shared_read_at),
                warning="could not forget a redelivered fault in redis",
                delivery_id=delivery_id,
            )

    async def settle(self) -> None:
        """Wait for the shared records under way (shutdown, tests)."""
        await self._background.settle()

    def discard(self, delivery_id: str) -> None:
        if self._ids.currsize:  # nearly always empty: skip the cache's clock and expiry walk
            self._ids.pop(delivery_id, None)

    def __contains__(self, delivery_id: object) -> bool:
        return delivery_id in self._ids

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._ids))  # a copy: the webhook side may change it meanwhile

    def __len__(self) -> int:
        return len(self._ids)


@dataclass(frozen=True, slots=True)
class Wiring:
    """What the scheduler runs: the Engine's methods, or functions injected by tests."""

    evaluate: Evaluate
    open_pull_requests: OpenPullRequests | None
    installation_repositories: InstallationRepositories | None
    forget_map: ForgetMap | None = None


SETTINGS_KEY = web.AppKey("settings", Settings)
METRICS_KEY = web.AppKey("metrics", Metrics)
LEDGER_KEY = web.AppKey("deliveries", DeliveryLedger)
FAULTS_KEY = web.AppKey("failed_after_ack", FailedAfterAck)
INBOX_KEY: web.AppKey[Inbox] = web.AppKey("inbox")
SCHEDULER_KEY = web.AppKey("scheduler", Scheduler)
SESSION_KEY = web.AppKey("session", aiohttp.ClientSession)
WIRING_KEY = web.AppKey("wiring", Wiring)
