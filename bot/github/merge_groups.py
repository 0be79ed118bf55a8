"""What a merge group holds, read from GitHub: its commits and the PRs they belong to.

GitHub builds each group on the ones ahead of it in the queue, so its head holds their changes
too (docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/
configuring-pull-request-merges/managing-a-merge-queue). One GraphQL read lists the commits of
the group's head ref that its base lacks, each with its associated PRs; pages follow only
beyond 100 commits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import gidgethub.abc

from bot.github.queries import MERGE_GROUP_COMMITS
from bot.merge_queue import GroupContents, branch_name, group_contents
from bot.pr import MergeGroupRef

log = logging.getLogger(__name__)

MAX_COMMIT_PAGES = 10  # 1,000 commits; a bigger group is judged incomplete, never passed


async def read_group_contents(
    gh: gidgethub.abc.GitHubAPI, ref: MergeGroupRef, *, named: Sequence[int], endpoint: str
) -> tuple[GroupContents | None, int]:
    """(the PRs the group holds, the GraphQL reads it took); None when GitHub cannot compare
    the group's head ref with its base (the group's branch is gone: merged or removed)."""
    commits: list[dict[str, Any]] = []
    cursor: str | None = None
    for page in range(1, MAX_COMMIT_PAGES + 1):
        data = await gh.graphql(
            MERGE_GROUP_COMMITS,
            endpoint=endpoint,
            owner=ref.owner,
            name=ref.repo,
            baseRef=ref.base_ref,
            # A branch name, as git resolves it; the base is a ref's qualified name.
            headRef=branch_name(ref.head_ref),
            after=cursor,
        )
        found = ((data.get("repository") or {}).get("ref") or {}).get("compare")
        if not isinstance(found, dict):
            log.warning("%s: GitHub cannot compare it with its base; judged as named", ref)
            return None, page
        connection = found.get("commits") or {}
        commits.extend(node for node in connection.get("nodes") or () if node)
        info = connection.get("pageInfo") or {}
        if not info.get("hasNextPage"):
            return group_contents(commits, named=named), page
        cursor = info.get("endCursor")
    return group_contents(commits, named=named, complete=False), MAX_COMMIT_PAGES
