"""Repair from GitHub's state: queue every open PR whose check is missing or out of date.

The bot keeps no database, so a lost delivery, a crash mid-evaluation or a new release of the
verdict rules would leave stale checks behind. At start and every `reconcile_minutes`, the
reconciler lists the App's installations and their repositories, and for each repository where
something may have changed, its open PRs (one GraphQL query per 50 PRs, carrying each head
commit's check run); it queues an evaluation for each PR whose check is:

- `missing`: no run of this App on the current head that a verdict wrote, completed or waiting
  (`in_progress`) for an approval (never evaluated, or only an older head was);
- `map`: decided by another map than the one in force now (the summary names the map's blob);
- `version`: written under other verdict rules (the `external_id` carries `RULES_VERSION`);
- `changed`: written before the PR last changed (see `changed_since_check`).

A quiet installation costs nothing (GitHub's budget, not CPU, is an App's limit). Per cycle:
one GraphQL query per 100 repositories reads the map's blob on each default branch (1 point);
each repository is asked whether its open PRs changed with a conditional request (If-None-Match
on the open PRs sorted by update: a 304 is free); the listing runs only where the first PR moved,
a map changed (the repository's own, or the owner's `.github` one for repositories without their
own), or the last listing queued something (its evaluation may have been lost). At start every
repository is listed once. A listed repository's open issues with the vote label are read too
(one more query, bot/jobs/issue_votes.py): an issue's vote has no check run to be found by.

The bot acknowledges a delivery (202) before it evaluates, and GitHub never redelivers a delivery
it saw succeed: a bot killed between the two leaves a check that keeps its old verdict while the PR
has moved on. GitHub keeps the times, in the same listing query: the run's `completedAt` (stamped
by the bot when its evaluation started; `startedAt` for a run waiting `in_progress`), the last
review's `submittedAt`, the last comments' `updatedAt` with `viewerDidAuthor`, and the PR's
`updatedAt` (bumped by every change: reviews, comments, commits, labels, edits, and the bot's
own replies and review requests). `completedAt` is the bot's clock; it is turned into GitHub's
with the offset read from GitHub's `Date` header, and compared at second precision with
`CLOCK_MARGIN`. The rule:

- a review, or a comment not written by the App, after `completedAt` less the margin: changed
  (one more evaluation for a change in the same second as the read, never a missed one);
- anything else (a label, an edit, a dismissal) shows only in `updatedAt`, which the bot's own
  writes during and right after its evaluation also bump: changed when it is more than
  `BOT_WRITES_GRACE` after `completedAt`. The price: such a change within the grace of a check
  whose delivery was lost waits for the PR's next change. (A new commit moves the head: `missing`.)

An evaluation whose verdict is unchanged writes nothing, so `completedAt` stays behind a comment
that changed nothing. The reconciler therefore remembers, in memory, the change it last queued for
each PR and queues the same one once only: no loop, one evaluation per change at most. The memory
is an optimisation, never the source of truth: a restart forgets it, and the cycle at start
re-evaluates each PR changed since its check.

Re-evaluating many PRs (at start, after a map change or new verdict rules) is paced and bounded
(bot/github/pacing.py): repairs take turns from the pacer the sweeps share (140 a minute after a
burst of 10: each writes at most one check run, 5 of GitHub's 900 secondary points a minute), at
most `reconcile_max_per_cycle` a cycle, and a cycle stops when less than `live_reserve` of the
hour's primary limit (REST or GraphQL) is left, or fewer than `rate_limit_floor`, or the queue is
full: live events go first (never paced, and repairs wait while more PRs wait for evaluation
than there are workers), and what a cycle skips, the next one finds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import gidgethub.abc

from bot.affiliations.model import DEFAULT_CHECK_NAME
from bot.github.auth import GitHubApp
from bot.github.checks import RULES_VERSION, parse_external_id
from bot.github.client import Clock, GitHubClient
from bot.github.map_blobs import blob_under, map_blobs
from bot.github.map_source import OWNER_REPOSITORY, BaseMapHint, MapSource
from bot.github.pacing import LIVE_RESERVE, Pacer, budget_low, low
from bot.jobs.issue_votes import open_vote_issues
from bot.jobs.vote_timers import OpenVotes
from bot.metrics import Metrics
from bot.policy.verdict import MapRef
from bot.policy.vote_render import open_vote_closes
from bot.pr import IssueRef, PullRequestRef
from bot.replicas.job_state import JobMemory

log = logging.getLogger(__name__)

StaleReason = Literal["missing", "map", "version", "changed", "vote"]
CycleOutcome = Literal["complete", "bounded", "rate_limited", "queue_full"]
Schedule = Callable[[PullRequestRef | IssueRef], bool]
Sleep = Callable[[float], Awaitable[None]]

PULLS_PER_PAGE = 50  # 251 requests by GitHub's formula: 3 points a page
BOT_WRITES_GRACE = timedelta(minutes=2)  # the bot's requests and replies follow its check's stamp
# GitHub keeps whole seconds: a change in the check's own second counts (it may follow the read).
CLOCK_MARGIN = timedelta(seconds=1)
QUEUED_CHANGES_KEPT = 10_000  # PRs whose last `changed` repair is remembered (oldest forgotten)
REPOSITORIES_KEPT = 100_000  # what the last cycle saw of each repository (~300 bytes each)
QUEUE_BUSY_WAIT = 0.5  # seconds between looks at a busy evaluation queue

OPEN_PULL_REQUESTS = f"""
query OpenPullRequests($owner: String!, $name: String!, $after: String, $appId: Int,
                       $checkName: String!, $mapPath: String!) {{
  rateLimit {{ limit remaining }}
  repository(owner: $owner, name: $name) {{
    # The default branch's map is in force for every PR, whatever its base.
    defaultBranchRef {{
      name target {{ ... on Commit {{ baseMap: file(path: $mapPath) {{ oid }} }} }}
    }}
    pullRequests(states: [OPEN], first: {PULLS_PER_PAGE}, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        number baseRefName headRefOid updatedAt
        reviews(last: 1) {{ nodes {{ submittedAt }} }}
        comments(last: 5) {{ nodes {{ updatedAt viewerDidAuthor }} }}
        headCommit: commits(last: 1) {{
          nodes {{ commit {{
            oid
            checkSuites(first: 1, filterBy: {{appId: $appId}}) {{
              nodes {{
                checkRuns(first: 1, filterBy: {{checkName: $checkName}}) {{
                  nodes {{ name status startedAt completedAt externalId summary }}
                }}
                # An open TSC vote says when it closes: its timer is armed again after a restart.
                # Found as unfinished, not by name: the map its vote opened under names its run.
                voteRuns: checkRuns(first: 5, filterBy: {{statuses: [IN_PROGRESS]}}) {{
                  nodes {{ summary }}
                }}
              }}
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
    # The evaluation's stamp: `completedAt`, or `startedAt` of a waiting run.
    completed_at: datetime | None = None
    waiting: bool = False  # written `in_progress` by a verdict: a major change awaits approval


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
    pull: OpenPullRequest,
    *,
    map_in_force: MapRef,
    version: str = RULES_VERSION,
    clock_offset: timedelta = timedelta(0),
) -> StaleReason | None:
    """Why this PR's check must be evaluated again, or None when it is current."""
    check = pull.check
    if check is None or not (check.completed or check.waiting):
        return "missing"
    if check.version != version:
        return "version"
    # No map line (a summary cut at GitHub's limit): the other signals decide.
    if check.map_source is not None and (check.map_blob, check.map_source) != (
        map_in_force.blob_sha,
        map_in_force.source,
    ):
        return "map"
    if changed_since_check(pull, clock_offset=clock_offset):
        return "changed"
    return None


def changed_since_check(
    pull: OpenPullRequest,
    *,
    grace: timedelta = BOT_WRITES_GRACE,
    clock_offset: timedelta = timedelta(0),
    margin: timedelta = CLOCK_MARGIN,
) -> bool:
    """Whether the PR changed after its check run completed (the rule: the module's docstring).

    `clock_offset`: the bot's clock minus GitHub's, which turns the bot's `completedAt` stamp
    into GitHub's time. The bot stamps it before its read, to a second; a change in that same
    second may have come after the read, so anything later than the stamp less `margin` counts.
    Unknown times never count as a change: the other signals decide.
    """
    check = pull.check
    if check is None or check.completed_at is None:
        return False
    stamped = check.completed_at - clock_offset
    if pull.people_changed_at is not None and pull.people_changed_at > stamped - margin:
        return True
    return pull.updated_at is not None and pull.updated_at > stamped + grace


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
                completed = run.get("status") == "COMPLETED"
                # Only a verdict's run carries a version: any other unfinished run is missing.
                waiting = run.get("status") == "IN_PROGRESS" and version is not None
                stamp = run.get("completedAt") if completed else run.get("startedAt")
                return CheckState(
                    completed=completed,
                    version=version,
                    map_blob=blob,
                    map_source=source,
                    completed_at=_timestamp(stamp) if completed or waiting else None,
                    waiting=waiting,
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
        for runs in ("checkRuns", "voteRuns")
        for run in (((suite or {}).get(runs) or {}).get("nodes") or [])
    ]


def _head_commit(node: dict[str, Any]) -> dict[str, Any] | None:
    heads = ((node.get("headCommit") or {}).get("nodes")) or []
    commit = (heads[0] or {}).get("commit") if heads else None
    return commit if isinstance(commit, dict) else None


@dataclass(frozen=True, slots=True)
class _Probe:
    """The first of a repository's open PRs by last update, as the conditional request saw it."""

    etag: str | None
    first: tuple[int, datetime | None] | None  # (number, updatedAt); None: no open PR
    read_at: datetime  # GitHub's time of the answer


@dataclass(frozen=True, slots=True)
class _Seen:
    """What the last complete listing of a repository left: enough to know it is still quiet."""

    probe: _Probe
    own_map: str | None  # the map's blob on the default branch; None: the owner's map governs
    owner_map: str | None
    clean: bool  # the listing queued nothing: no evaluation of it can have been lost
    check_name: str = DEFAULT_CHECK_NAME  # the one most of its PRs' maps name: the next filterBy


@dataclass(slots=True)
class CycleReport:
    installations: int = 0
    repositories: int = 0
    quiet: int = 0  # repositories not listed: nothing changed since their last listing
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
        version: str = RULES_VERSION,
        pacer: Pacer | None = None,
        live_reserve: float = LIVE_RESERVE,
        queue_busy: Callable[[], bool] | None = None,
        sleep: Sleep = asyncio.sleep,
        memory: JobMemory | None = None,
        clock: Clock = time.time,
    ) -> None:
        if max_per_cycle < 1:
            raise ValueError(f"max_per_cycle must be at least 1, not {max_per_cycle}")
        if not 0 <= live_reserve < 1:
            raise ValueError(f"live_reserve must be in [0, 1), not {live_reserve}")
        self._clock = clock  # the Engine's: a vote is due by the clock that evaluates it
        self._github = github
        self._maps = maps
        self._schedule = schedule
        self._metrics = metrics
        self._graphql_url = graphql_url
        self._max_per_cycle = max_per_cycle
        self._floor = rate_limit_floor
        self._reserve = live_reserve
        self._version = version
        self._pacer = pacer or Pacer()  # shared with the sweeps (bot/engine.py)
        self._queue_busy = queue_busy or (lambda: False)
        self._sleep = sleep
        # PR -> (updatedAt, last review or comment, completedAt) last queued as `changed`.
        self._queued_changes: OrderedDict[PullRequestRef, tuple[datetime | None, ...]] = (
            OrderedDict()
        )
        # (installation, owner, repo) -> its last complete listing; the oldest forgotten.
        self._seen: OrderedDict[tuple[int, str, str], _Seen] = OrderedDict()
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
                "quiet_repositories": report.quiet,
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
            listed = [
                r
                async for r in gh.getiter(
                    "/installation/repositories{?per_page}",
                    {"per_page": 100},
                    iterable_key="repositories",
                )
                if not r.get("archived")
            ]
            repositories = [(str(r["owner"]["login"]), str(r["name"])) for r in listed]
            # An issue's vote is judged by its default branch's map (bot/jobs/issue_votes.py).
            default_branches = {
                (str(r["owner"]["login"]), str(r["name"])): str(r.get("default_branch") or "")
                for r in listed
            }
            blobs = await map_blobs(  # its answer says what is left of the GraphQL budget
                gh, repositories, map_path=self._maps.map_path, endpoint=self._graphql_url
            )
            self._check_budget(gh)
        except _StopCycle:
            raise
        except Exception:
            log.exception("reconciler: cannot list the repositories of installation %s", owner)
            report.failed_repositories += 1
            return
        for repo_owner, repo in repositories:
            report.repositories += 1
            owner_map = blobs.get((repo_owner, OWNER_REPOSITORY))
            try:
                await self._reconcile_repository(
                    gh,
                    installation_id,
                    repo_owner,
                    repo,
                    report,
                    own_map=blobs.get((repo_owner, repo)),
                    owner_map=owner_map,
                    default_branch=default_branches.get((repo_owner, repo)) or "HEAD",
                )
            except _StopCycle:
                raise
            except Exception:
                report.failed_repositories += 1
                log.exception("reconciler: %s/%s skipped this cycle", repo_owner, repo)

    async def _reconcile_repository(
        self,
        gh: gidgethub.abc.GitHubAPI,
        installation_id: int,
        owner: str,
        repo: str,
        report: CycleReport,
        *,
        own_map: str | None,
        owner_map: str | None,
        default_branch: str = "HEAD",
    ) -> None:
        key = (installation_id, owner, repo)
        seen = self._seen.get(key)
        probe = await self._probe(gh, owner, repo, seen.probe if seen else None)
        # A vote closes by the bot's clock, as its timer does (bot.jobs.vote_timers).
        vote_due = self._open_votes.due_in(key, now=self._now())
        quiet = seen is not None and self._quiet(seen, probe, own_map=own_map, owner_map=owner_map)
        if quiet and not vote_due:
            report.quiet += 1
            self._seen.move_to_end(key)
            return
        if seen is not None and (seen.own_map, seen.owner_map) != (own_map, owner_map):
            self._maps.forget(owner, repo)  # a cached "no map here" must not outlive the map
            self._maps.forget(owner, OWNER_REPOSITORY)
        self._check_budget(gh)
        check_name = seen.check_name if seen is not None else DEFAULT_CHECK_NAME
        queued, check_name = await self._list_repository(
            gh, installation_id, owner, repo, report, check_name=check_name
        )
        queued += await self._list_vote_issues(
            gh, installation_id, owner, repo, report, default_branch=default_branch, blob=own_map
        )
        self._seen[key] = _Seen(
            probe, own_map=own_map, owner_map=owner_map, clean=queued == 0, check_name=check_name
        )
        self._seen.move_to_end(key)
        while len(self._seen) > REPOSITORIES_KEPT:
            self._seen.popitem(last=False)

    def _quiet(
        self, seen: _Seen, probe: _Probe, *, own_map: str | None, owner_map: str | None
    ) -> bool:
        """Nothing the listing would see differently since the last one: no PR moved, no map."""
        if not seen.clean or seen.own_map != own_map:
            return False
        if own_map is None and seen.owner_map != owner_map:
            return False  # the owner's map governs this repository, and it changed
        if probe.first != seen.probe.first:
            return False
        # A change in the same second as the last listing's probe may have come after it.
        updated = probe.first[1] if probe.first else None
        return updated is None or updated < seen.probe.read_at - CLOCK_MARGIN

    async def _probe(
        self, gh: gidgethub.abc.GitHubAPI, owner: str, repo: str, last: _Probe | None
    ) -> _Probe:
        """The first open PR by last update, asked with the last ETag (a 304 costs nothing)."""
        url = "/repos/{owner}/{repo}/pulls{?state,sort,direction,per_page}"
        url_vars: dict[str, str | int] = {
            "owner": owner,
            "repo": repo,
            "state": "open",
            "sort": "updated",
            "direction": "desc",
            "per_page": 1,
        }
        if isinstance(gh, GitHubClient):
            answer = await gh.get_if_changed(url, url_vars, etag=last.etag if last else None)
        else:
            answer = None, await gh.getitem(url, url_vars)
        read_at = self._github_now(gh)
        if answer is None and last is not None:
            return _Probe(last.etag, last.first, read_at)
        etag, pulls = answer if answer is not None else (None, [])
        first = pulls[0] if isinstance(pulls, list) and pulls else None
        if not isinstance(first, dict):
            return _Probe(etag, None, read_at)
        return _Probe(etag, (int(first["number"]), _timestamp(first.get("updated_at"))), read_at)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _github_now(self, gh: gidgethub.abc.GitHubAPI) -> datetime:
        return datetime.now(UTC) - self._clock_offset(gh)

    @staticmethod
    def _clock_offset(gh: gidgethub.abc.GitHubAPI) -> timedelta:
        offset = gh.clock_offset if isinstance(gh, GitHubClient) else None
        # The Date header has whole seconds: below one second, the offset is its rounding.
        return timedelta(seconds=int(offset or 0.0))

    async def _list_repository(
        self,
        gh: gidgethub.abc.GitHubAPI,
        installation_id: int,
        owner: str,
        repo: str,
        report: CycleReport,
        *,
        check_name: str,
    ) -> tuple[int, str]:
        """Judges every open PR, listed first with `check_name`, then once per other check name
        their maps use; the number queued and the name most of them use."""
        names = [check_name]
        maps: dict[tuple[str, str | None], tuple[MapRef, str]] = {}
        uses: Counter[str] = Counter()
        queued = 0
        offset = self._clock_offset(gh)
        for listed_name in names:
            async for node, default_ref in self._open_pulls(gh, owner, repo, listed_name):
                base_ref = str(node["baseRefName"])
                branch = str((default_ref or {}).get("name") or "")
                base_map = blob_under(default_ref, key="baseMap")
                hint = BaseMapHint(base_map) if default_ref else None
                if (branch, base_map) not in maps:
                    maps[branch, base_map] = await self._map_in_force(gh, owner, repo, branch, hint)
                map_ref, wanted = maps[branch, base_map]
                uses[wanted] += 1
                if wanted != listed_name:
                    if wanted not in names:
                        names.append(wanted)  # this PR's map names another check: one more pass
                    continue
                report.examined += 1
                pull = OpenPullRequest(
                    number=int(node["number"]),
                    base_ref=base_ref,
                    head_sha=str(node["headRefOid"]),
                    check=_check_state(_head_commit(node), listed_name),
                    updated_at=_timestamp(node.get("updatedAt")),
                    people_changed_at=_people_changed_at(node),
                )
                reason = stale_reason(
                    pull, map_in_force=map_ref, version=self._version, clock_offset=offset
                )
                ref = PullRequestRef(installation_id, owner, repo, pull.number)
                closes = open_vote_closes(_run_summaries(_head_commit(node)))
                due = self._open_votes.due(ref, closes, now=self._now())
                if reason is None and due:
                    reason = "vote"  # an open vote: its timer armed again, or it is due
                if reason is None or (reason == "changed" and self._already_queued(ref, pull)):
                    continue
                await self._queue(gh, ref, reason, report)
                queued += 1
                if reason == "changed":
                    self._remember_change(ref, pull)
        return queued, uses.most_common(1)[0][0] if uses else check_name

    async def _list_vote_issues(
        self,
        gh: gidgethub.abc.GitHubAPI,
        installation_id: int,
        owner: str,
        repo: str,
        report: CycleReport,
        *,
        default_branch: str,
        blob: str | None,
    ) -> int:
        """Queues each open issue vote once (its timer armed again) and again past its close.
        `blob`: the map's on the default branch, as the cycle read it (known: no request)."""
        loaded, _ = await self._maps.map_for(
            gh, owner=owner, repo=repo, branch=default_branch, hint=BaseMapHint(blob)
        )
        if loaded.map is None:
            return 0  # a broken map decides no vote; the PRs' checks say why
        rate, issues = await open_vote_issues(
            gh, loaded.map, owner=owner, repo=repo, endpoint=self._graphql_url
        )
        self._check_listing_budget({"rateLimit": rate})
        queued = 0
        now = self._now()  # the bot's clock, as the timers' (bot.jobs.vote_timers)
        for issue in issues:
            ref = IssueRef(installation_id, owner, repo, issue.number)
            if self._open_votes.issue_due(ref, issue.closes_at, now=now):
                await self._queue(gh, ref, "vote", report)
                queued += 1
        return queued

    async def _open_pulls(
        self, gh: gidgethub.abc.GitHubAPI, owner: str, repo: str, check_name: str
    ) -> AsyncIterator[tuple[dict[str, Any], dict[str, Any] | None]]:
        """Each open PR, with the default branch as the same page saw it."""
        cursor: str | None = None
        while True:
            data = await gh.graphql(
                OPEN_PULL_REQUESTS,
                endpoint=self._graphql_url,
                owner=owner,
                name=repo,
                after=cursor,
                appId=await self._github.numeric_id(),  # only the App's own runs
                checkName=check_name,
                mapPath=self._maps.map_path,
            )
            self._check_listing_budget(data)
            repository = data.get("repository") or {}
            pulls = repository.get("pullRequests") or {}
            for node in pulls.get("nodes") or []:
                if node:
                    yield node, repository.get("defaultBranchRef")
            info = pulls.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return
            cursor = info.get("endCursor")

    async def _map_in_force(
        self,
        gh: gidgethub.abc.GitHubAPI,
        owner: str,
        repo: str,
        branch: str,
        hint: BaseMapHint | None,
    ) -> tuple[MapRef, str]:
        loaded, map_ref = await self._maps.map_for(
            gh, owner=owner, repo=repo, branch=branch, hint=hint
        )
        check_name = loaded.map.policy.check_name if loaded.map is not None else DEFAULT_CHECK_NAME
        return map_ref, check_name

    def _check_budget(self, gh: gidgethub.abc.GitHubAPI) -> None:
        """Stops the cycle when GitHub's last answers leave too little for live events."""
        if budget_low(gh, floor=self._floor, reserve=self._reserve):
            raise _StopCycle("rate_limited")

    def _check_listing_budget(self, data: dict[str, Any]) -> None:
        rate = data.get("rateLimit") or {}
        remaining, limit = rate.get("remaining"), rate.get("limit")
        if isinstance(remaining, int) and low(
            remaining,
            limit if isinstance(limit, int) else None,
            floor=self._floor,
            reserve=self._reserve,
        ):
            raise _StopCycle("rate_limited")

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

    async def _queue(
        self,
        gh: gidgethub.abc.GitHubAPI,
        ref: PullRequestRef | IssueRef,
        reason: StaleReason,
        report: CycleReport,
    ) -> None:
        if report.repaired >= self._max_per_cycle:
            raise _StopCycle("bounded")
        while self._queue_busy():  # live events first: their evaluations wait in the same queue
            await self._sleep(QUEUE_BUSY_WAIT)
        await self._pacer.take()
        self._check_budget(gh)  # evaluations queued meanwhile spent from it
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
