"""Reviewer load: one GraphQL request for every candidate; unsafe logins never reach the query."""

from __future__ import annotations

from typing import Any

from bot.github.reviewers import ReviewLoad, review_load
from bot.policy.facts import PullRequestFacts
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
