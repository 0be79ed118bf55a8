"""Vote closes kept in Redis: any replica arms one, the jobs' holder takes each once when due."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.pr import IssueRef, PullRequestRef
from bot.replicas import Coordinator
from bot.replicas.link import CoordinationUnavailable
from bot.replicas.vote_deadlines import (
    SharedDeadlines,
    VoteRef,
    member_of,
    ref_of,
    schedule_due,
    schedule_passed,
)
from tests.replicas.conftest import RedisServer

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
PULL = PullRequestRef(7, "acme", "widgets", 12)
ISSUE = IssueRef(7, "acme", "widgets", 13)


def test_members_name_the_pr_or_the_issue_and_nothing_else_is_read() -> None:
    assert member_of(PULL) == "pr:7/acme/widgets#12"
    assert member_of(ISSUE) == "issue:7/acme/widgets#13"
    assert (ref_of(member_of(PULL)), ref_of(member_of(ISSUE))) == (PULL, ISSUE)
    for junk in ("pr:7/acme#12", "push:7/acme/widgets#1", "issue:x/acme/widgets#1", "pr:"):
        assert ref_of(junk) is None


async def test_a_close_is_taken_once_when_due_and_arming_again_moves_it(
    coordinator: Coordinator, redis_server: RedisServer
) -> None:
    other = Coordinator.from_url(redis_server.url, metrics=coordinator.link.metrics)
    try:
        here, there = SharedDeadlines(coordinator.link), SharedDeadlines(other.link)
        await here.add(PULL, NOW + timedelta(minutes=1))
        await there.add(ISSUE, NOW + timedelta(minutes=5))
        assert await there.take_due(NOW) == []
        assert await there.take_due(NOW + timedelta(minutes=1)) == [PULL]
        assert await here.take_due(NOW + timedelta(minutes=2)) == [], "handed out once"
        await here.add(ISSUE, NOW + timedelta(minutes=10))  # a new close for the same issue
        assert await here.take_due(NOW + timedelta(minutes=6)) == []
        assert await here.take_due(NOW + timedelta(minutes=10)) == [ISSUE]
    finally:
        await other.aclose()


async def test_the_job_schedules_what_is_due_and_redis_down_is_no_failure(
    coordinator: Coordinator, redis_server: RedisServer
) -> None:
    deadlines = SharedDeadlines(coordinator.link)
    await deadlines.add(PULL, NOW - timedelta(seconds=1))
    scheduled: list[VoteRef] = []

    def schedule(ref: VoteRef) -> bool:
        scheduled.append(ref)
        return True

    job = asyncio.create_task(
        schedule_due(deadlines, schedule, clock=lambda: NOW, period_seconds=0.01)
    )
    try:
        for _ in range(200):
            if scheduled:
                break
            await asyncio.sleep(0.01)
        assert scheduled == [PULL]
        redis_server.stop()
        await deadlines.add(ISSUE, NOW)  # kept by the local timer only: no error
        with pytest.raises(CoordinationUnavailable):
            await deadlines.take_due(NOW)
        await asyncio.sleep(0.05)
        assert not job.done(), "the job goes on while Redis is away"
    finally:
        job.cancel()
        await asyncio.gather(job, return_exceptions=True)


async def test_a_close_the_full_queue_refuses_is_left_to_the_reconciler(
    coordinator: Coordinator, caplog: pytest.LogCaptureFixture
) -> None:
    deadlines = SharedDeadlines(coordinator.link)
    await deadlines.add(ISSUE, NOW)
    refused: list[VoteRef] = []

    def full(ref: VoteRef) -> bool:
        refused.append(ref)
        return False

    assert await schedule_passed(deadlines, full, now=NOW) == 1
    assert refused == [ISSUE]
    assert "queue full: the vote on acme/widgets issue #13 waits for the reconciler" in caplog.text
    assert await schedule_passed(deadlines, full, now=NOW) == 0, "taken once: the reconciler's"
