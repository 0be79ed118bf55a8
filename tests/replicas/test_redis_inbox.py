"""RedisInbox and the shared DeliveryLedger against a real redis-server, two replicas."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.metrics import Metrics
from bot.replicas import CoordinationUnavailable, Coordinator
from bot.replicas.stream import GROUP
from bot.web.inbox import RawDelivery, RedisInbox, StreamedDelivery
from bot.web.state import DeliveryLedger
from tests.replicas.conftest import RedisServer


@pytest.fixture
async def other(redis_server: RedisServer) -> AsyncIterator[Coordinator]:
    replica = Coordinator.from_url(redis_server.url, metrics=Metrics(), claim_idle_ms=50)
    try:
        yield replica
    finally:
        await replica.aclose()


def inbox(coordinator: Coordinator, name: str, *, claim_every_seconds: float = 5.0) -> RedisInbox:
    return RedisInbox(
        coordinator,
        consumer=name,
        maxsize=2,
        block_ms=50,
        retry_seconds=0.05,
        claim_every_seconds=claim_every_seconds,
    )


def delivery(number: int) -> RawDelivery:
    return RawDelivery("pull_request", f"guid-{number}", b'{"n": %d}' % number)


async def test_a_delivery_offered_on_one_replica_is_taken_on_another(
    coordinator: Coordinator, other: Coordinator
) -> None:
    door, worker = inbox(coordinator, "door"), inbox(other, "worker")
    assert await door.offer(delivery(1))
    taken = await worker.take()
    assert isinstance(taken, StreamedDelivery)
    assert (taken.event, taken.delivery_id, taken.body) == ("pull_request", "guid-1", b'{"n": 1}')
    assert worker.depth == 0
    await worker.done(taken)
    door_router = asyncio.create_task(door.take())  # finds nothing: the worker took it
    await asyncio.wait_for(door.join(), 2)  # the stream was read empty after the offer
    door.close()
    assert await door_router is None
    await asyncio.sleep(0.1)
    claimed = await coordinator.stream.claim_stale("anyone")
    assert claimed == [], "acknowledged: nobody routes it again"


async def test_a_delivery_id_is_kept_once_across_replicas(
    coordinator: Coordinator, other: Coordinator
) -> None:
    first, second = inbox(coordinator, "a"), inbox(other, "b")
    assert await first.offer(delivery(1))
    assert await second.offer(delivery(1))  # a duplicate: answered as kept, not stored twice
    assert await coordinator.stream.read("reader") != []
    assert await coordinator.stream.read("reader") == []


async def test_what_a_dead_replica_read_is_claimed_by_a_live_one(
    coordinator: Coordinator, other: Coordinator
) -> None:
    dies = inbox(other, "dies", claim_every_seconds=60)
    lives = inbox(coordinator, "lives", claim_every_seconds=0.05)
    assert await dies.offer(delivery(1))
    assert (await dies.take()) is not None  # and never done: the process is killed
    await asyncio.sleep(0.1)
    claimed = await asyncio.wait_for(lives.take(), 2)
    assert claimed is not None
    assert claimed.delivery_id == "guid-1"
    await lives.done(claimed)


async def test_while_redis_is_down_deliveries_stay_in_memory_then_the_stream_is_used_again(
    redis_server: RedisServer, coordinator: Coordinator, monkeypatch: pytest.MonkeyPatch
) -> None:
    replica = inbox(coordinator, "a")
    redis_server.stop()
    assert await replica.offer(delivery(1))
    assert await replica.offer(delivery(2))
    assert not await replica.offer(delivery(3)), "the fallback is bounded: 503, never a drop"
    assert replica.depth == 2
    for number in (1, 2):
        taken = await replica.take()
        assert taken == delivery(number)
        await replica.done(delivery(number))
    await asyncio.wait_for(replica.join(), 2)
    redis_server.start()
    assert await replica.offer(delivery(4))
    taken = await asyncio.wait_for(replica.take(), 3)
    assert isinstance(taken, StreamedDelivery)
    assert taken.delivery_id == "guid-4"

    async def unreachable(entry_ids: object) -> None:
        raise CoordinationUnavailable("redis is unavailable (ack)")

    monkeypatch.setattr(coordinator.stream, "ack", unreachable)
    await replica.done(taken)  # the ack fails: the entry stays pending for a later claim
    summary = await coordinator.link.client.xpending("coi:work", GROUP)
    assert summary["pending"] == 1
    await asyncio.sleep(0.1)  # claim_idle_ms is 50 here
    claimed = await coordinator.stream.claim_stale("another")
    assert [work.delivery for work in claimed] == ["guid-4"]


async def test_a_closed_inbox_refuses_and_leaves_the_stream_to_the_others(
    coordinator: Coordinator, other: Coordinator
) -> None:
    closing, staying = inbox(coordinator, "closing"), inbox(other, "staying")
    assert await staying.offer(delivery(1))
    closing.close()
    closing.close()
    assert not await closing.offer(delivery(2))
    assert await closing.take() is None
    assert closing.leftovers() == []
    await asyncio.wait_for(closing.join(), 2)
    taken = await asyncio.wait_for(staying.take(), 2)
    assert taken is not None
    assert taken.delivery_id == "guid-1"


async def test_a_released_delivery_is_released_for_every_replica(
    coordinator: Coordinator, other: Coordinator
) -> None:
    ledger = DeliveryLedger(shared=coordinator)
    assert ledger.claim("guid-1")
    assert await coordinator.deliveries.claim("guid-1")
    ledger.release("guid-1")
    await ledger.settle()
    assert await other.deliveries.claim("guid-1"), "a redelivery reaching another replica is new"


async def test_a_release_while_redis_is_down_is_logged_not_raised(
    redis_server: RedisServer, coordinator: Coordinator, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = DeliveryLedger(shared=coordinator)
    assert ledger.claim("guid-1")
    redis_server.stop()
    ledger.release("guid-1")
    await ledger.settle()
    assert "could not release a delivery ID" in caplog.text
    assert ledger.claim("guid-1"), "released locally all the same"
