"""The TSC votes of a period for `report`: on open, closed and merged PRs and on issues.

A vote opens with a label, so the PRs and issues updated since the period began (a vote's
opening and its close each bring an App comment, which updates its thread) are listed, newest
update first, with their label additions: one GraphQL read per 50 (1 point). Those that ever
had the vote label are read once more (1 point each, and 1 per further 100 comments): their
comments, among which the App's record each vote (bot/policy/vote_records.py), and on a PR the
live tally of its head's `TSC vote` run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import gidgethub.abc

from bot.affiliations.model import Votes
from bot.github.map_source import MapSource
from bot.github.queries import COMMENTS, ISSUE_COMMENTS_PAGE, PAGE_QUERIES
from bot.github.snapshot import _comment, _page_info
from bot.github.times import github_time
from bot.policy.vote_records import HeldVote, held_votes, records_of_another

Kind = Literal["pull request", "issue"]
THREADS_PER_PAGE = 50

_CANDIDATE = (
    "number title url state updatedAt "
    "labelAdds: timelineItems(itemTypes: [LABELED_EVENT], first: 50) { "
    "nodes { ... on LabeledEvent { label { name } } } }"
)
VOTE_ISSUES = f"""
query VoteIssues($owner: String!, $name: String!, $since: DateTime!, $after: String) {{
  rateLimit {{ limit remaining }}
  repository(owner: $owner, name: $name) {{
    threads: issues(first: {THREADS_PER_PAGE}, after: $after, filterBy: {{since: $since}},
                    orderBy: {{field: UPDATED_AT, direction: DESC}}) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ {_CANDIDATE} }}
    }}
  }}
}}
"""
VOTE_PULLS = f"""
query VotePulls($owner: String!, $name: String!, $after: String) {{
  rateLimit {{ limit remaining }}
  repository(owner: $owner, name: $name) {{
    threads: pullRequests(first: {THREADS_PER_PAGE}, after: $after,
                          orderBy: {{field: UPDATED_AT, direction: DESC}}) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ {_CANDIDATE} }}
    }}
  }}
}}
"""
DEFAULT_BRANCH = """
query DefaultBranch($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) { defaultBranchRef { name } }
}
"""


ISSUE_VOTES = f"""
query IssueVotes($owner: String!, $name: String!, $number: Int!) {{
  repository(owner: $owner, name: $name) {{
    thread: issue(number: $number) {{ comments(first: 100) {{ {COMMENTS} }} }}
  }}
}}
"""
PULL_VOTES = f"""
query PullVotes($owner: String!, $name: String!, $number: Int!, $appId: Int,
                $checkName: String!) {{
  repository(owner: $owner, name: $name) {{
    thread: pullRequest(number: $number) {{
      comments(first: 100) {{ {COMMENTS} }}
      headCommit: commits(last: 1) {{ nodes {{ commit {{
        checkSuites(first: 1, filterBy: {{appId: $appId}}) {{ nodes {{
          checkRuns(first: 1, filterBy: {{checkName: $checkName}}) {{ nodes {{ title summary }} }}
        }} }}
      }} }} }}
    }}
  }}
}}
"""


@dataclass(frozen=True, slots=True)
class VoteThread:
    """A PR or issue that held a vote in the period, and that vote."""

    kind: Kind
    number: int
    title: str
    url: str
    state: str  # open, closed, merged
    vote: HeldVote


@dataclass(frozen=True, slots=True)
class VotesOfPeriod:
    threads: tuple[VoteThread, ...]
    # Threads whose vote records a bot other than the reader wrote: not counted (see
    # `records_of_another`); the report says so, never a silent "no vote".
    unattributed: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class _Candidate:
    kind: Kind
    number: int
    title: str
    url: str
    state: str  # open, closed, merged


async def _threads(
    gh: gidgethub.abc.GitHubAPI,
    query: str,
    *,
    kind: Kind,
    label: str,
    since: datetime,
    endpoint: str,
    variables: Mapping[str, Any],
) -> AsyncIterator[_Candidate]:
    """The threads updated since `since` that ever had the vote label, newest update first."""
    cursor: str | None = None
    while True:
        data = await gh.graphql(query, endpoint=endpoint, after=cursor, **variables)
        page = ((data.get("repository") or {}).get("threads")) or {}
        for node in page.get("nodes") or []:
            if not node:
                continue
            if github_time(node["updatedAt"]) < since:
                return  # newest first: the rest were not updated in the period
            adds = ((node.get("labelAdds") or {}).get("nodes")) or []
            names = {((add or {}).get("label") or {}).get("name", "").casefold() for add in adds}
            if label.casefold() in names:
                number, title, url = int(node["number"]), str(node["title"]), str(node["url"])
                yield _Candidate(kind, number, title, url, str(node["state"]).lower())
        info = page.get("pageInfo") or {}
        if not info.get("hasNextPage"):
            return
        cursor = info.get("endCursor")


async def _votes_in_force(
    gh: gidgethub.abc.GitHubAPI, maps: MapSource, *, owner: str, repo: str, endpoint: str
) -> Votes:
    """The vote settings of the map in force on the default branch (the label, the run's name)."""
    data = await gh.graphql(DEFAULT_BRANCH, endpoint=endpoint, owner=owner, name=repo)
    branch = ((data.get("repository") or {}).get("defaultBranchRef") or {}).get("name")
    loaded, _ = await maps.map_for(gh, owner=owner, repo=repo, branch=str(branch or ""))
    return loaded.map.policy.votes if loaded.map is not None else Votes()


async def votes_of_period(
    gh: gidgethub.abc.GitHubAPI,
    maps: MapSource,
    *,
    owner: str,
    repo: str,
    since: datetime,
    until: datetime,
    endpoint: str,
    app_id: int,
) -> VotesOfPeriod:
    """Every vote that opened or closed in [since, until), on PRs and on issues."""
    votes = await _votes_in_force(gh, maps, owner=owner, repo=repo, endpoint=endpoint)
    common = {"owner": owner, "name": repo}
    found: list[VoteThread] = []
    unattributed: list[int] = []
    listings: tuple[tuple[Kind, str, Mapping[str, Any]], ...] = (
        ("issue", VOTE_ISSUES, {**common, "since": since.isoformat()}),
        ("pull request", VOTE_PULLS, common),
    )
    for kind, listing, variables in listings:
        async for candidate in _threads(
            gh,
            listing,
            kind=kind,
            label=votes.label,
            since=since,
            endpoint=endpoint,
            variables=variables,
        ):
            held, foreign = await _held(gh, candidate, votes, common, endpoint, app_id)
            if foreign and not held:
                unattributed.append(candidate.number)
            found += [
                VoteThread(**dataclasses.asdict(candidate), vote=vote)
                for vote in held
                if vote.in_period(since, until)
            ]
    return VotesOfPeriod(
        tuple(sorted(found, key=lambda thread: (thread.vote.opened_at, thread.number))),
        tuple(sorted(unattributed)),
    )


async def _held(
    gh: gidgethub.abc.GitHubAPI,
    candidate: _Candidate,
    votes: Votes,
    common: Mapping[str, Any],
    endpoint: str,
    app_id: int,
) -> tuple[tuple[HeldVote, ...], bool]:
    """The votes the App's comments record, and whether another bot's comments record some."""
    if candidate.kind == "issue":
        data = await gh.graphql(ISSUE_VOTES, endpoint=endpoint, number=candidate.number, **common)
    else:
        data = await gh.graphql(
            PULL_VOTES,
            endpoint=endpoint,
            number=candidate.number,
            appId=app_id,
            checkName=votes.check_name,
            **common,
        )
    thread = ((data.get("repository") or {}).get("thread")) or {}
    nodes = list(((thread.get("comments") or {}).get("nodes")) or [])
    page_query = ISSUE_COMMENTS_PAGE if candidate.kind == "issue" else PAGE_QUERIES["comments"]
    connection = thread.get("comments")
    # Every comment: a long debate after a vote opened must not hide the App's records of it.
    while (cursor := _page_info(connection)) is not None:
        page = await gh.graphql(
            page_query, endpoint=endpoint, number=candidate.number, after=cursor, **common
        )
        found = (page.get("repository") or {}).get(
            "issue" if candidate.kind == "issue" else "pullRequest"
        )
        connection = (found or {}).get("comments")
        nodes += ((connection or {}).get("nodes")) or []
    comments = [_comment(node) for node in nodes if node]
    live = None
    heads = ((thread.get("headCommit") or {}).get("nodes")) or []
    for head in heads:
        suites = (((head or {}).get("commit") or {}).get("checkSuites") or {}).get("nodes") or []
        for suite in suites:
            for run in ((suite or {}).get("checkRuns") or {}).get("nodes") or []:
                if run and run.get("title") is not None:
                    live = str(run["title"]), str(run.get("summary") or "")
    return held_votes(comments, live=live), records_of_another(comments)
