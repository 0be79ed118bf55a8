"""The per-PR queue: coalescing, no overlapping evaluations of one PR, concurrency, bounds."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.intents import Intents
from bot.metrics import Metrics
from bot.pr import PullRequestRef
from bot.scheduler import Evaluate, Scheduler


def pr(number: int, *, repo: str = "repo") -> PullRequestRef:
    return PullRequestRef(installation_id=1, owner="org", repo=repo, number=number)


class Recorder:
    """An evaluate that records calls and the overlap of evaluations of the same PR."""

    def __init__(self, *, hold: float = 0.0) -> None:
        self.calls: list[PullRequestRef] = []
        self.started_at: list[float] = []
        self.hold = hold
        self.running: Counter[PullRequestRef] = Counter()
        self.overlaps = 0

    async def __call__(self, ref: PullRequestRef, intents: Intents) -> None:
        self.calls.append(ref)
        self.started_at.append(asyncio.get_running_loop().time())
        self.running[ref] += 1
        if self.running[ref] > 1:
            self.overlaps += 1
        try:
            await asyncio.sleep(self.hold)
        finally:
            self.running[ref] -= 1


def make(evaluate: Evaluate, **overrides: Any) -> Scheduler:
    options: dict[str, object] = {
        "workers": 4,
        "max_pending": 100,
        "coalesce_seconds": 0.01,
        "metrics": Metrics(),
    }
    options.update(overrides)
    return Scheduler(evaluate, **options)  # type: ignore[arg-type]


async def test_a_burst_on_one_pr_is_one_evaluation() -> None:
    recorder = Recorder()
    async with make(recorder, coalesce_seconds=0.05) as scheduler:
        assert all(scheduler.schedule(pr(7)) for _ in range(50))
        assert scheduler.depth == 1
        await scheduler.drain()
    assert recorder.calls == [pr(7)]


async def test_the_evaluation_starts_only_after_the_burst_is_quiet() -> None:
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


async def test_a_never_quiet_pr_is_still_evaluated_within_the_maximum_delay() -> None:
    recorder = Recorder()
    async with make(recorder, coalesce_seconds=0.05, max_delay_seconds=0.1) as scheduler:
        for _ in range(40):
            scheduler.schedule(pr(1))
            await asyncio.sleep(0.01)
        evaluated_during_burst = len(recorder.calls)
        await scheduler.drain()
    assert evaluated_during_burst >= 1


async def test_an_event_during_an_evaluation_yields_exactly_one_more_never_overlapping() -> None:
    release = asyncio.Event()
    started = asyncio.Event()
    calls: list[PullRequestRef] = []

    async def evaluate(ref: PullRequestRef, intents: Intents) -> None:
        calls.append(ref)
        if len(calls) == 1:
            started.set()
            await release.wait()

    async with make(evaluate, coalesce_seconds=0.0) as scheduler:
        scheduler.schedule(pr(3))
        await started.wait()
        for _ in range(10):
            assert scheduler.schedule(pr(3))
        await asyncio.sleep(0.02)
        assert calls == [pr(3)], "the second evaluation must wait for the first"
        release.set()
        await scheduler.drain()
    assert calls == [pr(3), pr(3)]


async def test_different_prs_run_concurrently() -> None:
    arrived = 0
    everyone_here = asyncio.Event()

    async def evaluate(ref: PullRequestRef, intents: Intents) -> None:
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


async def test_workers_bound_the_concurrency() -> None:
    recorder = Recorder(hold=0.01)
    peak = 0

    async def evaluate(ref: PullRequestRef, intents: Intents) -> None:
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
    assert sorted(ref.number for ref in recorder.calls) == list(range(8))
    assert peak == 2


async def test_an_evaluation_that_raises_is_logged_counted_and_the_worker_lives_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    calls: list[PullRequestRef] = []

    async def evaluate(ref: PullRequestRef, intents: Intents) -> None:
        calls.append(ref)
        if ref.number == 1:
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
    assert metrics.queue_depth._value.get() == 2


async def test_stop_cancels_work_and_refuses_new_work() -> None:
    started = asyncio.Event()

    async def evaluate(ref: PullRequestRef, intents: Intents) -> None:
        started.set()
        await asyncio.sleep(3600)

    scheduler = make(evaluate, coalesce_seconds=0.0)
    await scheduler.start()
    scheduler.schedule(pr(1))
    await started.wait()
    assert scheduler.workers_alive == 4
    await scheduler.stop()
    assert scheduler.workers_alive == 0
    assert not scheduler.schedule(pr(2))
    assert not scheduler.sweep(1, "org", "repo")
    assert not scheduler.sweep_owner(1, "org")


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
    )
)
def test_every_event_is_followed_by_an_evaluation_and_one_pr_never_overlaps(
    events: list[tuple[int, float]],
) -> None:
    async def scenario() -> tuple[Recorder, dict[int, float]]:
        recorder = Recorder(hold=0.002)
        last_event: dict[int, float] = {}
        async with make(recorder, workers=3, coalesce_seconds=0.001) as scheduler:
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
            if ref.number == number
        ]
        assert starts, f"PR {number} was never evaluated"
        assert max(starts) >= at, f"PR {number} was not evaluated after its last event"


async def test_a_pushed_map_is_forgotten_before_the_sweep_reads_it() -> None:
    forgotten: list[tuple[str, str]] = []
    scheduler = make(Recorder(), forget_map=lambda owner, repo: forgotten.append((owner, repo)))
    scheduler.map_changed("org", ".github")
    assert forgotten == [("org", ".github")]
    make(Recorder()).map_changed("org", "repo")  # without an engine there is nothing to forget
