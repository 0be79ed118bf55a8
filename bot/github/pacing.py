"""Bulk re-evaluation within GitHub's limits: a pace for the writes, a reserve for live events.

The reconciler's repairs and the sweeps after a map push or a new installation can each queue
thousands of evaluations. GitHub's secondary limit is 900 REST points a minute (5 per write) and
its primary limit an hour's budget per installation: bulk work takes turns from one `Pacer`
(each evaluation writes at most one check run) and stops while `budget_low` says the hour's
budget is needed by live events, which are never paced.
docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import gidgethub.abc

from bot.github.client import GitHubClient

Sleep = Callable[[float], Awaitable[None]]

# With the burst, at most 150 writes (750 of GitHub's 900 secondary points) in any minute.
EVALUATIONS_PER_MINUTE = 140.0
EVALUATION_BURST = 10  # taken at once before the pace applies: a small repair waits for nothing
LIVE_RESERVE = 0.5  # the part of the hour's primary limit bulk work leaves for live events
RESERVE_MARGIN = 50  # points or requests that evaluations already queued spend after the check


class Pacer:
    """A token bucket of EVALUATION_BURST refilled at `per_minute`; `take(n)` waits its turn."""

    def __init__(
        self,
        *,
        per_minute: float = EVALUATIONS_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if per_minute <= 0:
            raise ValueError(f"evaluations per minute must be positive, not {per_minute}")
        self._per_second = per_minute / 60
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(EVALUATION_BURST)
        self._at = clock()

    async def take(self, count: int = 1) -> None:
        """Waits until `count` evaluations may be queued; later callers wait for this debt."""
        now = self._clock()
        self._tokens = min(
            float(EVALUATION_BURST), self._tokens + (now - self._at) * self._per_second
        )
        self._at = now
        self._tokens -= count
        if self._tokens < 0:
            await self._sleep(-self._tokens / self._per_second)


def budget_low(
    gh: gidgethub.abc.GitHubAPI, *, floor: int = 0, reserve: float = LIVE_RESERVE
) -> bool:
    """Whether GitHub's latest answers leave fewer than `floor` requests or points, or less than
    `reserve` of the hour's limit (plus RESERVE_MARGIN), on any resource of this client."""
    if isinstance(gh, GitHubClient):
        now = time.time()
        budgets = [(b.remaining, b.limit) for b in gh.budgets.values() if b.reset > now]
    elif gh.rate_limit is not None:
        budgets = [(gh.rate_limit.remaining, gh.rate_limit.limit)]
    else:
        budgets = []
    return any(low(remaining, limit, floor=floor, reserve=reserve) for remaining, limit in budgets)


def low(
    remaining: int, limit: int | None, *, floor: int = 0, reserve: float = LIVE_RESERVE
) -> bool:
    """Whether `remaining` is below `floor`, or below `reserve` of `limit` plus the margin."""
    kept = reserve * limit + RESERVE_MARGIN if limit else 0.0
    return remaining < floor or remaining < kept
