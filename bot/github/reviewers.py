"""The I/O side of reviewer requests: candidates' load in one GraphQL query, then one POST.

Whom to ask is `bot.policy.reviewers`' pure decision; this module only feeds it the load and
carries out the request (docs.github.com/en/rest/pulls/review-requests).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import gidgethub
import gidgethub.abc

from bot.github.errors import data_beside_not_found
from bot.github.queries import review_load_query
from bot.github.snapshot import profiles_of
from bot.policy.facts import LOGIN, Profile, PullRequestFacts
from bot.policy.reviewers import ReviewPlan, surplus_requests

logger = logging.getLogger(__name__)

# Candidates GitHub may refuse (e.g. not collaborators) before the check says nobody is left.
MAX_REFUSED_CANDIDATES = 5


@dataclass(frozen=True, slots=True)
class ReviewLoad:
    load: dict[str, int]  # open PRs awaiting each candidate's review
    asked_now: tuple[str, ...]  # whom this PR asks at the moment of the query
    profiles: tuple[Profile, ...] | None = None  # the candidates' profiles, when asked for
    # The numeric id GitHub shows for each candidate the map binds to an id; None: no such login.
    accounts: dict[str, int | None] = field(default_factory=dict)


async def review_load(
    gh: gidgethub.abc.GitHubAPI,
    facts: PullRequestFacts,
    logins: Sequence[str],
    *,
    endpoint: str,
    profiles: bool = False,
    accounts: Sequence[str] = (),
) -> ReviewLoad:
    """Each candidate's load and this PR's current requests, all in ONE GraphQL request;
    `profiles`: with each candidate's profile (a login GitHub does not know has none);
    `accounts`: the candidates whose numeric id to read (those the map binds to one)."""
    # Sorted, so that the same candidates always make the same document (cacheable, comparable).
    searchable = sorted({login for login in logins if LOGIN.match(login)})
    if not searchable:
        return ReviewLoad(load={}, asked_now=(), profiles=() if profiles else None)
    with_ids = sorted({login for login in accounts if login in searchable})
    try:
        data = await gh.graphql(
            review_load_query(searchable, profiles=profiles, accounts=with_ids),
            endpoint=endpoint,
            owner=facts.owner,
            name=facts.repo,
            number=facts.number,
        )
    except gidgethub.QueryError as error:
        if not (profiles or with_ids):
            raise
        data = data_beside_not_found(error)
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
    ids = {login: _account_id(data.get(f"a{i}")) for i, login in enumerate(with_ids)}
    if not profiles:
        return ReviewLoad(load=load, asked_now=asked_now, accounts=ids)
    found = profiles_of([data.get(f"p{i}") for i in range(len(searchable))])
    return ReviewLoad(load=load, asked_now=asked_now, profiles=found, accounts=ids)


def _account_id(user: object) -> int | None:
    """A user's numeric id; None when GitHub knows no account by that login (NOT_FOUND)."""
    found = user.get("databaseId") if isinstance(user, dict) else None
    return found if isinstance(found, int) else None


@dataclass(frozen=True, slots=True)
class Asked:
    requested: tuple[str, ...] = ()  # asked by this evaluation and still asked
    all_refused: bool = False  # GitHub refused every candidate tried: nobody is left


async def request_reviewers(
    gh: gidgethub.abc.GitHubAPI, facts: PullRequestFacts, plan: ReviewPlan
) -> Asked:
    """Ask whom the plan names; one GitHub refuses (422) gives way to the next in line."""
    if not plan.ask:
        return Asked()
    requested, pending = await _ask(gh, facts, plan)
    if not requested:
        return Asked(all_refused=True)
    withdrawn = await _withdraw_surplus(gh, facts, plan, pending)
    return Asked(requested=tuple(login for login in requested if login not in withdrawn))


REQUESTED_REVIEWERS = "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"


async def _ask(
    gh: gidgethub.abc.GitHubAPI, facts: PullRequestFacts, plan: ReviewPlan
) -> tuple[list[str], list[str]]:
    """(asked by this call, everyone the PR asks after it, from the last POST's answer)."""
    try:
        return list(plan.ask), await _post_request(gh, facts, plan.ask)
    except gidgethub.InvalidField:
        # 422: someone in the batch cannot review here (not a collaborator); ask one at a time.
        logger.warning("%s: batch review request refused; asking candidates one by one", facts.slug)
    requested: list[str] = []
    pending: list[str] = []
    for login in plan.ordered[: plan.count + MAX_REFUSED_CANDIDATES]:
        if len(requested) == plan.count:
            break
        try:
            pending = await _post_request(gh, facts, [login])
        except gidgethub.InvalidField as error:
            logger.warning("%s: GitHub refused to request @%s: %s", facts.slug, login, error)
            continue
        requested.append(login)
    return requested, pending


async def _withdraw_surplus(
    gh: gidgethub.abc.GitHubAPI, facts: PullRequestFacts, plan: ReviewPlan, pending: list[str]
) -> list[str]:
    """After asking: if a racing evaluation asked someone else too, keep one set, drop the rest."""
    surplus = surplus_requests(facts, pending, plan.ordered, count=plan.count)
    if surplus:
        logger.info("%s: withdrawing %s, asked by a racing evaluation", facts.slug, surplus)
        await gh.delete(REQUESTED_REVIEWERS, _url_vars(facts), data={"reviewers": surplus})
    return surplus


def _url_vars(facts: PullRequestFacts) -> dict[str, str | int]:
    return {"owner": facts.owner, "repo": facts.repo, "pull_number": facts.number}


async def _post_request(
    gh: gidgethub.abc.GitHubAPI, facts: PullRequestFacts, logins: Sequence[str]
) -> list[str]:
    """Ask `logins`; GitHub answers with the pull request, listing everyone it asks now."""
    pull = await gh.post(REQUESTED_REVIEWERS, _url_vars(facts), data={"reviewers": list(logins)})
    users = (pull.get("requested_reviewers") or []) if isinstance(pull, dict) else []
    return [user["login"] for user in users if isinstance(user, dict) and "login" in user]
