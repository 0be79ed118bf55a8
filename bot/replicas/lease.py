"""One replica at a time evaluates a PR: the Evaluate callable the scheduler runs, under a lease.

`LeasedEvaluate(evaluate, coordinator)` is itself an `Evaluate`. Per call:

1. `acquire` on the ref's key. Taken: evaluate, renewing the lease every ttl/3 while the
   evaluation runs, then `release`; EVALUATE_AGAIN (another replica marked the PR dirty
   meanwhile) evaluates once more with no intents and releases again; LOST means another
   replica holds the lease now and evaluates the rest.
2. Held elsewhere: `acquire` has marked the PR dirty, so a live holder evaluates again at its
   release. This replica still waits for the lease, asking again (`take_free`, which marks
   nothing: the holder evaluates again once, not once per ask) with a growing pause, for at
   most `wait_seconds` (1.5 ttl), because:
   - the holder may have died mid-evaluation: its lease expires within one ttl and the dirty
     mark would stay unread; the waiter takes the lease and evaluates, so a SIGKILLed holder's
     PR is finished within the lease's expiry;
   - clicks and comment edits travel with this call only (a re-evaluation elsewhere does not
     get them). Waiting and then evaluating here hands them to the evaluation they belong to.
   Once the lease is taken the waiter evaluates (the holder has released meanwhile: at worst one
   extra evaluation, whose unchanged verdict writes nothing). When the bound passes and the
   lease is still held (a live holder renewing through a long evaluation): without intents the
   call returns, the holder's release finds the dirty mark; with intents it evaluates without
   the lease, since losing a click is worse than two evaluations at once, which the engine
   tolerates (one verdict, one reply: see the two-bots test).

Cancelled (the process stops): the lease is abandoned at once, its dirty mark kept.

Redis unreachable (`CoordinationUnavailable`) at any step: evaluate without a lease, as a
single replica would. A lease left behind by a failed release expires by itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from contextlib import suppress

from bot.intents import NO_INTENTS, Intents
from bot.pr import IssueRef, MergedPullRequestRef, PullRequestRef, WorkRef
from bot.replicas.coordinator import Coordinator
from bot.replicas.link import CoordinationUnavailable
from bot.replicas.pr_lease import ReleaseOutcome
from bot.scheduler import Evaluate

log = logging.getLogger(__name__)

DEFAULT_TTL_MS = 10_000
FIRST_PAUSE_SECONDS = 0.02
MAX_PAUSE_SECONDS = 0.5


def lease_key(ref: WorkRef) -> str:
    """The lease's name: the PR (installation/owner/repo#number) or the merge group's head."""
    where = f"{ref.installation_id}/{ref.owner}/{ref.repo}"
    if isinstance(ref, PullRequestRef | IssueRef | MergedPullRequestRef):  # one number space
        return f"{where}#{ref.number}"
    return f"{where}@{ref.head_sha}"


class LeasedEvaluate:
    """`evaluate` under a per-PR lease shared through Redis (see the module docstring)."""

    def __init__(
        self,
        evaluate: Evaluate,
        coordinator: Coordinator,
        *,
        ttl_ms: int = DEFAULT_TTL_MS,
        wait_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_ms <= 0:
            raise ValueError(f"a lease's ttl_ms must be positive, not {ttl_ms}")
        self._evaluate = evaluate
        self._leases = coordinator.pr_leases
        self._ttl_ms = ttl_ms
        self._wait_seconds = wait_seconds if wait_seconds is not None else 1.5 * ttl_ms / 1000
        self._clock = clock

    async def __call__(self, ref: WorkRef, intents: Intents) -> object:
        key = lease_key(ref)
        owner = uuid.uuid4().hex  # per evaluation: a late release never frees a newer lease
        try:
            taken = await self._wait_for_lease(key, owner)
        except CoordinationUnavailable:
            return await self._evaluate(ref, intents)
        if not taken:
            if not intents:
                log.debug("%s is evaluated by another replica", ref)
                return None
            log.warning("%s: the lease stayed held elsewhere; evaluating its clicks here", ref)
            return await self._evaluate(ref, intents)
        try:
            return await self._evaluate_and_release(key, owner, ref, intents)
        except asyncio.CancelledError:
            # Stopped mid-evaluation: free the lease now rather than in one ttl. The dirty mark
            # stays; the delivery this was for stays unacknowledged and is evaluated elsewhere.
            with suppress(CoordinationUnavailable):
                await asyncio.shield(self._leases.abandon(key, owner))
            raise

    async def _evaluate_and_release(
        self, key: str, owner: str, ref: WorkRef, intents: Intents
    ) -> object:
        failure: Exception | None = None
        result: object = None
        try:
            result = await self._renewing(key, owner, ref, intents)
        except Exception as error:
            failure = error  # raised after the release: a dirty mark must not be dropped with it
        while True:
            try:
                outcome = await self._leases.release(key, owner, self._ttl_ms)
            except CoordinationUnavailable:
                break  # the lease expires by itself
            if outcome is not ReleaseOutcome.EVALUATE_AGAIN:
                break
            try:
                result = await self._renewing(key, owner, ref, NO_INTENTS)
            except Exception as error:
                failure = failure or error
        if failure is not None:
            raise failure
        return result

    async def _wait_for_lease(self, key: str, owner: str) -> bool:
        """True once the lease is ours; False when another replica kept it for wait_seconds."""
        if await self._leases.acquire(key, owner, self._ttl_ms):
            return True
        deadline = self._clock() + self._wait_seconds
        pause = FIRST_PAUSE_SECONDS
        # marked dirty once above; asking again must not mark it anew
        while not await self._leases.take_free(key, owner, self._ttl_ms):
            if self._clock() >= deadline:
                return False
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE_SECONDS)
        return True

    async def _renewing(self, key: str, owner: str, ref: WorkRef, intents: Intents) -> object:
        renewer = asyncio.create_task(self._renew(key, owner), name=f"coi-lease-{key}")
        try:
            return await self._evaluate(ref, intents)
        finally:
            renewer.cancel()
            with suppress(asyncio.CancelledError):
                await renewer

    async def _renew(self, key: str, owner: str) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)
            try:
                if not await self._leases.renew(key, owner, self._ttl_ms):
                    # another replica may evaluate too now; the engine tolerates an overlap
                    log.warning("the lease on %s expired during its evaluation", key)
                    return
            except CoordinationUnavailable:
                continue  # the lease runs out by itself; renewing again when Redis answers
