"""Bodies whose signature is not checked yet are anyone's: together they hold a bounded amount
of memory (503 at once above it, the body left unread), and each is read into one buffer."""

from __future__ import annotations

import asyncio
import io
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.web.app import create_app
from bot.web.webhook import UNVERIFIED_KEY, UnverifiedBodies
from tests.web.deliveries import Delivery, RecordingEvaluate, make_settings

MIB = 1024 * 1024


async def client_with_bound(aiohttp_client: Any, bound: int) -> TestClient[Any, web.Application]:
    app = create_app(make_settings(unverified_body_bytes=bound), evaluate=RecordingEvaluate())
    client: TestClient[Any, web.Application] = await aiohttp_client(app)
    return client


def unsigned_headers(length: int) -> dict[str, str]:
    headers = Delivery(event="pull_request", body=b"").headers
    headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
    headers["Content-Length"] = str(length)
    return headers


async def held_back(first: bytes, rest: bytes, release: asyncio.Event) -> AsyncIterator[bytes]:
    """A body whose sender stalls after its first bytes until `release`: it stays in flight."""
    yield first
    await release.wait()
    yield rest


async def test_many_concurrent_unsigned_bodies_hold_at_most_the_bound(aiohttp_client: Any) -> None:
    client = await client_with_bound(aiohttp_client, 4 * MIB)
    bodies = client.app[UNVERIFIED_KEY]
    release = asyncio.Event()
    size = MIB

    async def send() -> int:
        data = held_back(b"x" * 1024, b"x" * (size - 1024), release)
        response = await client.post("/webhook", data=data, headers=unsigned_headers(size))
        return response.status

    senders = [asyncio.create_task(send()) for _ in range(20)]
    # Four fit in the bound and wait for their bodies; the other sixteen are refused at once,
    # while every sender is still holding its body back.
    for _ in range(500):
        if sum(task.done() for task in senders) == 16:
            break
        await asyncio.sleep(0.01)
    done = [task.result() for task in senders if task.done()]
    assert done == [503] * 16
    assert bodies.held == 4 * MIB
    release.set()
    statuses = await asyncio.gather(*senders)
    assert sorted(statuses) == [401] * 4 + [503] * 16
    assert bodies.held == 0, "every reservation is released once the signature is checked"


async def test_a_chunked_body_is_reserved_as_it_comes(aiohttp_client: Any) -> None:
    client = await client_with_bound(aiohttp_client, 2 * MIB)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"x" * MIB

    headers = unsigned_headers(0)
    del headers["Content-Length"]
    response = await client.post("/webhook", data=chunks(), headers=headers)
    assert response.status == 503
    assert (await response.json())["reason"] == "too many unverified bodies in flight"
    assert client.app[UNVERIFIED_KEY].held == 0


async def test_an_unsigned_body_is_read_into_one_buffer(aiohttp_client: Any) -> None:
    client = await client_with_bound(aiohttp_client, 64 * MIB)
    body = io.BytesIO(b"x" * (8 * MIB))  # built before tracing: the client's copy is not counted
    tracemalloc.start()
    try:
        response = await client.post("/webhook", data=body, headers=unsigned_headers(8 * MIB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status == 401
    # One buffer of the body's size, plus the chunks in transit; a second copy would double it.
    assert peak < 1.5 * 8 * MIB, f"peak {peak / MIB:.1f} MiB for an 8 MiB body"


def test_the_bound_is_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        UnverifiedBodies(0)
