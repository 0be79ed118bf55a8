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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import aiohttp
import gidgethub.abc
from cachetools import LRUCache

from bot.affiliations.index import AffiliationMap
from bot.clicks import ButtonClick
from bot.edits import CommentEdit
from bot.github.auth import GitHubApp
from bot.github.checks import ACTIONS, write_check_run
from bot.github.client import Authorization, Clock, GitHubClient, RetryPolicy, Sleep
from bot.github.map_source import MapSource
from bot.github.permissions import PermissionCache
from bot.github.replies import Answers, answer_commands, new_request_asked
from bot.github.reviewers import NO_REQUEST, request_reviewers
from bot.github.snapshot import fetch_snapshot
from bot.logs import log_context
from bot.metrics import Metrics
from bot.policy.commands import (
    CommandOutcome,
    button_needs_write_check,
    holds_request,
    judge_button,
    logins_needing_write_check,
)
from bot.policy.facts import Comment, PullRequestFacts
from bot.policy.render import CheckOutput, render
from bot.policy.verdict import MapRef, Verdict, evaluate, map_failure
from bot.pr import PullRequestRef
from bot.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_CHECK_NAME = "COI review"
ETAG_CACHE_ENTRIES = 512  # per installation: maps and PR listings, a few KB each

ClientFactory = Callable[[Authorization], gidgethub.abc.GitHubAPI]
BUTTON_LABELS = {action["identifier"]: action["label"] for action in ACTIONS}
Outcome = Literal["created", "updated", "unchanged", "closed", "dry-run"]


@dataclass(frozen=True, slots=True)
class Evaluation:
    ref: PullRequestRef
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


def edited_comment(facts: PullRequestFacts, edit: CommentEdit) -> Comment | None:
    """The edited comment as the PR's snapshot has it now; None once it is deleted."""
    for comment in facts.comments:
        if comment.database_id == edit.comment_id or (
            edit.node_id is not None and comment.id == edit.node_id
        ):
            return comment
    return None


