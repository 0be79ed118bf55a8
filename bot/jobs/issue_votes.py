"""Open issues carrying the vote label, for the reconciler: an issue's vote has no check run on a
head commit for the PR listing to find, so a restart would leave it to its next event.

One GraphQL read per listed repository (1 point: 1 + 50 label timelines of 20 events), the 50
issues updated last; each with the label additions that say when its vote closes
(bot/policy/vote_deadline.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import gidgethub.abc

from bot.affiliations.index import AffiliationMap
from bot.github.queries import LABEL_CHANGES
from bot.github.snapshot import _label_change
from bot.policy.vote_deadline import issue_vote_closes

VOTE_ISSUES_PER_READ = 50  # more open votes than that in one repository wait for their events

OPEN_VOTE_ISSUES = f"""
query OpenVoteIssues($owner: String!, $name: String!, $label: String!) {{
  rateLimit {{ limit remaining }}
  repository(owner: $owner, name: $name) {{
    issues(states: [OPEN], labels: [$label], first: {VOTE_ISSUES_PER_READ},
           orderBy: {{field: UPDATED_AT, direction: DESC}}) {{
      nodes {{
        number
        labelChanges: timelineItems(last: 20, itemTypes: [LABELED_EVENT]) {{ {LABEL_CHANGES} }}
      }}
    }}
  }}
}}
"""


@dataclass(frozen=True, slots=True)
class VoteIssue:
    number: int
    closes_at: datetime | None  # None: no TSC member added the label (the bot takes it off)


async def open_vote_issues(
    gh: gidgethub.abc.GitHubAPI, amap: AffiliationMap, *, owner: str, repo: str, endpoint: str
) -> tuple[Mapping[str, Any], tuple[VoteIssue, ...]]:
    """The answer's `rateLimit` and each open issue with the map's vote label."""
    data: Mapping[str, Any] = await gh.graphql(
        OPEN_VOTE_ISSUES, endpoint=endpoint, owner=owner, name=repo, label=amap.policy.votes.label
    )
    issues = (((data.get("repository") or {}).get("issues")) or {}).get("nodes") or []
    found = []
    for node in issues:
        if not node:
            continue
        events = ((node.get("labelChanges") or {}).get("nodes")) or []
        changes = [change for change in map(_label_change, (e for e in events if e)) if change]
        found.append(VoteIssue(int(node["number"]), issue_vote_closes(amap, changes)))
    return data.get("rateLimit") or {}, tuple(found)
