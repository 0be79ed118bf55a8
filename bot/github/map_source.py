"""Which map decides a pull request, fetched with ETags and parsed once per blob.

Order (DESIGN.md, runtime contract): the repository's map path on the PR's base branch; else the
same path in the owner's `.github` repository (its default branch); else the bundled map.
A 304 answer to `If-None-Match` does not count against the rate limit, so a map that has not
changed costs nothing (the clients keep gidgethub's ETag cache); a parsed map is reused for
every PR whose map has the same blob SHA.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import gidgethub
import gidgethub.abc
from cachetools import LRUCache, TTLCache

from bot.affiliations.loader import LoadResult, load_map_text
from bot.github.client import Clock
from bot.policy.verdict import MapRef

MapParser = Callable[[str, str], LoadResult]
OWNER_REPOSITORY = ".github"
# A 404 has no ETag: "no map here" is remembered for a reconciler cycle instead (a push forgets
# it at once, and so does the reconciler when its MapBlobs query sees a map appear).
MISSING_TTL_SECONDS = 600.0
MISSING_ENTRIES = 10_000  # (repository, branch) pairs without a map, across installations
PARSED_MAPS = 32  # a large map parsed is ~100 MB at worst: keep only the versions in use


@dataclass(frozen=True, slots=True)
class BaseMapHint:
    """The map file at a base branch's tip as the snapshot saw it; `blob_sha` None: no file."""

    blob_sha: str | None


class MapSourceError(Exception):
    """GitHub returned something that is not a readable file at the map path."""


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
    ) -> None:
        self.map_path = map_path
        self._bundled_path = bundled_map
        self._parse = parse
        # (owner, repo, ref) known to hold no map, until MISSING_TTL_SECONDS have passed.
        self._missing: TTLCache[tuple[str, str, str | None], bool] = TTLCache(
            maxsize=MISSING_ENTRIES, ttl=MISSING_TTL_SECONDS, timer=clock
        )
        # (path, blob sha) -> the parsed map: one per map version in use, a few at a time.
        self._parsed: LRUCache[tuple[str, str], LoadResult] = LRUCache(maxsize=PARSED_MAPS)
        self._bundled: tuple[LoadResult, MapRef] | None = None
        self._bundled_lock = asyncio.Lock()

    async def map_for(
        self,
        gh: gidgethub.abc.GitHubAPI,
        *,
        owner: str,
        repo: str,
        base_ref: str,
        hint: BaseMapHint | None = None,
    ) -> tuple[LoadResult, MapRef]:
        """The map in force for a PR of `owner/repo` into `base_ref`, and where it came from.

        `hint`: what the PR's snapshot saw at the base branch's tip. No map there costs no call;
        a blob already parsed costs none either; else the contents API is asked (ETag-cached).
        """
        if hint is not None and hint.blob_sha is not None:
            cached = self._parsed.get((self.map_path, hint.blob_sha))
            if cached is not None:
                return cached, MapRef(self.map_path, hint.blob_sha, source="repository")
        if hint is None or hint.blob_sha is not None:
            found = await self._fetch(gh, owner=owner, repo=repo, ref=base_ref)
            if found is not None:
                return self._load(found, source="repository")
        if repo != OWNER_REPOSITORY:
            found = await self._fetch(gh, owner=owner, repo=OWNER_REPOSITORY, ref=None)
            if found is not None:
                return self._load(found, source="owner")
        return await self.bundled()

    def forget(self, owner: str, repo: str) -> None:
        """Drop what is known of a repository's map (after a push that changed it)."""
        for key in [key for key in self._missing if key[:2] == (owner, repo)]:
            self._missing.pop(key, None)

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
                self._bundled = (self._parse(data.decode("utf-8"), shown), ref)
            return self._bundled

    def _load(
        self, found: _Found, *, source: Literal["repository", "owner"]
    ) -> tuple[LoadResult, MapRef]:
        key = (self.map_path, found.blob_sha)
        result = self._parsed.get(key)
        if result is None:
            result = self._parse(found.text, self.map_path)
            self._parsed[key] = result
        return result, MapRef(path=self.map_path, blob_sha=found.blob_sha, source=source)

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
