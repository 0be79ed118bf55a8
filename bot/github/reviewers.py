"""The I/O side of reviewer requests: candidates' load in one GraphQL query, then one POST.

Whom to ask is `bot.policy.reviewers`' pure decision; this module only feeds it the load and
carries out the request (docs.github.com/en/rest/pulls/review-requests).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import gidgethub
import gidgethub.abc

from bot.affiliations.index import AffiliationMap
from bot.github.queries import review_load_query
from bot.policy.facts import PullRequestFacts
from bot.policy.reviewers import choose_reviewers, reviewer_candidates, surplus_requests
from bot.policy.verdict import Verdict

logger = logging.getLogger(__name__)

# Candidates GitHub may refuse (e.g. not collaborators) before the check says nobody is left.
MAX_REFUSED_CANDIDATES = 5

# A GitHub user login; anything else cannot be a reviewer and must not reach the query text.
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")


@dataclass(frozen=True, slots=True)
class ReviewerRequest:
    requested: tuple[str, ...]  # asked by this evaluation
    pending: tuple[str, ...]  # eligible reviewers already asked earlier
    no_candidate: bool = False  # a review is needed and nobody eligible is left to ask

    @property
    def shown(self) -> tuple[str, ...]:
        """Who the check run says was asked: stable across evaluations while nothing changes."""
        return self.requested or self.pending


NO_REQUEST = ReviewerRequest(requested=(), pending=())


@dataclass(frozen=True, slots=True)
class ReviewLoad:
    load: dict[str, int]  # open PRs awaiting each candidate's review
    asked_now: tuple[str, ...]  # whom this PR asks at the moment of the query


async def review_load(
    gh: gidgethub.abc.GitHubAPI, facts: PullRequestFacts, logins: Sequence[str], *, endpoint: str
) -> ReviewLoad:
    """Each candidate's load and this PR's current requests, all in ONE GraphQL request."""
    # Sorted, so that the same candidates always make the same document (cacheable, comparable).
    searchable = sorted({login for login in logins if _LOGIN.match(login)})
    if not searchable:
        return ReviewLoad(load={}, asked_now=())
    data = await gh.graphql(
        review_load_query(searchable),
        endpoint=endpoint,
        owner=facts.owner,
        name=facts.repo,
        number=facts.number,
    )
    pull = ((data.get("pending") or {}).get("pullRequest")) or {}
    nodes = (pull.get("reviewRequests") or {}).get("nodes") or []
    asked_now = tuple(
        reviewer["login"]
        for node in nodes
        if isinstance(reviewer := (node or {}).get("requestedReviewer"), dict)
        and isinstance(reviewer.get("login"), str)
    )
    load = {
        login: int((data.get(f"c{i}") or {}).get("issueCount", 0))
        for i, login in enumerate(searchable)
    }
    return ReviewLoad(load=load, asked_now=asked_now)


@dataclass(frozen=True, slots=True)
class RequestPlan:
    """Whom an evaluation would ask, decided before anything is written."""

    ordered: tuple[str, ...]  # best first; those past `count` stand in if GitHub refuses one
    count: int
    pending: tuple[str, ...]  # eligible reviewers already asked
    no_candidate: bool  # a review is needed and nobody eligible is left to ask


async def plan_request(
    gh: gidgethub.abc.GitHubAPI,
    facts: PullRequestFacts,
    amap: AffiliationMap,
    verdict: Verdict,
    *,
    endpoint: str,
    now: datetime,
) -> RequestPlan:
    """The policy's order of candidates, with their load read in one query only when one is due.

    Drafts and closed PRs are evaluated but nobody is asked; nobody is asked while an eligible
    reviewer is pending; the author is never asked (GitHub answers 422).
    """
    count = amap.policy.request_reviewers
    if facts.draft or facts.state != "OPEN":
        return RequestPlan(ordered=(), count=count, pending=(), no_candidate=False)
    candidates = reviewer_candidates(facts, amap, verdict, load={}, now=now)
    pending = tuple(
        login
        for login in facts.requested_reviewers
        if (amap.login_of(login) or login.lower()) in candidates
    )
    if not choose_reviewers(facts, amap, verdict, load={}, now=now, count=count):
        protected_short = verdict.protected is not None and not verdict.protected.satisfied
        needed = verdict.needs_independent_review or protected_short
        # not due, or one is pending, or nobody is left (the check then asks the TSC to act)
        no_candidate = needed and not candidates and count > 0
        return RequestPlan(ordered=(), count=count, pending=pending, no_candidate=no_candidate)
    found = await review_load(gh, facts, candidates, endpoint=endpoint)
    wanted = {login.lower() for login in candidates}
    racing = tuple(login for login in found.asked_now if login.lower() in wanted)
    if racing:  # a racing evaluation asked since our snapshot: nothing more to ask
        return RequestPlan(ordered=(), count=count, pending=racing, no_candidate=False)
    load = found.load
    ordered = tuple(
        login
        for login in choose_reviewers(
            facts, amap, verdict, load=load, now=now, count=len(candidates)
        )
        if not facts.opener or login.lower() != facts.opener.lower()
    )
    return RequestPlan(ordered=ordered, count=count, pending=(), no_candidate=not ordered)


async def request_reviewers(
    gh: gidgethub.abc.GitHubAPI,
    facts: PullRequestFacts,
    amap: AffiliationMap,
    verdict: Verdict,
    *,
    endpoint: str,
    now: datetime,
) -> ReviewerRequest:
    """Ask the planned reviewers; one GitHub refuses (422) gives way to the next in line."""
    plan = await plan_request(gh, facts, amap, verdict, endpoint=endpoint, now=now)
    if not plan.ordered:
        return ReviewerRequest(requested=(), pending=plan.pending, no_candidate=plan.no_candidate)
    requested = await _ask(gh, facts, plan)
    if not requested:
        return ReviewerRequest(requested=(), pending=(), no_candidate=True)
    withdrawn = await _withdraw_surplus(gh, facts, plan)
    kept = tuple(login for login in requested if login not in withdrawn)
    return ReviewerRequest(requested=kept, pending=())


async def _ask(
    gh: gidgethub.abc.GitHubAPI, facts: PullRequestFacts, plan: RequestPlan
) -> list[str]:
    count = plan.count
    try:
        await _post_request(gh, facts, plan.ordered[:count])
        return list(plan.ordered[:count])
    except gidgethub.InvalidField:
        # 422: someone in the batch cannot review here (not a collaborator); ask one at a time.
        logger.warning("%s: batch review request refused; asking candidates one by one", facts.slug)
    requested: list[str] = []
    for login in plan.ordered[: count + MAX_REFUSED_CANDIDATES]:
        if len(requested) == count:
            break
        try:
            await _post_request(gh, facts, [login])
        except gidgethub.InvalidField as error:
            logger.warning("%s: GitHub refused to request @%s: %s", facts.slug, login, error)
            continue
        requested.append(login)
    return requested


async def _withdraw_surplus(
    gh: gidgethub.abc.GitHubAPI, facts: PullRequestFacts, plan: RequestPlan
) -> list[str]:
    """After asking: if a racing evaluation asked someone else too, keep one set, drop the rest."""
    url_vars: dict[str, str | int] = {
        "owner": facts.owner,
        "repo": facts.repo,
        "pull_number": facts.number,
    }
    url = "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"
    pending = await gh.getitem(url, url_vars)
    logins = [user["login"] for user in pending.get("users") or [] if "login" in user]
    surplus = surplus_requests(facts, logins, plan.ordered, count=plan.count)
    if surplus:
        logger.info("%s: withdrawing %s, asked by a racing evaluation", facts.slug, surplus)
        await gh.delete(url, url_vars, data={"reviewers": surplus})
    return surplus


async def _post_request(
    gh: gidgethub.abc.GitHubAPI, facts: PullRequestFacts, logins: Sequence[str]
) -> None:
    await gh.post(
        "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
        {"owner": facts.owner, "repo": facts.repo, "pull_number": facts.number},
        data={"reviewers": list(logins)},
    )
