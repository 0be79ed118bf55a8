"""Ask GitHub again for webhook deliveries that failed: GitHub never redelivers on its own.

docs.github.com/en/webhooks/using-webhooks/handling-failed-webhook-deliveries: the App's
deliveries are listed newest first (`GET /app/hook/deliveries`, paged by cursor) and one is sent
again with `POST /app/hook/deliveries/{id}/attempts`, within three days of the original.

Each look reads back to the newest delivery seen by the previous look (at start: back to the
three-day window) and redelivers every GUID whose attempts all failed, at most
`max_per_cycle` per look. A GUID with any successful attempt is never redelivered; one this
process already asked for is asked again at most `max_attempts` times in all, and not within
`cooldown_seconds` of the last ask (its attempt may still be in flight, listed as failed).

GUIDs in `failed_after_ack` were answered 202 and then failed in a handler (a bug): GitHub lists
them as successes, so they are asked again by that set, with the same caps. With several
replicas the set is shared (bot.web.state.FailedAfterAck): this job runs on one replica, and it
asks again for the faults of them all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import gidgethub
import gidgethub.abc
from cachetools import TTLCache

from bot.github.client import Clock
from bot.github.deliveries import REDELIVERY_WINDOW_SECONDS
from bot.github.times import github_time
from bot.metrics import Metrics
from bot.replicas.job_state import JobMemory

log = logging.getLogger(__name__)

# A margin inside the window: a delivery about to age out would be refused anyway.
WINDOW_MARGIN_SECONDS = 600
# Our own answers that a redelivery would repeat byte for byte: malformed and too large.
PERMANENT_STATUSES = frozenset({400, 413})
PER_PAGE = 100
# GUIDs read by earlier looks, so that one failing after it was read can still be asked again.
RECENT_MEMORY = 20_000
# GUIDs asked for, kept for the next holder of the jobs (bot.replicas.job_state).
ASKED_MEMORY = 100_000
# Field of the shared memory holding the newest delivery id read (no GUID looks like it).
NEWEST_SEEN = "@newest_seen"
Sleep = Callable[[float], Awaitable[None]]
LookOutcome = Literal["complete", "bounded"]


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    id: int
    guid: str
    status_code: int
    delivered_at: float  # epoch seconds

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status_code < 300

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> DeliveryAttempt:
        raw_time = item.get("delivered_at")
        if not isinstance(raw_time, str):
            raise ValueError(f"delivery {item.get('id')!r} has no delivered_at")
        return cls(
            id=int(item["id"]),
            guid=str(item["guid"]),
            status_code=int(item.get("status_code") or 0),
            delivered_at=github_time(raw_time).timestamp(),
        )


def needs_redelivery(attempts: list[DeliveryAttempt]) -> DeliveryAttempt | None:
    """The attempt to redeliver for one GUID; None once any succeeded or when none can help."""
    if any(attempt.succeeded for attempt in attempts):
        return None
    latest = max(attempts, key=lambda attempt: attempt.id)
    if latest.status_code in PERMANENT_STATUSES:
        return None
    return latest


class Faults(Protocol):
    """Delivery IDs answered 202 whose handler then failed (bot.web.state.FailedAfterAck)."""

    async def to_ask(self) -> Collection[str]:
        """The IDs to ask GitHub for again."""

    async def asked(self, delivery_id: str) -> None:
        """GitHub was asked for `delivery_id` again (or refused for good)."""


@dataclass(slots=True)
class LookReport:
    read: int = 0
    redelivered: list[str] = field(default_factory=list)  # GUIDs asked again
    refused: int = 0  # GitHub would not redeliver (gone, too old)
    outcome: LookOutcome = "complete"


class Redeliverer:
    """`look_once()` per period; `run(period_seconds=...)` loops until cancelled."""

    def __init__(
        self,
        app_client: gidgethub.abc.GitHubAPI,
        metrics: Metrics,
        *,
        max_per_cycle: int,
        max_attempts: int = 3,
        cooldown_seconds: float = 600.0,
        clock: Clock = time.time,
        failed_after_ack: Faults | None = None,
        memory: JobMemory | None = None,
    ) -> None:
        if max_per_cycle < 1:
            raise ValueError(f"max_per_cycle must be at least 1, not {max_per_cycle}")
        self._gh = app_client
        self._metrics = metrics
        self._max_per_cycle = max_per_cycle
        self._max_attempts = max_attempts
        self._cooldown = cooldown_seconds
        self._clock = clock
        self._newest_seen: int | None = None  # delivery id; ids grow with time
        # GUID -> (times asked, when last asked)
        self._asked: TTLCache[str, tuple[int, float]] = TTLCache(
            maxsize=ASKED_MEMORY, ttl=REDELIVERY_WINDOW_SECONDS, timer=clock
        )
        self._failed_after_ack = failed_after_ack
        self._memory = memory
        self._recent: TTLCache[str, DeliveryAttempt] = TTLCache(
            maxsize=RECENT_MEMORY, ttl=REDELIVERY_WINDOW_SECONDS, timer=clock
        )

    async def run(self, *, period_seconds: float, sleep: Sleep = asyncio.sleep) -> None:
        while True:
            try:
                await self.look_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                self._metrics.redeliveries.labels(outcome="look_failed").inc()
                log.exception("reading the App's webhook deliveries failed; next look retries")
            await sleep(period_seconds)

    async def look_once(self) -> LookReport:
        report = LookReport()
        await self._recall()
        oldest_allowed = self._clock() - REDELIVERY_WINDOW_SECONDS + WINDOW_MARGIN_SECONDS
        by_guid: dict[str, list[DeliveryAttempt]] = {}
        newest: int | None = None
        async for item in self._gh.getiter(
            "/app/hook/deliveries{?per_page}", {"per_page": PER_PAGE}
        ):
            attempt = DeliveryAttempt.from_json(item)
            if self._newest_seen is not None and attempt.id <= self._newest_seen:
                break
            if attempt.delivered_at < oldest_allowed:
                break
            report.read += 1
            newest = attempt.id if newest is None else max(newest, attempt.id)
            by_guid.setdefault(attempt.guid, []).append(attempt)
        faults: Collection[str] = ()
        if self._failed_after_ack is not None:  # not its truth: an empty local set is falsy
            faults = frozenset(await self._failed_after_ack.to_ask())
        for guid, target in self._targets(by_guid, faults):
            if not self._may_ask(guid):
                continue
            if len(report.redelivered) >= self._max_per_cycle:
                report.outcome = "bounded"
                break
            await self._redeliver(target, report)
            if guid in faults and self._failed_after_ack is not None:
                await self._failed_after_ack.asked(guid)
        if report.outcome == "complete" and newest is not None:
            # Bounded: keep the mark, so that the next look reads the skipped ones again.
            self._newest_seen = newest
        await self._remember(report.redelivered)
        log.info(
            "webhook deliveries read: %d, redelivered: %d",
            report.read,
            len(report.redelivered),
            extra={"outcome": report.outcome, "refused": report.refused},
        )
        return report

    async def _recall(self) -> None:
        """What the previous holder of the jobs asked, and how far it read (with Redis)."""
        if self._memory is None:
            return
        for guid, value in (await self._memory.load()).items():
            try:
                if guid == NEWEST_SEEN:
                    self._newest_seen = max(int(value), self._newest_seen or 0)
                    continue
                times, last = value.split(" ")
                if int(times) > self._asked.get(guid, (0, 0.0))[0]:
                    self._asked[guid] = (int(times), float(last))
            except ValueError:
                continue  # written by something else: asked again at worst

    async def _remember(self, asked: list[str]) -> None:
        if self._memory is None:
            return
        entries = {
            guid: f"{self._asked[guid][0]} {self._asked[guid][1]!r}"
            for guid in asked
            if guid in self._asked
        }
        if self._newest_seen is not None:
            entries[NEWEST_SEEN] = str(self._newest_seen)
        await self._memory.save(entries, pinned=frozenset({NEWEST_SEEN}))

    def _targets(
        self, by_guid: dict[str, list[DeliveryAttempt]], faults: Collection[str]
    ) -> list[tuple[str, DeliveryAttempt]]:
        """(GUID, attempt to redeliver): failed ones, then ones that failed after our 202."""
        for guid, attempts in by_guid.items():
            self._recent[guid] = max(attempts, key=lambda attempt: attempt.id)
        targets: list[tuple[str, DeliveryAttempt]] = []
        for guid, attempts in by_guid.items():
            target = needs_redelivery(attempts)
            if target is not None and guid not in faults:
                targets.append((guid, target))
        for guid in faults:
            latest = self._recent.get(guid)
            if latest is not None:
                targets.append((guid, latest))
        return targets

    def _may_ask(self, guid: str) -> bool:
        times, last = self._asked.get(guid, (0, float("-inf")))
        return times < self._max_attempts and self._clock() - last >= self._cooldown

    async def _redeliver(self, attempt: DeliveryAttempt, report: LookReport) -> None:
        times, _ = self._asked.get(attempt.guid, (0, 0.0))
        self._asked[attempt.guid] = (times + 1, self._clock())
        try:
            await self._gh.post(
                "/app/hook/deliveries/{delivery_id}/attempts",
                {"delivery_id": attempt.id},
                data=b"",
            )
        except gidgethub.RateLimitExceeded:
            raise  # a limit, not a refusal: the next look asks again
        except gidgethub.BadRequest as error:
            # 404: gone; 422: outside GitHub's window. Neither will change on a retry.
            report.refused += 1
            self._metrics.redeliveries.labels(outcome="refused").inc()
            log.warning(
                "GitHub refused to redeliver %s: %s",
                attempt.guid,
                error,
                extra={"delivery_id": attempt.id},
            )
            return
        report.redelivered.append(attempt.guid)
        self._metrics.redeliveries.labels(outcome="requested").inc()
        log.info(
            "asked GitHub to redeliver %s (answered %d)",
            attempt.guid,
            attempt.status_code,
            extra={"delivery_id": attempt.id},
        )
