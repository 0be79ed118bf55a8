"""Reviewer load: one GraphQL request for every candidate; unsafe logins never reach the query."""

from __future__ import annotations

from typing import Any

from bot.github.reviewers import NO_REQUEST, ReviewerRequest, review_load
from tests.github.fakes import GRAPHQL_URL, Call, FakeServer


async def authorization() -> str:
    return "token t"


async def test_load_for_every_candidate_in_one_request() -> None:
    server = FakeServer()
    seen: list[str] = []

    def graphql(call: Call, match: Any) -> tuple[int, Any]:
        seen.append(call.body["query"])
        return 200, {"data": {"c0": {"issueCount": 4}, "c1": {"issueCount": 0}}}

    server.route("POST", "/graphql", graphql)
    load = await review_load(
        server.factory(authorization), ["carol", 'x" OR 1', "erin"], endpoint=GRAPHQL_URL
    )
    assert load == {"carol": 4, "erin": 0}
    (query,) = seen
    assert "review-requested:carol" in query
    assert "OR 1" not in query


async def test_no_searchable_login_costs_nothing() -> None:
    server = FakeServer()
    assert await review_load(server.factory(authorization), ["a b"], endpoint=GRAPHQL_URL) == {}
    assert server.calls == []


def test_the_check_shows_new_requests_else_pending_ones() -> None:
    assert ReviewerRequest(requested=("erin",), pending=("carol",)).shown == ("erin",)
    assert ReviewerRequest(requested=(), pending=("carol",)).shown == ("carol",)
    assert NO_REQUEST.shown == ()


async def test_the_pr_being_judged_does_not_count_against_its_candidates() -> None:
    server = FakeServer()

    def graphql(call: Call, match: Any) -> tuple[int, Any]:
        this, other = {"id": "PR_this"}, {"id": "PR_other"}
        return 200, {
            "data": {
                "c0": {"issueCount": 2, "nodes": [this, other]},  # carol: asked here already
                "c1": {"issueCount": 1, "nodes": [other]},
            }
        }

    server.route("POST", "/graphql", graphql)
    gh = server.factory(authorization)
    load = await review_load(gh, ["carol", "erin"], endpoint=GRAPHQL_URL, excluding="PR_this")
    assert load == {"carol": 1, "erin": 1}
