"""Coordination of several replicas through one Redis (DESIGN.md, "Several replicas share Redis").

One `Coordinator` per replica holds the connection (bot.replicas.link) and one object per
concern, each in its own module with its own keys, all under a configurable prefix (`coi:`):

    deliveries  bot.replicas.dedupe     {prefix}delivery:{guid}: claimed IDs; claim + append
    stream      bot.replicas.stream     {prefix}work: unfinished deliveries, group `workers`
    pr_leases   bot.replicas.pr_lease   {prefix}lease:pr:{pr}, {prefix}dirty:pr:{pr}
    job_leases  bot.replicas.job_lease  {prefix}lease:singleton:{name}
    faults      bot.replicas.faults     {prefix}faults: deliveries that failed after the 202
    tokens      bot.replicas.tokens     {prefix}token:{installation}
    maps        bot.replicas.maps       {prefix}maps: "no map here" forgotten by every replica
    (jobs)      bot.replicas.job_state  {prefix}job:{name}: what a background job remembers
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.github.deliveries import REDELIVERY_WINDOW_SECONDS
from bot.metrics import Metrics
from bot.replicas.dedupe import DeliveryClaims
from bot.replicas.faults import SharedFaults
from bot.replicas.job_lease import JobLeases
from bot.replicas.link import (
    DEFAULT_MAX_BLOCK_MS,
    DEFAULT_PREFIX,
    SOCKET_TIMEOUT_SECONDS,
    RedisLink,
)
from bot.replicas.maps import MapChanges
from bot.replicas.pr_lease import PullRequestLeases
from bot.replicas.stream import DEFAULT_CLAIM_IDLE_MS, WorkStream
from bot.replicas.tokens import SharedTokens


class Coordinator:
    """Shared state of the replicas. Build with `Coordinator.from_url`; `aclose` at shutdown."""

    def __init__(
        self,
        link: RedisLink,
        *,
        delivery_ttl_seconds: int = REDELIVERY_WINDOW_SECONDS,
        claim_idle_ms: int = DEFAULT_CLAIM_IDLE_MS,
    ) -> None:
        self.link = link
        self.deliveries = DeliveryClaims(link, ttl_seconds=delivery_ttl_seconds)
        self.stream = WorkStream(link, claim_idle_ms=claim_idle_ms)
        self.pr_leases = PullRequestLeases(link)
        self.job_leases = JobLeases(link)
        self.faults = SharedFaults(link, window_seconds=delivery_ttl_seconds)
        self.tokens = SharedTokens(link)
        self.maps = MapChanges(link)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        metrics: Metrics,
        socket_timeout: float = SOCKET_TIMEOUT_SECONDS,
        max_block_ms: int = DEFAULT_MAX_BLOCK_MS,
        prefix: str = DEFAULT_PREFIX,
        clock: Callable[[], float] = time.time,
        delivery_ttl_seconds: int = REDELIVERY_WINDOW_SECONDS,
        claim_idle_ms: int = DEFAULT_CLAIM_IDLE_MS,
    ) -> Coordinator:
        """A Coordinator on a `redis://`, `rediss://` or `unix://` URL; connects at first use."""
        link = RedisLink.from_url(
            url,
            metrics=metrics,
            socket_timeout=socket_timeout,
            max_block_ms=max_block_ms,
            prefix=prefix,
            clock=clock,
        )
        return cls(link, delivery_ttl_seconds=delivery_ttl_seconds, claim_idle_ms=claim_idle_ms)

    @property
    def prefix(self) -> str:
        return self.link.prefix

    async def ping(self) -> None:
        """Raises CoordinationUnavailable unless Redis answers (for a start-up check)."""
        await self.link.ping()

    async def aclose(self) -> None:
        await self.link.aclose()
