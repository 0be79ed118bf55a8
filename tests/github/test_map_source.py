"""Which map decides: repository, owner's .github, bundled; bad files say what is wrong."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gidgethub
import pytest

from bot.github.map_history import MapHistoryError
from bot.github.map_source import (
    MISSING_TTL_SECONDS,
    BaseMapHint,
    LocalReviewedMaps,
    MapSource,
    MapSourceError,
    MapTrust,
    git_blob_sha,
    own_runs_named,
    reviewed_key,
)
from bot.policy.trust import MapCommit, MapHistory
from tests.github.fakes import GRAPHQL_URL, FakeServer

MAP = "version: 1\ncompanies: {acme: {name: Acme}}\npeople: {}\n"
OWNER_REPOSITORY = {"name": ".github", "full_name": "o/.github"}


async def authorization() -> str:
    return "token t"


def content(text: str, sha: str = "abc") -> dict[str, Any]:
    encoded = base64.b64encode(text.encode()).decode()
    return {"type": "file", "encoding": "base64", "content": encoded, "sha": sha}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def source(tmp_path: Path, clock: Clock | None = None) -> MapSource:
    bundled = tmp_path / "bundled.yml"
    bundled.write_text(MAP)
    return MapSource(map_path="coi.yml", bundled_map=bundled, clock=clock or Clock())


def test_git_blob_sha_matches_git() -> None:
    # `printf 'hello\n' | git hash-object --stdin`
    assert git_blob_sha(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


async def test_parsed_maps_are_shared_by_blob_sha(tmp_path: Path) -> None:
    server = FakeServer()
    server.reply("GET", r"/repos/o/(a|b)/contents/coi.yml", 200, content(MAP, sha="s1"))
    maps = source(tmp_path)
    gh = server.factory(authorization)
    first, ref_a = await maps.map_for(gh, owner="o", repo="a", branch="main")
    second, ref_b = await maps.map_for(gh, owner="o", repo="b", branch="dev")
    assert first is second
    assert (ref_a.source, ref_a.blob_sha, ref_b.path) == ("repository", "s1", "coi.yml")
    assert first.ok


async def test_missing_maps_fall_back_and_are_remembered_briefly(tmp_path: Path) -> None:
    server = FakeServer()
    server.reply("GET", r"/repos/o/.+/contents/coi.yml", 404, {"message": "Not Found"})
    server.reply("GET", r"/repos/o/\.github", 200, OWNER_REPOSITORY)
    clock = Clock()
    maps = source(tmp_path, clock)
    gh = server.factory(authorization)
    _, ref = await maps.map_for(gh, owner="o", repo="a", branch="main")
    assert ref.source == "bundled"
    assert ref.blob_sha == git_blob_sha(MAP.encode())
    assert ref.unread_owner is None  # the owner's repository was read: it has no map
    assert len(server.calls) == 3
    await maps.map_for(gh, owner="o", repo="a", branch="main")
    assert len(server.calls) == 3
    clock.now += MISSING_TTL_SECONDS + 1  # a reconciler cycle
    await maps.map_for(gh, owner="o", repo="a", branch="main")
    assert len(server.calls) == 6


async def test_the_owner_repository_itself_does_not_ask_twice(tmp_path: Path) -> None:
    server = FakeServer()
    server.reply("GET", r"/repos/o/\.github/contents/coi.yml", 404, {"message": "Not Found"})
    maps = source(tmp_path)
    _, ref = await maps.map_for(
        server.factory(authorization), owner="o", repo=".github", branch="main"
    )
    assert ref.source == "bundled"
    assert len(server.calls) == 1


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (200, [{"type": "file"}], MapSourceError, "is not a file"),
        (200, {"type": "dir"}, MapSourceError, "is not a file"),
        (200, {"type": "file", "encoding": "none", "sha": "s"}, MapSourceError, "too large"),
        (
            200,
            {"type": "file", "encoding": "base64", "content": "//79", "sha": "s"},
            MapSourceError,
            "not UTF-8",
        ),
        (403, {"message": "Resource not accessible by integration"}, Exception, "accessible"),
    ],
)
async def test_unreadable_maps_raise(
    tmp_path: Path, status: int, body: Any, error: type[Exception], message: str
) -> None:
    server = FakeServer()
    server.reply("GET", r"/repos/o/a/contents/coi.yml", status, body)
    with pytest.raises(error, match=message):
        await source(tmp_path).map_for(
            server.factory(authorization), owner="o", repo="a", branch="main"
        )


@pytest.mark.parametrize(
    ("contents", "repository"),
    [
        ((404, {"message": "Not Found"}), (404, {"message": "Not Found"})),  # hidden or missing
        ((403, {"message": "Resource not accessible by integration"}), None),
        ((404, {"message": "Not Found"}), (403, {"message": "Resource not accessible"})),
    ],
)
async def test_an_unreadable_owner_repository_is_named(
    tmp_path: Path, contents: tuple[int, Any], repository: tuple[int, Any] | None
) -> None:
    server = FakeServer()
    server.reply("GET", r"/repos/o/(a|b)/contents/coi.yml", 404, {"message": "Not Found"})
    server.reply("GET", r"/repos/o/\.github/contents/coi.yml", *contents)
    if repository is not None:
        server.reply("GET", r"/repos/o/\.github", *repository)
    maps = source(tmp_path)
    gh = server.factory(authorization)
    _, ref = await maps.map_for(gh, owner="o", repo="a", branch="main")
    assert (ref.source, ref.unread_owner) == ("bundled", "o/.github")
    calls = len(server.calls)
    _, again = await maps.map_for(gh, owner="o", repo="b", branch="main")
    assert again.unread_owner == "o/.github"
    assert len(server.calls) == calls + 1, "only b's own map is asked: the owner's is known"


@pytest.mark.parametrize(
    "limited_path", [r"/repos/o/\.github/contents/coi.yml", r"/repos/o/\.github"]
)
async def test_a_rate_limit_on_the_owner_repository_is_no_answer(
    tmp_path: Path, limited_path: str
) -> None:
    server = FakeServer()
    limited = {"x-ratelimit-remaining": "0", "x-ratelimit-limit": "5000", "x-ratelimit-reset": "1"}
    server.route(
        "GET",
        limited_path,
        lambda _call, _match: (403, {"message": "API rate limit exceeded"}, limited),
    )
    server.reply("GET", r"/repos/o/a/contents/coi.yml", 404, {"message": "Not Found"})
    if limited_path == r"/repos/o/\.github":  # the owner's map file is missing, then limited
        server.reply("GET", r"/repos/o/\.github/contents/coi.yml", 404, {"message": "Not Found"})
    with pytest.raises(gidgethub.RateLimitExceeded):
        await source(tmp_path).map_for(
            server.factory(authorization), owner="o", repo="a", branch="main"
        )


@pytest.mark.parametrize(
    "limited_path", [r"/repos/o/\.github/contents/coi.yml", r"/repos/o/\.github"]
)
@pytest.mark.parametrize(
    ("status", "message"),
    [
        (403, "You have exceeded a secondary rate limit. Please wait a few minutes."),
        (429, "Too many requests"),
        (502, "Server Error"),
    ],
)
async def test_a_secondary_limit_or_an_outage_on_the_owner_repository_is_no_answer(
    tmp_path: Path, limited_path: str, status: int, message: str
) -> None:
    """What the client hands on once its retries are spent is no word about the App's access:
    taken as "not installed", the bundled map would judge instead of the owner's for a while."""
    server = FakeServer()
    server.reply("GET", limited_path, status, {"message": message})
    server.reply("GET", r"/repos/o/a/contents/coi.yml", 404, {"message": "Not Found"})
    if limited_path == r"/repos/o/\.github":  # the owner's map file is missing, then limited
        server.reply("GET", r"/repos/o/\.github/contents/coi.yml", 404, {"message": "Not Found"})
    with pytest.raises(gidgethub.HTTPException):
        await source(tmp_path).map_for(
            server.factory(authorization), owner="o", repo="a", branch="main"
        )


