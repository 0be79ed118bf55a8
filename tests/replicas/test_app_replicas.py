"""create_app with REDIS_URL: two apps on one Redis share dedupe, work and leases."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.intents import ButtonClick, Intents
from bot.metrics import Metrics
from bot.pr import WorkRef
from bot.replicas import Coordinator
from bot.scheduler import Scheduler
from bot.settings import Secret
from bot.web.app import (
    COORDINATOR_KEY,
    LOCAL_FORGET_KEY,
    _map_changes,
    _shared_forget,
    create_app,
)
from bot.web.inbox import MemoryInbox, RedisInbox
from bot.web.state import INBOX_KEY, SCHEDULER_KEY
from tests.handlers.test_clicks import clicked
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


async def test_a_click_not_judged_before_stop_is_judged_by_another_replica(
    aiohttp_client: Any,
    redis_server: RedisServer,
    reference_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # short grace periods: the stopping replica gives up on its stuck evaluation at once
    monkeypatch.setattr(
        "bot.web.app.Scheduler", functools.partial(Scheduler, stop_grace_seconds=0.1)
    )
    monkeypatch.setattr("bot.web.app.DRAIN_SECONDS", 0.5)
    stuck = asyncio.Event()

    class Stuck:
        async def __call__(self, ref: WorkRef, intents: Intents) -> None:
            stuck.set()
            await asyncio.Event().wait()  # GitHub hangs: never returns

    class Clicks:
        def __init__(self) -> None:
            self.intents: list[Intents] = []

        async def __call__(self, ref: WorkRef, intents: Intents) -> None:
            self.intents.append(intents)

    settings = make_settings(redis_url=Secret(redis_server.url))
    stopping = await aiohttp_client(create_app(settings, evaluate=Stuck()))
    payload = clicked(reference_dir, "request", sender="mallory")
    assert await post(stopping, Delivery.of("check_run", payload)) == 202
    await asyncio.wait_for(stuck.wait(), 5)
    await stopping.close()  # SIGTERM: the cleanup contexts run
    clicks = Clicks()
    live = await aiohttp_client(create_app(settings, evaluate=clicks))
    for _ in range(200):
        if clicks.intents:
            break
        await asyncio.sleep(0.02)
    assert clicks.intents, "handed over through Redis"
    assert clicks.intents[0].clicks == (ButtonClick("mallory", "request"),)
    await settle(live.app)


async def test_a_map_push_routed_by_one_replica_is_forgotten_by_the_others(
    redis_server: RedisServer,
) -> None:
    here: list[tuple[str, str]] = []
    there: list[tuple[str, str]] = []
    routing = Coordinator.from_url(redis_server.url, metrics=Metrics())
    listening = Coordinator.from_url(redis_server.url, metrics=Metrics())
    other = web.Application()
    other[COORDINATOR_KEY] = listening
    other[LOCAL_FORGET_KEY] = lambda owner, repo: there.append((owner, repo))
    context = _map_changes(other)
    await anext(context)
    try:
        forget = _shared_forget(lambda owner, repo: here.append((owner, repo)), routing)
        for _ in range(100):  # until the listener has subscribed
            forget("acme", ".github")
            await asyncio.sleep(0.02)
            if there:
                break
        assert here[0] == ("acme", ".github"), "forgotten here at once"
        assert there[0] == ("acme", ".github"), "and on the other replica"
    finally:
        with contextlib.suppress(StopAsyncIteration):
            await anext(context)
        await routing.aclose()
        await listening.aclose()
