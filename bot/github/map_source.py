"""Which map decides a pull request, fetched with ETags and parsed once per blob.

Order (README.md, "The affiliation map"): the repository's map path on its default branch,
whatever a PR's base (a map on another branch is never in force); else the same path in the
owner's `.github` repository (its default branch); else the bundled map.
A 304 answer to `If-None-Match` does not count against the rate limit, so a map that has not
changed costs nothing (the clients keep gidgethub's ETag cache); a parsed map is reused for
every PR whose map has the same blob SHA.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import gidgethub
import gidgethub.abc
from cachetools import LRUCache, TTLCache

from bot.affiliations.loader import LoadResult, load_map_text
from bot.affiliations.model import DEFAULT_CHECK_NAME
from bot.github.client import Clock, secondary_limit_message
from bot.github.map_history import read_map_history
from bot.github.queries import MAP_AT_COMMIT
from bot.policy.trust import HeldChange, MapHistory, Trust, bootstrap_commit, judge_history
from bot.policy.verdict import MapRef

MapParser = Callable[[str, str], LoadResult]
OWNER_REPOSITORY = ".github"
# A 404 has no ETag: "no map here" is remembered for a reconciler cycle instead (a push forgets
# it at once, and so does the reconciler when its MapBlobs query sees a map appear).
MISSING_TTL_SECONDS = 600.0
MISSING_ENTRIES = 10_000  # (repository, branch) pairs without a map, across installations
PARSED_MAPS = 32  # a large map parsed is ~100 MB at worst: keep only the versions in use
RECENT_TEXTS = 4  # texts of the maps read last (at most 1 MB each: the contents API's limit)
REVIEWED_ENTRIES = 100_000  # "owner/repo@blob" of map versions known to have landed reviewed
UNREVIEWED_TTL_SECONDS = 60.0  # a held version may become reviewed by a later push elsewhere


@dataclass(frozen=True, slots=True)
class BaseMapHint:
    """The map file at the default branch's tip as a read saw it; `blob_sha` None: no file."""

    blob_sha: str | None
    last_change: str | None = None  # the last commit that changed the map there (a deletion?)


class MapSourceError(Exception):
    """GitHub returned something that is not a readable file at the map path."""


class ReviewedMaps(Protocol):
    """Map versions known to have landed reviewed, by "owner/repo@blob", and the first version
    seen of each repository's map (a bootstrap, see `MapSource.learn`): shared by replicas."""

    async def known(self, key: str) -> bool: ...

    async def remember(self, keys: Iterable[str]) -> None: ...


