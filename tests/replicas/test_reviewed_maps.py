"""Reviewed map versions shared by replicas through a real Redis; with Redis down, none known."""

from __future__ import annotations

from bot.metrics import Metrics
from bot.replicas import Coordinator
from bot.replicas.reviewed_maps import SharedReviewedMaps
from tests.replicas.conftest import RedisServer


async def test_a_version_one_replica_found_reviewed_is_known_to_the_others(
    coordinator: Coordinator, redis_server: RedisServer
) -> None:
    other = Coordinator.from_url(redis_server.url, metrics=Metrics())
    try:
        mine, theirs = SharedReviewedMaps(coordinator), SharedReviewedMaps(other)
        assert not await theirs.known("acme/widgets@b1")
        await mine.remember(["acme/widgets@b1", "acme/widgets@b2"])
        await mine.remember([])
        assert await theirs.known("acme/widgets@b1")
        assert await theirs.known("acme/widgets@b2")
        assert not await theirs.known("acme/gadgets@b1")
    finally:
        await other.aclose()


async def test_with_redis_down_nothing_is_known_and_nothing_raises(
    coordinator: Coordinator, redis_server: RedisServer
) -> None:
    shared = SharedReviewedMaps(coordinator)
    await shared.remember(["acme/widgets@b1"])
    redis_server.stop()
    assert not await shared.known("acme/widgets@b1")
    await shared.remember(["acme/widgets@b2"])
