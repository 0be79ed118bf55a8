"""Write-access look-ups: which roles count, 404s, errors, and the per-(repo, login) cache."""

from __future__ import annotations

from typing import Any

import gidgethub
import pytest

from bot.github.permissions import PermissionCache
from tests.github.fakes import Call, FakeServer

PATH = r"/repos/acme/widgets/collaborators/(?P<login>[^/]+)/permission"


async def authorization() -> str:
    return "token t"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def answering(levels: dict[str, tuple[str, str] | int]) -> FakeServer:
    server = FakeServer()

    def permission(call: Call, match: Any) -> tuple[int, Any]:
        answer = levels[match["login"]]
        if isinstance(answer, int):
            return answer, {"message": "Not Found"}
        legacy, role = answer
        return 200, {"permission": legacy, "role_name": role, "user": {"login": match["login"]}}

    server.route("GET", PATH, permission)
    return server


@pytest.mark.parametrize(
    ("legacy", "role", "allowed"),
    [
        ("admin", "admin", True),
        ("write", "maintain", True),
        ("write", "write", True),
        ("write", "release-manager", True),  # a custom role inheriting write
        ("read", "triage", False),
        ("read", "read", False),
        ("none", "", False),
    ],
)
async def test_roles_that_grant_write(legacy: str, role: str, allowed: bool) -> None:
    server = answering({"zoe": (legacy, role)})
    cache = PermissionCache()
    gh = server.factory(authorization)
    assert await cache.has_write(gh, owner="acme", repo="widgets", login="zoe") is allowed


async def test_an_unknown_user_has_no_access_and_other_errors_surface() -> None:
    server = answering({"ghost": 404, "zoe": 500, "yan": 403})
    cache = PermissionCache()
    gh = server.factory(authorization)
    assert await cache.has_write(gh, owner="acme", repo="widgets", login="ghost") is False
    with pytest.raises(gidgethub.GitHubException):
        await cache.has_write(gh, owner="acme", repo="widgets", login="zoe")
    with pytest.raises(gidgethub.BadRequest):  # e.g. the App lost access: not a "no"
        await cache.has_write(gh, owner="acme", repo="widgets", login="yan")


async def test_answers_are_cached_per_repository_and_login_until_they_expire() -> None:
    server = answering({"zoe": ("write", "write"), "yan": ("read", "read")})
    clock = Clock()
    cache = PermissionCache(ttl_seconds=300, timer=clock)
    gh = server.factory(authorization)
    writers = await cache.writers(gh, owner="acme", repo="widgets", logins=["Zoe", "zoe", "yan"])
    assert writers == {"zoe"}
    assert len(server.calls) == 2, "one look-up per login, however it is spelt"
    await cache.writers(gh, owner="ACME", repo="widgets", logins=["zoe", "yan"])
    assert len(server.calls) == 2
    clock.now += 301
    await cache.has_write(gh, owner="acme", repo="widgets", login="zoe")
    assert len(server.calls) == 3, "a revoked permission is noticed after the TTL"
    assert cache.lookups == 3


@pytest.mark.parametrize("login", ["", "a b", "x/../y", "-bad", "renovate[bot]"])
async def test_a_non_login_is_refused_before_any_request(login: str) -> None:
    server = FakeServer()
    with pytest.raises(ValueError, match="not a GitHub user login"):
        await PermissionCache().has_write(
            server.factory(authorization), owner="acme", repo="widgets", login=login
        )
    assert server.calls == []


def test_the_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        PermissionCache(ttl_seconds=0)
