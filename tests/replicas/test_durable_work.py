"""Work acknowledged by any replica is finished by a live one: the stream, its bound, the
inbox that acknowledges an entry only once evaluated, against a real redis-server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot.intents import NO_INTENTS
from bot.metrics import Metrics
from bot.pr import PullRequestRef
from bot.replicas import Acceptance, Coordinator
from bot.replicas.dedupe import DeliveryClaims
from bot.replicas.lease import LeasedEvaluate, lease_key
from bot.replicas.stream import GROUP
from bot.web.inbox import RawDelivery, RedisInbox, StreamedDelivery
from bot.web.signature import body_key
from tests.replicas.conftest import RedisServer

REF = PullRequestRef(7, "octo", "widgets", 12)


@pytest.fixture
async def other(redis_server: RedisServer) -> AsyncIterator[Coordinator]:
    replica = Coordinator.from_url(redis_server.url, metrics=Metrics(), claim_idle_ms=200)
    try:
        yield replica
    finally:
        await replica.aclose()


@pytest.fixture
async def raw(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        yield client
    finally:
        await client.aclose()


def inbox(coordinator: Coordinator, name: str, *, maxsize: int = 10) -> RedisInbox:
    return RedisInbox(
        coordinator,
        consumer=name,
        maxsize=maxsize,
        block_ms=50,
        retry_seconds=0.05,
        claim_every_seconds=0.1,
    )


def delivery(number: int) -> RawDelivery:
    return RawDelivery("pull_request", f"guid-{number}", b'{"n": %d}' % number)


async def pending(raw: aioredis.Redis) -> int:
    summary = await raw.xpending("coi:work", GROUP)
    return int(summary["pending"])


async def accept(claims: DeliveryClaims, guid: str, body: bytes = b"{}") -> Acceptance:
    return await claims.accept("push", guid, body, body_guid=f"body-{guid}", max_backlog=2)


async def test_a_signed_body_replayed_under_another_id_is_a_duplicate(
    coordinator: Coordinator,
) -> None:
    claims = coordinator.deliveries
    body = b'{"action": "requested_action"}'
    first = await claims.accept("check_run", "guid-1", body, body_guid=body_key(body))
    replay = await claims.accept("check_run", "guid-2", body, body_guid=body_key(body))
    assert (first, replay) == (Acceptance.KEPT, Acceptance.DUPLICATE)
    assert await coordinator.stream.backlog() == 1


async def test_claim_and_append_are_one_script_bounded_by_the_backlog(
    coordinator: Coordinator, raw: aioredis.Redis
) -> None:
    claims = coordinator.deliveries
    assert await accept(claims, "guid-1") is Acceptance.KEPT
    assert await accept(claims, "guid-1") is Acceptance.DUPLICATE
    assert await accept(claims, "guid-2") is Acceptance.KEPT
    assert await accept(claims, "guid-3") is Acceptance.FULL
    assert not await raw.exists("coi:delivery:guid-3"), "refused: its redelivery is new"
    assert await accept(claims, "guid-2") is Acceptance.DUPLICATE
    works = await coordinator.stream.read("a")
    assert [work.delivery for work in works] == ["guid-1", "guid-2"]
    assert await coordinator.stream.backlog() == 2, "read is not finished"
    await coordinator.stream.ack([works[0].entry_id])
    assert await coordinator.stream.backlog() == 1, "finished entries are deleted"
    assert await accept(claims, "guid-3") is Acceptance.KEPT


async def test_a_full_backlog_across_replicas_refuses_the_offer(
    coordinator: Coordinator, other: Coordinator
) -> None:
    first, second = inbox(coordinator, "a", maxsize=2), inbox(other, "b", maxsize=2)
    assert await first.offer(delivery(1))
    assert await second.offer(delivery(2))
    assert not await first.offer(delivery(3)), "the door answers 503"
    assert not await second.offer(delivery(3))


async def test_an_entry_is_acknowledged_only_once_its_evaluation_finished(
    coordinator: Coordinator, raw: aioredis.Redis
) -> None:
    replica = inbox(coordinator, "a")
    assert await replica.offer(delivery(1))
    taken = await replica.take()
    assert isinstance(taken, StreamedDelivery)
    evaluation: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    await replica.done(taken, [evaluation])
    await asyncio.sleep(0.3)  # the keeper ran and touched it
    assert await pending(raw) == 1
    assert await raw.xlen("coi:work") == 1
    evaluation.set_result(None)
    for _ in range(100):
        if not await raw.xlen("coi:work"):
            break
        await asyncio.sleep(0.01)
    assert await raw.xlen("coi:work") == 0, "acknowledged and deleted"
    assert await pending(raw) == 0
    assert replica.held == 0
    await replica.hand_over()


async def test_a_live_replica_keeps_what_it_holds_a_dead_ones_is_claimed(
    coordinator: Coordinator, other: Coordinator
) -> None:
    """claim_idle_ms is 200 here; the keepers touch every 50 ms."""
    lives, dies = inbox(other, "lives"), inbox(other, "dies")
    claimer = inbox(coordinator, "claimer")
    assert await lives.offer(delivery(1))
    kept = await lives.take()
    assert kept is not None
    await lives.done(kept, [asyncio.get_running_loop().create_future()])  # evaluating, long
    assert await dies.offer(delivery(2))
    assert (await dies.take()) is not None  # and never done: killed mid-evaluation
    dies._keeper.cancel()  # type: ignore[union-attr]  # its process is gone
    claimed = await asyncio.wait_for(claimer.take(), 3)
    assert claimed is not None
    assert claimed.delivery_id == "guid-2"
    await asyncio.sleep(0.5)
    assert await other.stream.claim_stale("late", count=10) == [], "the live one's is kept"
    for replica in (lives, claimer):
        await replica.hand_over()


async def test_a_cancelled_evaluation_hands_its_delivery_over_at_once(
    coordinator: Coordinator, other: Coordinator, raw: aioredis.Redis
) -> None:
    stopping = inbox(coordinator, "stopping")
    assert await stopping.offer(delivery(1))
    taken = await stopping.take()
    assert taken is not None
    evaluation: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    await stopping.done(taken, [evaluation])
    evaluation.cancel()  # the scheduler stopped before evaluating it
    await stopping.hand_over()
    claimed = await other.stream.claim_stale("live")
    assert [work.delivery for work in claimed] == ["guid-1"], "no idle wait: handed over"


async def test_entries_deleted_under_the_pending_list_are_reported(
    coordinator: Coordinator,
    other: Coordinator,
    raw: aioredis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry = await coordinator.stream.append("push", "guid-1", b"{}")
    assert await coordinator.stream.read("dies") != []
    await raw.xdel("coi:work", entry)  # something else than `ack` deleted it
    await asyncio.sleep(0.25)
    assert await other.stream.claim_stale("lives") == []
    assert "deleted from the stream unfinished" in caplog.text
    assert await pending(raw) == 0


async def test_redis_emptied_under_a_blocked_read_recreates_the_stream(
    coordinator: Coordinator, raw: aioredis.Redis
) -> None:
    await coordinator.stream.read("a")  # creates the group
    reader = asyncio.create_task(coordinator.stream.read("a", block_ms=2000))
    await asyncio.sleep(0.1)
    await raw.flushall()
    await asyncio.sleep(0.05)
    await coordinator.stream.append("push", "guid-1", b"{}")
    works = await reader
    if not works:  # unblocked by the flush and recreated empty: the next read gets it
        works = await coordinator.stream.read("a")
    assert [work.delivery for work in works] == ["guid-1"]
    await coordinator.stream.ack([works[0].entry_id])
    await raw.flushall()
    await coordinator.stream.ack([works[0].entry_id])  # the group is gone: nothing to do
    assert await coordinator.stream.touch("a", [works[0].entry_id]) == 0


async def test_stopped_consumers_are_forgotten(
    coordinator: Coordinator, raw: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    finished = await coordinator.stream.append("push", "guid-0", b"{}")
    assert await coordinator.stream.read("old") != []
    await coordinator.stream.ack([finished])  # "old" holds nothing now: a stopped replica
    entry = await coordinator.stream.append("push", "guid-1", b"{}")
    assert await coordinator.stream.read("busy") != []
    monkeypatch.setattr("bot.replicas.stream.CONSUMER_IDLE_MS", 0)
    await asyncio.sleep(0.01)
    assert await coordinator.stream.forget_stopped_consumers() == 1
    names = {info["name"] for info in await raw.xinfo_consumers("coi:work", GROUP)}
    assert names == {b"busy"}, "a consumer holding an entry is kept"
    await coordinator.stream.ack([entry])


async def test_a_cancelled_evaluation_releases_its_lease_at_once(
    coordinator: Coordinator, other: Coordinator
) -> None:
    started = asyncio.Event()

    async def slow(ref: object, intents: object) -> object:
        started.set()
        await asyncio.sleep(30)
        return None

    evaluation = asyncio.create_task(LeasedEvaluate(slow, coordinator)(REF, NO_INTENTS))
    await started.wait()
    assert not await other.pr_leases.acquire(lease_key(REF), "b", 5_000)
    evaluation.cancel()
    await asyncio.gather(evaluation, return_exceptions=True)
    assert await other.pr_leases.take_free(lease_key(REF), "b", 5_000), "freed, not left to expire"


async def test_a_map_change_reaches_every_replica(
    coordinator: Coordinator, other: Coordinator
) -> None:
    forgotten: list[tuple[str, str]] = []
    listener = asyncio.create_task(other.maps.listen(lambda o, r: forgotten.append((o, r))))
    try:
        for _ in range(100):  # until subscribed
            await coordinator.maps.publish("octo", "widgets")
            if forgotten:
                break
            await asyncio.sleep(0.02)
        assert forgotten[0] == ("octo", "widgets")
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)


async def test_a_map_listener_survives_a_redis_restart(
    redis_server: RedisServer,
    coordinator: Coordinator,
    other: Coordinator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    forgotten: list[tuple[str, str]] = []
    listener = asyncio.create_task(other.maps.listen(lambda o, r: forgotten.append((o, r))))
    try:
        await asyncio.sleep(0.2)
        redis_server.stop()
        await asyncio.sleep(0.2)
        redis_server.start()
        for _ in range(200):
            await coordinator.maps.publish("octo", "widgets")
            if forgotten:
                break
            await asyncio.sleep(0.05)
        assert forgotten, "subscribed again after the restart"
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
