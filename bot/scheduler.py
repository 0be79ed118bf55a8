"""The per-PR work queue between the webhook and the engine.

Each pull request (a WorkRef) has at most one pending entry and at most one running evaluation:

- an event on a quiet PR (nothing pending, nothing running) is evaluated at once: the leading
  edge;
- events that arrive while the PR is being evaluated coalesce into one pending entry: exactly one
  more evaluation follows (the trailing edge), after the running one ends and once the PR has
  been quiet for `trailing_seconds` (default 0.25 s), so the rest of a burst joins it: a burst
  (events less than that apart) on one PR is at most two evaluations. The trailing evaluation
  reads the PR's state as it is then; two evaluations of one PR never overlap, so a stale result
  is never written last;
- `coalesce_seconds` (default 0) is an optional quiet window before every evaluation, leading
  ones included, for deployments and tests that prefer fewer evaluations to latency;
- no wait lasts more than `max_delay_seconds` after the entry's first event (default ten of the
  longer window), so a chatty PR is never starved;
- different PRs run concurrently on `workers` tasks, in the order their entries became due;
- the number of pending PRs is bounded: `schedule` answers False when full, never drops silently;
- check-run button clicks and edited comments ride on the pending entry: coalescing merges
  events, never clicks, and the evaluation that takes the entry gets every click and, per
  comment, its text from before the burst's first edit;
- `stop` refuses new work, finishes what runs and evaluates what is pending for up to
  `stop_grace_seconds`, then cancels the rest and logs the PRs it abandoned (the reconciler
  repairs them at the next start).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.intents import NO_INTENTS, ButtonClick, CommentEdit, Intents
from bot.logs import log_context
from bot.metrics import Metrics
from bot.pr import PullRequestRef, WorkRef

log = logging.getLogger(__name__)


class Evaluate(Protocol):
    """One evaluation of one PR, judging the clicks and comment edits queued with it."""

    def __call__(self, ref: WorkRef, intents: Intents) -> Awaitable[object]: ...


OpenPullRequests = Callable[[int, str, str], Awaitable[Sequence[PullRequestRef]]]
# (installation_id, owner) -> names of the owner's repositories the installation can see.
InstallationRepositories = Callable[[int, str], Awaitable[Sequence[str]]]
# (owner, repo) whose map was just pushed: the engine drops what it cached about that map.
ForgetMap = Callable[[str, str], None]

MAX_CONCURRENT_SWEEPS = 64
# Wider than the gaps inside a burst of webhooks (50 at once reach the bot over ~0.3 s).
DEFAULT_TRAILING_SECONDS = 0.25
# After the inbox's 10 s drain, still inside Kubernetes' default 30 s before SIGKILL.
DEFAULT_STOP_GRACE_SECONDS = 15.0


@dataclass(slots=True)
class _Pending:
    first_seen: float
    deadline: float
    sequence: int
    window: float  # how long the PR must be quiet before this entry is due
    clicks: list[ButtonClick] = field(default_factory=list)
    # Per comment id, its first edit: what the comment said before the burst is what counts.
    edits: dict[int, CommentEdit] = field(default_factory=dict)
    # Resolved once the evaluation that takes this entry has finished (bot.web.inbox).
    waiters: list[asyncio.Future[None]] = field(default_factory=list)

    @property
    def has_intents(self) -> bool:
        return bool(self.clicks or self.edits)


class Scheduler:
    def __init__(
        self,
        evaluate: Evaluate,
        *,
        workers: int,
        max_pending: int,
        metrics: Metrics,
        coalesce_seconds: float = 0.0,
        trailing_seconds: float = DEFAULT_TRAILING_SECONDS,
        open_pull_requests: OpenPullRequests | None = None,
        installation_repositories: InstallationRepositories | None = None,
        forget_map: ForgetMap | None = None,
        max_delay_seconds: float | None = None,
        stop_grace_seconds: float = DEFAULT_STOP_GRACE_SECONDS,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, not {max_pending}")
        if coalesce_seconds < 0:
            raise ValueError(f"coalesce_seconds must not be negative, not {coalesce_seconds}")
        if trailing_seconds < 0:
            raise ValueError(f"trailing_seconds must not be negative, not {trailing_seconds}")
        if max_delay_seconds is not None and max_delay_seconds < 0:
            raise ValueError(f"max_delay_seconds must not be negative, not {max_delay_seconds}")
        if stop_grace_seconds < 0:
            raise ValueError(f"stop_grace_seconds must not be negative, not {stop_grace_seconds}")
        self._evaluate = evaluate
        # Clicks and edits of the entries taken for evaluation, until their evaluation starts.
        self._taken_intents: dict[WorkRef, _Pending] = {}
        # Waiters of the entries taken for evaluation, resolved when that evaluation ends.
        self._running_waiters: dict[WorkRef, list[asyncio.Future[None]]] = {}
        self._open_pull_requests = open_pull_requests
        self._installation_repositories = installation_repositories
        self._forget_map = forget_map
        self._worker_count = workers
        self._max_pending = max_pending
        self._coalesce = coalesce_seconds
        self._trailing = max(trailing_seconds, coalesce_seconds)
        self._max_delay = (
            max_delay_seconds if max_delay_seconds is not None else 10 * self._trailing
        )
        self._stop_grace = stop_grace_seconds
        self._metrics = metrics
        self._pending: dict[WorkRef, _Pending] = {}
        # Read when scraped: setting it on every change cost the webhook path a lock per event.
        metrics.queue_depth.set_function(lambda: len(self._pending))
        # (deadline, sequence, ref); entries whose sequence no longer matches are stale.
        self._heap: list[tuple[float, int, WorkRef]] = []
        self._sequence = 0
        self._running: set[WorkRef] = set()
        # Pending refs found due while their previous evaluation still runs.
        self._parked: set[WorkRef] = set()
        # Workers with nothing to do: one watches the next deadline, the others wait to be
        # woken. A change wakes one of them, never all (eight idle workers woken per event cost
        # the webhook path more than routing the event).
        self._watcher: asyncio.Future[None] | None = None
        self._watched_deadline = 0.0
        self._sleepers: deque[asyncio.Future[None]] = deque()
        self._idle = asyncio.Event()
        self._idle.set()
        self._workers: list[asyncio.Task[None]] = []
        self._sweeps: set[asyncio.Task[None]] = set()
        self._stopping = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._workers:
            raise RuntimeError("the scheduler is already started")
        self._stopping = False
        self._workers = [
            asyncio.create_task(self._work(), name=f"coi-worker-{index}")
            for index in range(self._worker_count)
        ]

    async def stop(self, *, grace_seconds: float | None = None) -> None:
        """Refuse new work, finish what runs and evaluate what is pending, then cancel the rest.

        Waits at most `grace_seconds` (default: the constructor's `stop_grace_seconds`); quiet
        windows no longer wait. Sweeps are cancelled at once: the reconciler lists every open PR
        again at the next start, as it repairs the PRs this logs as abandoned."""
        grace = self._stop_grace if grace_seconds is None else grace_seconds
        self._stopping = True
        sweeps = list(self._sweeps)
        for sweep in sweeps:
            sweep.cancel()
        await asyncio.gather(*sweeps, return_exceptions=True)
        self._sweeps.clear()
        if self.workers_alive:
            self._make_everything_due()
            try:
                async with asyncio.timeout(grace):
                    await self.drain()
            except TimeoutError:
                pass
        abandoned = sorted({*self._pending, *self._running}, key=str)
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        for entry in self._pending.values():
            _resolve(entry.waiters, finished=False)
        self._pending.clear()
        self._heap.clear()
        self._parked.clear()
        self._taken_intents.clear()
        self._settled()
        if abandoned:
            log.warning(
                "stopped with %d pull requests not evaluated: the reconciler repairs them at the"
                " next start",
                len(abandoned),
                extra={"abandoned": [str(ref) for ref in abandoned]},
            )

    async def __aenter__(self) -> Scheduler:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def drain(self) -> None:
        """Wait until nothing is pending, running or being swept (for tests and benchmarks)."""
        while not self._is_idle():
            self._idle.clear()
            await self._idle.wait()

    # -- state -------------------------------------------------------------------------------

    @property
    def depth(self) -> int:
        return len(self._pending)

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def workers_alive(self) -> int:
        return sum(1 for task in self._workers if not task.done())

    @property
    def workers(self) -> int:
        return self._worker_count

    # -- scheduling --------------------------------------------------------------------------

    def schedule(
        self,
        ref: WorkRef,
        *,
        click: ButtonClick | None = None,
        edit: CommentEdit | None = None,
    ) -> bool:
        """Queue an evaluation of `ref`; False when the queue is full (the caller must say so).

        `click`: a check-run button clicked on this PR; `edit`: a comment of this PR edited
        into what may be a new command; both handed to the evaluation that follows."""
        if self._stopping:
            return False
        now = asyncio.get_running_loop().time()
        entry = self._pending.get(ref)
        if entry is None:
            if len(self._pending) >= self._max_pending:
                return False
            window = self._trailing if ref in self._running else self._coalesce
            entry = _Pending(first_seen=now, deadline=0.0, sequence=0, window=window)
            self._pending[ref] = entry
        if entry.window:
            entry.deadline = min(now + entry.window, entry.first_seen + self._max_delay)
        else:
            entry.deadline = entry.first_seen  # the leading edge: due from its first event
        if click is not None:
            entry.clicks.append(click)
        if edit is not None:
            entry.edits.setdefault(edit.comment_id, edit)
        self._push(ref, entry)
        self._changed()
        return True

    def evaluated(self, ref: WorkRef) -> asyncio.Future[None]:
        """Resolved once the evaluation that takes `ref`'s pending entry (just scheduled) has
        finished, crashed included; cancelled when the scheduler stops first. Already resolved
        when nothing is pending for `ref`."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = self._pending.get(ref)
        if entry is None:
            future.set_result(None)
        else:
            entry.waiters.append(future)
        return future

    def sweep(self, installation_id: int, owner: str, repo: str) -> bool:
        """Queue every open PR of one repository (installation events, a map pushed)."""
        return self._start_sweep(self._sweep_repository(installation_id, owner, repo))

    def sweep_owner(self, installation_id: int, owner: str) -> bool:
        """Queue every open PR of every repository of `owner` the installation can see."""
        return self._start_sweep(self._sweep_owner(installation_id, owner))

    def map_changed(self, owner: str, repo: str) -> None:
        """A map was pushed to `owner/repo`: sweeps that follow must not use a cached absence."""
        if self._forget_map is not None:
            self._forget_map(owner, repo)

    # -- internals ---------------------------------------------------------------------------

    def _push(self, ref: WorkRef, entry: _Pending) -> None:
        self._sequence += 1
        entry.sequence = self._sequence
        heapq.heappush(self._heap, (entry.deadline, entry.sequence, ref))

    def _make_everything_due(self) -> None:
        now = asyncio.get_running_loop().time()
        for ref, entry in self._pending.items():
            entry.deadline = min(entry.deadline, now)
            self._push(ref, entry)
        while self._wake_one():
            pass

    def _changed(self) -> None:
        """An entry was queued or moved: one idle worker looks at the heap again."""
        self._wake_one()
        self._settled()

    def _settled(self) -> None:
        if self._is_idle():
            self._idle.set()

    def _wake_one(self) -> bool:
        """Wake the watcher (a deadline may have moved) or else one sleeping worker; False when
        every worker is busy (each looks at the heap again when it is done)."""
        if self._watcher is not None and not self._watcher.done():
            self._watcher.set_result(None)
            return True
        while self._sleepers:
            sleeper = self._sleepers.popleft()
            if not sleeper.done():
                sleeper.set_result(None)
                return True
        return False

    def _is_idle(self) -> bool:
        return not self._pending and not self._running and not self._sweeps

    async def _take(self) -> WorkRef:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            next_deadline: float | None = None
            while self._heap:
                deadline, sequence, ref = self._heap[0]
                entry = self._pending.get(ref)
                if entry is None or entry.sequence != sequence:
                    heapq.heappop(self._heap)
                elif ref in self._running:
                    heapq.heappop(self._heap)
                    self._parked.add(ref)
                elif deadline <= now:
                    heapq.heappop(self._heap)
                    taken = self._pending.pop(ref)
                    if taken.waiters:
                        self._running_waiters[ref] = taken.waiters
                    if taken.has_intents:
                        self._taken_intents[ref] = taken
                    self._running.add(ref)
                    if self._heap:
                        self._wake_one()  # the rest is another worker's, due or to watch
                    return ref
                else:
                    next_deadline = deadline
                    break
            await self._sleep(loop, next_deadline)

    async def _sleep(self, loop: asyncio.AbstractEventLoop, deadline: float | None) -> None:
        """Until woken, or until the next deadline for the one worker that watches it."""
        woken: asyncio.Future[None] = loop.create_future()
        watcher = self._watcher
        watched = watcher is not None and not watcher.done()
        if deadline is None or (watched and deadline >= self._watched_deadline):
            self._sleepers.append(woken)
            await woken
            return
        if watcher is not None and watched:
            watcher.set_result(None)  # an earlier deadline: this worker watches it instead
        self._watcher, self._watched_deadline = woken, deadline
        try:
            async with asyncio.timeout_at(deadline):
                await woken
        except TimeoutError:
            pass
        finally:
            if self._watcher is woken:
                self._watcher = None

    async def _work(self) -> None:
        while True:
            ref = await self._take()
            finished = False
            try:
                await self._run(ref)
                finished = True
            finally:
                _resolve(self._running_waiters.pop(ref, []), finished=finished)
                self._running.discard(ref)
                if ref in self._parked:
                    self._parked.discard(ref)
                    entry = self._pending.get(ref)
                    if entry is not None:
                        self._push(ref, entry)  # this worker looks at the heap next
                self._settled()

    async def _run(self, ref: WorkRef) -> None:
        number = ref.number if isinstance(ref, PullRequestRef) else None
        with log_context(repository=ref.repo_slug, pr=number):
            taken = self._taken_intents.pop(ref, None)
            intents = (
                Intents(clicks=tuple(taken.clicks), edits=tuple(taken.edits.values()))
                if taken is not None
                else NO_INTENTS
            )
            try:
                await self._evaluate(ref, intents)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The PR is repaired by its next event or the reconciler; the worker lives on.
                self._metrics.evaluations.labels(outcome="crashed").inc()
                log.exception("evaluation of %s failed", ref)

    def _start_sweep(self, work: Awaitable[None]) -> bool:
        if self._stopping or len(self._sweeps) >= MAX_CONCURRENT_SWEEPS:
            if asyncio.iscoroutine(work):
                work.close()
            return False
        task = asyncio.ensure_future(work)
        self._sweeps.add(task)
        task.add_done_callback(self._sweep_done)
        self._idle.clear()
        return True

    def _sweep_done(self, task: asyncio.Task[None]) -> None:
        self._sweeps.discard(task)
        self._settled()

    async def _sweep_repository(self, installation_id: int, owner: str, repo: str) -> None:
        with log_context(repository=f"{owner}/{repo}"):
            try:
                await self._schedule_open_pull_requests(installation_id, owner, repo)
            except Exception:
                log.exception("sweep of %s/%s failed", owner, repo)

    async def _sweep_owner(self, installation_id: int, owner: str) -> None:
        if self._installation_repositories is None:
            log.warning(
                "cannot list the repositories of %s: only the reconciler will re-evaluate them",
                owner,
            )
            return
        try:
            repositories = await self._installation_repositories(installation_id, owner)
        except Exception:
            log.exception("listing the repositories of %s failed", owner)
            return
        for repo in repositories:
            await self._sweep_repository(installation_id, owner, repo)

    async def _schedule_open_pull_requests(
        self, installation_id: int, owner: str, repo: str
    ) -> None:
        if self._open_pull_requests is None:
            log.warning("no way to list open pull requests: sweep of %s/%s skipped", owner, repo)
            return
        refs = await self._open_pull_requests(installation_id, owner, repo)
        refused = [ref for ref in refs if not self.schedule(ref)]
        if refused:
            log.error(
                "queue full: %d of %d open pull requests of %s/%s not queued",
                len(refused),
                len(refs),
                owner,
                repo,
                extra={"refused": [str(ref) for ref in refused]},
            )
        else:
            log.info("queued %d open pull requests of %s/%s", len(refs), owner, repo)


def _resolve(waiters: list[asyncio.Future[None]], *, finished: bool) -> None:
    for waiter in waiters:
        if not waiter.done():
            if finished:
                waiter.set_result(None)
            else:
                waiter.cancel()
