"""Handler faults after a 202, shared through Redis: the redeliverer runs on one replica only,
so it must see the faults of every replica (bot.web.state.FailedAfterAck with `shared`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.github.deliveries import REDELIVERY_WINDOW_SECONDS
from bot.metrics import Metrics
from bot.replicas import faults as faults_module
from bot.replicas.coordinator import Coordinator
from bot.web.state import FailedAfterAck
from tests.replicas.conftest import RedisServer


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def replicas(
    redis_server: RedisServer, clock: Clock
) -> AsyncIterator[tuple[Coordinator, Coordinator]]:
    """Two replicas on one Redis, sharing a clock."""
    first = Coordinator.from_url(redis_server.url, metrics=Metrics(), clock=clock)
    second = Coordinator.from_url(redis_server.url, metrics=Metrics(), clock=clock)
    try:
        yield first, second
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_fault_on_one_replica_is_asked_for_by_the_replica_that_redelivers(
    replicas: tuple[Coordinator, Coordinator],
) -> None:
    routing, leader = (FailedAfterAck(shared=replica) for replica in replicas)
    routing.add("guid-1")
    await routing.settle()
    assert "guid-1" not in leader, "not in the leader's own memory"
    assert await leader.to_ask() == ["guid-1"]
    await leader.asked("guid-1")
    assert await leader.to_ask() == [], "GitHub was asked: forgotten for every replica"
    assert "guid-1" in routing, "the replica that failed keeps it until it routes it"


async def test_a_fault_recorded_again_after_the_leader_read_it_is_kept(
    replicas: tuple[Coordinator, Coordinator], clock: Clock
) -> None:
    routing, leader = (FailedAfterAck(shared=replica) for replica in replicas)
    routing.add("guid-1")
    await routing.settle()
    assert await leader.to_ask() == ["guid-1"]
    clock.now += 5  # the redelivery came back and failed again, on another replica
    routing.add("guid-1")
    await routing.settle()
    await leader.asked("guid-1")
    assert await leader.to_ask() == ["guid-1"], "asked for again at the next look"


async def test_faults_past_githubs_window_or_beyond_the_bound_are_dropped(
    replicas: tuple[Coordinator, Coordinator], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = replicas
    monkeypatch.setattr(faults_module, "MAX_FAULTS", 3)
    await first.faults.record("old")
    clock.now += REDELIVERY_WINDOW_SECONDS + 1
    assert await second.faults.recorded() == ([], clock.now), "GitHub would refuse to redeliver it"
    for index in range(5):
        clock.now += 1
        await first.faults.record(f"guid-{index}")
    faults, _ = await second.faults.recorded()
    assert faults == ["guid-2", "guid-3", "guid-4"], "the newest MAX_FAULTS, oldest first"


async def test_without_redis_the_local_faults_are_still_asked_for(
    redis_server: RedisServer,
    replicas: tuple[Coordinator, Coordinator],
    caplog: pytest.LogCaptureFixture,
) -> None:
    faults = FailedAfterAck(shared=replicas[0])
    redis_server.stop()
    faults.add("guid-1")
    await faults.settle()
    assert "could not share a failed delivery ID" in caplog.text
    assert await faults.to_ask() == ["guid-1"]
    await faults.asked("guid-1")
    assert "could not forget a redelivered fault" in caplog.text
