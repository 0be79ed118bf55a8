"""Repair from GitHub's state: queue every open PR whose check is missing or out of date.

The bot keeps no database, so a lost delivery, a crash mid-evaluation or a deploy of a new
release would leave stale checks behind. At start and every `reconcile_minutes`, the reconciler
lists the App's installations, their repositories and open PRs (one GraphQL query per 50 PRs,
carrying each head commit's check run), and queues an evaluation for each PR whose check is:

- `missing`: no completed run of this App on the current head (never evaluated, or only an
  older head was);
- `map`: decided by another map than the one in force now (the summary names the map's blob);
- `version`: written by another release of the bot (the `external_id` carries the version);
- `changed`: completed before the PR last changed (see `changed_since_check`).

The bot acknowledges a delivery (202) before it evaluates, and GitHub never redelivers a delivery
it saw succeed: a bot killed between the two leaves a check that keeps its old verdict while the PR
has moved on. GitHub keeps the times, in the same listing query: the run's `completedAt` (stamped
by the bot when its evaluation started), the last review's `submittedAt`, the last comments'
`updatedAt` with `viewerDidAuthor`, and the PR's `updatedAt` (bumped by every change: reviews,
comments, commits, labels, edits, and the bot's own replies and review requests). The rule:

- a review, or a comment not written by the App, after `completedAt`: changed, exactly;
- anything else (a label, an edit, a dismissal) shows only in `updatedAt`, which the bot's own
  writes during and right after its evaluation also bump: changed when it is more than
  `BOT_WRITES_GRACE` after `completedAt`. The price: such a change within the grace of a check
  whose delivery was lost waits for the PR's next change. (A new commit moves the head: `missing`.)

An evaluation whose verdict is unchanged writes nothing, so `completedAt` stays behind a comment
that changed nothing. The reconciler therefore remembers, in memory, the change it last queued for
each PR and queues the same one once only: no loop, one evaluation per change at most. The memory
is an optimisation, never the source of truth: a restart forgets it, and the cycle at start
re-evaluates each PR changed since its check. With several replicas it is kept in Redis as well
(bot.replicas.job_state), so that a handover of the jobs does not queue every changed PR again.

A cycle queues at most `reconcile_max_per_cycle` PRs and stops early when GitHub's remaining
rate limit falls below `rate_limit_floor` or the queue is full; what it skips, the next one finds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import gidgethub.abc

from bot.affiliations.model import DEFAULT_CHECK_NAME
from bot.github.auth import GitHubApp
from bot.github.checks import BOT_VERSION, parse_external_id
from bot.github.map_source import MapSource
from bot.jobs.vote_timers import OpenVotes
from bot.metrics import Metrics
from bot.policy.verdict import MapRef
from bot.policy.vote_render import open_vote_closes
from bot.pr import PullRequestRef
from bot.replicas.job_state import JobMemory

log = logging.getLogger(__name__)

StaleReason = Literal["missing", "map", "version", "changed", "vote"]
CycleOutcome = Literal["complete", "bounded", "rate_limited", "queue_full"]
Schedule = Callable[[PullRequestRef], bool]
Sleep = Callable[[float], Awaitable[None]]

PULLS_PER_PAGE = 50  # with each head's check runs and summaries, well inside GitHub's node limit
BOT_WRITES_GRACE = timedelta(minutes=2)  # the bot's requests and replies follow its check's stamp
QUEUED_CHANGES_KEPT = 10_000  # PRs whose last `changed` repair is remembered (oldest forgotten)

OPEN_PULL_REQUESTS = f"""
query OpenPullRequests($owner: String!, $name: String!, $after: String, $appId: Int) {{
  rateLimit {{ remaining }}
  repository(owner: $owner, name: $name) {{
    pullRequests(states: [OPEN], first: {PULLS_PER_PAGE}, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        number baseRefName headRefOid updatedAt
        reviews(last: 1) {{ nodes {{ submittedAt }} }}
        comments(last: 5) {{ nodes {{ updatedAt viewerDidAuthor }} }}
        headCommit: commits(last: 1) {{
          nodes {{ commit {{
            oid
            checkSuites(first: 10, filterBy: {{appId: $appId}}) {{
              nodes {{ checkRuns(first: 10) {{
                nodes {{ name status completedAt externalId summary }}
              }} }}
            }}
          }} }}
        }}
      }}
    }}
  }}
}}
"""

# The last line of every summary (bot.policy.render): "Decided by the map `P` at blob `S` (src)."
_MAP_LINE = re.compile(
    r"Decided by the map `(?P<path>[^`\n]*)`(?: at blob `(?P<blob>[0-9a-f]+)`)? "
    r"\((?P<source>repository|owner|bundled)\)\."
)


@dataclass(frozen=True, slots=True)
class CheckState:
    """What a check run on a PR's head says about the evaluation that wrote it."""

    completed: bool
    version: str | None
    map_blob: str | None
    map_source: str | None
    completed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OpenPullRequest:
    number: int
    base_ref: str
    head_sha: str
    check: CheckState | None  # None: no run of this App with the check name on the head
    updated_at: datetime | None = None  # the PR's `updatedAt`: its last change, whoever made it
    people_changed_at: datetime | None = None  # its last review, or comment not by the App


