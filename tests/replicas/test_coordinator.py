"""The Coordinator against a real redis-server: two Coordinators play two replicas."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.exceptions

from bot.metrics import Metrics
from bot.replicas import CoordinationUnavailable, Coordinator, ReleaseOutcome, Work
from bot.settings import Secret
from tests.replicas.conftest import RedisServer

PR = "octo/widgets#7"


@pytest.fixture
async def other(redis_server: RedisServer) -> AsyncIterator[Coordinator]:
    """A second replica on the same Redis, with its own metrics."""
    replica = Coordinator.from_url(redis_server.url, metrics=Metrics(), claim_idle_ms=50)
    try:
        yield replica
    finally:
        await replica.aclose()


def sample(metrics: Metrics, name: str, operation: str) -> float:
    value = metrics.registry.get_sample_value(name, {"operation": operation})
    return value or 0.0


async def test_a_delivery_is_claimed_by_one_replica_only(
    coordinator: Coordinator, other: Coordinator
) -> None:
    assert await coordinator.deliveries.claim("guid-1")
    assert not await other.deliveries.claim("guid-1")
    assert not await coordinator.deliveries.claim("guid-1")
    assert await other.deliveries.claim("guid-2")


async def test_a_released_delivery_can_be_claimed_again(
    coordinator: Coordinator, other: Coordinator
) -> None:
    assert await coordinator.deliveries.claim("guid-1")
    await coordinator.deliveries.release("guid-1")
    assert await other.deliveries.claim("guid-1")


async def test_a_claimed_delivery_expires_after_its_ttl(
    redis_server: RedisServer, metrics: Metrics
) -> None:
    replica = Coordinator.from_url(redis_server.url, metrics=metrics, delivery_ttl_seconds=1)
    try:
        assert await replica.deliveries.claim("guid-1")
        await asyncio.sleep(1.1)
        assert await replica.deliveries.claim("guid-1")
    finally:
        await replica.aclose()


async def test_work_is_read_once_and_acknowledged(
    coordinator: Coordinator, other: Coordinator
) -> None:
    body = b'{"action": "opened", "bytes": "\xff\x00"}'
    entry_id = await coordinator.stream.append("pull_request", "guid-1", body)
    second = await coordinator.stream.append("issue_comment", "guid-2", b"{}")

    first_read = await other.stream.read("replica-b", count=1)
    assert first_read == [Work(entry_id, "pull_request", "guid-1", body)]
    assert [work.entry_id for work in await coordinator.stream.read("replica-a")] == [second]
    assert await other.stream.read("replica-b") == []
    await other.stream.ack([entry_id])
    await coordinator.stream.ack([second])
    await asyncio.sleep(0.1)
    assert await coordinator.stream.claim_stale("replica-a") == []


async def test_a_blocking_read_waits_for_work(coordinator: Coordinator, other: Coordinator) -> None:
    assert await coordinator.stream.read("replica-a", block_ms=50) == []
    reader = asyncio.create_task(coordinator.stream.read("replica-a", block_ms=2000))
    await asyncio.sleep(0.1)
    entry_id = await other.stream.append("push", "guid-1", b"{}")
    started = time.monotonic()
    assert [work.entry_id for work in await reader] == [entry_id]
    assert time.monotonic() - started < 1.0


async def test_work_of_a_dead_replica_is_claimed_by_a_live_one(
    coordinator: Coordinator, other: Coordinator
) -> None:
    entry_id = await coordinator.stream.append("pull_request", "guid-1", b"{}")
    assert [work.entry_id for work in await other.stream.read("dies")] == [entry_id]
    assert await coordinator.stream.claim_stale("lives") == []  # not idle long enough yet
    await asyncio.sleep(0.1)  # claim_idle_ms is 50 in these tests
    claimed = await coordinator.stream.claim_stale("lives")
    assert [(work.entry_id, work.delivery) for work in claimed] == [(entry_id, "guid-1")]
    await coordinator.stream.ack([entry_id])
    await asyncio.sleep(0.1)
    assert await other.stream.claim_stale("dies") == []


async def test_claim_stale_is_bounded_by_count(
    coordinator: Coordinator, other: Coordinator
) -> None:
    for number in range(5):
        await coordinator.stream.append("push", f"guid-{number}", b"{}")
    assert len(await other.stream.read("dies", count=5)) == 5
    await asyncio.sleep(0.1)
    assert len(await coordinator.stream.claim_stale("lives", count=3)) == 3
    assert len(await coordinator.stream.claim_stale("lives", count=3)) == 2  # the rest
    assert len(await coordinator.stream.claim_stale("lives", count=3)) == 0  # taken ones are fresh
    await asyncio.sleep(0.1)
    assert len(await other.stream.claim_stale("again", count=10)) == 5


async def test_a_malformed_entry_is_dropped_and_acknowledged(
    coordinator: Coordinator, redis_server: RedisServer
) -> None:
    await coordinator.stream.read("replica-a")  # creates the group
    raw = Coordinator.from_url(redis_server.url, metrics=Metrics())
    try:
        await raw.link.client.xadd("coi:work", {b"event": b"push"})
    finally:
        await raw.aclose()
    good = await coordinator.stream.append("push", "guid-1", b"{}")
    assert [work.entry_id for work in await coordinator.stream.read("replica-a")] == [good]
    await coordinator.stream.ack([good])
    await asyncio.sleep(0.1)
    assert await coordinator.stream.claim_stale("replica-b") == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda replica: replica.stream.read("a", count=0), "count must be positive"),
        (lambda replica: replica.stream.read("a", block_ms=-1), "block_ms must be between"),
        (lambda replica: replica.stream.read("a", block_ms=60_000), "block_ms must be between"),
        (lambda replica: replica.stream.claim_stale("a", count=0), "count must be positive"),
        (lambda replica: replica.pr_leases.acquire(PR, "t", 0), "ttl_ms must be positive"),
    ],
)
async def test_bad_arguments_are_refused(
    coordinator: Coordinator,
    call: Callable[[Coordinator], Awaitable[object]],
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        await call(coordinator)


def test_a_url_of_another_scheme_is_refused(metrics: Metrics) -> None:
    with pytest.raises(ValueError, match="redis://, rediss:// or unix://, not 'http'"):
        Coordinator.from_url("http://user:password@example.com", metrics=metrics)


async def test_a_unix_socket_url_is_accepted(metrics: Metrics) -> None:
    replica = Coordinator.from_url("unix:///nonexistent/redis.sock", metrics=metrics)
    try:
        with pytest.raises(CoordinationUnavailable):
            await replica.ping()
    finally:
        await replica.aclose()


async def test_a_pr_lease_is_exclusive_until_released(
    coordinator: Coordinator, other: Coordinator
) -> None:
    assert await coordinator.pr_leases.acquire(PR, "a", 5_000)
    assert not await other.pr_leases.acquire(PR, "b", 5_000)
    assert await other.pr_leases.acquire("octo/widgets#8", "b", 5_000)  # another PR is free
    # b's failed acquire marked the PR dirty: a evaluates again before letting go
    assert await coordinator.pr_leases.release(PR, "a", 5_000) is ReleaseOutcome.EVALUATE_AGAIN
    assert not await other.pr_leases.acquire(PR, "b", 5_000)  # still a's, and dirty again
    assert await coordinator.pr_leases.release(PR, "a", 5_000) is ReleaseOutcome.EVALUATE_AGAIN
    assert await coordinator.pr_leases.release(PR, "a", 5_000) is ReleaseOutcome.RELEASED
    assert await other.pr_leases.acquire(PR, "b", 5_000)


async def test_a_lease_expires_unless_renewed(coordinator: Coordinator, other: Coordinator) -> None:
    assert await coordinator.pr_leases.acquire(PR, "a", 150)
    await asyncio.sleep(0.1)
    assert await coordinator.pr_leases.renew(PR, "a", 300)
    await asyncio.sleep(0.1)
    assert not await other.pr_leases.renew(PR, "b", 300)  # renewing another's lease does nothing
    assert not await other.pr_leases.acquire(PR, "b", 300)  # renewed: still held
    await asyncio.sleep(0.35)
    assert not await coordinator.pr_leases.renew(PR, "a", 300)
    # the lease expired while dirty: acquiring clears the mark, its evaluation reads it all
    assert await other.pr_leases.acquire(PR, "b", 5_000)
    assert await other.pr_leases.release(PR, "b", 5_000) is ReleaseOutcome.RELEASED


async def test_a_holder_whose_lease_moved_on_has_lost_it(
    coordinator: Coordinator, other: Coordinator
) -> None:
    assert await coordinator.pr_leases.acquire(PR, "a", 100)
    await asyncio.sleep(0.15)
    assert await other.pr_leases.acquire(PR, "b", 5_000)
    assert await coordinator.pr_leases.release(PR, "a", 5_000) is ReleaseOutcome.LOST
    assert await other.pr_leases.release(PR, "b", 5_000) is ReleaseOutcome.RELEASED


async def test_an_expired_holder_takes_a_dirty_free_lease_back(
    coordinator: Coordinator, other: Coordinator
) -> None:
    assert await coordinator.pr_leases.acquire(PR, "a", 100)
    assert not await other.pr_leases.acquire(PR, "b", 5_000)  # marks dirty
    await asyncio.sleep(0.15)  # a's lease expires; nobody else evaluates the mark
    assert await coordinator.pr_leases.release(PR, "a", 5_000) is ReleaseOutcome.EVALUATE_AGAIN
    assert not await other.pr_leases.acquire(PR, "b", 5_000)
    assert await coordinator.pr_leases.release(PR, "a", 5_000) is ReleaseOutcome.EVALUATE_AGAIN
    assert await coordinator.pr_leases.release(PR, "a", 5_000) is ReleaseOutcome.RELEASED
    # released twice: a lease nobody holds and nothing dirty is simply released
    assert await coordinator.pr_leases.release(PR, "a", 5_000) is ReleaseOutcome.RELEASED


async def test_one_replica_runs_a_background_job(
    coordinator: Coordinator, other: Coordinator
) -> None:
    assert await coordinator.job_leases.acquire("reconciler", "a", 150)
    assert not await other.job_leases.acquire("reconciler", "b", 150)
    assert await other.job_leases.acquire("redelivery", "b", 150)
    assert await coordinator.job_leases.renew("reconciler", "a", 150)
    assert not await other.job_leases.renew("reconciler", "b", 150)
    assert not await other.job_leases.release("reconciler", "b")
    assert await coordinator.job_leases.release("reconciler", "a")
    assert await other.job_leases.acquire("reconciler", "b", 100)
    await asyncio.sleep(0.15)
    assert not await other.job_leases.renew("reconciler", "b", 100)
    assert await coordinator.job_leases.acquire("reconciler", "a", 100)


async def test_installation_tokens_are_shared_until_just_before_expiry(
    coordinator: Coordinator, other: Coordinator
) -> None:
    assert await other.tokens.get(42) is None
    expires_at = time.time() + 60 + 0.3  # shared for 0.3 s: 60 s margin before GitHub's expiry
    await coordinator.tokens.put(42, Secret("ghs_shared"), expires_at)
    cached = await other.tokens.get(42)
    assert cached is not None
    assert cached[0].reveal() == "ghs_shared"
    assert cached[1] == expires_at
    assert await other.tokens.get(43) is None
    await asyncio.sleep(0.4)
    assert await other.tokens.get(42) is None


async def test_a_token_about_to_expire_is_not_shared(
    coordinator: Coordinator, metrics: Metrics
) -> None:
    await coordinator.tokens.put(42, Secret("ghs_old"), time.time() + 30)
    assert await coordinator.tokens.get(42) is None
    assert sample(metrics, "coi_redis_commands_total", "put_token") == 0


async def test_a_foreign_token_entry_is_a_miss(
    coordinator: Coordinator, redis_server: RedisServer
) -> None:
    await coordinator.link.client.set("coi:token:42", b"not-a-time ghs")
    assert await coordinator.tokens.get(42) is None


async def test_keys_live_under_the_prefix(redis_server: RedisServer, metrics: Metrics) -> None:
    replica = Coordinator.from_url(redis_server.url, metrics=metrics, prefix="staging:")
    try:
        await replica.deliveries.claim("guid-1")
        await replica.stream.append("push", "guid-1", b"{}")
        await replica.pr_leases.acquire(PR, "a", 5_000)
        await replica.job_leases.acquire("reconciler", "a", 5_000)
        await replica.tokens.put(42, Secret("ghs"), time.time() + 3600)
        keys = []
        for key in await replica.link.client.keys("*"):
            assert isinstance(key, bytes)  # the client leaves responses undecoded
            keys.append(key.decode())
        keys.sort()
    finally:
        await replica.aclose()
    assert keys == [
        "staging:delivery:guid-1",
        f"staging:lease:pr:{PR}",
        "staging:lease:singleton:reconciler",
        "staging:token:42",
        "staging:work",
    ]


async def test_commands_are_counted_per_operation(
    coordinator: Coordinator, metrics: Metrics
) -> None:
    await coordinator.deliveries.claim("guid-1")
    # first use of the script: EVALSHA, LOAD, EVALSHA
    await coordinator.pr_leases.acquire(PR, "a", 5_000)
    await coordinator.pr_leases.acquire("octo/widgets#8", "a", 5_000)
    await coordinator.stream.read("a")  # no group yet: XREADGROUP, XGROUP CREATE, XREADGROUP
    assert sample(metrics, "coi_redis_commands_total", "claim_delivery") == 1
    assert sample(metrics, "coi_redis_commands_total", "acquire_pr") == 4
    assert sample(metrics, "coi_redis_commands_total", "read") == 3


async def test_an_outage_raises_quickly_counts_and_logs_once_then_heals(
    coordinator: Coordinator,
    redis_server: RedisServer,
    metrics: Metrics,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.replicas")
    entry_id = await coordinator.stream.append("push", "guid-1", b"{}")
    redis_server.stop()

    operations: list[Callable[[], Awaitable[object]]] = [
        lambda: coordinator.deliveries.claim("guid-2"),
        lambda: coordinator.stream.append("push", "guid-2", b"{}"),
        lambda: coordinator.stream.read("a"),
        lambda: coordinator.stream.read("a", block_ms=100),
        lambda: coordinator.stream.ack([entry_id]),
        lambda: coordinator.stream.claim_stale("a"),
        lambda: coordinator.pr_leases.acquire(PR, "a", 5_000),
        lambda: coordinator.pr_leases.release(PR, "a", 5_000),
        lambda: coordinator.job_leases.acquire("reconciler", "a", 5_000),
        lambda: coordinator.tokens.get(42),
    ]
    for operation in operations:
        started = time.monotonic()
        with pytest.raises(CoordinationUnavailable, match="redis is unavailable"):
            await operation()
        assert time.monotonic() - started < 1.0
    assert sample(metrics, "coi_redis_errors_total", "claim_delivery") == 1
    assert sample(metrics, "coi_redis_errors_total", "read") == 2
    down = [record for record in caplog.records if "redis unreachable" in record.getMessage()]
    assert len(down) == 1
    assert down[0].levelno == logging.WARNING

    redis_server.start()  # empty: this server keeps nothing on disk
    assert await coordinator.deliveries.claim("guid-1")
    again = [record for record in caplog.records if "redis reachable again" in record.getMessage()]
    assert len(again) == 1
    new_entry = await coordinator.stream.append("push", "guid-3", b"{}")
    assert [work.entry_id for work in await coordinator.stream.read("a")] == [new_entry]
    assert await coordinator.pr_leases.acquire(PR, "a", 5_000)
    assert await coordinator.pr_leases.release(PR, "a", 5_000) is ReleaseOutcome.RELEASED
    await coordinator.ping()
    assert len([r for r in caplog.records if "redis" in r.getMessage()]) == 2


async def test_a_server_restarted_between_calls_is_used_again_at_once(
    coordinator: Coordinator, redis_server: RedisServer
) -> None:
    await coordinator.ping()  # a pooled connection that the restart will break
    redis_server.stop()
    redis_server.start()
    assert await coordinator.deliveries.claim("guid-1")


async def test_a_group_another_replica_created_meanwhile_is_used(
    coordinator: Coordinator, other: Coordinator
) -> None:
    await other.stream.read("b")  # creates the group
    attempts: list[str] = []

    async def lost_the_race() -> str:
        attempts.append("read")
        if len(attempts) == 1:
            raise redis.exceptions.ResponseError("NOGROUP No such key or consumer group")
        return "read"

    assert await coordinator.stream._with_group(lost_the_race) == "read"
    assert attempts == ["read", "read"]


async def test_a_foreign_value_at_the_stream_key_is_a_bug_not_an_outage(
    coordinator: Coordinator,
) -> None:
    await coordinator.link.client.set("coi:work", b"not a stream")
    with pytest.raises(redis.exceptions.ResponseError, match="WRONGTYPE"):
        await coordinator.stream.read("a")
