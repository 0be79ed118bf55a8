"""One evaluation of one pull request: facts -> map -> verdict -> reviewer request -> check run.

Budget per evaluation (DESIGN.md, runtime contract): one GraphQL read (plus pages beyond 100
items), the map free while its ETag holds, at most one check-run write and none when the verdict
is unchanged, and no installation token minted twice within the hour.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

import aiohttp
import gidgethub
import gidgethub.abc

from bot.affiliations.model import DEFAULT_CHECK_NAME
from bot.github.auth import GitHubApp
from bot.github.checks import write_check_run
from bot.github.client import ClientFactory, Clock, RetryPolicy, Sleep, clients_on
from bot.github.map_blobs import map_blobs
from bot.github.map_source import OWNER_REPOSITORY, MapSource, MapTrust
from bot.github.merge_groups import read_group_contents
from bot.github.pacing import Pacer, budget_low
from bot.github.permissions import PermissionCache
from bot.github.queries import SAME_HEAD_LIMIT
from bot.github.replies import Answers, answer_commands
from bot.github.reviewers import request_reviewers
from bot.github.snapshot import ExistingCheckRun, SnapshotError
from bot.github.votes import OpeningMaps, VoteWrites, carry_out_vote, read_issue
from bot.intents import NO_INTENTS, Intents
from bot.jobs.vote_timers import VoteTimers
from bot.judge import ChosenMap, Judge, Judgement
from bot.logs import log_context
from bot.map_verdicts import comment_merged_over_check, write_map_push_verdict
from bot.merge_queue import queued_pull_requests
from bot.metrics import Metrics
from bot.policy.commands import CommandOutcome, replay
from bot.policy.records import record_line
from bot.policy.render import (
    CheckOutput,
    GroupEntry,
    decided_by,
    render,
    render_merge_group,
    render_together,
)
from bot.policy.verdict import MapRef, Verdict
from bot.pr import (
    IssueRef,
    MapPushRef,
    MergedPullRequestRef,
    MergeGroupRef,
    PullRequestRef,
    WorkRef,
)
from bot.settings import Settings

log = logging.getLogger(__name__)


Outcome = Literal["created", "updated", "unchanged", "closed"]


@dataclass(frozen=True, slots=True)
class Evaluation:
    ref: WorkRef
    outcome: Outcome
    conclusion: str | None = None
    requested: tuple[str, ...] = ()  # reviewers asked by this evaluation
    map_ref: MapRef | None = None
    verdict: Verdict | None = None
    output: CheckOutput | None = None
    graphql_requests: int = 0
    answers: Answers | None = None  # reactions and reply written for commands and clicks
    clicks: tuple[CommandOutcome, ...] = ()  # button clicks judged by this evaluation
    edited_request: bool = False  # an edit turned a comment into an allowed `request`
    vote: VoteWrites | None = None  # the TSC vote this PR holds, and what was written for it


class Engine:
    def __init__(
        self,
        settings: Settings,
        session: aiohttp.ClientSession,
        metrics: Metrics,
        *,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        retry: RetryPolicy | None = None,
        client_factory: ClientFactory | None = None,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._clock = clock

        github_client = clients_on(
            session,
            metrics=metrics,
            base_url=settings.api_url,
            graphql_url=settings.graphql_url,
            retry=retry,
            sleep=sleep,
            clock=clock,
        )

        self.app = GitHubApp(
            app_id=settings.app_id,
            private_key=settings.private_key,
            client_factory=client_factory or github_client,
            metrics=metrics,
            clock=clock,
        )
        self.maps = MapSource(
            map_path=settings.map_path,
            bundled_map=settings.bundled_map,
            clock=clock,
            # The App's id is learnt by `start`: GITHUB_APP_ID may be the client ID.
            trust=MapTrust(graphql_url=settings.graphql_url, app_id=None),
        )
        self.pacer = Pacer()  # one pace for bulk re-evaluations: these sweeps, the repairs
        self.judge = Judge(
            maps=self.maps,
            graphql_url=settings.graphql_url,
            permissions=PermissionCache(timer=clock),
            app_id=None,  # learnt from GitHub by `start`: GITHUB_APP_ID may be the client ID
        )
        # Set by the app: evaluates a PR again when its open vote is due (bot.jobs.vote_timers).
        self.vote_timers: VoteTimers | None = None
        self.opening_maps = OpeningMaps(self.maps)

    async def start(self) -> None:
        """Learn the App's numeric id (`GET /app`): only the App's own check runs are its, on a
        pull request's head as on a map change's."""
        app_id = await self.app.numeric_id()
        self.judge.app_id = app_id
        trust = self.maps.trust
        if trust is not None and trust.app_id != app_id:
            self.maps.trust = dataclasses.replace(trust, app_id=app_id)

    async def evaluate(self, ref: WorkRef, intents: Intents = NO_INTENTS) -> Evaluation:
        """Judge one PR now and write the result: the check run, a review request if one is
        due, the answers to commands. `intents`: buttons clicked and comments edited since the
        last evaluation (see bot.intents). A merge group is judged PR by PR, written once."""
        if isinstance(ref, MergeGroupRef):
            return await self.evaluate_merge_group(ref)
        if isinstance(ref, IssueRef):
            return await self.evaluate_issue(ref)
        if isinstance(ref, MapPushRef | MergedPullRequestRef):
            return await self.evaluate_map_trust(ref)
        started = time.perf_counter()
        with log_context(repository=ref.repo_slug, pr=ref.number):
            result = await self._evaluate(ref, intents)
            answers = result.answers
            self._record(
                ref,
                result,
                started,
                requested=list(result.requested),
                reacted=list(answers.reacted) if answers else [],
                reply=answers.reply if answers else None,
                unmarked=list(answers.unmarked) if answers else [],
                clicks=[f"{c.author}:{c.kind}:{c.applied}" for c in result.clicks],
                edited_request=result.edited_request,
            )
        return result

    def _record(self, ref: WorkRef, result: Evaluation, started: float, **details: object) -> None:
        """Count the evaluation, time it, and log one line with what it did."""
        self._metrics.evaluations.labels(outcome=result.outcome).inc()
        self._metrics.evaluation_seconds.observe(time.perf_counter() - started)
        log.info(
            "evaluated %s: %s",
            ref,
            result.conclusion or result.outcome,
            extra={
                "outcome": result.outcome,
                "conclusion": result.conclusion,
                "map": result.map_ref.path if result.map_ref else None,
                "map_sha": result.map_ref.blob_sha if result.map_ref else None,
                "graphql_requests": result.graphql_requests,
                **details,
            },
        )

    async def _evaluate(self, ref: PullRequestRef, intents: Intents) -> Evaluation:
        await self.start()  # once: a cached id costs nothing; never a run of another App
        gh = await self.app.installation_client(ref.installation_id)
        now = datetime.fromtimestamp(self._clock(), UTC)
        snapshot = await self.judge.read(gh, owner=ref.owner, repo=ref.repo, number=ref.number)
        if snapshot.facts.state != "OPEN":  # a closed or merged PR keeps the check it had
            if snapshot.same_head:  # its head's run now belongs to the open PRs alone
                # Without this PR's clicks and edits: they were acts on this PR, not on that one.
                twin = replace(ref, number=snapshot.same_head[0])
                shared = await self._evaluate(twin, NO_INTENTS)
                reads = shared.graphql_requests + snapshot.graphql_requests
                return replace(shared, graphql_requests=reads)
            return Evaluation(ref, "closed", graphql_requests=snapshot.graphql_requests)
        chosen = await self.maps.map_for(
            gh,
            owner=ref.owner,
            repo=ref.repo,
            branch=snapshot.default_branch,
            hint=snapshot.base_map,
        )
        judged = await self.judge.decide(gh, snapshot, chosen, now=now, intents=intents)
        facts, verdict = judged.facts, judged.verdict
        # An allowed `request` asks even before the verdict needs a review; never a second
        # request while an eligible reviewer is pending (the plan decided both).
        asked = await request_reviewers(gh, facts, judged.plan)
        output = render(
            verdict,
            check_name=judged.check_name,
            requested=asked.requested or judged.plan.pending,
            no_candidate=judged.plan.no_candidate or asked.all_refused,
            waiting_on=judged.plan.waiting_on,
        )
        graphql_requests = snapshot.graphql_requests
        if snapshot.same_head or snapshot.same_head_unread:
            output, more = await self._with_same_head(gh, ref, judged, output, now)
            graphql_requests += more
        existing, duplicates = snapshot.runs_named(judged.check_name)
        outcome = await write_check_run(
            gh,
            owner=ref.owner,
            repo=ref.repo,
            head_sha=facts.head_sha,
            check_name=judged.check_name,
            output=output,
            existing=existing,
            duplicates=duplicates,
            now=now,
        )
        answers = vote = None
        if judged.map is not None:
            vote = await carry_out_vote(
                gh,
                facts,
                judged.map,
                map_ref=judged.map_ref,
                runs=snapshot.check_runs,
                declared={judged.map.key_of(d.login): d for d in verdict.declarations},
                now=now,
                map_path=self._settings.map_path,
                endpoint=self._settings.graphql_url,
                opening_maps=self.opening_maps,
                default_branch=snapshot.default_branch or None,
            )
            tally = vote.state.tally
            if vote.state.status == "open" and tally is not None and self.vote_timers is not None:
                self.vote_timers.arm(ref, tally.closes_at, now=now)
            kept = [act for act in verdict.refused_acts if act.keeps_declaration]
            # After the request: a `request` command keeps no reaction until it was carried out.
            answers = await answer_commands(
                gh,
                facts,
                (*verdict.command_outcomes, *vote.outcomes),
                prefix=judged.map.policy.command_prefix,
                endpoint=self._settings.graphql_url,
                refused_clicks=[outcome for outcome in judged.clicks if not outcome.applied],
                kept=kept,
                record=record_line(verdict.declarations) if kept else "",
            )
        return Evaluation(
            ref,
            outcome,
            conclusion=output.conclusion,
            requested=asked.requested,
            map_ref=judged.map_ref,
            verdict=verdict,
            output=output,
            graphql_requests=graphql_requests,
            answers=answers,
            clicks=judged.clicks,
            edited_request=judged.edited_request,
            vote=vote,
        )

    async def evaluate_issue(self, ref: IssueRef) -> Evaluation:
        """The vote an issue holds: its tally in one comment edited in place, answers to votes."""
        started = time.perf_counter()
        with log_context(repository=ref.repo_slug, pr=ref.number):  # one number space
            result = await self._evaluate_issue(ref)
            vote = result.vote
            self._record(ref, result, started, vote=vote.state.status if vote else None)
        return result

    async def _evaluate_issue(self, ref: IssueRef) -> Evaluation:
        await self.start()
        gh = await self.app.installation_client(ref.installation_id)
        now = datetime.fromtimestamp(self._clock(), UTC)
        facts = await read_issue(
            gh,
            owner=ref.owner,
            repo=ref.repo,
            number=ref.number,
            endpoint=self._settings.graphql_url,
        )
        if facts.state != "OPEN":
            return Evaluation(ref, "closed", graphql_requests=1)
        loaded, map_ref = await self.maps.map_for(
            gh,
            owner=ref.owner,
            repo=ref.repo,
            branch=facts.base_ref,  # the default branch
        )
        if loaded.map is None:  # a broken map decides no vote; the PRs' checks say why
            return Evaluation(ref, "unchanged", map_ref=map_ref, graphql_requests=1)
        # People are accounts: whoever took a member's freed login neither labels nor votes.
        amap = loaded.map.seen_as(facts.account_ids)
        declared = replay(facts, amap, writers=frozenset()).declarations
        vote = await carry_out_vote(
            gh,
            facts,
            amap,
            map_ref=map_ref,
            runs=(),
            declared=declared,
            now=now,
            map_path=self._settings.map_path,
            endpoint=self._settings.graphql_url,
            opening_maps=self.opening_maps,
            live_comment=True,
        )
        tally = vote.state.tally
        if vote.state.status == "open" and tally is not None and self.vote_timers is not None:
            self.vote_timers.arm(ref, tally.closes_at, now=now)
        answers = await answer_commands(
            gh,
            facts,
            vote.outcomes,
            prefix=amap.policy.command_prefix,
            endpoint=self._settings.graphql_url,
        )
        return Evaluation(
            ref,
            "updated" if vote.check in ("created", "updated") else "unchanged",
            map_ref=map_ref,
            graphql_requests=1,
            answers=answers,
            vote=vote,
        )

    async def _with_same_head(
        self,
        gh: gidgethub.abc.GitHubAPI,
        ref: PullRequestRef,
        judged: Judgement,
        output: CheckOutput,
        now: datetime,
    ) -> tuple[CheckOutput, int]:
        """Every open PR whose head is this commit shares its one check run: judge each now and
        write the worst, as for a merge group. Returns the output and the reads it took."""
        snapshot = judged.snapshot
        own = GroupEntry(ref.number, output.conclusion, output.title, output.summary)
        others, map_refs, requests = await self._judge_each(
            gh, ref.owner, ref.repo, snapshot.same_head, now=now, head_sha=judged.facts.head_sha
        )
        # By number: whichever PR's event wrote it, the run reads the same and is not rewritten.
        entries = sorted([own, *others], key=lambda entry: entry.number)
        if snapshot.same_head_unread:  # a PR left unread could be the one that must not pass
            why = f"more than {SAME_HEAD_LIMIT} pull requests contain this commit: not all judged"
            entries.append(_failed_entry(ref.number, "Too many pull requests share this head", why))
        if len(entries) == 1:  # the others moved on or closed since the snapshot
            return output, requests
        # The map line the reconciler reads back, when one map decided every PR.
        footer = decided_by(judged.map_ref) if map_refs <= {judged.map_ref} else ""
        together = render_together(
            entries, check_name=judged.check_name, place="with this head commit", footer=footer
        )
        return together, requests

    async def evaluate_merge_group(self, ref: MergeGroupRef) -> Evaluation:
        """Judge every PR of a merge group and write one check on the group's head commit."""
        started = time.perf_counter()
        with log_context(repository=ref.repo_slug):
            result, judged = await self._evaluate_merge_group(ref)
            self._record(
                ref,
                result,
                started,
                head_sha=ref.head_sha,
                pull_requests=[f"#{e.number}:{e.conclusion}" for e in judged],
            )
        return result

    async def _evaluate_merge_group(
        self, ref: MergeGroupRef
    ) -> tuple[Evaluation, list[GroupEntry]]:
        await self.start()
        gh = await self.app.installation_client(ref.installation_id)
        now = datetime.fromtimestamp(self._clock(), UTC)
        chosen = await self.maps.map_for(
            gh, owner=ref.owner, repo=ref.repo, branch=ref.default_branch
        )
        loaded, map_ref = chosen
        check_name = loaded.map.policy.check_name if loaded.map else DEFAULT_CHECK_NAME
        named = queued_pull_requests(ref.head_ref, base_ref=ref.base_ref) or ()
        contents, reads = await read_group_contents(
            gh, ref, named=named, endpoint=self._settings.graphql_url
        )
        numbers = contents.numbers if contents is not None else named
        entries, _, graphql_requests = await self._judge_each(
            gh, ref.owner, ref.repo, numbers, now=now, chosen_map=chosen
        )
        graphql_requests += reads
        if contents is not None and contents.incomplete:  # an unlisted PR could be failing
            why = "GitHub did not list every pull request of this group's commits"
            first = numbers[0] if numbers else 0
            entries.append(_failed_entry(first, "Not every pull request was read", why))
        output = render_merge_group(entries, check_name=check_name)
        existing, duplicates = await self._runs_on_head(gh, ref, check_name)
        outcome = await write_check_run(
            gh,
            owner=ref.owner,
            repo=ref.repo,
            head_sha=ref.head_sha,
            check_name=check_name,
            output=output,
            existing=existing,
            duplicates=duplicates,
            now=now,
            actions=(),
        )
        evaluation = Evaluation(
            ref,
            outcome,
            conclusion=output.conclusion,
            map_ref=map_ref,
            output=output,
            graphql_requests=graphql_requests,
        )
        return evaluation, entries

    async def _judge_each(
        self,
        gh: gidgethub.abc.GitHubAPI,
        owner: str,
        repo: str,
        numbers: Sequence[int],
        *,
        now: datetime,
        chosen_map: ChosenMap | None = None,
        head_sha: str | None = None,
    ) -> tuple[list[GroupEntry], set[MapRef], int]:
        """Judge PRs that share one check run, each as its own check would be (nobody is asked):
        their entries, the maps that decided them, and the GraphQL reads it took. `chosen_map`:
        one map for all (a merge group's base); `head_sha`: only PRs still open at that head
        count (the others have their own head and check)."""
        entries: list[GroupEntry] = []
        map_refs: set[MapRef] = set()
        graphql_requests = 0
        for number in numbers:
            try:
                judged = await self.judge.judge(
                    gh, owner=owner, repo=repo, number=number, now=now, chosen_map=chosen_map
                )
            except (SnapshotError, gidgethub.QueryError) as error:
                reason = _unreadable(error)
                if reason is None:
                    raise
                entries.append(_failed_entry(number, f"#{number} cannot be read", reason))
                continue
            graphql_requests += judged.snapshot.graphql_requests
            facts = judged.facts
            if head_sha is not None and (facts.state != "OPEN" or facts.head_sha != head_sha):
                continue
            # Merged keeps its verdict: a late redelivery must not fail the group's head, now
            # the base branch's tip.
            if facts.state == "CLOSED":
                why = f"#{number} is closed: it cannot be merged from this group."
                entries.append(_failed_entry(number, f"#{number} is closed", why))
                continue
            shown = render(
                judged.verdict,
                check_name=judged.check_name,
                requested=judged.plan.pending,
                no_candidate=judged.plan.no_candidate,
                waiting_on=judged.plan.waiting_on,
            )
            entries.append(GroupEntry(number, shown.conclusion, shown.title, shown.summary))
            map_refs.add(judged.map_ref)
        return entries, map_refs, graphql_requests

    async def evaluate_map_trust(self, ref: MapPushRef | MergedPullRequestRef) -> Evaluation:
        """The verdict on a map push, or the comment on a merge over the check (issue 22)."""
        started = time.perf_counter()
        with log_context(repository=ref.repo_slug):
            await self.start()
            gh = await self.app.installation_client(ref.installation_id)
            now = datetime.fromtimestamp(self._clock(), UTC)
            if isinstance(ref, MapPushRef):
                pushed = await write_map_push_verdict(
                    gh,
                    ref,
                    maps=self.maps,
                    graphql_url=self._settings.graphql_url,
                    app_id=self.judge.app_id,
                    now=now,
                )
                result = Evaluation(
                    ref,
                    pushed.written,
                    conclusion=pushed.output.conclusion,
                    output=pushed.output,
                    graphql_requests=pushed.graphql_requests,
                )
                self._record(ref, result, started, head_sha=ref.head_sha)
                return result
            said, reads = await comment_merged_over_check(gh, ref, judge=self.judge, now=now)
            result = Evaluation(ref, "closed", graphql_requests=reads)
            self._record(ref, result, started, merged_by=ref.merged_by, commented=bool(said))
            return result

    async def _runs_on_head(
        self, gh: gidgethub.abc.GitHubAPI, ref: MergeGroupRef, check_name: str
    ) -> tuple[ExistingCheckRun | None, tuple[ExistingCheckRun, ...]]:
        """The App's runs named `check_name` on the group's head: the oldest, and younger copies
        racing evaluations made (docs.github.com/en/rest/checks/runs, checks/list-for-ref)."""
        url_vars: dict[str, str | int] = {
            "owner": ref.owner,
            "repo": ref.repo,
            "ref": ref.head_sha,
            "check_name": check_name,
            "filter": "all",
            "per_page": 100,
        }
        url_vars["app_id"] = await self.app.numeric_id()
        # getitem, not getiter: the list sits under `check_runs` (STYLE.md); one page of 100
        # runs of one name on one commit is more than racing evaluations ever create.
        found = await gh.getitem(
            "/repos/{owner}/{repo}/commits/{ref}/check-runs{?check_name,filter,app_id,per_page}",
            url_vars,
        )
        runs = sorted(
            (
                ExistingCheckRun(
                    id=int(run["id"]),
                    external_id=run.get("external_id"),
                    conclusion=run.get("conclusion"),
                    name=str(run.get("name", "")),
                )
                for run in found.get("check_runs", ())
                if run.get("name") == check_name
            ),
            key=lambda run: run.id,
        )
        return (runs[0] if runs else None), tuple(runs[1:])

    async def open_pull_requests(
        self, installation_id: int, owner: str, repo: str
    ) -> list[PullRequestRef]:
        """The open PRs of one repository, for installation events and map pushes, once the
        pacer gives them their turn; none while the hour's budget is kept for live events (the
        reconciler finds them in a later cycle)."""
        gh = await self.app.installation_client(installation_id)
        pulls = gh.getiter(
            "/repos/{owner}/{repo}/pulls{?state,per_page}",
            {"owner": owner, "repo": repo, "state": "open", "per_page": 100},
        )
        refs = [
            PullRequestRef(installation_id, owner, repo, int(pr["number"])) async for pr in pulls
        ]
        if budget_low(gh, floor=self._settings.rate_limit_floor):
            log.warning(
                "%s/%s: %d open PRs left to the reconciler: the hour's budget is kept for live"
                " events",
                owner,
                repo,
                len(refs),
            )
            return []
        await self.pacer.take(len(refs))
        return refs

    async def installation_repositories(self, installation_id: int, owner: str) -> list[str]:
        """Names of the repositories of `owner` this installation can see that the owner's map
        governs: those with a map of their own on their default branch are left out."""
        gh = await self.app.installation_client(installation_id)
        repositories = gh.getiter(
            "/installation/repositories{?per_page}",
            {"per_page": 100},
            iterable_key="repositories",
        )
        names = [
            str(r["name"])
            async for r in repositories
            if str((r.get("owner") or {}).get("login", "")).lower() == owner.lower()
        ]
        blobs = await map_blobs(
            gh,
            [(owner, name) for name in names],
            map_path=self.maps.map_path,
            endpoint=self._settings.graphql_url,
        )
        return [
            name for name in names if name == OWNER_REPOSITORY or blobs.get((owner, name)) is None
        ]

    def map_changed(self, owner: str, repo: str) -> None:
        """Forget that a repository had no map, after a push that may have added one."""
        self.maps.forget(owner, repo)


def _failed_entry(number: int, title: str, why: str) -> GroupEntry:
    return GroupEntry(number, "failure", title, f"**failure**: {why}")


def _unreadable(error: Exception) -> str | None:
    """Why a PR cannot be read, for a PR that is gone or hidden; None for any other error."""
    if isinstance(error, SnapshotError):
        return str(error)
    errors = error.response.get("errors") if isinstance(error, gidgethub.QueryError) else None
    kinds = {e.get("type") for e in errors or () if isinstance(e, dict)}
    if kinds and kinds <= {"NOT_FOUND", "FORBIDDEN"}:
        messages = "; ".join(str(e.get("message", "")) for e in errors or () if isinstance(e, dict))
        return f"GitHub answered: {messages}"
    return None