async def test_a_missing_bundled_map_is_an_error(tmp_path: Path) -> None:
    maps = MapSource(map_path="coi.yml", bundled_map=tmp_path / "nope.yml")
    with pytest.raises(MapSourceError, match="cannot read the bundled map"):
        await maps.bundled()


async def test_no_map_at_the_base_skips_the_repository_read(tmp_path: Path) -> None:
    server = FakeServer()
    server.reply("GET", r"/repos/o/\.github/contents/coi.yml", 404, {"message": "Not Found"})
    server.reply("GET", r"/repos/o/\.github", 200, OWNER_REPOSITORY)
    maps = source(tmp_path)
    gh = server.factory(authorization)
    _, ref = await maps.map_for(
        gh, owner="o", repo="a", branch="main", hint=BaseMapHint(blob_sha=None)
    )
    assert ref.source == "bundled"
    assert [call.path for call in server.calls] == [
        "/repos/o/.github/contents/coi.yml",
        "/repos/o/.github",
    ]


async def test_a_blob_already_parsed_costs_no_call(tmp_path: Path) -> None:
    server = FakeServer()
    server.reply("GET", r"/repos/o/a/contents/coi.yml", 200, content(MAP, sha="s1"))
    maps = source(tmp_path)
    gh = server.factory(authorization)
    first, _ = await maps.map_for(gh, owner="o", repo="a", branch="main")
    again, ref = await maps.map_for(
        gh, owner="o", repo="a", branch="main", hint=BaseMapHint(blob_sha="s1")
    )
    assert again is first
    assert (ref.source, ref.blob_sha) == ("repository", "s1")
    assert len(server.calls) == 1
    # A blob not seen yet is read (and its ETag kept) as before.
    await maps.map_for(gh, owner="o", repo="a", branch="main", hint=BaseMapHint("s2"))
    assert len(server.calls) == 2


