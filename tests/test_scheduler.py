"""The per-PR queue: leading and trailing edges, no overlapping evaluations of one PR,
concurrency, bounds, and a graceful stop."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.intents import ButtonClick, Intents
from bot.metrics import Metrics
from bot.pr import PullRequestRef, WorkRef
from bot.scheduler import DEFAULT_TRAILING_SECONDS, Evaluate, Scheduler


def pr(number: int, *, repo: str = "repo") -> PullRequestRef:
    return PullRequestRef(installation_id=1, owner="org", repo=repo, number=number)


class Recorder:
    """An evaluate that records calls and the overlap of evaluations of the same PR."""

    def __init__(self, *, hold: float = 0.0) -> None:
        self.calls: list[WorkRef] = []
        self.intents: list[Intents] = []
        self.started_at: list[float] = []
        self.ended_at: list[float] = []
        self.hold = hold
        self.running: Counter[WorkRef] = Counter()
        self.overlaps = 0

    async def __call__(self, ref: WorkRef, intents: Intents) -> None:
        loop = asyncio.get_running_loop()
        self.calls.append(ref)
        self.intents.append(intents)
        self.started_at.append(loop.time())
        self.running[ref] += 1
        if self.running[ref] > 1:
            self.overlaps += 1
        try:
            await asyncio.sleep(self.hold)
        finally:
            self.running[ref] -= 1
            self.ended_at.append(loop.time())


class Gate:
    """An evaluate that holds its first evaluation until released, and records every call."""

    def __init__(self) -> None:
        self.calls: list[WorkRef] = []
        self.intents: list[Intents] = []
        self.started_at: list[float] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, ref: WorkRef, intents: Intents) -> None:
        self.calls.append(ref)
        self.intents.append(intents)
        self.started_at.append(asyncio.get_running_loop().time())
        if len(self.calls) == 1:
            self.started.set()
            await self.release.wait()


async def loop_turns(turns: int = 20) -> None:
    """Let the event loop run a few rounds: no clock involved, so no slow machine fails it."""
    for _ in range(turns):
        await asyncio.sleep(0)


def make(evaluate: Evaluate, **overrides: Any) -> Scheduler:
    options: dict[str, object] = {
        "workers": 4,
        "max_pending": 100,
        "coalesce_seconds": 0.0,
        "metrics": Metrics(),
    }
    options.update(overrides)
    return Scheduler(evaluate, **options)  # type: ignore[arg-type]


async def test_an_event_on_a_quiet_pr_is_evaluated_at_once() -> None:
    recorder = Recorder()
    async with make(recorder) as scheduler:
        await loop_turns()  # the workers are waiting
        assert scheduler.schedule(pr(7))
        await loop_turns()
        assert recorder.calls == [pr(7)], "no timer stands between an event and its evaluation"
        await scheduler.drain()


async def test_the_default_is_the_leading_edge() -> None:
    recorder = Recorder()
    scheduler = Scheduler(recorder, workers=1, max_pending=10, metrics=Metrics())
    async with scheduler:
        await loop_turns()
        scheduler.schedule(pr(7))
        await loop_turns()
        assert recorder.calls == [pr(7)]


async def test_a_burst_before_a_worker_takes_it_is_one_evaluation() -> None:
    recorder = Recorder()
    async with make(recorder) as scheduler:
        assert all(scheduler.schedule(pr(7)) for _ in range(50))
        assert scheduler.depth == 1
        await scheduler.drain()
    assert recorder.calls == [pr(7)]


async def test_a_burst_of_50_during_an_evaluation_is_one_more_with_every_click() -> None:
    gate = Gate()
    clicks = [ButtonClick(f"user{n}", "recheck") for n in range(25)]
    async with make(gate) as scheduler:
        assert scheduler.schedule(pr(3))
        await gate.started.wait()
        for n in range(50):
            assert scheduler.schedule(pr(3), click=clicks[n // 2] if n % 2 else None)
            await asyncio.sleep(0)  # events arrive one by one, as deliveries do
        assert scheduler.depth == 1
        gate.release.set()
        await scheduler.drain()
    assert gate.calls == [pr(3), pr(3)]
    assert gate.intents == [Intents(), Intents(clicks=tuple(clicks))]


async def test_a_burst_of_50_arriving_one_by_one_is_at_most_two_evaluations() -> None:
    recorder = Recorder(hold=0.01)
    async with make(recorder) as scheduler:
        for _ in range(50):
            assert scheduler.schedule(pr(3))
            await asyncio.sleep(0)
        await scheduler.drain()
    assert recorder.calls in ([pr(3)], [pr(3), pr(3)])
    assert recorder.overlaps == 0


async def test_a_trailing_evaluation_starts_after_the_one_before_it_ends() -> None:
    recorder = Recorder(hold=0.02)
    async with make(recorder) as scheduler:
        scheduler.schedule(pr(1))
        await loop_turns()
        scheduler.schedule(pr(1))
        scheduler.schedule(pr(2))
        await scheduler.drain()
    first, trailing = (i for i, ref in enumerate(recorder.calls) if ref == pr(1))
    assert recorder.started_at[trailing] >= recorder.ended_at[first]
    assert recorder.overlaps == 0
    assert sorted(recorder.calls) == [pr(1), pr(1), pr(2)]


async def test_a_quiet_window_waits_until_the_burst_is_quiet() -> None:
    recorder = Recorder()
    async with make(recorder, coalesce_seconds=0.05) as scheduler:
        loop = asyncio.get_running_loop()
        scheduler.schedule(pr(1))
        await asyncio.sleep(0.03)
        scheduler.schedule(pr(1))
        last_event = loop.time()
        await scheduler.drain()
    assert len(recorder.calls) == 1
    assert recorder.started_at[0] >= last_event + 0.05 - 0.005


async def test_a_trailing_evaluation_waits_until_the_pr_is_quiet() -> None:
    gate = Gate()
    async with make(gate, trailing_seconds=0.5) as scheduler:
        loop = asyncio.get_running_loop()
        scheduler.schedule(pr(1))
        await gate.started.wait()
        scheduler.schedule(pr(1))
        gate.release.set()
        await asyncio.sleep(0.03)  # after the first evaluation ended: still the same burst
        scheduler.schedule(pr(1))
        last_event = loop.time()
        await scheduler.drain()
    assert gate.calls == [pr(1), pr(1)]
    assert gate.started_at[1] >= last_event + 0.5 - 0.005


async def test_a_burst_longer_than_an_evaluation_is_still_at_most_two_evaluations() -> None:
    gate = Gate()
    async with make(gate, trailing_seconds=1.0, max_delay_seconds=60.0) as scheduler:
        for n in range(30):
            assert scheduler.schedule(pr(3))
            if n == 0:
                await gate.started.wait()
            if n == 5:
                gate.release.set()  # the first evaluation ends in the middle of the burst
            await asyncio.sleep(0.003)
        await scheduler.drain()
    assert gate.calls == [pr(3), pr(3)]


async def test_a_never_quiet_pr_is_still_evaluated_within_the_maximum_delay() -> None:
    recorder = Recorder(hold=0.02)
    async with make(recorder, trailing_seconds=0.05, max_delay_seconds=0.1) as scheduler:
        scheduler.schedule(pr(1))
        await loop_turns()
        assert len(recorder.calls) == 1, "the leading edge runs at once"
        burst_started = asyncio.get_running_loop().time()  # the pending entry's first_seen
        for _ in range(80):
            scheduler.schedule(pr(1))
            await asyncio.sleep(0.005)  # never quiet for the 0.05 s window
        evaluated_during_burst = len(recorder.calls) - 1
        await scheduler.drain()
    assert evaluated_during_burst >= 1, "the maximum delay ends the wait of a chatty PR"
    # due at first_seen + max_delay; a worker's wake-up and a loaded machine add a little
    assert recorder.started_at[1] <= burst_started + 0.1 + 0.05


async def test_an_event_during_an_evaluation_yields_exactly_one_more_never_overlapping() -> None:
    gate = Gate()
    async with make(gate) as scheduler:
        scheduler.schedule(pr(3))
        await gate.started.wait()
        for _ in range(10):
            assert scheduler.schedule(pr(3))
        await loop_turns()
        assert gate.calls == [pr(3)], "the second evaluation must wait for the first"
        gate.release.set()
        await scheduler.drain()
    assert gate.calls == [pr(3), pr(3)]


async def test_prs_are_evaluated_in_the_order_their_events_arrived() -> None:
    recorder = Recorder()
    async with make(recorder, workers=1) as scheduler:
        for number in (5, 2, 9, 1):
            scheduler.schedule(pr(number))
        await scheduler.drain()
    assert recorder.calls == [pr(5), pr(2), pr(9), pr(1)]


async def test_different_prs_run_concurrently() -> None:
    arrived = 0
    everyone_here = asyncio.Event()

    async def evaluate(ref: WorkRef, intents: Intents) -> None:
        nonlocal arrived
        arrived += 1
        if arrived == 4:
            everyone_here.set()
        await everyone_here.wait()

    async with make(evaluate, workers=4, coalesce_seconds=0.0) as scheduler:
        for number in range(4):
            scheduler.schedule(pr(number))
        async with asyncio.timeout(2):
            await scheduler.drain()
    assert arrived == 4


async def test_an_earlier_deadline_found_by_a_busy_worker_is_kept_while_another_is_watched() -> (
    None
):
    """Workers sleep until woken; one of them watches the next deadline. A trailing entry put
    back by the worker that ends its PR's evaluation can be due before the watched one: it is
    evaluated at its own deadline, not at the later one."""
    gate = Gate()
    async with make(gate, workers=2, coalesce_seconds=0.2, trailing_seconds=0.2) as scheduler:
        loop = asyncio.get_running_loop()
        start = loop.time()
        scheduler.schedule(pr(1))
        await gate.started.wait()  # pr 1 runs from 0.2 s, held
        scheduler.schedule(pr(1))  # its trailing entry: due 0.2 s later, parked meanwhile
        due = loop.time() + 0.2
        await asyncio.sleep(0.15)
        scheduler.schedule(pr(2))  # due 0.2 s later, after pr 1's entry: the one watched
        await asyncio.sleep(0.01)
        gate.release.set()
        await scheduler.drain()
    assert gate.calls == [pr(1), pr(1), pr(2)]
    assert gate.started_at[1] - due < 0.1, "it waited for pr 2's later deadline"
    assert gate.started_at[1] - start > 0.35


async def test_workers_bound_the_concurrency() -> None:
    recorder = Recorder(hold=0.01)
    peak = 0

    async def evaluate(ref: WorkRef, intents: Intents) -> None:
        nonlocal peak
        await recorder(ref, intents)

    async def watch(scheduler: Scheduler) -> None:
        nonlocal peak
        while True:
            peak = max(peak, scheduler.running)
            await asyncio.sleep(0.001)

    async with make(evaluate, workers=2, coalesce_seconds=0.0) as scheduler:
        watcher = asyncio.create_task(watch(scheduler))
        for number in range(8):
            scheduler.schedule(pr(number))
        await scheduler.drain()
        watcher.cancel()
    assert Counter(recorder.calls) == Counter(pr(number) for number in range(8))
    assert peak == 2


async def test_an_evaluation_that_raises_is_logged_counted_and_the_worker_lives_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    calls: list[WorkRef] = []

    async def evaluate(ref: WorkRef, intents: Intents) -> None:
        calls.append(ref)
        if ref == pr(1):
            raise RuntimeError("GitHub is down")

    async with make(evaluate, workers=1, metrics=metrics, coalesce_seconds=0.0) as scheduler:
        scheduler.schedule(pr(1))
        await scheduler.drain()
        scheduler.schedule(pr(2))
        await scheduler.drain()
        assert scheduler.workers_alive == 1
    assert calls == [pr(1), pr(2)]
    assert metrics.evaluations.labels(outcome="crashed")._value.get() == 1
    failure = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert "org/repo#1" in failure.getMessage()
    assert failure.exc_info is not None


async def test_a_full_queue_refuses_new_prs_but_coalesces_known_ones() -> None:
    metrics = Metrics()
    scheduler = make(Recorder(), max_pending=2, metrics=metrics)
    assert scheduler.schedule(pr(1))
    assert scheduler.schedule(pr(2))
    assert not scheduler.schedule(pr(3))
    assert scheduler.schedule(pr(1)), "a PR already pending is coalesced, not refused"
    assert scheduler.depth == 2
    assert metrics.registry.get_sample_value("coi_queue_depth") == 2


async def test_stop_finishes_what_runs_and_evaluates_what_is_pending(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = Gate()
    scheduler = make(gate, workers=1, coalesce_seconds=3600.0, max_delay_seconds=3600.0)
    await scheduler.start()
    scheduler.schedule(pr(1))
    stopping = asyncio.create_task(scheduler.stop(grace_seconds=30))
    await loop_turns()
    assert not scheduler.schedule(pr(2)), "a stopping scheduler takes no new work"
    await gate.started.wait()
    gate.release.set()
    await stopping
    assert gate.calls == [pr(1)], "the hour-long quiet window did not hold the stop"
    assert scheduler.workers_alive == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_stop_evaluates_the_trailing_entry_of_a_running_pr() -> None:
    gate = Gate()
    scheduler = make(gate, workers=2)
    await scheduler.start()
    scheduler.schedule(pr(1))
    await gate.started.wait()
    scheduler.schedule(pr(1), click=ButtonClick("alice", "request"))
    scheduler.schedule(pr(2))
    stopping = asyncio.create_task(scheduler.stop(grace_seconds=30))
    await loop_turns()
    gate.release.set()
    await stopping
    assert sorted(gate.calls) == [pr(1), pr(1), pr(2)]
    assert Intents(clicks=(ButtonClick("alice", "request"),)) in gate.intents


async def test_stop_abandons_what_the_grace_period_cannot_finish_and_says_which(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = Gate()  # the first evaluation never ends on its own
    scheduler = make(gate, workers=1)
    await scheduler.start()
    scheduler.schedule(pr(1))
    await gate.started.wait()
    scheduler.schedule(pr(2))
    scheduler.schedule(pr(1))
    await scheduler.stop(grace_seconds=0.05)
    assert scheduler.workers_alive == 0
    assert (scheduler.depth, scheduler.running) == (0, 0)
    assert not scheduler.schedule(pr(3))
    assert not scheduler.sweep(1, "org", "repo")
    assert not scheduler.sweep_owner(1, "org")
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.getMessage().startswith("stopped with 2 pull requests not evaluated")
    assert warning.abandoned == ["org/repo#1", "org/repo#2"]  # type: ignore[attr-defined]


async def test_stop_before_start_abandons_the_pending_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    scheduler = make(Recorder(), stop_grace_seconds=3600.0)
    scheduler.schedule(pr(4))
    async with asyncio.timeout(10):  # no worker to wait for: the grace period is not spent
        await scheduler.stop()
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.abandoned == ["org/repo#4"]  # type: ignore[attr-defined]


async def test_stop_cancels_sweeps() -> None:
    listing = asyncio.Event()

    async def open_pull_requests(
        installation_id: int, owner: str, repo: str
    ) -> Sequence[PullRequestRef]:
        listing.set()
        await asyncio.sleep(3600)
        return []

    scheduler = make(Recorder(), open_pull_requests=open_pull_requests)
    await scheduler.start()
    assert scheduler.sweep(1, "org", "repo")
    await listing.wait()
    async with asyncio.timeout(10):
        await scheduler.stop()
    await scheduler.drain()  # nothing is left running


async def test_starting_twice_is_an_error() -> None:
    async with make(Recorder()) as scheduler:
        with pytest.raises(RuntimeError, match="already started"):
            await scheduler.start()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("workers", 0, "workers must be at least 1"),
        ("max_pending", 0, "max_pending must be at least 1"),
        ("coalesce_seconds", -1.0, "coalesce_seconds must not be negative"),
        ("trailing_seconds", -1.0, "trailing_seconds must not be negative"),
        ("max_delay_seconds", -1.0, "max_delay_seconds must not be negative"),
        ("stop_grace_seconds", -1.0, "stop_grace_seconds must not be negative"),
    ],
)
def test_bad_options_are_refused(option: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(Recorder(), **{option: value})


async def test_a_sweep_queues_every_open_pr_of_the_repository() -> None:
    recorder = Recorder()
    asked: list[tuple[int, str, str]] = []

    async def open_pull_requests(
        installation_id: int, owner: str, repo: str
    ) -> Sequence[PullRequestRef]:
        asked.append((installation_id, owner, repo))
        return [pr(1, repo=repo), pr(2, repo=repo)]

    async with make(recorder, open_pull_requests=open_pull_requests) as scheduler:
        assert scheduler.sweep(1, "org", "api")
        await scheduler.drain()
    assert asked == [(1, "org", "api")]
    assert sorted(recorder.calls) == [pr(1, repo="api"), pr(2, repo="api")]


async def test_an_owner_sweep_visits_every_repository_of_the_installation() -> None:
    recorder = Recorder()

    async def open_pull_requests(
        installation_id: int, owner: str, repo: str
    ) -> Sequence[PullRequestRef]:
        return [pr(1, repo=repo)]

    async def installation_repositories(installation_id: int, owner: str) -> Sequence[str]:
        assert (installation_id, owner) == (1, "org")
        return ["api", "web", ".github"]

    async with make(
        recorder,
        open_pull_requests=open_pull_requests,
        installation_repositories=installation_repositories,
    ) as scheduler:
        assert scheduler.sweep_owner(1, "org")
        await scheduler.drain()
    assert sorted(ref.repo for ref in recorder.calls) == [".github", "api", "web"]


async def test_sweep_failures_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    async def open_pull_requests(
        installation_id: int, owner: str, repo: str
    ) -> Sequence[PullRequestRef]:
        raise ConnectionError("no route to GitHub")

    async def installation_repositories(installation_id: int, owner: str) -> Sequence[str]:
        raise ConnectionError("no route to GitHub")

    async with make(
        Recorder(),
        open_pull_requests=open_pull_requests,
        installation_repositories=installation_repositories,
    ) as scheduler:
        assert scheduler.sweep(1, "org", "api")
        assert scheduler.sweep_owner(1, "org")
        await scheduler.drain()
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert messages == ["sweep of org/api failed", "listing the repositories of org failed"]


async def test_sweeps_without_a_lister_say_so(caplog: pytest.LogCaptureFixture) -> None:
    async with make(Recorder()) as scheduler:
        assert scheduler.sweep(1, "org", "api")
        assert scheduler.sweep_owner(1, "org")
        await scheduler.drain()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "sweep of org/api skipped" in warnings[0]
    assert "only the reconciler" in warnings[1]


async def test_a_sweep_into_a_full_queue_reports_what_it_could_not_queue(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def open_pull_requests(
        installation_id: int, owner: str, repo: str
    ) -> Sequence[PullRequestRef]:
        return [pr(number) for number in range(5)]

    scheduler = make(Recorder(), max_pending=3, open_pull_requests=open_pull_requests)
    assert scheduler.sweep(1, "org", "repo")
    await asyncio.sleep(0.01)
    assert scheduler.depth == 3
    refused = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert refused.getMessage() == "queue full: 2 of 5 open pull requests of org/repo not queued"
    assert refused.refused == ["org/repo#3", "org/repo#4"]  # type: ignore[attr-defined]


async def test_too_many_concurrent_sweeps_are_refused() -> None:
    gate = asyncio.Event()

    async def open_pull_requests(
        installation_id: int, owner: str, repo: str
    ) -> Sequence[PullRequestRef]:
        await gate.wait()
        return []

    async with make(Recorder(), open_pull_requests=open_pull_requests) as scheduler:
        accepted = [scheduler.sweep(1, "org", f"repo{n}") for n in range(70)]
        assert accepted.count(True) == 64
        gate.set()
        await scheduler.drain()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=3), st.sampled_from([0.0, 0.001, 0.003])),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from([0.0, 0.001]),
)
def test_every_event_is_followed_by_an_evaluation_and_one_pr_never_overlaps(
    events: list[tuple[int, float]], quiet_window: float
) -> None:
    async def scenario() -> tuple[Recorder, dict[int, float]]:
        recorder = Recorder(hold=0.002)
        last_event: dict[int, float] = {}
        async with make(
            recorder, workers=3, coalesce_seconds=quiet_window, trailing_seconds=0.001
        ) as scheduler:
            loop = asyncio.get_running_loop()
            for number, pause in events:
                assert scheduler.schedule(pr(number))
                last_event[number] = loop.time()
                await asyncio.sleep(pause)
            await scheduler.drain()
        return recorder, last_event

    recorder, last_event = asyncio.run(scenario())
    assert recorder.overlaps == 0
    for number, at in last_event.items():
        starts = [
            t
            for ref, t in zip(recorder.calls, recorder.started_at, strict=True)
            if ref == pr(number)
        ]
        assert starts, f"PR {number} was never evaluated"
        assert max(starts) >= at, f"PR {number} was not evaluated after its last event"


async def test_a_pushed_map_is_forgotten_before_the_sweep_reads_it() -> None:
    happened: list[str] = []

    async def open_pull_requests(
        installation_id: int, owner: str, repo: str
    ) -> Sequence[PullRequestRef]:
        happened.append(f"list {owner}/{repo}")
        return [pr(1, repo=repo)]

    async with make(
        Recorder(),
        forget_map=lambda owner, repo: happened.append(f"forget {owner}/{repo}"),
        open_pull_requests=open_pull_requests,
    ) as scheduler:
        # what the push handler does: forget, then sweep (bot/handlers/push.py)
        scheduler.map_changed("org", "api")
        assert scheduler.sweep(1, "org", "api")
        await scheduler.drain()
    assert happened == ["forget org/api", "list org/api"]
    make(Recorder()).map_changed("org", "repo")  # without an engine there is nothing to forget


async def test_a_burst_at_the_default_windows_is_one_evaluation_then_one_more() -> None:
    """Scheduler defaults: no coalescing window, DEFAULT_TRAILING_SECONDS after a burst."""
    recorder = Recorder(hold=0.05)
    scheduler = Scheduler(recorder, workers=4, max_pending=100, metrics=Metrics())
    async with scheduler:
        loop = asyncio.get_running_loop()
        for _ in range(50):
            assert scheduler.schedule(pr(5))
            await asyncio.sleep(0.004)  # 50 events over 0.2 s: closer than the trailing window
        last_event = loop.time()
        await scheduler.drain()
    assert recorder.calls == [pr(5), pr(5)]
    assert recorder.started_at[0] < last_event - 0.15, "the first event is evaluated at once"
    assert recorder.started_at[1] >= last_event + DEFAULT_TRAILING_SECONDS - 0.005


async def test_evaluated_resolves_once_the_evaluation_that_took_the_entry_finished() -> None:
    gate = Gate()
    async with make(gate) as scheduler:
        assert scheduler.evaluated(pr(1)).done(), "nothing pending: nothing to wait for"
        assert scheduler.schedule(pr(1))
        first = scheduler.evaluated(pr(1))
        await gate.started.wait()
        assert scheduler.schedule(pr(1))  # during the evaluation: the next one covers it
        second = scheduler.evaluated(pr(1))
        await loop_turns()
        assert not first.done()
        gate.release.set()
        await first
        await second
        assert len(gate.calls) == 2
        assert not first.cancelled()


async def test_evaluated_is_cancelled_when_the_scheduler_stops_first() -> None:
    gate = Gate()
    scheduler = make(gate, workers=1)
    await scheduler.start()
    assert scheduler.schedule(pr(1))
    running = scheduler.evaluated(pr(1))
    await gate.started.wait()
    assert scheduler.schedule(pr(2))
    pending = scheduler.evaluated(pr(2))
    await scheduler.stop(grace_seconds=0.05)  # pr(1) never ends: both are abandoned
    assert running.cancelled()
    assert pending.cancelled()
