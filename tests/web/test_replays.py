"""`X-GitHub-Delivery` is not signed: a captured body replayed under a new delivery ID is a
duplicate, answered 200 and never judged again (with Redis: tests/replicas/test_replays.py)."""

from __future__ import annotations

import asyncio
import io
import uuid
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.web.app import create_app
from bot.web.state import FAULTS_KEY, INBOX_KEY, LEDGER_KEY, SCHEDULER_KEY
from tests.handlers.test_clicks import clicked
from tests.web.deliveries import (
    Delivery,
    RecordingEvaluate,
    load_payload,
    make_settings,
    with_installation,
)


async def post(client: TestClient[Any, web.Application], delivery: Delivery) -> tuple[int, Any]:
    response = await client.post(
        "/webhook", data=io.BytesIO(delivery.body), headers=delivery.headers
    )
    return response.status, await response.json()


async def drain(*clients: TestClient[Any, web.Application]) -> None:
    async with asyncio.timeout(5):
        for _ in range(2):
            for client in clients:
                await client.app[INBOX_KEY].join()
                await client.app[SCHEDULER_KEY].drain()


def replayed(delivery: Delivery) -> Delivery:
    """The same signed body under a delivery ID of the replayer's choosing."""
    return Delivery(event=delivery.event, body=delivery.body, delivery_id=str(uuid.uuid4()))


async def test_a_replayed_button_click_is_a_duplicate_and_is_not_judged_again(
    aiohttp_client: Any, reference_dir: Path
) -> None:
    recorder = RecordingEvaluate()
    client = await aiohttp_client(create_app(make_settings(), evaluate=recorder))
    click = Delivery.of("check_run", clicked(reference_dir, "request", sender="mallory"))
    assert (await post(client, click))[0] == 202
    await drain(client)
    judged = len(recorder.calls)
    assert judged >= 1
    for _ in range(3):
        status, answer = await post(client, replayed(click))
        assert (status, answer["status"]) == (200, "duplicate")
    await drain(client)
    assert len(recorder.calls) == judged


async def test_a_delivery_released_after_a_fault_is_processed_when_github_redelivers_it(
    aiohttp_client: Any, reference_dir: Path
) -> None:
    client = await aiohttp_client(create_app(make_settings(), evaluate=RecordingEvaluate()))
    opened = with_installation(load_payload(reference_dir, "pull_request/opened.payload.json"))
    delivery = Delivery.of("pull_request", opened)
    assert (await post(client, delivery))[0] == 202
    await drain(client)
    # What the router does after a handler fault: GitHub will send the same ID and body again.
    client.app[LEDGER_KEY].release(delivery.delivery_id)
    assert (await post(client, delivery))[0] == 202
    assert (await post(client, replayed(delivery)))[1]["status"] == "duplicate"
    assert delivery.delivery_id not in client.app[FAULTS_KEY]
