"""Vote closes shared by the replicas: a vote's timer lives in the process that armed it and
is lost with it (a restart, a death, a rolling deploy), so every close armed is also kept in
Redis, and the replica running the background jobs schedules each close that has passed.

`{prefix}votes:due` is a sorted set of PRs and issues by their vote's close (epoch seconds);
arming again moves it. `take_due` removes and returns the closes passed, in one script, so a
close is handed out once even while the jobs change hands; the evaluation decides from GitHub
whether anything closes (a vote cancelled or already closed writes nothing). Redis unreachable:
the local timers close the votes as a single replica's would.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime

from bot.pr import IssueRef, PullRequestRef
from bot.replicas.link import CoordinationUnavailable, RedisLink, text

log = logging.getLogger(__name__)

VoteRef = PullRequestRef | IssueRef
POLL_SECONDS = 1.0  # how late after its close a vote whose timer was lost is evaluated
TAKEN_PER_POLL = 100

# KEYS[1] the set; ARGV now, most taken: the members due, removed.
_TAKE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do redis.call('ZREM', KEYS[1], member) end
return due
"""
_KINDS: dict[str, type[PullRequestRef] | type[IssueRef]] = {
    "pr": PullRequestRef,
    "issue": IssueRef,
}


def member_of(ref: VoteRef) -> str:
    kind = "issue" if isinstance(ref, IssueRef) else "pr"
    return f"{kind}:{ref.installation_id}/{ref.owner}/{ref.repo}#{ref.number}"


def ref_of(member: str) -> VoteRef | None:
    """The PR or issue a member names; None for anything this release does not write."""
    kind, _, rest = member.partition(":")
    where, _, number = rest.rpartition("#")
    installation, _, slug = where.partition("/")
    owner, _, repo = slug.partition("/")
    made = _KINDS.get(kind)
    if made is None or not (installation.isdigit() and owner and repo and number.isdigit()):
        return None
    return made(int(installation), owner, repo, int(number))


class SharedDeadlines:
    def __init__(self, link: RedisLink) -> None:
        self._link = link
        self._key = link.key("votes:due")
        self._take = link.client.register_script(_TAKE)

    async def add(self, ref: VoteRef, closes_at: datetime) -> None:
        """Keeps the close of the vote on `ref`; Redis unreachable, only the local timer has it."""
        try:
            async with self._link.run("add_vote_deadline"):
                await self._link.client.zadd(self._key, {member_of(ref): closes_at.timestamp()})
        except CoordinationUnavailable:
            log.warning("the close of the vote on %s is kept by this replica only", ref)

    async def take_due(self, now: datetime) -> list[VoteRef]:
        """The votes whose close has passed, each handed out once."""
        async with self._link.run("take_vote_deadlines"):
            members = await self._take(keys=[self._key], args=[now.timestamp(), TAKEN_PER_POLL])
        refs = [ref_of(text(member)) for member in members]
        return [ref for ref in refs if ref is not None]


async def schedule_passed(
    deadlines: SharedDeadlines, schedule: Callable[[VoteRef], bool], *, now: datetime
) -> int:
    """Schedule each vote whose close has passed; how many were taken."""
    due = await deadlines.take_due(now)
    for ref in due:
        log.info("vote on %s is due (shared close): evaluating it", ref)
        if not schedule(ref):
            log.warning("queue full: the vote on %s waits for the reconciler", ref)
    return len(due)


async def schedule_due(
    deadlines: SharedDeadlines,
    schedule: Callable[[VoteRef], bool],
    *,
    clock: Callable[[], datetime],
    period_seconds: float = POLL_SECONDS,
) -> None:
    """The background job: every `period_seconds`, schedule each vote whose close has passed."""
    while True:
        # Redis away: logged by the link; the local timers close the votes meanwhile.
        with suppress(CoordinationUnavailable):
            await schedule_passed(deadlines, schedule, now=clock())
        await asyncio.sleep(period_seconds)
