"""Reviewer load: one GraphQL request for every candidate; unsafe logins never reach the query."""

from __future__ import annotations

from typing import Any

import gidgethub
import pytest

from bot.github.reviewers import ReviewLoad, review_load
from bot.policy.facts import Profile, PullRequestFacts
from tests.github.fakes import GRAPHQL_URL, Call, FakeServer


async def authorization() -> str:
    return "token t"


FACTS = PullRequestFacts(
    owner="acme", repo="widgets", number=7, node_id="PR_7", title="t", opener="alice",
    head_sha="h" * 40, base_ref="main",
)  # fmt: skip


async def test_load_and_current_requests_in_one_request() -> None:
    server = FakeServer()
    seen: list[dict[str, Any]] = []

    def graphql(call: Call, match: Any) -> tuple[int, Any]:
        seen.append(call.body)
        requests = {"nodes": [{"requestedReviewer": {"__typename": "User", "login": "erin"}}]}
        pending = {"pullRequest": {"reviewRequests": requests}}
        return 200, {"data": {"pending": pending, "c0": {"issueCount": 4}, "c1": {"issueCount": 0}}}

    server.route("POST", "/graphql", graphql)
    found = await review_load(
        server.factory(authorization), FACTS, ["carol", 'x" OR 1', "erin"], endpoint=GRAPHQL_URL
    )
    assert found == ReviewLoad(load={"carol": 4, "erin": 0}, asked_now=("erin",))
    (body,) = seen
    assert "review-requested:carol" in body["query"]
    assert "OR 1" not in body["query"]
    assert body["variables"] == {"owner": "acme", "name": "widgets", "number": 7}


async def test_no_searchable_login_costs_nothing() -> None:
    server = FakeServer()
    gh = server.factory(authorization)
    found = await review_load(gh, FACTS, ["a b"], endpoint=GRAPHQL_URL)
    assert found == ReviewLoad(load={}, asked_now=())
    assert server.calls == []


async def test_profiles_come_with_the_load_and_unknown_logins_have_none() -> None:
    server = FakeServer()
    seen: list[str] = []

    def graphql(call: Call, match: Any) -> tuple[int, Any]:
        seen.append(call.body["query"])
        carol = {"login": "carol", "company": "Acme", "organizations": {"nodes": [{"login": "a"}]}}
        data = {
            "pending": {"pullRequest": {"reviewRequests": {"nodes": []}}},
            "c0": {"issueCount": 1},
            "c1": {"issueCount": 0},
            "p0": carol,
            "p1": None,
        }
        errors = [{"type": "NOT_FOUND", "path": ["p1"], "message": "no user gone"}]
        return 200, {"data": data, "errors": errors}

    server.route("POST", "/graphql", graphql)
    found = await review_load(
        server.factory(authorization), FACTS, ["gone", "carol"], endpoint=GRAPHQL_URL, profiles=True
    )
    assert found.load == {"carol": 1, "gone": 0}
    assert found.profiles == (Profile("carol", "Acme", ("a",)),)
    assert 'p0: user(login: "carol")' in seen[0]


async def test_without_profiles_any_error_is_raised() -> None:
    server = FakeServer()
    error = {"type": "NOT_FOUND", "message": "x"}
    server.reply("POST", "/graphql", 200, {"data": {"c0": None}, "errors": [error]})
    with pytest.raises(gidgethub.QueryError):
        await review_load(server.factory(authorization), FACTS, ["carol"], endpoint=GRAPHQL_URL)


async def test_another_error_beside_the_profiles_is_raised() -> None:
    server = FakeServer()
    error = {"type": "RATE_LIMITED", "message": "slow down"}
    server.reply("POST", "/graphql", 200, {"data": {"c0": None}, "errors": [error]})
    with pytest.raises(gidgethub.QueryError):
        await review_load(
            server.factory(authorization), FACTS, ["carol"], endpoint=GRAPHQL_URL, profiles=True
        )


async def test_no_candidate_reads_no_profile() -> None:
    server = FakeServer()
    found = await review_load(
        server.factory(authorization), FACTS, ["a b"], endpoint=GRAPHQL_URL, profiles=True
    )
    assert found == ReviewLoad(load={}, asked_now=(), profiles=())
    assert server.calls == []


async def test_candidates_bound_to_an_id_are_read_with_it_and_a_freed_login_has_none() -> None:
    server = FakeServer()
    seen: list[str] = []

    def graphql(call: Call, match: Any) -> tuple[int, Any]:
        seen.append(call.body["query"])
        data = {
            "pending": {"pullRequest": {"reviewRequests": {"nodes": []}}},
            "c0": {"issueCount": 0},
            "c1": {"issueCount": 2},
            "c2": {"issueCount": 1},
            "a0": {"databaseId": 583231},
            "a1": None,
        }
        errors = [{"type": "NOT_FOUND", "path": ["a1"], "message": "no user gus"}]
        return 200, {"data": data, "errors": errors}

    server.route("POST", "/graphql", graphql)
    found = await review_load(
        server.factory(authorization),
        FACTS,
        ["nora", "carol", "gus"],
        endpoint=GRAPHQL_URL,
        accounts=["gus", "carol", "someone-else"],
    )
    assert found.load == {"carol": 0, "gus": 2, "nora": 1}
    assert found.accounts == {"carol": 583231, "gus": None}
    assert 'a0: user(login: "carol") { databaseId }' in seen[0]
    assert 'nora") { databaseId }' not in seen[0]