# --- the map's history: which version is in force (issue 22) -------------------------------


def trusting_source(tmp_path: Path, reviewed: LocalReviewedMaps | None = None) -> MapSource:
    bundled = tmp_path / "bundled.yml"
    bundled.write_text(MAP)
    trust = MapTrust(graphql_url=GRAPHQL_URL, app_id=1, reviewed=reviewed or LocalReviewedMaps())
    return MapSource(map_path="coi.yml", bundled_map=bundled, clock=Clock(), trust=trust)


def history_answer(*blobs: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The map's history, newest first: every commit a direct push (nothing reviewed)."""
    nodes = [
        {
            "oid": f"{n:040d}",
            "url": f"https://github.com/o/a/commit/{n:040d}",
            "committedDate": f"2026-01-{n + 1:02d}T00:00:00Z",
            "author": {"user": {"login": "alice"}},
            "mapFile": {"oid": blob},
            "checkSuites": {"nodes": []},
            "associatedPullRequests": {"nodes": []},
        }
        for n, blob in zip(range(len(blobs), 0, -1), blobs, strict=True)
    ]
    tip = {**nodes[0], "history": {"pageInfo": {"hasNextPage": False}, "nodes": nodes}}
    answer: dict[str, Any] = {"data": {"repository": {"tip": tip}, "ownerMap": None}}
    if errors:
        answer["errors"] = errors
    return answer


async def test_a_version_already_known_as_reviewed_costs_no_history_read(tmp_path: Path) -> None:
    server = FakeServer()
    server.reply("GET", r"/repos/o/a/contents/coi.yml", 200, content(MAP, sha="s1"))
    reviewed = LocalReviewedMaps()
    await reviewed.remember([reviewed_key("O", "A", "s1")])
    maps = trusting_source(tmp_path, reviewed)
    loaded, ref = await maps.map_for(
        server.factory(authorization), owner="o", repo="a", branch="main"
    )
    assert loaded.ok
    assert (ref.blob_sha, ref.held) == ("s1", None)
    assert maps.history_reads == 0


async def test_an_owner_repository_missing_is_no_owner_map_but_other_errors_are_raised(
    tmp_path: Path,
) -> None:
    server = FakeServer()
    server.reply("GET", r"/repos/o/a/contents/coi.yml", 200, content(MAP, sha="s1"))
    missing = [{"type": "NOT_FOUND", "path": ["ownerMap"], "message": "no .github"}]
    server.reply("POST", r"/graphql", 200, history_answer("s1", errors=missing))
    maps = trusting_source(tmp_path)
    gh = server.factory(authorization)
    _, ref = await maps.map_for(gh, owner="o", repo="a", branch="main")
    assert (ref.blob_sha, ref.held, maps.history_reads) == ("s1", None, 1), "a bootstrap"

    server = FakeServer()
    server.reply("GET", r"/repos/o/a/contents/coi.yml", 200, content(MAP, sha="s2"))
    hidden = [{"type": "FORBIDDEN", "path": ["repository"], "message": "no access"}]
    server.reply("POST", r"/graphql", 200, history_answer("s2", errors=hidden))
    with pytest.raises(gidgethub.QueryError):
        await trusting_source(tmp_path).map_for(
            server.factory(authorization), owner="o", repo="a", branch="main"
        )


async def test_a_revision_without_a_commit_is_a_clear_error(tmp_path: Path) -> None:
    server = FakeServer()
    server.reply("GET", r"/repos/o/a/contents/coi.yml", 200, content(MAP, sha="s1"))
    server.reply("POST", r"/graphql", 200, {"data": {"repository": {"tip": None}}})
    with pytest.raises(MapHistoryError, match="o/a has no commit at 'main'"):
        await trusting_source(tmp_path).map_for(
            server.factory(authorization), owner="o", repo="a", branch="main"
        )


async def test_no_trusted_version_holds_over_to_the_next_map_whose_policy_decides(
    tmp_path: Path,
) -> None:
    server = FakeServer()
    server.reply("GET", r"/repos/o/a/contents/coi.yml", 200, content(MAP, sha="s2"))
    server.reply("GET", r"/repos/o/.github/contents/coi.yml", 404, {"message": "Not Found"})
    server.reply("GET", r"/repos/o/\.github", 200, OWNER_REPOSITORY)
    # Both versions direct pushes and the first governed by an owner's map: none is trusted.
    answer = history_answer("s2", "s1")
    answer["data"]["ownerMap"] = {
        "defaultBranchRef": {
            "target": {
                "history": {
                    "pageInfo": {"hasNextPage": True},
                    "nodes": [{"committedDate": "2025-01-01T00:00:00Z"}],
                }
            }
        }
    }
    server.reply("POST", r"/graphql", 200, answer)
    maps = trusting_source(tmp_path)
    gh = server.factory(authorization)
    _, ref = await maps.map_for(gh, owner="o", repo="a", branch="main")
    assert ref.source == "bundled"
    assert ref.held is not None
    assert ref.held.commit_sha == f"{2:040d}"
    # Asked again within the minute: what the history said is remembered.
    await maps.map_for(gh, owner="o", repo="a", branch="main")
    assert maps.history_reads == 1
    # A bundled map that accepts unreviewed maps puts the repository's version in force.
    accepting = tmp_path / "accepting.yml"
    accepting.write_text(MAP + "policy: {unreviewed_map: accept}\n")
    maps = MapSource(
        map_path="coi.yml",
        bundled_map=accepting,
        clock=Clock(),
        trust=MapTrust(graphql_url=GRAPHQL_URL, app_id=1),
    )
    _, ref = await maps.map_for(gh, owner="o", repo="a", branch="main")
    assert (ref.source, ref.blob_sha, ref.held) == ("repository", "s2", None)


def test_the_apps_runs_are_found_by_its_id_else_by_the_default_name() -> None:
    assert own_runs_named(42) is None
    assert own_runs_named(None) == "COI review"


def first_version(oid: str, blob: str) -> MapHistory:
    """A map's history of one commit, no PR: a bootstrap if nothing governed before."""
    commit = MapCommit(oid, "", datetime(2026, 1, 1, tzinfo=UTC), blob, "alice")
    return MapHistory(commits=(commit,), complete=True)


async def test_only_the_first_version_seen_is_a_bootstrap_for_every_replica(
    tmp_path: Path,
) -> None:
    shared = LocalReviewedMaps()  # Redis, for replicas and restarts
    trust = MapTrust(graphql_url=GRAPHQL_URL, app_id=1, reviewed=shared)
    bundled = tmp_path / "bundled.yml"
    bundled.write_text(MAP)
    one, other = (MapSource(map_path="coi.yml", bundled_map=bundled, trust=trust) for _ in range(2))
    seen = await one.learn("o", "a", first_version("c1", "b1"))
    assert seen.trusted is not None
    assert seen.trusted.blob_sha == "b1"
    again = await other.learn("o", "a", first_version("c1", "b1"))
    assert again.trusted is not None, "the same first version, read again elsewhere"
    # A rewritten history, or another branch made the default: another first version.
    rewritten = await other.learn("o", "a", first_version("c2", "b2"))
    assert (rewritten.trusted, rewritten.unreviewed is not None) == (None, True)
    assert not await shared.known(reviewed_key("o", "a", "b2"))
    # Each repository has its own first version.
    assert (await one.learn("o", "b", first_version("c2", "b2"))).trusted is not None
