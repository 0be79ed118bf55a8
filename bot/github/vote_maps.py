"""The map in force at a vote's label event (issue 25): who may open the vote and its rules.

GitHub delivers the label event late, or the bot is down: by the time the bot first sees a vote
the map may have changed. The map file's history (bot.github.map_history, one GraphQL read)
tells which version was in force then, judged as the map source judges the version in force now
(bot.policy.trust: a change that landed without review is held under `unreviewed_map: hold`).
The order of maps is the map source's: the repository's file, else the owner's `.github`
repository's, else the bundled map.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import gidgethub.abc

from bot.affiliations.index import AffiliationMap
from bot.github.map_history import OWNER_REPOSITORY, MapHistoryError, read_map_history
from bot.github.map_source import MapSource, own_runs_named
from bot.policy.trust import MapCommit, VersionAt, in_force_at, owner_governed_before

Source = Literal["repository", "owner", "bundled"]
# Loads the map of one blob in a repository (None: not a valid map).
BlobLoader = Callable[[str, str], Awaitable[AffiliationMap | None]]


@dataclass(frozen=True, slots=True)
class MapAt:
    """A map version in force at a moment: its blob, where it was found, and the map."""

    blob: str | None
    source: Source
    map: AffiliationMap | None  # None: that version is not a valid map


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A nearer map's change, landed without review when no version of it was trusted."""

    repo: str
    source: Source
    unreviewed: MapCommit


async def map_in_force_at(
    gh: gidgethub.abc.GitHubAPI,
    maps: MapSource,
    *,
    owner: str,
    repo: str,
    branch: str,
    moment: datetime,
    endpoint: str,
    load_blob: BlobLoader,
) -> MapAt | None:
    """The map in force at `moment` for `owner/repo` on `branch`; None when the history read
    does not reach back that far (the map changed more often since than one read holds) or
    the branch has no commit any more."""
    trust = maps.trust
    app_id = trust.app_id if trust is not None else None
    order: list[tuple[str, str, str | None, Source]] = [(repo, branch, branch, "repository")]
    if repo != OWNER_REPOSITORY:
        order.append((OWNER_REPOSITORY, "HEAD", None, "owner"))
    held: _Candidate | None = None  # a nearer map with no trusted version: the next one decides
    for name, rev, on_branch, source in order:
        try:
            read = await read_map_history(
                gh,
                owner=owner,
                repo=name,
                rev=rev,
                branch=on_branch,
                map_path=maps.map_path,
                check_name=own_runs_named(app_id),
                app_id=app_id,
                endpoint=endpoint,
            )
        except MapHistoryError:  # the branch is gone: its history tells nothing
            return None
        found = in_force_at(read.history, moment, owner_repository=name == OWNER_REPOSITORY)
        if not found.known:
            return None
        if trust is None:  # without trust, every version is in force: the newest then
            newest = next((c for c in read.history.commits if c.committed_at <= moment), None)
            found = VersionAt(known=True, commit=newest if newest and newest.blob_sha else None)
        if found.commit is not None and found.commit.blob_sha is not None:
            blob = found.commit.blob_sha
            trusted = MapAt(blob, source, await load_blob(name, blob))
            newer = found.unreviewed
            if newer is None or not _accepts(trusted.map):
                return await _held_over(trusted, held, load_blob)
            if newer.blob_sha is not None:  # its own policy accepts the unreviewed change
                return MapAt(newer.blob_sha, source, await load_blob(name, newer.blob_sha))
            # An accepted deletion: no file then, the next map decides.
        elif found.unreviewed is not None and found.unreviewed.blob_sha is not None:
            held = held or _Candidate(name, source, found.unreviewed)
        if source == "repository" and not owner_governed_before(read.history, moment):
            break  # the owner's `.github` map did not exist then: no read of its history
    loaded, ref = await maps.bundled()
    return await _held_over(MapAt(ref.blob_sha, "bundled", loaded.map), held, load_blob)


async def _held_over(chosen: MapAt, held: _Candidate | None, load_blob: BlobLoader) -> MapAt:
    """A nearer map that had no trusted version is in force only under `chosen`'s `accept`."""
    if held is None or held.unreviewed.blob_sha is None or not _accepts(chosen.map):
        return chosen
    blob = held.unreviewed.blob_sha
    return MapAt(blob, held.source, await load_blob(held.repo, blob))


def _accepts(amap: AffiliationMap | None) -> bool:
    return amap is not None and amap.policy.unreviewed_map == "accept"
