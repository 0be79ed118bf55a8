"""Read a pull request and judge it: the one path the App, `check`, `report` and merge queues share.

`judge` reads the PR's facts (one GraphQL snapshot, pages beyond 100 items), takes the map in
force on the default branch whatever the PR's base (or the map given), looks up write access only
where the map cannot settle a command, decides the verdict, judges the buttons clicked, and plans
whom to ask for a review, reading the candidates' load only when a request is due. It writes
nothing: the caller carries out what it decided (the engine writes, `check` prints, `report`
counts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import gidgethub.abc

from bot.affiliations.index import AffiliationMap
from bot.affiliations.loader import LoadResult
from bot.affiliations.model import DEFAULT_CHECK_NAME
from bot.github.checks import ACTIONS
from bot.github.map_check import MapChecks
from bot.github.map_source import MapSource
from bot.github.permissions import PermissionCache
from bot.github.reviewers import review_load
from bot.github.snapshot import Snapshot, fetch_snapshot
from bot.intents import NO_INTENTS, ButtonClick, Intents
from bot.policy.commands import (
    CommandOutcome,
    button_needs_write_check,
    judge_button,
    logins_needing_write_check,
    request_added_by_edit,
)
from bot.policy.facts import Profile, PullRequestFacts
from bot.policy.reviewers import NO_PLAN, ReviewPlan, plan_review_request
from bot.policy.verdict import MapRef, Verdict, evaluate, map_failure

BUTTON_LABELS = {action["identifier"]: action["label"] for action in ACTIONS}

# A map chosen by the caller instead of the one in force (`check --map`, the report's map at a
# merge): the loaded map and where it is said to come from.
ChosenMap = tuple[LoadResult, MapRef]


@dataclass(frozen=True, slots=True)
class Judgement:
    """Everything one reading of a PR decided, before anything is written."""

    snapshot: Snapshot
    verdict: Verdict
    map_ref: MapRef
    map: AffiliationMap | None  # None when the map in force is broken (the verdict fails)
    plan: ReviewPlan = NO_PLAN
    clicks: tuple[CommandOutcome, ...] = ()  # button clicks, judged as their commands
    edited_request: bool = False  # an edit turned a comment into an allowed `request`

    @property
    def facts(self) -> PullRequestFacts:
        return self.snapshot.facts

    @property
    def check_name(self) -> str:
        return self.map.policy.check_name if self.map is not None else DEFAULT_CHECK_NAME


class Judge:
    """The reading and judging shared by every caller; holds the map and permission caches."""

    def __init__(
        self,
        *,
        maps: MapSource,
        graphql_url: str,
        permissions: PermissionCache | None = None,
        app_id: int | None = None,
        map_checks: MapChecks | None = None,
    ) -> None:
        self.maps = maps
        # A PR's own map is checked in a worker process, once per blob (bot/github/map_check.py).
        self.map_checks = map_checks if map_checks is not None else MapChecks()
        self.graphql_url = graphql_url
        self.permissions = permissions if permissions is not None else PermissionCache()
        self.app_id = app_id

    async def read(
        self,
        gh: gidgethub.abc.GitHubAPI,
        *,
        owner: str,
        repo: str,
        number: int,
        merged: bool = False,
    ) -> Snapshot:
        return await fetch_snapshot(
            gh,
            owner=owner,
            repo=repo,
            number=number,
            endpoint=self.graphql_url,
            map_path=self.maps.map_path,
            app_id=self.app_id,
            merged=merged,
        )

    async def judge(
        self,
        gh: gidgethub.abc.GitHubAPI,
        *,
        owner: str,
        repo: str,
        number: int,
        now: datetime,
        intents: Intents = NO_INTENTS,
        chosen_map: ChosenMap | None = None,
    ) -> Judgement:
        """Read the open PR and judge it now, by the default branch's map or `chosen_map`."""
        snapshot = await self.read(gh, owner=owner, repo=repo, number=number)
        if chosen_map is None:
            chosen_map = await self.maps.map_for(
                gh, owner=owner, repo=repo, branch=snapshot.default_branch, hint=snapshot.base_map
            )
        return await self.decide(gh, snapshot, chosen_map, now=now, intents=intents)

    async def decide(
        self,
        gh: gidgethub.abc.GitHubAPI,
        snapshot: Snapshot,
        chosen_map: ChosenMap,
        *,
        now: datetime,
        intents: Intents = NO_INTENTS,
        facts: PullRequestFacts | None = None,
        plan: bool = True,
    ) -> Judgement:
        """Judge what was read. `facts`: the snapshot's facts as of another moment (the report
        drops what came after a merge); `plan=False`: whom to ask is not wanted, and write access
        is not looked up (the report cannot know who had it then)."""
        loaded, map_ref = chosen_map
        facts = facts if facts is not None else snapshot.facts
        if loaded.map is None:  # a broken map in force fails the check: never a silent pass
            verdict = map_failure(facts, loaded.errors, map_ref=map_ref, now=now)
            return Judgement(snapshot, verdict, map_ref, None)
        # People are accounts: the map as the accounts this PR names show it (renames, reuse).
        amap = loaded.map.seen_as(facts.account_ids)
        writers = await self._writers(gh, facts, amap, intents.clicks) if plan else frozenset()
        head_map = await self.map_checks.check(facts.head_map) if facts.head_map else None
        verdict = evaluate(
            facts,
            amap,
            now=now,
            map_ref=map_ref,
            writers=writers,
            head_map=head_map,
            map_path=self.maps.map_path,
        )
        if not plan:
            return Judgement(snapshot, verdict, map_ref, amap)
        clicks = tuple(
            judge_button(
                facts,
                amap,
                login=click.login,
                kind=click.identifier,
                label=BUTTON_LABELS[click.identifier],
                writers=writers,
            )
            for click in intents.clicks
        )

        def plan_with(
            load: Mapping[str, int] | None,
            asked_now: Sequence[str] = (),
            profiles: Sequence[Profile] | None = None,
            seen: AffiliationMap = amap,
        ) -> ReviewPlan:
            return plan_review_request(
                facts,
                seen,
                verdict,
                now=now,
                commands=verdict.command_outcomes,
                clicks=clicks,
                edits=intents.edits,
                load=load,
                asked_now=asked_now,
                profiles=profiles,
            )

        review_plan = plan_with(None)
        if review_plan.needs_load:  # a request is due: one query for the candidates' load
            # Under `evidence: block` GitHub's evidence decides independence: read the profiles.
            found = await review_load(
                gh,
                facts,
                review_plan.needs_load,
                endpoint=self.graphql_url,
                profiles=amap.policy.evidence == "block",
                accounts=[login for login in review_plan.needs_load if _bound_to_id(amap, login)],
            )
            # A candidate's login GitHub shows with another id (or none) is never asked.
            seen = amap.seen_as({**facts.account_ids, **found.accounts})
            review_plan = plan_with(found.load, found.asked_now, found.profiles, seen)
            # The summary says why a member bound to an id was not asked under their login.
            verdict = replace(verdict, accounts=seen.account_notes)
        edited = request_added_by_edit(
            facts, verdict.command_outcomes, intents.edits, prefix=amap.policy.command_prefix
        )
        return Judgement(snapshot, verdict, map_ref, amap, review_plan, clicks, edited)

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


def _bound_to_id(amap: AffiliationMap, login: str) -> bool:
    person = amap.person(login)
    return person is not None and person.id is not None
