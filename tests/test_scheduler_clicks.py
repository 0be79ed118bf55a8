"""Button clicks and comment edits ride on the pending entry: coalescing merges events, never
clicks, and keeps each edited comment's text from before the burst."""

from __future__ import annotations

import asyncio

import pytest

from bot.intents import ButtonClick, CommentEdit, Intents
from bot.metrics import Metrics
from bot.pr import PullRequestRef, WorkRef
from bot.scheduler import Evaluate, Scheduler

REF = PullRequestRef(1, "acme", "widgets", 7)


class Recorder:
    def __init__(self, *, hold: float = 0.0) -> None:
        self.plain: list[WorkRef] = []
        self.clicked: list[tuple[WorkRef, tuple[ButtonClick, ...]]] = []
        self.edited: list[tuple[WorkRef, tuple[CommentEdit, ...]]] = []
        self.hold = hold

    async def __call__(self, ref: WorkRef, intents: Intents) -> None:
        if intents:
            self.clicked.append((ref, intents.clicks))
            self.edited.append((ref, intents.edits))
        else:
            self.plain.append(ref)
        await asyncio.sleep(self.hold)


def make(recorder: Evaluate, *, coalesce: float = 0.0) -> Scheduler:
    return Scheduler(
        recorder, workers=2, max_pending=10, coalesce_seconds=coalesce, metrics=Metrics()
    )


@pytest.mark.parametrize("quiet_window", [0.0, 0.05])
async def test_a_burst_keeps_every_click_in_one_evaluation(quiet_window: float) -> None:
    recorder = Recorder()
    first, second = ButtonClick("mallory", "recheck"), ButtonClick("alice", "request")
    async with make(recorder, coalesce=quiet_window) as scheduler:
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
    async with make(recorder) as scheduler:
        scheduler.schedule(REF)
        await asyncio.sleep(0.03)  # the first evaluation is running
        scheduler.schedule(REF, click=click)
        await scheduler.drain()
    assert recorder.plain == [REF]
    assert recorder.clicked == [(REF, (click,))]


@pytest.mark.parametrize(("login", "identifier"), [("alice", "merge"), ("", "recheck")])
def test_a_click_names_a_known_button_and_a_clicker(login: str, identifier: str) -> None:
    with pytest.raises(ValueError, match=r"button|login"):
        ButtonClick(login, identifier)  # type: ignore[arg-type]


OTHER = PullRequestRef(1, "acme", "widgets", 8)


def edit(comment_id: int, before: str) -> CommentEdit:
    return CommentEdit(comment_id=comment_id, node_id=f"IC_{comment_id}", previous_body=before)


async def test_a_burst_keeps_each_comment_s_text_from_before_its_first_edit() -> None:
    recorder = Recorder()
    first, again = edit(11, "/coi declare"), edit(11, "/coi request")
    other = edit(12, "hello")
    click = ButtonClick("alice", "recheck")
    async with make(recorder) as scheduler:
        assert scheduler.schedule(REF, edit=first)
        assert scheduler.schedule(REF, edit=again)
        assert scheduler.schedule(REF, click=click)
        assert scheduler.schedule(REF, edit=other)
        assert scheduler.schedule(OTHER)
        await scheduler.drain()
    assert recorder.edited == [(REF, (first, other))]
    assert recorder.clicked == [(REF, (click,))]
    assert recorder.plain == [OTHER], "an edit stays with its own PR"


async def test_an_edit_during_an_evaluation_goes_to_the_next_one() -> None:
    recorder = Recorder(hold=0.1)
    edited = edit(11, "/coi declare")
    async with make(recorder) as scheduler:
        scheduler.schedule(REF, edit=edit(11, "older"))
        await asyncio.sleep(0.03)  # the first evaluation is running
        scheduler.schedule(REF, edit=edited)
        await scheduler.drain()
    assert recorder.edited == [(REF, (edit(11, "older"),)), (REF, (edited,))]
    assert recorder.plain == []


async def test_a_full_queue_refuses_an_edit_as_it_refuses_any_event() -> None:
    recorder = Recorder()
    scheduler = Scheduler(recorder, workers=1, max_pending=1, metrics=Metrics())
    async with scheduler:
        assert scheduler.schedule(OTHER)
        assert not scheduler.schedule(REF, edit=edit(11, "/coi declare"))
        await scheduler.drain()
    assert recorder.plain == [OTHER]
    assert recorder.edited == []
