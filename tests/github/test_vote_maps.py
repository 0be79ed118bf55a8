"""The map in force at a past moment (a vote's label event), from the map's history: held and
accepted unreviewed changes, deletions, the owner's `.github` map, the bundled map."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.affiliations.index import AffiliationMap
from bot.affiliations.loader import load_map_text
from bot.github import votes
from bot.github.map_source import MapSource, MapTrust
from bot.github.vote_maps import map_in_force_at
from bot.github.votes import OpeningMaps
from bot.policy.verdict import MapRef
from tests.github.fakes import GRAPHQL_URL, Call, FakeServer
from tests.policy.builders import facts

HOLD = "version: 1\ncompanies: {acme: {name: Acme}}\npeople: {}\n"
ACCEPT = HOLD + "policy: {unreviewed_map: accept}\n"


async def authorization() -> str:
    return "token t"


def when(day: int) -> datetime:
    return datetime(2026, 1, day, 12, tzinfo=UTC)


def node(day: int, blob: str | None, *, reviewed: bool = False) -> dict[str, Any]:
    """A commit of the map file on `day` of January 2026."""
    merged = {
        "number": day,
        "merged": True,
        "baseRefName": "main",
        "mergedBy": {"login": "gus"},
        "headCommit": {
            "nodes": [
                {
                    "commit": {
                        "checkSuites": {
                            "nodes": [
                                {
                                    "checkRuns": {
                                        "nodes": [
                                            {
                                                "databaseId": day,
                                                "name": "COI review",
                                                "externalId": None,
                                                "conclusion": "SUCCESS",
                                            }
                                        ]
                                    }
                                }
                            ]
                        }
                    }
                }
            ]
        },
        "reviews": {"nodes": []},
    }
    return {
        "oid": f"{day:040d}",
        "url": f"https://github.com/o/a/commit/{day:040d}",
        "committedDate": f"2026-01-{day:02d}T00:00:00Z",
        "author": {"user": {"login": "alice"}},
        "mapFile": {"oid": blob} if blob else None,
        "checkSuites": {"nodes": []},
        "associatedPullRequests": {"nodes": [merged] if reviewed else []},
    }


def answer(
    *nodes: dict[str, Any], complete: bool = True, owner_map: list[int] | None = None
) -> dict[str, Any]:
    """The map's history, newest first; `owner_map`: days the owner's `.github` map changed."""
    tip = {
        **(nodes[0] if nodes else node(1, None)),
        "history": {"pageInfo": {"hasNextPage": not complete}, "nodes": list(nodes)},
    }
    owner = None
    if owner_map is not None:
        dates = [{"committedDate": f"2026-01-{day:02d}T00:00:00Z"} for day in owner_map]
        history = {"pageInfo": {"hasNextPage": False}, "nodes": dates}
        owner = {"defaultBranchRef": {"target": {"history": history}}}
    return {"data": {"repository": {"tip": tip}, "ownerMap": owner}}


def serve(repository: dict[str, Any], owner: dict[str, Any] | None = None) -> FakeServer:
    server = FakeServer()

    def graphql(call: Call, _match: Any) -> tuple[int, Any]:
        assert call.body is not None
        name = call.body["variables"]["name"]
        if name == ".github":
            assert owner is not None, "the owner's history is read only when it governed then"
            return 200, owner
        return 200, repository

    server.route("POST", r"/graphql", graphql)
    return server


def maps(tmp_path: Path, bundled: str = HOLD, *, trusting: bool = True) -> MapSource:
    path = tmp_path / "bundled.yml"
    path.write_text(bundled)
    trust = MapTrust(graphql_url=GRAPHQL_URL, app_id=1) if trusting else None
    return MapSource(map_path="coi.yml", bundled_map=path, trust=trust)


def parsed(text: str) -> AffiliationMap:
    loaded = load_map_text(text, path="coi.yml")
    assert loaded.map is not None
    return loaded.map


async def at(
    server: FakeServer, source: MapSource, day: int, texts: dict[str, str]
) -> tuple[str | None, str] | None:
    loaded: list[tuple[str, str]] = []

    async def load_blob(repo: str, blob: str) -> AffiliationMap | None:
        loaded.append((repo, blob))
        return parsed(texts[blob])

    found = await map_in_force_at(
        server.factory(authorization),
        source,
        owner="o",
        repo="a",
        branch="main",
        moment=when(day),
        endpoint=GRAPHQL_URL,
        load_blob=load_blob,
    )
    return None if found is None else (found.blob, found.source)


async def test_an_unreviewed_change_is_held_then_unless_the_version_in_force_accepts_it(
    tmp_path: Path,
) -> None:
    history = answer(node(5, "s3", reviewed=True), node(3, "s2"), node(1, "s1"))
    server = serve(history)
    texts = {"s1": HOLD, "s2": ACCEPT, "s3": HOLD}
    assert await at(server, maps(tmp_path), 2, texts) == ("s1", "repository")  # the bootstrap
    assert await at(server, maps(tmp_path), 4, texts) == ("s1", "repository")  # s2 held
    assert await at(server, maps(tmp_path), 6, texts) == ("s3", "repository")
    accepting = {**texts, "s1": ACCEPT}
    assert await at(server, maps(tmp_path), 4, accepting) == ("s2", "repository")


async def test_without_trust_the_newest_version_then_is_in_force(tmp_path: Path) -> None:
    server = serve(answer(node(3, "s2"), node(1, "s1")))
    texts = {"s1": HOLD, "s2": HOLD}
    assert await at(server, maps(tmp_path, trusting=False), 4, texts) == ("s2", "repository")
    assert await at(server, maps(tmp_path, trusting=False), 2, texts) == ("s1", "repository")


async def test_a_history_too_short_to_reach_the_moment_decides_nothing(tmp_path: Path) -> None:
    server = serve(answer(node(5, "s5", reviewed=True), complete=False))
    assert await at(server, maps(tmp_path), 2, {}) is None
    gone = FakeServer()
    gone.reply("POST", r"/graphql", 200, {"data": {"repository": {"tip": None}}})
    assert await at(gone, maps(tmp_path), 2, {}) is None, "a branch deleted since"


async def test_before_the_first_map_the_owners_map_then_the_bundled_one_decided(
    tmp_path: Path,
) -> None:
    bundled = maps(tmp_path)
    ref = (await bundled.bundled())[1]
    # No owner's map then: its history is not read, the bundled map decided.
    server = serve(answer(node(3, "s1"), owner_map=[]))
    assert await at(server, bundled, 2, {}) == (ref.blob_sha, "bundled")
    # The owner's map existed then (its first version, a bootstrap there).
    server = serve(answer(node(3, "s1"), owner_map=[1]), answer(node(1, "o1")))
    assert await at(server, bundled, 2, {"o1": HOLD}) == ("o1", "owner")


async def test_a_map_never_trusted_is_in_force_only_under_the_next_maps_accept(
    tmp_path: Path,
) -> None:
    # The owner's map governed before the repository's first version: no bootstrap there.
    history = answer(node(3, "s1"), owner_map=[1])
    owner = answer(node(1, "o1"))
    server = serve(history, owner)
    assert await at(server, maps(tmp_path), 4, {"o1": HOLD}) == ("o1", "owner")
    assert await at(server, maps(tmp_path), 4, {"o1": ACCEPT, "s1": HOLD}) == ("s1", "repository")


async def test_an_accepted_deletion_leaves_the_next_map_in_force(tmp_path: Path) -> None:
    bundled = maps(tmp_path)
    ref = (await bundled.bundled())[1]
    server = serve(answer(node(3, None), node(1, "s1"), owner_map=[]))
    assert await at(server, bundled, 4, {"s1": ACCEPT}) == (ref.blob_sha, "bundled")
    assert await at(server, bundled, 4, {"s1": HOLD}) == ("s1", "repository")
    reviewed = serve(answer(node(3, None, reviewed=True), node(1, "s1"), owner_map=[]))
    assert await at(reviewed, bundled, 4, {"s1": HOLD}) == (ref.blob_sha, "bundled")


# --- the maps votes opened under, as the votes' code reads them ------------------------------


async def test_a_recorded_opening_map_is_read_again_by_its_blob_and_source(
    tmp_path: Path,
) -> None:
    source = maps(tmp_path)
    bundled, bundled_ref = await source.bundled()
    current = parsed(ACCEPT)
    current_ref = MapRef("coi.yml", "now", "repository")
    server = FakeServer()
    server.reply(
        "POST", r"/graphql", 200, {"data": {"repository": {"object": {"oid": "s1", "text": HOLD}}}}
    )
    gh = server.factory(authorization)
    opening = OpeningMaps(source)

    async def recorded(blob: str | None, where: str) -> AffiliationMap | None:
        return await opening.recorded(
            gh, facts(), blob, where, current=current, current_ref=current_ref, endpoint=GRAPHQL_URL
        )

    assert await recorded(None, "repository") is current
    assert await recorded("now", "repository") is current
    assert await recorded(bundled_ref.blob_sha, "bundled") is bundled.map
    assert await recorded("an older release's", "bundled") is None  # not to be had again
    assert await recorded("s1", "elsewhere") is None
    found = await recorded("s1", "owner")
    assert found is not None
    assert found.policy.unreviewed_map == "hold"
    assert [call.body["variables"]["name"] for call in server.calls if call.body] == [".github"]


async def test_the_map_at_a_label_event_is_read_once_and_now_s_when_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(votes, "LABEL_EVENTS_KEPT", 1)
    current = parsed(ACCEPT)
    current_ref = MapRef("coi.yml", "s1", "repository")
    server = serve(answer(node(3, "s1", reviewed=True), owner_map=[]))
    gh = server.factory(authorization)
    opening = OpeningMaps(maps(tmp_path))

    async def at_day(day: int) -> tuple[AffiliationMap, str | None, str]:
        return await opening.at(
            gh,
            facts(),
            when(day),
            current=current,
            current_ref=current_ref,
            endpoint=GRAPHQL_URL,
            default_branch="main",
        )

    assert await at_day(4) == (current, "s1", "repository")
    assert await at_day(4) == (current, "s1", "repository")
    assert len(server.calls) == 1, "a past moment's map is read from the history once"
    later = await at_day(5)  # the one slot kept goes to this moment
    assert later == (current, "s1", "repository")
    await at_day(4)
    assert len(server.calls) == 3
    short = serve(answer(node(3, "s1", reviewed=True), complete=False))
    unknown = await OpeningMaps(maps(tmp_path)).at(
        short.factory(authorization),
        facts(),
        when(1),
        current=current,
        current_ref=current_ref,
        endpoint=GRAPHQL_URL,
        default_branch="main",
    )
    assert unknown == (current, "s1", "repository"), "the map in force now, when unknown then"
