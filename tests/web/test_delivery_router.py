"""The inbox and the router task on their own: bounds, shutdown drain, backpressure."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from bot.metrics import Metrics
from bot.pr import PullRequestRef
from bot.web.inbox import MemoryInbox, RawDelivery
from bot.web.state import DeliveryLedger, FailedAfterAck
from bot.web.webhook import DeliveryRouter


class RoomyScheduler:
    """The scheduler interface the handlers see; accepts `room` PRs, then refuses."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.scheduled: list[PullRequestRef] = []

    def schedule(self, ref: PullRequestRef, **kwargs: Any) -> bool:
        if len(self.scheduled) >= self.room:
            return False
        self.scheduled.append(ref)
        return True

    def evaluated(self, ref: PullRequestRef) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)  # nothing runs here: evaluated as soon as scheduled
        return future

    def sweep(self, installation_id: int, owner: str, repo: str) -> bool:
        return True

    def sweep_owner(self, installation_id: int, owner: str) -> bool:
        return True

    def map_changed(self, owner: str, repo: str) -> None:
        return None


def opened(number: int) -> RawDelivery:
    payload = {
        "action": "opened",
        "installation": {"id": 7},
        "repository": {"name": "widgets", "owner": {"login": "acme"}},
        "pull_request": {"number": number},
    }
    return RawDelivery("pull_request", f"delivery-{number}", json.dumps(payload).encode())


def router_of(inbox: MemoryInbox, scheduler: RoomyScheduler) -> DeliveryRouter:
    return DeliveryRouter(
        inbox,
        scheduler,  # type: ignore[arg-type]
        ledger=DeliveryLedger(),
        failed_after_ack=FailedAfterAck(),
        metrics=Metrics(),
        map_path=".github/affiliations.yml",
        retry_seconds=0.01,
    )


async def test_the_inbox_is_bounded_and_refuses_once_closed() -> None:
    inbox = MemoryInbox(maxsize=2)
    assert await inbox.offer(opened(1))
    assert await inbox.offer(opened(2))
    assert not await inbox.offer(opened(3))
    assert inbox.depth == 2
    inbox.close()
    assert inbox.depth == 2
    assert not await inbox.offer(opened(4))
    assert [d.delivery_id for d in inbox.leftovers()] == ["delivery-1", "delivery-2"]
    assert inbox.depth == 0
    assert await inbox.take() is None


def test_an_inbox_holds_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        MemoryInbox(maxsize=0)


async def test_shutdown_hands_what_the_inbox_holds_to_the_scheduler() -> None:
    inbox = MemoryInbox(maxsize=10)
    scheduler = RoomyScheduler(room=10)
    for number in (1, 2, 3):
        assert await inbox.offer(opened(number))
    router = router_of(inbox, scheduler)
    router.start()
    await router.stop(drain_seconds=5)
    assert [ref.number for ref in scheduler.scheduled] == [1, 2, 3]
    assert not await inbox.offer(opened(4)), "a stopped router's inbox refuses (503)"


async def test_a_router_waits_for_room_and_never_drops() -> None:
    inbox = MemoryInbox(maxsize=10)
    scheduler = RoomyScheduler(room=1)
    router = router_of(inbox, scheduler)
    router.start()
    for number in (1, 2, 3):
        assert await inbox.offer(opened(number))
    await asyncio.sleep(0.05)
    assert [ref.number for ref in scheduler.scheduled] == [1]
    assert inbox.depth == 1, "2 waits in the router, 3 in the inbox"
    scheduler.room = 3
    async with asyncio.timeout(5):
        await inbox.join()
    assert [ref.number for ref in scheduler.scheduled] == [1, 2, 3]
    await router.stop(drain_seconds=1)


async def test_shutdown_logs_every_delivery_it_could_not_hand_over(
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox = MemoryInbox(maxsize=10)
    scheduler = RoomyScheduler(room=1)
    for number in (1, 2, 3):
        assert await inbox.offer(opened(number))
    router = router_of(inbox, scheduler)
    router.start()
    with caplog.at_level(logging.ERROR, logger="bot.web.webhook"):
        await router.stop(drain_seconds=0.1)
    record = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert record.getMessage().startswith("stopped before handing 2 acknowledged deliveries")
    assert record.deliveries == ["delivery-2", "delivery-3"]  # type: ignore[attr-defined]


async def test_a_router_started_twice_is_refused() -> None:
    router = router_of(MemoryInbox(maxsize=1), RoomyScheduler(room=1))
    router.start()
    with pytest.raises(RuntimeError, match="already started"):
        router.start()
    await router.stop(drain_seconds=1)
