"""create_app with REDIS_URL: two apps on one Redis share dedupe, work and leases."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.metrics import Metrics
from bot.settings import Secret
from bot.web.app import COORDINATOR_KEY, create_app
from bot.web.inbox import MemoryInbox, RedisInbox
from bot.web.state import INBOX_KEY, SCHEDULER_KEY
from tests.replicas.conftest import RedisServer
from tests.web.deliveries import (
    Delivery,
    RecordingEvaluate,
    load_payload,
    make_settings,
    with_installation,
)


async def post(client: Any, delivery: Delivery) -> int:
    response = await client.post(
        "/webhook", data=io.BytesIO(delivery.body), headers=delivery.headers
    )
    status: int = response.status
    return status


async def settle(*apps: web.Application) -> None:
    for _ in range(2):
        for app in apps:
            await app[INBOX_KEY].join()
            await app[SCHEDULER_KEY].drain()


async def test_two_replicas_share_dedupe_and_work(
    aiohttp_client: Any, redis_server: RedisServer, reference_dir: Path
) -> None:
    recorder = RecordingEvaluate()
    settings = make_settings(redis_url=Secret(redis_server.url))
    metrics = Metrics()
    first = await aiohttp_client(create_app(settings, evaluate=recorder, metrics=metrics))
    second = await aiohttp_client(create_app(settings, evaluate=recorder))
    assert isinstance(first.app[INBOX_KEY], RedisInbox)
    opened = with_installation(load_payload(reference_dir, "pull_request/opened.payload.json"))
    delivery = Delivery.of("pull_request", opened)
    assert await post(first, delivery) == 202
    assert await post(second, delivery) == 202  # kept by the first: not routed twice
    await settle(first.app, second.app)
    assert len(recorder.calls) == 1
    commands = metrics.registry.get_sample_value(
        "coi_redis_commands_total", {"operation": "accept"}
    )
    assert commands == 3, "claim and append in one script: EVALSHA, LOAD (first use), EVALSHA"


async def test_with_redis_down_a_replica_runs_alone(
    aiohttp_client: Any, redis_server: RedisServer, reference_dir: Path
) -> None:
    recorder = RecordingEvaluate()
    redis_server.stop()
    app = create_app(make_settings(redis_url=Secret(redis_server.url)), evaluate=recorder)
    client = await aiohttp_client(app)
    opened = with_installation(load_payload(reference_dir, "pull_request/opened.payload.json"))
    assert await post(client, Delivery.of("pull_request", opened)) == 202
    await settle(app)
    assert len(recorder.calls) == 1
    assert COORDINATOR_KEY in app


async def test_without_redis_url_nothing_is_shared(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(make_settings(), evaluate=RecordingEvaluate()))
    assert COORDINATOR_KEY not in client.app
    assert isinstance(client.app[INBOX_KEY], MemoryInbox)
