"""The map file's history on a branch, read in one GraphQL query (bot.github.queries.MAP_HISTORY).

Each change comes with the merged pull request that brought it (`associatedPullRequests`) and
the App's own `COI review` runs, on the commit and on that PR's head as it was merged: what
`bot.policy.trust` needs to tell which version of the map landed reviewed.
docs.github.com/en/graphql/reference/objects#commit
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gidgethub
import gidgethub.abc

from bot.github.queries import MAP_HISTORY
from bot.github.run_state import run_state
from bot.github.times import github_time
from bot.policy.trust import LandedPullRequest, MapCommit, MapHistory

OWNER_REPOSITORY = ".github"


class MapHistoryError(Exception):
    """GitHub has no commit at the revision the map's history was asked from."""


@dataclass(frozen=True, slots=True)
class OwnCheckRun:
    """One of the App's own runs of the check, as the history read it."""

    id: int
    name: str
    external_id: str | None
    conclusion: str | None  # lower case; the status (`in_progress`) while not completed


@dataclass(frozen=True, slots=True)
class MapTip:
    """The commit the history was read from: what a push's verdict is written on."""

    oid: str
    url: str
    blob_sha: str | None
    text: str | None  # the map's text there (None: no map, or not text)
    runs: tuple[OwnCheckRun, ...]
    pull_request: LandedPullRequest | None  # the merged PR that brought this commit


@dataclass(frozen=True, slots=True)
class MapHistoryRead:
    tip: MapTip
    history: MapHistory


def _runs(commit: Mapping[str, Any]) -> tuple[OwnCheckRun, ...]:
    runs: list[OwnCheckRun] = []
    for suite in (commit.get("checkSuites") or {}).get("nodes") or ():
        for run in ((suite or {}).get("checkRuns") or {}).get("nodes") or ():
            if run is None:
                continue
            runs.append(
                OwnCheckRun(
                    id=int(run["databaseId"]),
                    name=str(run.get("name") or ""),
                    external_id=run.get("externalId"),
                    # A run waiting `in_progress` passed nothing, whatever it once concluded.
                    conclusion=run_state(run),
                )
            )
    return tuple(sorted(runs, key=lambda run: run.id))


def _best(runs: tuple[OwnCheckRun, ...]) -> str | None:
    """`success` when any run passed (a duplicate may lag), else the oldest run's conclusion."""
    if any(run.conclusion == "success" for run in runs):
        return "success"
    return runs[0].conclusion if runs else None


def _landed(commit: Mapping[str, Any], *, branch: str | None) -> LandedPullRequest | None:
    """The merged PR that brought `commit` into `branch` (any branch when None)."""
    for pull in (commit.get("associatedPullRequests") or {}).get("nodes") or ():
        if not pull or not pull.get("merged"):
            continue
        if branch is not None and pull.get("baseRefName") != branch:
            continue
        heads = (pull.get("headCommit") or {}).get("nodes") or ()
        head = (heads[0] or {}).get("commit") or {} if heads else {}
        approvers = tuple(
            dict.fromkeys(
                str(review["author"]["login"])
                for review in (pull.get("reviews") or {}).get("nodes") or ()
                if review and review.get("author")
            )
        )
        merged_by = (pull.get("mergedBy") or {}).get("login")
        return LandedPullRequest(
            number=int(pull["number"]),
            merged_by=str(merged_by) if merged_by else None,
            check=_best(_runs(head)),
            approvers=approvers,
        )
    return None


def _blob(commit: Mapping[str, Any]) -> str | None:
    found = commit.get("mapFile")
    return str(found["oid"]) if found and found.get("oid") else None


async def read_map_history(
    gh: gidgethub.abc.GitHubAPI,
    *,
    owner: str,
    repo: str,
    rev: str,
    branch: str | None,
    map_path: str,
    check_name: str | None,
    app_id: int | None,
    endpoint: str,
) -> MapHistoryRead:
    """The map's history from `rev` (a branch, a commit, or HEAD), newest first.

    `branch`: the branch the history is on, so that only PRs merged into it count as landing
    there (None: any). `check_name`: the runs that count on a PR's head; None: every run of the
    App (`app_id`), whatever name the map of the day gave its check. The same read says when
    the owner's `.github` map changed.
    """
    variables = {
        "owner": owner,
        "name": repo,
        "rev": rev,
        "mapPath": map_path,
        "appId": app_id,
        "checkName": check_name,
        "ownerRepository": OWNER_REPOSITORY,
    }
    try:
        data = await gh.graphql(MAP_HISTORY, endpoint=endpoint, **variables)
    except gidgethub.QueryError as error:
        data = _without_owner_map(error)
    tip = ((data or {}).get("repository") or {}).get("tip")
    if not tip or not tip.get("oid"):
        raise MapHistoryError(f"{owner}/{repo} has no commit at {rev!r}")
    found = tip.get("mapFile") or {}
    text = (found.get("object") or {}).get("text")
    map_tip = MapTip(
        oid=str(tip["oid"]),
        url=str(tip.get("url") or ""),
        blob_sha=_blob(tip),
        text=text if isinstance(text, str) else None,
        runs=_runs(tip),
        pull_request=_landed(tip, branch=branch),
    )
    connection = tip.get("history") or {}
    commits = tuple(
        MapCommit(
            oid=str(node["oid"]),
            url=str(node.get("url") or ""),
            committed_at=github_time(str(node["committedDate"])),
            blob_sha=_blob(node),
            author=((node.get("author") or {}).get("user") or {}).get("login"),
            pull_request=_landed(node, branch=branch),
        )
        for node in connection.get("nodes") or ()
        if node
    )
    complete = not (connection.get("pageInfo") or {}).get("hasNextPage", False)
    owner_ref = ((data or {}).get("ownerMap") or {}).get("defaultBranchRef") or {}
    owner_history = (owner_ref.get("target") or {}).get("history") or {}
    history = MapHistory(
        commits=commits,
        complete=complete,
        owner_map_dates=tuple(
            github_time(str(node["committedDate"]))
            for node in owner_history.get("nodes") or ()
            if node
        ),
        owner_map_older=bool((owner_history.get("pageInfo") or {}).get("hasNextPage", False)),
    )
    return MapHistoryRead(map_tip, history)


def _without_owner_map(error: gidgethub.QueryError) -> Any:
    """The answer when only the owner's `.github` repository is missing or hidden: no map."""
    errors = error.response.get("errors") or ()
    only_owner_map = all(
        isinstance(e, dict)
        and e.get("type") == "NOT_FOUND"
        and (e.get("path") or [None])[0] == "ownerMap"
        for e in errors
    )
    if not errors or not only_owner_map:
        raise error
    return error.response.get("data")
