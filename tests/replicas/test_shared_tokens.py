"""Installation tokens shared through Redis: one replica mints, the others read it."""

from __future__ import annotations

import time

from bot.github.auth import GitHubApp
from bot.metrics import Metrics
from bot.replicas import Coordinator
from bot.settings import Secret
from tests.github.test_auth import Clock, token_server
from tests.replicas.conftest import RedisServer


def replica(pem: str, server: object, clock: Clock, coordinator: Coordinator) -> GitHubApp:
    app = GitHubApp(
        app_id="12345",
        private_key=Secret(pem),
        client_factory=server.factory,  # type: ignore[attr-defined]
        metrics=Metrics(),
        clock=clock,
    )
    app.share_tokens(coordinator.tokens)
    return app


async def test_a_token_minted_by_one_replica_is_used_by_the_others(
    app_private_key_pem: str, coordinator: Coordinator, redis_server: RedisServer
) -> None:
    clock = Clock(time.time())
    server = token_server(clock)
    other = Coordinator.from_url(redis_server.url, metrics=Metrics())
    try:
        first = replica(app_private_key_pem, server, clock, coordinator)
        second = replica(app_private_key_pem, server, clock, other)
        token = await first.installation_token(7)
        assert await second.installation_token(7) == token
        assert len(server.calls) == 1
        # GitHub refused it on the second replica: it mints a new one, and shares that
        second.forget_token(7)
        renewed = await second.installation_token(7)
        assert renewed != token
        assert len(server.calls) == 2
        third = replica(app_private_key_pem, server, clock, coordinator)
        assert await third.installation_token(7) == renewed
    finally:
        await other.aclose()


async def test_a_shared_token_about_to_expire_is_not_used(
    app_private_key_pem: str, coordinator: Coordinator
) -> None:
    clock = Clock(time.time())
    server = token_server(clock, lifetime=600)  # shared, but within 5 minutes of expiry soon
    first = replica(app_private_key_pem, server, clock, coordinator)
    await first.installation_token(7)
    clock.now += 400
    second = replica(app_private_key_pem, server, clock, coordinator)
    await second.installation_token(7)
    assert len(server.calls) == 2


async def test_with_redis_down_each_replica_mints_its_own(
    app_private_key_pem: str, coordinator: Coordinator, redis_server: RedisServer
) -> None:
    clock = Clock(time.time())
    server = token_server(clock)
    redis_server.stop()
    first = replica(app_private_key_pem, server, clock, coordinator)
    second = replica(app_private_key_pem, server, clock, coordinator)
    assert await first.installation_token(7) != await second.installation_token(7)
    assert len(server.calls) == 2