def request_added_by_edit(
    facts: PullRequestFacts,
    outcomes: Sequence[CommandOutcome],
    edits: Sequence[CommentEdit],
    *,
    prefix: str,
) -> bool:
    """An edit turned a comment without a `request` into one whose `request` is allowed.

    Judged like a fresh command by the comment's author (the replay's outcome); the App's `+1`
    from the comment's earlier command must not mark this new request as carried out."""
    allowed = {outcome.comment_id for outcome in outcomes if outcome.wants_request}
    for edit in edits:
        comment = edited_comment(facts, edit)
        if (
            comment is not None
            and comment.id in allowed
            and not holds_request(edit.previous_body, prefix=prefix)
        ):
            return True
    return False


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

        def github_client(authorization: Authorization) -> gidgethub.abc.GitHubAPI:
            return GitHubClient(
                session,
                metrics=metrics,
                base_url=settings.api_url,
                graphql_url=settings.graphql_url,
                authorization=authorization,
                retry=retry,
                sleep=sleep,
                clock=clock,
                cache=LRUCache(maxsize=ETAG_CACHE_ENTRIES),
            )

        self.app = GitHubApp(
            app_id=settings.app_id,
            private_key=settings.private_key,
            client_factory=client_factory or github_client,
            metrics=metrics,
            clock=clock,
        )
        self.maps = MapSource(
            map_path=settings.map_path, bundled_map=settings.bundled_map, clock=clock
        )
        # The check name comes from the map, which is read after the snapshot that looks the
        # run up by name: remember each repository's last name for the next lookup.
        self._check_names: dict[tuple[str, str], str] = {}
        self._app_id = int(settings.app_id) if settings.app_id.isdigit() else None
        self.permissions = PermissionCache(timer=clock)

    async def evaluate(
        self,
        ref: PullRequestRef,
        *,
        write: bool = True,
        clicks: Sequence[ButtonClick] = (),
        edits: Sequence[CommentEdit] = (),
    ) -> Evaluation:
        """Evaluate one PR now; with `write=False` nothing is written (`coi-bot check`).

        `clicks`: check-run buttons clicked since the last evaluation, honoured only for people
        allowed to run the matching command. `edits`: comments edited since then, each with its
        text before the edit, so that one edited into a `request` asks like a fresh command."""
        started = time.perf_counter()
        with log_context(repository=ref.repo_slug, pr=ref.number):
            result = await self._evaluate(
                ref, write=write, clicks=tuple(clicks), edits=tuple(edits)
            )
            self._metrics.evaluations.labels(outcome=result.outcome).inc()
            self._metrics.evaluation_seconds.observe(time.perf_counter() - started)
            log.info(
                "evaluated %s: %s",
                ref,
                result.conclusion or result.outcome,
                extra={
                    "outcome": result.outcome,
                    "conclusion": result.conclusion,
                    "requested": list(result.requested),
                    "map": result.map_ref.path if result.map_ref else None,
                    "map_sha": result.map_ref.blob_sha if result.map_ref else None,
                    "graphql_requests": result.graphql_requests,
                    "reacted": list(result.answers.reacted) if result.answers else [],
                    "reply": result.answers.reply if result.answers else None,
                    "unmarked": list(result.answers.unmarked) if result.answers else [],
                    "clicks": [f"{c.author}:{c.kind}:{c.applied}" for c in result.clicks],
                    "edited_request": result.edited_request,
                },
            )
        return result

    async def _writers(
        self,
        gh: gidgethub.abc.GitHubAPI,
        facts: PullRequestFacts,
        amap: AffiliationMap,
        clicks: tuple[ButtonClick, ...],
    ) -> frozenset[str]:
        """Write access of exactly those commenters and clickers the map does not settle."""
        logins = set(logins_needing_write_check(facts, amap))
        logins.update(
            click.login
            for click in clicks
            if button_needs_write_check(facts, amap, login=click.login)
        )
        if not logins:
            return frozenset()
        return await self.permissions.writers(gh, owner=facts.owner, repo=facts.repo, logins=logins)

    async def _evaluate(
        self,
        ref: PullRequestRef,
        *,
        write: bool,
        clicks: tuple[ButtonClick, ...],
        edits: tuple[CommentEdit, ...],
    ) -> Evaluation:
        gh = await self.app.installation_client(ref.installation_id)
        repo_key = (ref.owner, ref.repo)
        queried_name = self._check_names.get(repo_key, DEFAULT_CHECK_NAME)
        snapshot = await fetch_snapshot(
            gh,
            owner=ref.owner,
            repo=ref.repo,
            number=ref.number,
            endpoint=self._settings.graphql_url,
            map_path=self._settings.map_path,
            check_name=queried_name,
            app_id=self._app_id,
        )
        facts = snapshot.facts
        if facts.state != "OPEN":  # a closed or merged PR keeps the check it had
            return Evaluation(ref, "closed", graphql_requests=snapshot.graphql_requests)
        loaded, map_ref = await self.maps.map_for(
            gh, owner=ref.owner, repo=ref.repo, base_ref=facts.base_ref, hint=snapshot.base_map
        )
        now = datetime.fromtimestamp(self._clock(), UTC)
        amap = loaded.map
        request = NO_REQUEST
        judged_clicks: tuple[CommandOutcome, ...] = ()
        edited_request = False
        if amap is None:
            # A broken map in force fails the check: never a silent pass.
            verdict = map_failure(facts, loaded.errors, map_ref=map_ref, now=now)
            check_name = queried_name
        else:
            writers = await self._writers(gh, facts, amap, clicks)
            verdict = evaluate(facts, amap, now=now, map_ref=map_ref, writers=writers)
            check_name = amap.policy.check_name
            judged_clicks = tuple(
                judge_button(
                    facts,
                    amap,
                    login=click.login,
                    kind=click.identifier,
                    label=BUTTON_LABELS[click.identifier],
                    writers=writers,
                )
                for click in clicks
            )
            edited_request = request_added_by_edit(
                facts, verdict.command_outcomes, edits, prefix=amap.policy.command_prefix
            )
            asked = (
                new_request_asked(facts, verdict.command_outcomes)
                or edited_request
                or any(outcome.applied and outcome.kind == "request" for outcome in judged_clicks)
            )
            if write:
                # An allowed `request` asks now, even before the verdict needs a review; it
                # still never adds a second request while an eligible reviewer is pending.
                wanted = (
                    dataclasses.replace(verdict, needs_independent_review=True)
                    if asked and not verdict.needs_independent_review
                    else verdict
                )
                request = await request_reviewers(
                    gh, facts, amap, wanted, endpoint=self._settings.graphql_url, now=now
                )
        self._check_names[repo_key] = check_name
        output = render(
            verdict,
            check_name=check_name,
            requested=request.shown,
            no_candidate=request.no_candidate,
        )
        outcome: Outcome = "dry-run"
        if write:
            outcome = await write_check_run(
                gh,
                owner=ref.owner,
                repo=ref.repo,
                head_sha=facts.head_sha,
                check_name=check_name,
                output=output,
                existing=snapshot.check_run if check_name == queried_name else None,
                duplicates=snapshot.duplicate_check_runs if check_name == queried_name else (),
                now=now,
            )
        answers = None
        if write and amap is not None:
            # After the request: a `request` command keeps no reaction until it was carried out.
            answers = await answer_commands(
                gh,
                facts,
                verdict.command_outcomes,
                prefix=amap.policy.command_prefix,
                endpoint=self._settings.graphql_url,
                refused_clicks=[outcome for outcome in judged_clicks if not outcome.applied],
            )
        return Evaluation(
            ref,
            outcome,
            conclusion=verdict.conclusion,
            requested=request.requested,
            map_ref=map_ref,
            verdict=verdict,
            output=output,
            graphql_requests=snapshot.graphql_requests,
            answers=answers,
            clicks=judged_clicks,
            edited_request=edited_request,
        )

    async def open_pull_requests(
        self, installation_id: int, owner: str, repo: str
    ) -> list[PullRequestRef]:
        """The open PRs of one repository, for installation events and map pushes."""
        gh = await self.app.installation_client(installation_id)
        pulls = gh.getiter(
            "/repos/{owner}/{repo}/pulls{?state,per_page}",
            {"owner": owner, "repo": repo, "state": "open", "per_page": 100},
        )
        return [
            PullRequestRef(installation_id, owner, repo, int(pr["number"])) async for pr in pulls
        ]

    async def installation_repositories(self, installation_id: int, owner: str) -> list[str]:
        """Names of the repositories of `owner` this installation can see."""
        gh = await self.app.installation_client(installation_id)
        repositories = gh.getiter(
            "/installation/repositories{?per_page}",
            {"per_page": 100},
            iterable_key="repositories",
        )
        return [
            r["name"]
            async for r in repositories
            if str((r.get("owner") or {}).get("login", "")).lower() == owner.lower()
        ]

    def map_changed(self, owner: str, repo: str) -> None:
        """Forget that a repository had no map, after a push that may have added one."""
        self.maps.forget(owner, repo)
