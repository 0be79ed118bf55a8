"""Background jobs are built once and started again when their task dies (bot.jobs)."""

from __future__ import annotations

import asyncio

from bot.jobs import BackgroundJobs, _alone
from bot.metrics import Metrics


async def test_a_job_that_died_is_started_again_and_health_says_so_meanwhile() -> None:
    runs: list[int] = []

    async def flaky() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("a bug in the job")
        await asyncio.Event().wait()

    metrics = Metrics()
    jobs = BackgroundJobs({"flaky": flaky}, metrics)
    assert jobs.alive
    assert not jobs.running
    jobs.start()
    await asyncio.sleep(0.01)
    assert not jobs.alive, "a dead job fails the health check"
    jobs.revive()
    await asyncio.sleep(0.01)
    assert jobs.alive
    assert runs == [0, 1]
    restarts = metrics.registry.get_sample_value(
        "coi_background_job_restarts_total", {"job": "flaky"}
    )
    assert restarts == 1
    await jobs.stop()
    assert not jobs.running


async def test_a_single_replica_revives_its_jobs_on_its_own() -> None:
    runs: list[int] = []

    async def dies_once() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            return  # ended: as dead as a raise
        await asyncio.Event().wait()

    jobs = BackgroundJobs({"job": dies_once}, Metrics())
    supervisor = asyncio.create_task(_alone(jobs, ttl_ms=30))
    for _ in range(100):
        if len(runs) == 2:
            break
        await asyncio.sleep(0.01)
    assert runs == [0, 1]
    supervisor.cancel()
    await asyncio.gather(supervisor, return_exceptions=True)
    assert not jobs.running
