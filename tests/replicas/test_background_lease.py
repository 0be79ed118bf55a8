"""The background jobs run on one replica at a time, and on every replica while Redis is down."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from bot.jobs import BackgroundJobs, _under_lease
from bot.metrics import Metrics
from bot.replicas import Coordinator
from tests.replicas.conftest import RedisServer

TTL_MS = 150


class Jobs:
    """Stands in for the reconciler and redeliverer: counts the tasks alive."""

    def __init__(self) -> None:
        self.alive = 0
        self.started = 0
        self.background = BackgroundJobs({"job": self._run}, Metrics())

    async def _run(self) -> None:
        self.started += 1
        self.alive += 1
        try:
            await asyncio.Event().wait()
        finally:
            self.alive -= 1


@pytest.fixture
async def other(redis_server: RedisServer) -> AsyncIterator[Coordinator]:
    replica = Coordinator.from_url(redis_server.url, metrics=Metrics())
    try:
        yield replica
    finally:
        await replica.aclose()


async def until(condition: Callable[[], bool], seconds: float = 3.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.01)


async def test_one_replica_runs_the_jobs_and_another_takes_over_when_it_stops(
    coordinator: Coordinator, other: Coordinator
) -> None:
    first_jobs, second_jobs = Jobs(), Jobs()
    first = asyncio.create_task(_under_lease(coordinator, first_jobs.background, ttl_ms=TTL_MS))
    await until(lambda: first_jobs.alive == 1)
    second = asyncio.create_task(_under_lease(other, second_jobs.background, ttl_ms=TTL_MS))
    await asyncio.sleep(3 * TTL_MS / 1000)  # renewals keep the lease with the first
    assert (first_jobs.alive, second_jobs.alive) == (1, 0)
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    assert first_jobs.alive == 0
    await until(lambda: second_jobs.alive == 1, seconds=TTL_MS / 1000 + 1)  # released at stop
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
    assert await coordinator.job_leases.acquire("background", "probe", 1_000)


async def test_while_redis_is_down_every_replica_runs_them_then_one_again(
    redis_server: RedisServer, coordinator: Coordinator, other: Coordinator
) -> None:
    first_jobs, second_jobs = Jobs(), Jobs()
    first = asyncio.create_task(_under_lease(coordinator, first_jobs.background, ttl_ms=TTL_MS))
    await until(lambda: first_jobs.alive == 1)
    second = asyncio.create_task(_under_lease(other, second_jobs.background, ttl_ms=TTL_MS))
    redis_server.stop()  # the lease is lost with Redis's memory
    await until(lambda: second_jobs.alive == 1)
    assert first_jobs.alive == 1
    redis_server.start()
    await until(lambda: first_jobs.alive + second_jobs.alive == 1)
    await asyncio.sleep(3 * TTL_MS / 1000)
    assert first_jobs.alive + second_jobs.alive == 1, "one holder once Redis answers"
    for task in (first, second):
        task.cancel()
    await asyncio.gather(first, second, return_exceptions=True)
    assert first_jobs.alive + second_jobs.alive == 0
