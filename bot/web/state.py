"""Typed keys of the application's state (aiohttp warns on plain string keys)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from cachetools import FIFOCache, TTLCache

from bot.metrics import Metrics
from bot.replicas.coordinator import CoordinationUnavailable, Coordinator
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

# A redelivery keeps its delivery ID; GitHub allows it within 3 days (LIMITS.md).
DELIVERY_TTL_SECONDS = 3 * 24 * 3600
DELIVERY_MEMORY = 100_000
# Handler faults are rare: a few thousand is plenty, and caps what a fault storm can hold.
FAULT_MEMORY = 10_000


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
        self._seen: FIFOCache[str, bool] = FIFOCache(maxsize=maxsize)
        self._shared = shared
        self._releases: set[asyncio.Task[None]] = set()

    def claim(self, delivery_id: str) -> bool:
        """True the first time an ID is claimed; False for a duplicate."""
        if delivery_id in self._seen:
            return False
        self._seen[delivery_id] = True
        return True

    def release(self, delivery_id: str) -> None:
        self._seen.pop(delivery_id, None)
        if self._shared is not None:
            task = asyncio.create_task(self._release_shared(self._shared, delivery_id))
            self._releases.add(task)
            task.add_done_callback(self._releases.discard)

    async def _release_shared(self, shared: Coordinator, delivery_id: str) -> None:
        try:
            await shared.release_delivery(delivery_id)
        except CoordinationUnavailable:
            log.warning("could not release a delivery ID in redis", extra={"delivery": delivery_id})

    async def settle(self) -> None:
        """Wait for the shared releases under way (shutdown, tests)."""
        await asyncio.gather(*self._releases, return_exceptions=True)

    def __len__(self) -> int:
        return len(self._seen)


class FailedAfterAck:
    """Delivery IDs answered 202 whose handling then failed (a bug, not bad input).

    GitHub recorded those deliveries as successes, so the redeliverer asks for them again by
    this set; a delivery ID leaves it once a redelivery of it is handled. Bounded in size and
    time (GitHub redelivers within 3 days).
    """

    def __init__(
        self, *, maxsize: int = FAULT_MEMORY, ttl_seconds: float = DELIVERY_TTL_SECONDS
    ) -> None:
        self._ids: TTLCache[str, bool] = TTLCache(maxsize=maxsize, ttl=ttl_seconds)

    def add(self, delivery_id: str) -> None:
        self._ids[delivery_id] = True

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