def map_decided(summary: str | None) -> tuple[str | None, str | None]:
    """(blob SHA, source) of the map a check run's summary says decided it."""
    matches = list(_MAP_LINE.finditer(summary or ""))
    if not matches:
        return None, None
    last = matches[-1]  # the map line closes the summary; a PR title cannot forge it
    return last.group("blob"), last.group("source")


def stale_reason(
    pull: OpenPullRequest, *, map_in_force: MapRef, version: str = BOT_VERSION
) -> StaleReason | None:
    """Why this PR's check must be evaluated again, or None when it is current."""
    check = pull.check
    if check is None or not check.completed:
        return "missing"
    if check.version != version:
        return "version"
    # No map line (a summary cut at GitHub's limit): the other signals decide.
    if check.map_source is not None and (check.map_blob, check.map_source) != (
        map_in_force.blob_sha,
        map_in_force.source,
    ):
        return "map"
    if changed_since_check(pull):
        return "changed"
    return None


def changed_since_check(pull: OpenPullRequest, *, grace: timedelta = BOT_WRITES_GRACE) -> bool:
    """Whether the PR changed after its check run completed (the rule: the module's docstring).

    Strictly later only: GitHub keeps whole seconds, and the bot stamps `completed_at` when its
    evaluation starts, so a change in that same second was read by it. Unknown times never count
    as a change: the other signals decide.
    """
    check = pull.check
    if check is None or check.completed_at is None:
        return False
    if pull.people_changed_at is not None and pull.people_changed_at > check.completed_at:
        return True
    return pull.updated_at is not None and pull.updated_at > check.completed_at + grace


def _timestamp(value: Any) -> datetime | None:
    """A GraphQL `DateTime` (`2026-04-01T12:00:00Z`), or None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _check_state(commit: dict[str, Any] | None, check_name: str) -> CheckState | None:
    suites = ((commit or {}).get("checkSuites") or {}).get("nodes") or []
    for suite in suites:
        for run in ((suite or {}).get("checkRuns") or {}).get("nodes") or []:
            if run and run.get("name") == check_name:
                _, version = parse_external_id(run.get("externalId"))
                blob, source = map_decided(run.get("summary"))
                return CheckState(
                    completed=run.get("status") == "COMPLETED",
                    version=version,
                    map_blob=blob,
                    map_source=source,
                    completed_at=_timestamp(run.get("completedAt")),
                )
    return None


def _people_changed_at(node: dict[str, Any]) -> datetime | None:
    """When the PR's last review, or last comment not written by the App, was made."""
    reviews = ((node.get("reviews") or {}).get("nodes")) or []
    comments = ((node.get("comments") or {}).get("nodes")) or []
    times = [_timestamp((review or {}).get("submittedAt")) for review in reviews]
    times += [
        _timestamp(comment.get("updatedAt"))
        for comment in comments
        if comment and not comment.get("viewerDidAuthor")
    ]
    known = [moment for moment in times if moment is not None]
    return max(known, default=None)


def _run_summaries(commit: dict[str, Any] | None) -> list[str | None]:
    suites = ((commit or {}).get("checkSuites") or {}).get("nodes") or []
    return [
        (run or {}).get("summary")
        for suite in suites
        for run in ((suite or {}).get("checkRuns") or {}).get("nodes") or []
    ]


def _head_commit(node: dict[str, Any]) -> dict[str, Any] | None:
    heads = ((node.get("headCommit") or {}).get("nodes")) or []
    commit = (heads[0] or {}).get("commit") if heads else None
    return commit if isinstance(commit, dict) else None


@dataclass(slots=True)
class CycleReport:
    installations: int = 0
    repositories: int = 0
    examined: int = 0
    queued: dict[str, int] = field(default_factory=dict)  # reason -> PRs queued
    failed_repositories: int = 0
    outcome: CycleOutcome = "complete"

    @property
    def repaired(self) -> int:
        return sum(self.queued.values())


class _StopCycle(Exception):
    def __init__(self, outcome: CycleOutcome) -> None:
        super().__init__(outcome)
        self.outcome = outcome


