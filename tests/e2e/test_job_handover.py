"""What the background jobs remember survives a handover to another replica (Redis)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.github.deliveries import REDELIVERY_WINDOW_SECONDS
from bot.jobs.redelivery import NEWEST_SEEN
from bot.metrics import Metrics
from bot.replicas.coordinator import Coordinator
from bot.replicas.job_state import JobState
from bot.stage import Stage
from tests.e2e.conftest import REPO, latest_check
from tests.e2e.test_reconcile import next_second, open_unseen, reconciler, redeliverer
from tests.replicas.conftest import RedisServer, started_redis


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = started_redis(tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def coordinator(redis_server: RedisServer) -> AsyncIterator[Coordinator]:
    shared = Coordinator.from_url(redis_server.url, metrics=Metrics())
    try:
        yield shared
    finally:
        await shared.aclose()


def memory(coordinator: Coordinator, name: str, *, max_entries: int = 100) -> JobState:
    return JobState(
        coordinator.link, name, max_entries=max_entries, max_age_seconds=REDELIVERY_WINDOW_SECONDS
    )


async def test_a_job_state_is_bounded_in_number_and_age_and_keeps_its_pins(
    coordinator: Coordinator,
) -> None:
    now = [1_000.0]
    coordinator.link.clock = lambda: now[0]
    state = JobState(coordinator.link, "job", max_entries=3, max_age_seconds=60)
    await state.save({"cursor": "7"}, pinned=frozenset({"cursor"}))
    for index in range(4):
        now[0] += 1
        await state.save({f"k{index}": str(index)})
    assert await state.load() == {"cursor": "7", "k2": "2", "k3": "3"}
    now[0] += 120
    await state.save({"k4": "4"})
    assert await state.load() == {"cursor": "7", "k4": "4"}, "older than a minute: dropped"
    await state.save({})
    with pytest.raises(ValueError, match="max_entries"):
        JobState(coordinator.link, "job", max_entries=0, max_age_seconds=1)


async def test_without_redis_a_job_state_remembers_nothing_and_raises_nothing(
    redis_server: RedisServer, coordinator: Coordinator
) -> None:
    state = memory(coordinator, "job")
    redis_server.stop()
    await state.save({"k": "v"})
    assert await state.load() == {}


async def test_the_next_redeliverer_does_not_ask_again_what_the_last_one_asked(
    stage: Stage, coordinator: Coordinator
) -> None:
    await open_unseen(stage, 1)
    failed = {d.guid for d in stage.sim.deliveries if d.status_code == 0}
    assert failed
    url, stage.sim.webhook_url = stage.sim.webhook_url, None  # the redeliveries fail too
    try:
        first = redeliverer(stage, memory=memory(coordinator, "redeliver"))
        assert set((await first.look_once()).redelivered) == failed
        # the jobs move to another replica: a Redeliverer built there, on the same Redis
        successor = redeliverer(stage, memory=memory(coordinator, "redeliver"))
        assert (await successor.look_once()).redelivered == [], "asked within the cooldown"
        assert NEWEST_SEEN in await memory(coordinator, "redeliver").load()
        forgetful = redeliverer(stage)  # what every handover did before
        assert set((await forgetful.look_once()).redelivered) == failed
    finally:
        stage.sim.webhook_url = url
    await stage.settle()


async def test_the_next_reconciler_does_not_queue_a_change_the_last_one_queued(
    stage: Stage, coordinator: Coordinator
) -> None:
    [number] = await open_unseen(stage, 1)
    await reconciler(stage).reconcile_once()
    await stage.settle()
    written = latest_check(stage, number)
    url, stage.sim.webhook_url = stage.sim.webhook_url, None
    await next_second()
    await stage.sim.post_comment(REPO, number, author="gus", body="Looks fine to me.")
    stage.sim.webhook_url = url
    first = reconciler(stage, memory=memory(coordinator, "reconcile"))
    assert (await first.reconcile_once()).queued == {"changed": 1}
    await stage.settle()
    assert latest_check(stage, number)["completed_at"] == written["completed_at"]
    successor = reconciler(stage, memory=memory(coordinator, "reconcile"))
    assert (await successor.reconcile_once()).queued == {}, "remembered across the handover"
    assert (await reconciler(stage).reconcile_once()).queued == {"changed": 1}, "without it"
    await stage.settle()
