"""Background work that is not HTTP: the reconciler and the redeliverer, for the server's life."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.github.auth import GitHubApp
from bot.github.map_source import MapSource
from bot.jobs.reconciler import Reconciler, Schedule
from bot.jobs.redelivery import Redeliverer
from bot.metrics import Metrics
from bot.settings import Settings


@dataclass(frozen=True, slots=True)
class RepairSources:
    """What the background repairs read GitHub with: the Engine's App identity and map source."""

    github: GitHubApp
    maps: MapSource


@asynccontextmanager
async def background_jobs(
    sources: RepairSources,
    settings: Settings,
    schedule: Schedule,
    metrics: Metrics,
    *,
    failed_after_ack: Collection[str] = frozenset(),
) -> AsyncIterator[None]:
    """The reconciler and the redelivery loops while the context is open; each loop only when
    its period is positive. `failed_after_ack`: delivery IDs answered 202 whose handling failed,
    for the redeliverer to ask again."""
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
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