class Reconciler:
    """One `reconcile_once()` per cycle; `run(period_seconds=...)` loops until cancelled."""

    def __init__(
        self,
        github: GitHubApp,
        maps: MapSource,
        schedule: Schedule,
        metrics: Metrics,
        *,
        graphql_url: str,
        max_per_cycle: int,
        rate_limit_floor: int,
        version: str = BOT_VERSION,
        memory: JobMemory | None = None,
    ) -> None:
        if max_per_cycle < 1:
            raise ValueError(f"max_per_cycle must be at least 1, not {max_per_cycle}")
        self._github = github
        self._maps = maps
        self._schedule = schedule
        self._metrics = metrics
        self._graphql_url = graphql_url
        self._max_per_cycle = max_per_cycle
        self._floor = rate_limit_floor
        self._version = version
        # PR -> (updatedAt, last review or comment, completedAt) last queued as `changed`.
        self._queued_changes: OrderedDict[PullRequestRef, tuple[datetime | None, ...]] = (
            OrderedDict()
        )
        # With Redis that memory is shared: the next holder of the jobs reads it at its start.
        self._memory = memory
        self._remembered: dict[PullRequestRef, tuple[datetime | None, ...]] = {}
        self._open_votes = OpenVotes()

    async def run(self, *, period_seconds: float, sleep: Sleep = asyncio.sleep) -> None:
        """Reconcile now, then every `period_seconds`; a failed cycle never ends the loop."""
        while True:
            try:
                await self.reconcile_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                self._metrics.reconcile_cycles.labels(outcome="failed").inc()
                log.exception("reconciler cycle failed; the next one retries")
            await sleep(period_seconds)

    async def reconcile_once(self) -> CycleReport:
        report = CycleReport()
        await self._recall()
        try:
            async for installation_id, owner in self._installations():
                report.installations += 1
                await self._reconcile_installation(installation_id, owner, report)
        except _StopCycle as stop:
            report.outcome = stop.outcome
        await self._share_changes()
        self._metrics.reconcile_cycles.labels(outcome=report.outcome).inc()
        log.info(
            "reconciler cycle %s: %d PRs queued of %d examined",
            report.outcome,
            report.repaired,
            report.examined,
            extra={
                "installations": report.installations,
                "repositories": report.repositories,
                "queued": report.queued,
                "failed_repositories": report.failed_repositories,
            },
        )
        return report

    async def _installations(self) -> AsyncIterator[tuple[int, str]]:
        client = self._github.app_client
        async for installation in client.getiter(
            "/app/installations{?per_page}", {"per_page": 100}
        ):
            account = installation.get("account") or {}
            if installation.get("suspended_at") or not account.get("login"):
                continue  # a suspended installation cannot mint tokens
            yield int(installation["id"]), str(account["login"])

    async def _reconcile_installation(
        self, installation_id: int, owner: str, report: CycleReport
    ) -> None:
        try:
            gh = await self._github.installation_client(installation_id)
            repositories = [
                (str(r["owner"]["login"]), str(r["name"]))
                async for r in gh.getiter(
                    "/installation/repositories{?per_page}",
                    {"per_page": 100},
                    iterable_key="repositories",
                )
                if not r.get("archived")
            ]
        except Exception:
            log.exception("reconciler: cannot list the repositories of installation %s", owner)
            report.failed_repositories += 1
            return
        self._check_rate(gh)
        for repo_owner, repo in repositories:
            report.repositories += 1
            try:
                await self._reconcile_repository(gh, installation_id, repo_owner, repo, report)
            except _StopCycle:
                raise
            except Exception:
                report.failed_repositories += 1
                log.exception("reconciler: %s/%s skipped this cycle", repo_owner, repo)

    def _check_rate(self, gh: gidgethub.abc.GitHubAPI) -> None:
        limit = gh.rate_limit
        if limit is not None and limit.remaining < self._floor:
            raise _StopCycle("rate_limited")

    async def _reconcile_repository(
        self,
        gh: gidgethub.abc.GitHubAPI,
        installation_id: int,
        owner: str,
        repo: str,
        report: CycleReport,
    ) -> None:
        maps: dict[str, tuple[MapRef, str]] = {}  # base ref -> (map in force, check name)
        cursor: str | None = None
        while True:
            data = await gh.graphql(
                OPEN_PULL_REQUESTS,
                endpoint=self._graphql_url,
                owner=owner,
                name=repo,
                after=cursor,
                appId=await self._github.numeric_id(),  # only the App's own runs
            )
            remaining = (data.get("rateLimit") or {}).get("remaining")
            if isinstance(remaining, int) and remaining < self._floor:
                raise _StopCycle("rate_limited")
            pulls = ((data.get("repository") or {}).get("pullRequests")) or {}
            for node in pulls.get("nodes") or []:
                if not node:
                    continue
                report.examined += 1
                base_ref = str(node["baseRefName"])
                if base_ref not in maps:
                    maps[base_ref] = await self._map_in_force(gh, owner, repo, base_ref)
                map_ref, check_name = maps[base_ref]
                pull = OpenPullRequest(
                    number=int(node["number"]),
                    base_ref=base_ref,
                    head_sha=str(node["headRefOid"]),
                    check=_check_state(_head_commit(node), check_name),
                    updated_at=_timestamp(node.get("updatedAt")),
                    people_changed_at=_people_changed_at(node),
                )
                reason = stale_reason(pull, map_in_force=map_ref, version=self._version)
                ref = PullRequestRef(installation_id, owner, repo, pull.number)
                closes = open_vote_closes(_run_summaries(_head_commit(node)))
                if self._open_votes.due(ref, closes, now=datetime.now(UTC)) and reason is None:
                    reason = "vote"  # an open vote: its timer armed again, or it is due
                if reason == "changed" and self._already_queued(ref, pull):
                    continue
                if reason is not None:
                    self._queue(ref, reason, report)
                    if reason == "changed":
                        self._remember_change(ref, pull)
            info = pulls.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return
            cursor = info.get("endCursor")

    async def _map_in_force(
        self, gh: gidgethub.abc.GitHubAPI, owner: str, repo: str, base_ref: str
    ) -> tuple[MapRef, str]:
        loaded, map_ref = await self._maps.map_for(gh, owner=owner, repo=repo, base_ref=base_ref)
        check_name = loaded.map.policy.check_name if loaded.map is not None else DEFAULT_CHECK_NAME
        return map_ref, check_name

    def _change_key(self, pull: OpenPullRequest) -> tuple[datetime | None, ...]:
        completed_at = pull.check.completed_at if pull.check else None
        return pull.updated_at, pull.people_changed_at, completed_at

    def _already_queued(self, ref: PullRequestRef, pull: OpenPullRequest) -> bool:
        """Whether this same change was queued before: its evaluation found the verdict
        unchanged (nothing written), or the bot's own writes followed the check."""
        return self._queued_changes.get(ref) == self._change_key(pull)

    async def _recall(self) -> None:
        """The changes the previous holder of the jobs queued (shared memory, with Redis)."""
        if self._memory is None:
            return
        for name, value in (await self._memory.load()).items():
            ref = _ref_of(name)
            key = _change_of(value)
            if ref is not None and key is not None and ref not in self._queued_changes:
                self._queued_changes[ref] = key

    async def _share_changes(self) -> None:
        if self._memory is None or not self._remembered:
            return
        entries = {_name_of(ref): _value_of(key) for ref, key in self._remembered.items()}
        self._remembered = {}
        await self._memory.save(entries)

    def _remember_change(self, ref: PullRequestRef, pull: OpenPullRequest) -> None:
        if self._memory is not None:
            self._remembered[ref] = self._change_key(pull)
        self._queued_changes[ref] = self._change_key(pull)
        self._queued_changes.move_to_end(ref)
        while len(self._queued_changes) > QUEUED_CHANGES_KEPT:
            self._queued_changes.popitem(last=False)

    def _queue(self, ref: PullRequestRef, reason: StaleReason, report: CycleReport) -> None:
        if report.repaired >= self._max_per_cycle:
            raise _StopCycle("bounded")
        if not self._schedule(ref):
            raise _StopCycle("queue_full")
        report.queued[reason] = report.queued.get(reason, 0) + 1
        self._metrics.reconcile_repairs.labels(reason=reason).inc()
        log.info("reconciler queued %s: check %s", ref, reason)


def _name_of(ref: PullRequestRef) -> str:
    return f"{ref.installation_id}/{ref.owner}/{ref.repo}#{ref.number}"


def _ref_of(name: str) -> PullRequestRef | None:
    where, _, number = name.rpartition("#")
    installation, _, slug = where.partition("/")
    owner, _, repo = slug.partition("/")
    if not (installation.isdigit() and owner and repo and number.isdigit()):
        return None
    return PullRequestRef(int(installation), owner, repo, int(number))


def _value_of(key: tuple[datetime | None, ...]) -> str:
    return json.dumps([moment.isoformat() if moment else None for moment in key])


def _change_of(value: str) -> tuple[datetime | None, ...] | None:
    try:
        moments = json.loads(value)
        return tuple(datetime.fromisoformat(m) if m else None for m in moments)
    except (ValueError, TypeError):
        return None  # written by something else: that PR may be queued once more
