"""Button clicks ride on the pending entry: coalescing merges events, never clicks."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from bot.clicks import ButtonClick
from bot.metrics import Metrics
from bot.pr import PullRequestRef
from bot.scheduler import Scheduler

REF = PullRequestRef(1, "acme", "widgets", 7)


class Recorder:
    def __init__(self, *, hold: float = 0.0) -> None:
        self.plain: list[PullRequestRef] = []
        self.clicked: list[tuple[PullRequestRef, tuple[ButtonClick, ...]]] = []
        self.hold = hold

    async def evaluate(self, ref: PullRequestRef) -> None:
        self.plain.append(ref)
        await asyncio.sleep(self.hold)

    async def evaluate_clicks(self, ref: PullRequestRef, *, clicks: Sequence[ButtonClick]) -> None:
        self.clicked.append((ref, tuple(clicks)))
        await asyncio.sleep(self.hold)


def make(recorder: Recorder, *, with_clicks: bool = True, coalesce: float = 0.05) -> Scheduler:
    return Scheduler(
        recorder.evaluate,
        workers=2,
        max_pending=10,
        coalesce_seconds=coalesce,
        metrics=Metrics(),
        evaluate_clicks=recorder.evaluate_clicks if with_clicks else None,
    )


async def test_a_burst_keeps_every_click_in_one_evaluation() -> None:
    recorder = Recorder()
    first, second = ButtonClick("mallory", "recheck"), ButtonClick("alice", "request")
    async with make(recorder) as scheduler:
        assert scheduler.schedule(REF)
        assert scheduler.schedule(REF, click=first)
        assert scheduler.schedule(REF)
        assert scheduler.schedule(REF, click=second)
        await scheduler.drain()
    assert recorder.clicked == [(REF, (first, second))]
    assert recorder.plain == []


async def test_a_click_during_an_evaluation_goes_to_the_next_one() -> None:
    recorder = Recorder(hold=0.1)
    click = ButtonClick("alice", "request")
    async with make(recorder, coalesce=0.0) as scheduler:
        scheduler.schedule(REF)
        await asyncio.sleep(0.03)  # the first evaluation is running
        scheduler.schedule(REF, click=click)
        await scheduler.drain()
    assert recorder.plain == [REF]
    assert recorder.clicked == [(REF, (click,))]


async def test_without_a_click_evaluation_clicks_become_plain_evaluations() -> None:
    recorder = Recorder()
    async with make(recorder, with_clicks=False) as scheduler:
        scheduler.schedule(REF, click=ButtonClick("alice", "recheck"))
        await scheduler.drain()
    assert recorder.plain == [REF]


@pytest.mark.parametrize(("login", "identifier"), [("alice", "merge"), ("", "recheck")])
def test_a_click_names_a_known_button_and_a_clicker(login: str, identifier: str) -> None:
    with pytest.raises(ValueError, match=r"button|login"):
        ButtonClick(login, identifier)  # type: ignore[arg-type]