class LocalReviewedMaps:
    """One replica's memory of reviewed map versions (a reviewed version stays reviewed)."""

    def __init__(self, maxsize: int = REVIEWED_ENTRIES) -> None:
        self._keys: LRUCache[str, bool] = LRUCache(maxsize=maxsize)

    async def known(self, key: str) -> bool:
        return key in self._keys

    async def remember(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._keys[key] = True


@dataclass(frozen=True, slots=True)
class MapTrust:
    """How a map source reads the map's history: without one, every version is in force."""

    graphql_url: str
    app_id: int | None
    reviewed: ReviewedMaps = dataclasses.field(default_factory=LocalReviewedMaps)


def own_runs_named(app_id: int | None) -> str | None:
    """Which runs on a PR's head are the App's verdict: found by the App's id, any of its runs
    (the map of the day names the one check it writes); without the id, the default name only."""
    return None if app_id is not None else DEFAULT_CHECK_NAME


def reviewed_key(owner: str, repo: str, blob_sha: str) -> str:
    return f"{owner}/{repo}@{blob_sha}".lower()


@dataclass(frozen=True, slots=True)
class _Found:
    blob_sha: str
    text: str


def git_blob_sha(data: bytes) -> str:
    """The SHA git gives this content, so that the bundled map is named like the others."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _parse_with_loader(text: str, path: str) -> LoadResult:
    return load_map_text(text, path=path)


class MapSource:
    def __init__(
        self,
        *,
        map_path: str,
        bundled_map: Path,
        clock: Clock = time.time,
        parse: MapParser = _parse_with_loader,
        trust: MapTrust | None = None,
    ) -> None:
        self.map_path = map_path
        self.trust = trust
        self.history_reads = 0  # GraphQL reads of a map's history, for tests and logs
        # Versions reviewed (or bootstraps), known without asking the shared store again.
        self._trusted: LRUCache[str, bool] = LRUCache(maxsize=REVIEWED_ENTRIES)
        # (owner, repo, blob) of a version not trusted -> what the history said, briefly.
        self._untrusted: TTLCache[tuple[str, str, str], Trust] = TTLCache(
            maxsize=MISSING_ENTRIES, ttl=UNREVIEWED_TTL_SECONDS, timer=clock
        )
        self._reading: dict[tuple[str, str, str], asyncio.Lock] = {}
        self._bundled_path = bundled_map
        self._parse = parse
        # (owner, repo, ref) known to hold no map, until MISSING_TTL_SECONDS have passed.
        self._missing: TTLCache[tuple[str, str, str | None], bool] = TTLCache(
            maxsize=MISSING_ENTRIES, ttl=MISSING_TTL_SECONDS, timer=clock
        )
        # owner -> whether the App can read the owner's `.github` repository, for as long.
        self._owner_readable: TTLCache[str, bool] = TTLCache(
            maxsize=MISSING_ENTRIES, ttl=MISSING_TTL_SECONDS, timer=clock
        )
        # (path, blob sha) -> the parsed map: one per map version in use, a few at a time.
        self._parsed: LRUCache[tuple[str, str], LoadResult] = LRUCache(maxsize=PARSED_MAPS)
        self._bundled: tuple[LoadResult, MapRef] | None = None
        # (path, blob sha) -> the text last read: a few, for callers that show what was judged.
        self._texts: LRUCache[tuple[str, str], str] = LRUCache(maxsize=RECENT_TEXTS)
        self._bundled_lock = asyncio.Lock()

    async def map_for(
        self,
        gh: gidgethub.abc.GitHubAPI,
        *,
        owner: str,
        repo: str,
        branch: str,
        hint: BaseMapHint | None = None,
    ) -> tuple[LoadResult, MapRef]:
        """The map in force for every PR of `owner/repo`, and where it came from.

        `branch`: the repository's default branch, whose map judges every PR whatever its base
        ("": its name is unknown, GitHub's default is read); the report passes a commit instead.
        `hint`: what the snapshot saw at that branch's tip. No map there costs no call; a blob
        already parsed costs none either; else the contents API is asked (ETag-cached).
        """
        loaded, ref = await self._map_in_force(gh, owner=owner, repo=repo, branch=branch, hint=hint)
        if ref.source == "repository" and branch:
            ref = dataclasses.replace(ref, branch=branch)
        return loaded, ref

    async def _map_in_force(
        self,
        gh: gidgethub.abc.GitHubAPI,
        *,
        owner: str,
        repo: str,
        branch: str,
        hint: BaseMapHint | None,
    ) -> tuple[LoadResult, MapRef]:
        rev = branch or "HEAD"
        held: tuple[HeldChange, _Found, Literal["repository", "owner"]] | None = None
        if hint is not None and hint.blob_sha is None and hint.last_change is not None:
            kept = await self._deletion_in_force(
                gh, owner=owner, repo=repo, rev=rev, deleted_in=hint.last_change
            )
            if kept is not None:  # the map was deleted without review: its last version holds
                return kept
        if hint is not None and hint.blob_sha is not None:
            cached = self._parsed.get((self.map_path, hint.blob_sha))
            if cached is not None and self._known_trusted(owner, repo, hint.blob_sha):
                return cached, MapRef(self.map_path, hint.blob_sha, source="repository")
        if hint is None or hint.blob_sha is not None:
            found = await self._fetch(gh, owner=owner, repo=repo, ref=branch or None)
            if found is not None:
                decided = await self._in_force(
                    gh, owner=owner, repo=repo, rev=rev, found=found, source="repository"
                )
                if not isinstance(decided, HeldChange):
                    return decided
                held = (decided, found, "repository")
        if repo != OWNER_REPOSITORY:
            found = await self._fetch_owner_map(gh, owner=owner)
            if found is not None:
                decided = await self._in_force(
                    gh, owner=owner, repo=OWNER_REPOSITORY, rev="HEAD", found=found, source="owner"
                )
                if not isinstance(decided, HeldChange):
                    return self._held_over(decided, held)
                held = held or (decided, found, "owner")
            elif not await self._owner_repository_readable(gh, owner=owner):
                # Never silently: the summary names the repository whose map could not be read.
                loaded, ref = self._held_over(await self.bundled(), held)
                return loaded, dataclasses.replace(ref, unread_owner=f"{owner}/{OWNER_REPOSITORY}")
        return self._held_over(await self.bundled(), held)

    async def _fetch_owner_map(self, gh: gidgethub.abc.GitHubAPI, *, owner: str) -> _Found | None:
        """The owner's map; None when there is none or the App may not read the repository."""
        try:
            return await self._fetch(gh, owner=owner, repo=OWNER_REPOSITORY, ref=None)
        except gidgethub.BadRequest as error:
            if not _not_accessible(error):
                raise
            self._owner_readable[owner.lower()] = False
            self._missing[(owner, OWNER_REPOSITORY, None)] = True
            return None

    async def _owner_repository_readable(self, gh: gidgethub.abc.GitHubAPI, *, owner: str) -> bool:
        """Whether the App can read the owner's `.github` repository, once no map was found there:
        a 404 for the file does not tell a missing file from a repository hidden from the App."""
        readable = self._owner_readable.get(owner.lower())
        if readable is None:
            try:
                await gh.getitem(
                    "/repos/{owner}/{repo}", {"owner": owner, "repo": OWNER_REPOSITORY}
                )
                readable = True
            except gidgethub.BadRequest as error:
                if error.status_code != 404 and not _not_accessible(error):
                    raise
                readable = False
            self._owner_readable[owner.lower()] = readable
        return readable

    def _held_over(
        self,
        chosen: tuple[LoadResult, MapRef],
        held: tuple[HeldChange, _Found, Literal["repository", "owner"]] | None,
    ) -> tuple[LoadResult, MapRef]:
        """The next map in order, in force because no version of a nearer one is trusted; its
        policy decides whether the nearer unreviewed version is accepted instead."""
        if held is None:
            return chosen
        change, found, source = held
        loaded, ref = chosen
        if loaded.map is not None and loaded.map.policy.unreviewed_map == "accept":
            return self._load(found, source=source)
        return loaded, dataclasses.replace(ref, held=change)

    def share_reviewed(self, reviewed: ReviewedMaps) -> None:
        """Know reviewed map versions through `reviewed` (several replicas: Redis)."""
        if self.trust is not None:
            self.trust = dataclasses.replace(self.trust, reviewed=reviewed)

    def _known_trusted(self, owner: str, repo: str, blob_sha: str) -> bool:
        return self.trust is None or reviewed_key(owner, repo, blob_sha) in self._trusted

    async def remember_reviewed(self, owner: str, repo: str, blob_sha: str) -> None:
        """A version landed reviewed (a push's verdict): in force from now on, on every replica."""
        key = reviewed_key(owner, repo, blob_sha)
        self._trusted[key] = True
        if self.trust is not None:
            await self.trust.reviewed.remember([key])

    async def _in_force(
        self,
        gh: gidgethub.abc.GitHubAPI,
        *,
        owner: str,
        repo: str,
        rev: str,
        found: _Found,
        source: Literal["repository", "owner"],
    ) -> tuple[LoadResult, MapRef] | HeldChange:
        """The version in force of the map found at `rev`: itself when it landed reviewed (or is
        the bootstrap, or the policy accepts unreviewed maps), else the last reviewed version;
        a HeldChange when no version of this file is trusted (the next map in order decides)."""
        if self.trust is None:
            return self._load(found, source=source)
        key = reviewed_key(owner, repo, found.blob_sha)
        if key in self._trusted or await self.trust.reviewed.known(key):
            self._trusted[key] = True
            return self._load(found, source=source)
        decision_key = (owner, repo, found.blob_sha)
        trust = self._untrusted.get(decision_key)
        if trust is None:
            # One read per version however many evaluations ask at once.
            lock = self._reading.setdefault(decision_key, asyncio.Lock())
            async with lock:
                trust = self._untrusted.get(decision_key)
                if trust is None and key not in self._trusted:
                    trust = await self._read_trust(gh, owner=owner, repo=repo, rev=rev)
            self._reading.pop(decision_key, None)
            if trust is None:  # another evaluation found this version trusted meanwhile
                return self._load(found, source=source)
        trusted = trust.trusted
        if found.blob_sha in trust.reviewed_blobs or (
            trusted is not None and trusted.blob_sha == found.blob_sha
        ):
            self._trusted[key] = True
            return self._load(found, source=source)
        self._untrusted[(owner, repo, found.blob_sha)] = trust
        newest = trust.unreviewed
        held = HeldChange(
            commit_sha=newest.oid if newest else found.blob_sha,
            commit_url=newest.url if newest else "",
        )
        if trusted is None or trusted.blob_sha is None:
            return held
        loaded, ref = await self._load_at(
            gh, owner=owner, repo=repo, oid=trusted.oid, blob_sha=trusted.blob_sha, source=source
        )
        policy = loaded.map.policy.unreviewed_map if loaded.map is not None else "hold"
        if policy == "accept":  # the version in force decides: a push cannot accept itself
            return self._load(found, source=source)
        return loaded, dataclasses.replace(ref, held=held)

    async def _deletion_in_force(
        self, gh: gidgethub.abc.GitHubAPI, *, owner: str, repo: str, rev: str, deleted_in: str
    ) -> tuple[LoadResult, MapRef] | None:
        """After the map was deleted at `deleted_in`: None when the deletion is in force (it landed
        reviewed, nothing before it was trusted, or the policy accepts it), else the last trusted
        version, held."""
        if self.trust is None:
            return None
        key = reviewed_key(owner, repo, f"deleted-{deleted_in}")
        if key in self._trusted or await self.trust.reviewed.known(key):
            self._trusted[key] = True
            return None
        decision_key = (owner, repo, f"deleted-{deleted_in}")
        trust = self._untrusted.get(decision_key)
        if trust is None:
            lock = self._reading.setdefault(decision_key, asyncio.Lock())
            async with lock:
                trust = self._untrusted.get(decision_key)
                if trust is None:
                    trust = await self._read_trust(gh, owner=owner, repo=repo, rev=rev)
            self._reading.pop(decision_key, None)
        newest, trusted = trust.unreviewed, trust.trusted
        if (
            newest is None
            or newest.landed_reviewed  # a reviewed deletion
            or trusted is None
            or trusted.blob_sha is None
        ):
            self._trusted[key] = True
            await self.trust.reviewed.remember([key])
            return None
        self._untrusted[decision_key] = trust
        loaded, ref = await self._load_at(
            gh,
            owner=owner,
            repo=repo,
            oid=trusted.oid,
            blob_sha=trusted.blob_sha,
            source="repository",
        )
        if loaded.map is not None and loaded.map.policy.unreviewed_map == "accept":
            return None
        return loaded, dataclasses.replace(ref, held=HeldChange(newest.oid, newest.url))

    async def _read_trust(
        self, gh: gidgethub.abc.GitHubAPI, *, owner: str, repo: str, rev: str
    ) -> Trust:
        assert self.trust is not None
        branch = None if rev == "HEAD" else rev
        read = await read_map_history(
            gh,
            owner=owner,
            repo=repo,
            rev=rev,
            branch=branch,
            map_path=self.map_path,
            check_name=own_runs_named(self.trust.app_id),
            app_id=self.trust.app_id,
            endpoint=self.trust.graphql_url,
        )
        self.history_reads += 1
        return await self.learn(owner, repo, read.history)

    async def learn(self, owner: str, repo: str, history: MapHistory) -> Trust:
        """Judge a history read (here or for a push's verdict); remember the trusted versions."""
        owner_repository = repo == OWNER_REPOSITORY
        if not await self._first_version_stands(owner, repo, history):
            # Not the first version seen here: the history was rewritten, or the default
            # branch moved to another line of history; no review covers either.
            history = dataclasses.replace(history, complete=False)
        trust = judge_history(history, owner_repository=owner_repository)
        trusted_blobs = set(trust.reviewed_blobs)
        if trust.trusted is not None and trust.trusted.blob_sha is not None:
            trusted_blobs.add(trust.trusted.blob_sha)
        keys = [reviewed_key(owner, repo, blob) for blob in sorted(trusted_blobs)]
        for key in keys:
            self._trusted[key] = True
        if self.trust is not None:
            await self.trust.reviewed.remember(keys)
        newest = history.commits[0].blob_sha if history.commits else None
        if newest is not None and reviewed_key(owner, repo, newest) not in self._trusted:
            self._untrusted[(owner, repo, newest)] = trust
        return trust

    async def _first_version_stands(self, owner: str, repo: str, history: MapHistory) -> bool:
        """Whether the history's first version of the map may be its bootstrap: the first one
        this App saw for the repository's map, remembered with the reviewed versions."""
        first = bootstrap_commit(history, owner_repository=repo == OWNER_REPOSITORY)
        if first is None or self.trust is None:
            return True
        seen = reviewed_key(owner, repo, f"first-version:{self.map_path}")
        this = f"{seen}:{first.oid}"
        if await self._known(this):
            return True
        if await self._known(seen):
            return False
        for key in (this, seen):
            self._trusted[key] = True
        await self.trust.reviewed.remember([this, seen])
        return True

    async def _known(self, key: str) -> bool:
        assert self.trust is not None
        if key in self._trusted:
            return True
        known = await self.trust.reviewed.known(key)
        if known:
            self._trusted[key] = True
        return known

    async def _load_at(
        self,
        gh: gidgethub.abc.GitHubAPI,
        *,
        owner: str,
        repo: str,
        oid: str,
        blob_sha: str,
        source: Literal["repository", "owner"],
    ) -> tuple[LoadResult, MapRef]:
        """The map as it was at commit `oid`: parsed once per blob, read only when not parsed."""
        key = (self.map_path, blob_sha)
        result = self._parsed.get(key)
        if result is None:
            text = await self.text_at(gh, owner=owner, repo=repo, oid=oid)
            if text is None:
                raise MapSourceError(f"{owner}/{repo}:{self.map_path} is missing at {oid}")
            result = self._parse(text, self.map_path)
            self._parsed[key] = result
        return result, MapRef(path=self.map_path, blob_sha=blob_sha, source=source)

    async def text_at(
        self, gh: gidgethub.abc.GitHubAPI, *, owner: str, repo: str, oid: str
    ) -> str | None:
        """The map's text at one commit; None when it had none there."""
        assert self.trust is not None, "a map's history needs MapTrust"
        data = await gh.graphql(
            MAP_AT_COMMIT,
            endpoint=self.trust.graphql_url,
            owner=owner,
            name=repo,
            oid=oid,
            mapPath=self.map_path,
        )
        commit = ((data or {}).get("repository") or {}).get("object") or {}
        blob = (commit.get("mapFile") or {}).get("object") or {}
        text = blob.get("text")
        return text if isinstance(text, str) else None

    def parsed(self, blob_sha: str, text: str) -> LoadResult:
        """A map's text parsed, once per blob."""
        key = (self.map_path, blob_sha)
        result = self._parsed.get(key)
        if result is None:
            result = self._parse(text, self.map_path)
            self._parsed[key] = result
        return result

    def forget(self, owner: str, repo: str) -> None:
        """Drop what is known of a repository's map (after a push that changed it)."""
        for key in [key for key in self._missing if key[:2] == (owner, repo)]:
            self._missing.pop(key, None)
        for untrusted in [key for key in self._untrusted if key[:2] == (owner, repo)]:
            self._untrusted.pop(untrusted, None)
        if repo == OWNER_REPOSITORY:
            self._owner_readable.pop(owner.lower(), None)

    async def bundled(self) -> tuple[LoadResult, MapRef]:
        async with self._bundled_lock:
            if self._bundled is None:
                path = self._bundled_path
                try:
                    data = await asyncio.to_thread(path.read_bytes)
                except OSError as error:
                    raise MapSourceError(
                        f"cannot read the bundled map {path}: {error.strerror}"
                    ) from None
                shown = _display_path(path)
                ref = MapRef(path=shown, blob_sha=git_blob_sha(data), source="bundled")
                text = data.decode("utf-8")
                self._texts[(shown, ref.blob_sha or "")] = text
                self._bundled = (self._parse(text, shown), ref)
            return self._bundled

    def _load(
        self, found: _Found, *, source: Literal["repository", "owner"]
    ) -> tuple[LoadResult, MapRef]:
        key = (self.map_path, found.blob_sha)
        self._texts[key] = found.text
        result = self._parsed.get(key)
        if result is None:
            result = self._parse(found.text, self.map_path)
            self._parsed[key] = result
        return result, MapRef(path=self.map_path, blob_sha=found.blob_sha, source=source)

    def text_of(self, ref: MapRef) -> str | None:
        """The text of a map this source read lately (what `coi-bot audit --suggest` edits), so
        that the text shown is the one judged; None when it was not read here lately."""
        return self._texts.get((ref.path, ref.blob_sha or ""))

    async def _fetch(
        self, gh: gidgethub.abc.GitHubAPI, *, owner: str, repo: str, ref: str | None
    ) -> _Found | None:
        key = (owner, repo, ref)
        if key in self._missing:
            return None
        url_vars: dict[str, str] = {"owner": owner, "repo": repo, "path": self.map_path}
        url = "/repos/{owner}/{repo}/contents/{+path}"
        if ref is not None:
            url += "{?ref}"
            url_vars["ref"] = ref
        try:
            # The client's ETag cache sends If-None-Match and turns a 304 into the cached body.
            content = await gh.getitem(url, url_vars)
        except gidgethub.BadRequest as error:
            if error.status_code == 404:  # no such file, branch or repository
                self._missing[key] = True
                return None
            raise
        self._missing.pop(key, None)
        return _decode(content, where=f"{owner}/{repo}:{self.map_path}")


def _not_accessible(error: gidgethub.BadRequest) -> bool:
    """A 403 that refuses the App this repository (not installed there, or no permission to read
    contents); a rate limit, primary or secondary, is no answer about the repository."""
    if error.status_code != 403 or isinstance(error, gidgethub.RateLimitExceeded):
        return False
    return not any(secondary_limit_message(arg) for arg in error.args)


def _decode(content: Any, *, where: str) -> _Found:
    if not isinstance(content, dict) or content.get("type") != "file":
        kind = content.get("type") if isinstance(content, dict) else type(content).__name__
        raise MapSourceError(f"{where} is not a file (GitHub says {kind!r})")
    if content.get("encoding") != "base64":
        raise MapSourceError(f"{where} is too large for the contents API (over 1 MB)")
    try:
        text = base64.b64decode(content.get("content", ""), validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise MapSourceError(f"{where} is not UTF-8 text: {error}") from None
    return _Found(blob_sha=str(content["sha"]), text=text)


def _display_path(path: Path) -> str:
    """The bundled map's path as a reader knows it: relative to where the bot runs, if inside."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
