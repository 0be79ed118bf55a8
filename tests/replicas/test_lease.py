"""LeasedEvaluate against a real redis-server: two Coordinators play two replicas."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from bot.intents import ButtonClick, Intents
from bot.metrics import Metrics
from bot.pr import MergeGroupRef, PullRequestRef, WorkRef
from bot.replicas import Coordinator
from bot.replicas.lease import LeasedEvaluate, lease_key
from tests.replicas.conftest import RedisServer

REF = PullRequestRef(7, "octo", "widgets", 12)
CLICK = Intents(clicks=(ButtonClick("alice", "recheck"),))


class Recorder:
    """An Evaluate that records calls, takes `seconds`, and notices overlapping calls."""

    def __init__(self, seconds: float = 0.0, *, fail: bool = False) -> None:
        self.seconds = seconds
        self.fail = fail
        self.calls: list[tuple[str, Intents]] = []
        self.running = 0
        self.overlaps = 0
        self.started = asyncio.Event()

    def replica(self, name: str) -> _Bound:
        return _Bound(self, name)


class _Bound:
    def __init__(self, recorder: Recorder, name: str) -> None:
        self.recorder = recorder
        self.name = name

    async def __call__(self, ref: WorkRef, intents: Intents) -> object:
        recorder = self.recorder
        recorder.calls.append((self.name, intents))
        recorder.running += 1
        recorder.overlaps += recorder.running > 1
        recorder.started.set()
        try:
            await asyncio.sleep(recorder.seconds)
            if recorder.fail:
                raise RuntimeError("evaluation failed")
        finally:
            recorder.running -= 1
        return self.name


@pytest.fixture
async def other(redis_server: RedisServer) -> AsyncIterator[Coordinator]:
    replica = Coordinator.from_url(redis_server.url, metrics=Metrics())
    try:
        yield replica
    finally:
        await replica.aclose()


def test_lease_keys_name_the_pr_or_the_merge_group() -> None:
    assert lease_key(REF) == "7/octo/widgets#12"
    group = MergeGroupRef(7, "octo", "widgets", "abc123", "refs/heads/gh-readonly-queue/x", "main")
    assert lease_key(group) == "7/octo/widgets@abc123"


def test_a_lease_needs_a_positive_ttl(coordinator: Coordinator) -> None:
    with pytest.raises(ValueError, match="ttl_ms must be positive"):
        LeasedEvaluate(Recorder().replica("a"), coordinator, ttl_ms=0)


async def test_an_event_on_a_busy_pr_is_evaluated_after_the_holder_never_beside_it(
    coordinator: Coordinator, other: Coordinator
) -> None:
    recorder = Recorder(seconds=0.2)
    first = LeasedEvaluate(recorder.replica("a"), coordinator, ttl_ms=2_000)
    second = LeasedEvaluate(recorder.replica("b"), other, ttl_ms=2_000)
    holder = asyncio.create_task(first(REF, Intents()))
    await recorder.started.wait()
    assert await second(REF, CLICK) == "b"
    assert await holder == "a"
    assert recorder.overlaps == 0
    names = [name for name, _ in recorder.calls]
    # a: its own; b marked the PR dirty, so a evaluates again; b then waits its turn with the click
    assert sorted(names) == ["a", "a", "b"]
    assert ("b", CLICK) in recorder.calls
    assert await coordinator.pr_leases.acquire(lease_key(REF), "probe", 1_000), "the lease is free"


async def test_a_dead_holders_pr_is_evaluated_once_its_lease_expires(
    coordinator: Coordinator, other: Coordinator
) -> None:
    assert await other.pr_leases.acquire(lease_key(REF), "died", 300)  # never renewed nor released
    recorder = Recorder()
    leased = LeasedEvaluate(recorder.replica("a"), coordinator, ttl_ms=300)
    started = time.monotonic()
    await leased(REF, Intents())
    assert recorder.calls == [("a", Intents())]
    assert 0.2 < time.monotonic() - started < 1.0


async def test_a_lease_held_too_long_leaves_plain_work_to_its_holder_but_not_clicks(
    coordinator: Coordinator, other: Coordinator
) -> None:
    assert await other.pr_leases.acquire(lease_key(REF), "busy", 60_000)
    recorder = Recorder()
    leased = LeasedEvaluate(recorder.replica("a"), coordinator, ttl_ms=1_000, wait_seconds=0.1)
    assert await leased(REF, Intents()) is None
    assert recorder.calls == []
    assert await leased(REF, CLICK) == "a"
    assert recorder.calls == [("a", CLICK)]
    # the holder's release finds the dirty mark: it evaluates again
    assert (await other.pr_leases.release(lease_key(REF), "busy", 1_000)).name == "EVALUATE_AGAIN"


async def test_a_long_evaluation_renews_its_lease(
    coordinator: Coordinator, other: Coordinator, metrics: Metrics
) -> None:
    recorder = Recorder(seconds=0.5)
    leased = LeasedEvaluate(recorder.replica("a"), coordinator, ttl_ms=150)
    evaluation = asyncio.create_task(leased(REF, Intents()))
    await asyncio.sleep(0.35)  # two ttls: only renewals keep it
    assert not await other.pr_leases.acquire(lease_key(REF), "b", 1_000)
    await evaluation
    renewals = metrics.registry.get_sample_value(
        "coi_redis_commands_total", {"operation": "renew_pr"}
    )
    assert renewals is not None
    assert renewals >= 2
    assert len(recorder.calls) == 2, "b's mark made a evaluate again"


async def test_a_failed_evaluation_still_releases_and_honours_the_dirty_mark(
    coordinator: Coordinator, other: Coordinator
) -> None:
    recorder = Recorder(seconds=0.1, fail=True)
    leased = LeasedEvaluate(recorder.replica("a"), coordinator, ttl_ms=1_000)
    evaluation = asyncio.create_task(leased(REF, Intents()))
    await recorder.started.wait()
    assert not await other.pr_leases.acquire(lease_key(REF), "b", 1_000)  # marks it dirty
    with pytest.raises(RuntimeError, match="evaluation failed"):
        await evaluation
    assert len(recorder.calls) == 2
    assert await other.pr_leases.acquire(lease_key(REF), "b", 1_000), "released after the failure"


async def test_without_redis_every_evaluation_runs_unleased(
    redis_server: RedisServer, coordinator: Coordinator
) -> None:
    recorder = Recorder()
    leased = LeasedEvaluate(recorder.replica("a"), coordinator, ttl_ms=1_000)
    redis_server.stop()
    assert await leased(REF, CLICK) == "a"
    assert recorder.calls == [("a", CLICK)]
    redis_server.start()
    assert await leased(REF, Intents()) == "a"
    assert await coordinator.pr_leases.acquire(lease_key(REF), "probe", 1_000), "released again"


async def test_an_outage_during_the_evaluation_leaves_the_lease_to_expire(
    redis_server: RedisServer, coordinator: Coordinator
) -> None:
    recorder = Recorder(seconds=0.3)
    leased = LeasedEvaluate(recorder.replica("a"), coordinator, ttl_ms=150)
    evaluation = asyncio.create_task(leased(REF, Intents()))
    await recorder.started.wait()
    redis_server.stop()
    assert await evaluation == "a"  # renewals and the release failed; the result stands
    redis_server.start()
    assert await coordinator.pr_leases.acquire(lease_key(REF), "probe", 1_000)
