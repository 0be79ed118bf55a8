"""Closing votes on time with no event: a timer per open vote, and the reconciler's safety net.

An evaluation that leaves a vote open arms a timer for its close; when it fires, the PR is
evaluated again and the vote closes (the evaluation reads the time, not the timer). Timers live
in memory: after a restart the reconciler finds every open vote by its check run (the summary
carries `bot.policy.vote_render.OPEN_VOTE_MARKER` with the close time) and queues it once,
which arms the timer again, and queues it again whenever its close time has passed; an issue's
vote, with no check run, by its label's timeline (bot/jobs/issue_votes.py). With
several replicas each may arm a timer; the per-PR lease runs their evaluations one after the
other, and the first one's final comment tells the next that the vote is closed: a vote is
closed once. Each close armed is also kept in Redis (bot/replicas/vote_deadlines.py): a replica
restarted or gone by then loses no vote.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from bot.pr import IssueRef, PullRequestRef, WorkRef

log = logging.getLogger(__name__)

# Just after the close: the evaluation must find the deadline passed by its own clock.
CLOSE_MARGIN_SECONDS = 0.25
# Issue votes queued at their close: each once per process (the oldest forgotten).
CLOSED_ISSUE_VOTES_KEPT = 10_000


class VoteTimers:
    """One timer per PR with an open vote; arming again replaces the earlier timer."""

    def __init__(
        self,
        schedule: Callable[[WorkRef], object],
        *,
        share: Callable[[WorkRef, datetime], None] | None = None,
    ) -> None:
        self._schedule = schedule
        # With replicas, each close armed is kept in Redis too (bot/replicas/vote_deadlines.py).
        self._share = share
        self._timers: dict[WorkRef, asyncio.TimerHandle] = {}
        self._closed = False

    def arm(self, ref: WorkRef, closes_at: datetime, *, now: datetime) -> None:
        if self._closed:
            return
        previous = self._timers.pop(ref, None)
        if previous is not None:
            previous.cancel()
        delay = max(0.0, (closes_at - now).total_seconds()) + CLOSE_MARGIN_SECONDS
        self._timers[ref] = asyncio.get_running_loop().call_later(delay, self._fire, ref)
        if self._share is not None:
            self._share(ref, closes_at)

    def _fire(self, ref: WorkRef) -> None:
        self._timers.pop(ref, None)
        if self._closed:
            return
        log.info("vote on %s is due: evaluating it", ref)
        self._schedule(ref)

    @property
    def armed(self) -> int:
        return len(self._timers)

    def close(self) -> None:
        self._closed = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()


class OpenVotes:
    """What the reconciler remembers of open votes: each is queued once per process (to arm its
    timer after a restart), and again whenever its close time has passed."""

    def __init__(self) -> None:
        self._seen: dict[PullRequestRef | IssueRef, datetime] = {}
        self._closed_issues: OrderedDict[tuple[IssueRef, datetime], None] = OrderedDict()

    def due_in(self, repository: tuple[int, str, str], *, now: datetime) -> bool:
        """Whether a vote seen open in (installation, owner, repo) is past its close: a quiet
        repository is listed all the same, so that no vote waits on an event to close."""
        return any(
            (ref.installation_id, ref.owner, ref.repo) == repository and now >= closes_at
            for ref, closes_at in self._seen.items()
        )

    def due(self, ref: PullRequestRef, closes_at: datetime | None, *, now: datetime) -> bool:
        if closes_at is None:
            self._seen.pop(ref, None)
            return False
        if now >= closes_at:
            return True
        if self._seen.get(ref) == closes_at:
            return False
        self._seen[ref] = closes_at
        return True

    def issue_due(self, ref: IssueRef, closes_at: datetime | None, *, now: datetime) -> bool:
        """As `due`, for an issue: its label stays on after the close, and its close time comes
        from the label's timeline, so a vote past its close is queued once, not every cycle."""
        if closes_at is None:
            self._seen.pop(ref, None)
            return False
        if (ref, closes_at) in self._closed_issues:
            return False
        if now < closes_at:
            if self._seen.get(ref) == closes_at:
                return False
            self._seen[ref] = closes_at
            return True
        self._seen.pop(ref, None)
        self._closed_issues[ref, closes_at] = None
        while len(self._closed_issues) > CLOSED_ISSUE_VOTES_KEPT:
            self._closed_issues.popitem(last=False)
        return True
