"""Who has write access to a repository, asked of GitHub only when the map cannot settle it.

docs.github.com/en/rest/collaborators/collaborators#get-repository-permissions-for-a-user:
`role_name` is admin, maintain, write, triage, read or a custom role; `permission` is the
legacy level (admin, write, read, none) a custom role inherits, so either one granting write
is enough. Answers are cached per (repository, login) for a few minutes: a burst of commands
costs one look-up per person, and a revoked permission is noticed soon after.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

import gidgethub
import gidgethub.abc
from cachetools import TTLCache

from bot.policy.facts import LOGIN

WRITE_ROLES = frozenset({"admin", "maintain", "write"})
WRITE_LEVELS = frozenset({"admin", "write"})  # the legacy `permission` field
DEFAULT_TTL_SECONDS = 300.0
DEFAULT_ENTRIES = 4096


class PermissionCache:
    """Write access per (owner, repo, login), looked up at most once per `ttl_seconds`.

    cachetools has no coroutine support, so the cache holds plain booleans under an
    `asyncio.Lock` and the look-up itself runs outside the lock.
    """

    def __init__(
        self,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        maxsize: int = DEFAULT_ENTRIES,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, not {ttl_seconds}")
        self._cache: TTLCache[tuple[str, str, str], bool] = TTLCache(
            maxsize=maxsize, ttl=ttl_seconds, timer=timer
        )
        self._lock = asyncio.Lock()
        self.lookups = 0  # GitHub requests made, for tests and metrics

    async def has_write(
        self, gh: gidgethub.abc.GitHubAPI, *, owner: str, repo: str, login: str
    ) -> bool:
        if not LOGIN.match(login):
            raise ValueError(f"{login!r} is not a GitHub user login: no permission to look up")
        key = (owner.lower(), repo.lower(), login.lower())
        async with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        allowed = await _fetch_write_access(gh, owner=owner, repo=repo, login=login)
        self.lookups += 1
        async with self._lock:
            self._cache[key] = allowed
        return allowed

    async def writers(
        self, gh: gidgethub.abc.GitHubAPI, *, owner: str, repo: str, logins: Iterable[str]
    ) -> frozenset[str]:
        """Those of `logins` with write access (lower case), looked up concurrently."""
        unique = sorted({login.lower() for login in logins})
        answers = await asyncio.gather(
            *(self.has_write(gh, owner=owner, repo=repo, login=login) for login in unique)
        )
        return frozenset(login for login, allowed in zip(unique, answers, strict=True) if allowed)


async def _fetch_write_access(
    gh: gidgethub.abc.GitHubAPI, *, owner: str, repo: str, login: str
) -> bool:
    try:
        answer = await gh.getitem(
            "/repos/{owner}/{repo}/collaborators/{username}/permission",
            {"owner": owner, "repo": repo, "username": login},
        )
    except gidgethub.BadRequest as error:
        if error.status_code == 404:  # no such user: nobody to grant anything
            return False
        raise
    role = str(answer.get("role_name") or "").lower()
    level = str(answer.get("permission") or "").lower()
    return role in WRITE_ROLES or level in WRITE_LEVELS
