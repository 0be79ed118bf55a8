"""With Redis, a signed body replayed under a new delivery ID on another replica is not judged
again: the body's key is claimed in Redis beside the delivery ID."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.settings import Secret
from bot.web.app import create_app
from tests.replicas.conftest import RedisServer
from tests.web.deliveries import (
    Delivery,
    RecordingEvaluate,
    load_payload,
    make_settings,
    with_installation,
)
from tests.web.test_replays import drain, post, replayed


async def test_with_redis_a_replay_on_another_replica_is_not_judged_again(
    aiohttp_client: Any, redis_server: RedisServer, reference_dir: Path
) -> None:
    recorder = RecordingEvaluate()
    settings = make_settings(redis_url=Secret(redis_server.url))
    first = await aiohttp_client(create_app(settings, evaluate=recorder))
    second = await aiohttp_client(create_app(settings, evaluate=recorder))
    opened = with_installation(load_payload(reference_dir, "pull_request/opened.payload.json"))
    delivery = Delivery.of("pull_request", opened)
    assert (await post(first, delivery))[0] == 202
    await drain(first, second)
    assert len(recorder.calls) == 1, recorder.calls
    await post(second, replayed(delivery))  # the second replica's ledger has not seen it
    await post(first, replayed(delivery))
    await drain(first, second)
    assert len(recorder.calls) == 1, recorder.calls
