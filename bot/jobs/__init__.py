"""Background work that is not HTTP: the reconciler and the redeliverer, for the server's life.

With several replicas (`coordinator` given), they run on one replica at a time: the one holding
the singleton lease `background`, renewed every ttl/3. A replica that loses the lease stops its
jobs; another one takes the lease within one ttl of the holder's death. Redis unreachable: every
replica runs them, as a single replica would (the reconciler's repairs are idempotent); when
Redis answers again, only the lease's holder keeps them. A job whose task died is started again
within ttl/3; until then the health check fails.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from bot.github.auth import GitHubApp
from bot.github.deliveries import REDELIVERY_WINDOW_SECONDS
from bot.github.map_source import MapSource
from bot.github.pacing import Pacer
from bot.jobs.reconciler import QUEUED_CHANGES_KEPT, Reconciler, Schedule
from bot.jobs.redelivery import ASKED_MEMORY, Faults, Redeliverer
from bot.metrics import Metrics
from bot.replicas.coordinator import Coordinator
from bot.replicas.job_state import JobState
from bot.replicas.link import CoordinationUnavailable
from bot.replicas.vote_deadlines import SharedDeadlines, schedule_due
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
    clock: Callable[[], float] = time.time  # the Engine's: votes close by the clock it reads


class BackgroundJobs:
    """The jobs, built once for the process's life (a handover stops and starts their tasks,
    never rebuilds what they remember), and their tasks: a task that died is started again by
    `revive`, and `alive` is False until it is (the health check)."""

    def __init__(
        self, jobs: dict[str, Callable[[], Coroutine[Any, Any, None]]], metrics: Metrics
    ) -> None:
        self._jobs = jobs
        self._metrics = metrics
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.supervisor: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    @property
    def alive(self) -> bool:
        supervised = self.supervisor is None or not self.supervisor.done()
        return supervised and not any(task.done() for task in self._tasks.values())

    def start(self) -> None:
        for name in self._jobs:
            self._start(name)

    def _start(self, name: str) -> None:
        self._tasks[name] = asyncio.create_task(self._jobs[name](), name=f"coi-{name}")

    def revive(self) -> None:
        for name, task in list(self._tasks.items()):
            if task.done():
                error = None if task.cancelled() else task.exception()
                log.error("background job %s died; starting it again", name, exc_info=error)
                self._metrics.job_restarts.labels(job=name).inc()
                self._start(name)

    async def stop(self) -> None:
        tasks, self._tasks = list(self._tasks.values()), {}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


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
) -> AsyncIterator[BackgroundJobs]:
    """The reconciler and the redelivery loops while the context is open; each loop only when
    its period is positive. `failed_after_ack`: delivery IDs answered 202 whose handling failed,
    for the redeliverer to ask again. `coordinator`: on the replica holding the lease only."""
    jobs = BackgroundJobs(
        _build_jobs(sources, settings, schedule, metrics, failed_after_ack, coordinator), metrics
    )
    if coordinator is None:
        jobs.supervisor = asyncio.create_task(_alone(jobs, ttl_ms=ttl_ms), name="coi-background")
    else:
        jobs.supervisor = asyncio.create_task(
            _under_lease(coordinator, jobs, ttl_ms=ttl_ms), name="coi-background-lease"
        )
    try:
        yield jobs
    finally:
        jobs.supervisor.cancel()
        await asyncio.gather(jobs.supervisor, return_exceptions=True)


async def _alone(jobs: BackgroundJobs, *, ttl_ms: int) -> None:
    """A single replica runs the jobs, and starts again any that died."""
    jobs.start()
    try:
        while True:
            await asyncio.sleep(ttl_ms / 3000)
            jobs.revive()
    finally:
        await jobs.stop()


async def _under_lease(coordinator: Coordinator, jobs: BackgroundJobs, *, ttl_ms: int) -> None:
    """Runs the jobs while this replica holds the singleton lease (or Redis is unreachable)."""
    owner = uuid.uuid4().hex
    held = False
    leases = coordinator.job_leases
    try:
        while True:
            try:
                if held:
                    held = await leases.renew(SINGLETON, owner, ttl_ms)
                else:
                    held = await leases.acquire(SINGLETON, owner, ttl_ms)
                run = held
            except CoordinationUnavailable:
                held, run = False, True  # as a single replica; the lease is asked again later
            except Exception:
                # an unexpected answer from Redis: keep what runs, ask again at the next turn
                log.exception("the background jobs' lease could not be asked for")
                run = jobs.running
            if run and not jobs.running:
                log.info("running the background jobs on this replica")
                jobs.start()
            elif not run and jobs.running:
                log.info("another replica runs the background jobs now")
                await jobs.stop()
            jobs.revive()
            await asyncio.sleep(ttl_ms / 3000)
    finally:
        await jobs.stop()
        if held:
            # shielded: a cancelled task's last await would be cancelled at once
            with suppress(CoordinationUnavailable):
                await asyncio.shield(leases.release(SINGLETON, owner))


def _build_jobs(
    sources: RepairSources,
    settings: Settings,
    schedule: Schedule,
    metrics: Metrics,
    failed_after_ack: Faults | None,
    coordinator: Coordinator | None = None,
) -> dict[str, Callable[[], Coroutine[Any, Any, None]]]:
    """The jobs, each with its memory in Redis when replicas share one (bot.replicas.job_state):
    the next holder of the jobs starts from it."""

    def memory(name: str, max_entries: int) -> JobState | None:
        if coordinator is None:
            return None
        return JobState(
            coordinator.link,
            name,
            max_entries=max_entries,
            max_age_seconds=REDELIVERY_WINDOW_SECONDS,
        )

    jobs: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {}
    if settings.reconcile_minutes > 0:
        reconciler = Reconciler(
            sources.github,
            sources.maps,
            schedule,
            metrics,
            graphql_url=settings.graphql_url,
            max_per_cycle=settings.reconcile_max_per_cycle,
            rate_limit_floor=settings.rate_limit_floor,
            memory=memory("reconcile", QUEUED_CHANGES_KEPT),
            pacer=sources.pacer,
            queue_busy=sources.queue_busy,
            clock=sources.clock,
        )
        jobs["reconcile"] = partial(reconciler.run, period_seconds=settings.reconcile_minutes * 60)
    # Votes whose replica's timer was lost with it (bot/replicas/vote_deadlines.py).
    if coordinator is not None:
        jobs["vote_deadlines"] = partial(
            schedule_due,
            SharedDeadlines(coordinator.link),
            schedule,
            clock=lambda: datetime.fromtimestamp(sources.clock(), UTC),
        )
    if settings.redeliver_minutes > 0:
        redeliverer = Redeliverer(
            sources.github.app_client,
            metrics,
            max_per_cycle=settings.redeliver_max_per_cycle,
            failed_after_ack=failed_after_ack,
            memory=memory("redeliver", ASKED_MEMORY),
        )
        jobs["redeliver"] = partial(redeliverer.run, period_seconds=settings.redeliver_minutes * 60)
    return jobs
