"""Background work that is not HTTP: the reconciler and the redeliverer, for the server's life.

With several replicas (`coordinator` given), they run on one replica at a time: the one holding
the singleton lease `background`, renewed every ttl/3. A replica that loses the lease stops its
jobs; another one takes the lease within one ttl of the holder's death. Redis unreachable: every
replica runs them, as a single replica would (the reconciler's repairs are idempotent); when
Redis answers again, only the lease's holder keeps them.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from bot.github.auth import GitHubApp
from bot.github.map_source import MapSource
from bot.github.pacing import Pacer
from bot.jobs.reconciler import Reconciler, Schedule
from bot.jobs.redelivery import Faults, Redeliverer
from bot.metrics import Metrics
from bot.replicas.coordinator import CoordinationUnavailable, Coordinator
from bot.settings import Settings

log = logging.getLogger(__name__)

SINGLETON = "background"
SINGLETON_TTL_MS = 30_000


@dataclass(frozen=True, slots=True)
class RepairSources:
    """What the background repairs read GitHub with: the Engine's App identity and map source."""

    github: GitHubApp
    maps: MapSource
    pacer: Pacer | None = None  # the one the sweeps take turns from, for the reconciler's repairs
    queue_busy: Callable[[], bool] | None = None  # evaluations already wait: repairs wait too


@asynccontextmanager
async def background_jobs(
    sources: RepairSources,
    settings: Settings,
    schedule: Schedule,
    metrics: Metrics,
    *,
    failed_after_ack: Faults | None = None,
    coordinator: Coordinator | None = None,
    ttl_ms: int = SINGLETON_TTL_MS,
) -> AsyncIterator[None]:
    """The reconciler and the redelivery loops while the context is open; each loop only when
    its period is positive. `failed_after_ack`: delivery IDs answered 202 whose handling failed,
    for the redeliverer to ask again. `coordinator`: on the replica holding the lease only."""

    def start() -> list[asyncio.Task[None]]:
        return _start_jobs(sources, settings, schedule, metrics, failed_after_ack)

    if coordinator is None:
        tasks = start()
        try:
            yield
        finally:
            await _stop(tasks)
        return
    lease = asyncio.create_task(
        _under_lease(coordinator, start, ttl_ms=ttl_ms), name="coi-background-lease"
    )
    try:
        yield
    finally:
        lease.cancel()
        await asyncio.gather(lease, return_exceptions=True)


async def _under_lease(
    coordinator: Coordinator,
    start: Callable[[], list[asyncio.Task[None]]],
    *,
    ttl_ms: int,
) -> None:
    """Runs the jobs while this replica holds the singleton lease (or Redis is unreachable)."""
    owner = uuid.uuid4().hex
    held = False
    tasks: list[asyncio.Task[None]] | None = None
    try:
        while True:
            try:
                if held:
                    held = await coordinator.renew_singleton(SINGLETON, owner, ttl_ms)
                else:
                    held = await coordinator.acquire_singleton(SINGLETON, owner, ttl_ms)
                run = held
            except CoordinationUnavailable:
                held, run = False, True  # as a single replica; the lease is asked again later
            if run and tasks is None:
                log.info("running the background jobs on this replica")
                tasks = start()
            elif not run and tasks is not None:
                log.info("another replica runs the background jobs now")
                await _stop(tasks)
                tasks = None
            await asyncio.sleep(ttl_ms / 3000)
    finally:
        if tasks is not None:
            await _stop(tasks)
        if held:
            # shielded: a cancelled task's last await would be cancelled at once
            with suppress(CoordinationUnavailable):
                await asyncio.shield(coordinator.release_singleton(SINGLETON, owner))


def _start_jobs(
    sources: RepairSources,
    settings: Settings,
    schedule: Schedule,
    metrics: Metrics,
    failed_after_ack: Faults | None,
) -> list[asyncio.Task[None]]:
    tasks: list[asyncio.Task[None]] = []
    if settings.reconcile_minutes > 0:
        reconciler = Reconciler(
            sources.github,
            sources.maps,
            schedule,
            metrics,
            app_id=settings.app_id,
            graphql_url=settings.graphql_url,
            max_per_cycle=settings.reconcile_max_per_cycle,
            rate_limit_floor=settings.rate_limit_floor,
            pacer=sources.pacer,
            queue_busy=sources.queue_busy,
        )
        period = settings.reconcile_minutes * 60
        tasks.append(
            asyncio.create_task(reconciler.run(period_seconds=period), name="coi-reconcile")
        )
    if settings.redeliver_minutes > 0:
        redeliverer = Redeliverer(
            sources.github.app_client,
            metrics,
            max_per_cycle=settings.redeliver_max_per_cycle,
            failed_after_ack=failed_after_ack,
        )
        period = settings.redeliver_minutes * 60
        tasks.append(
            asyncio.create_task(redeliverer.run(period_seconds=period), name="coi-redeliver")
        )
    return tasks


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
