"""GitHub's primary limits as the simulator charges them: GraphQL points by the documented
formula (githubsim/githubsim/cost.py), REST requests with 304s free, GitHub's clock as `Date`."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from githubsim.cost import MAX_NODES

from githubsim import GitHubSimulator
from tests_sim.conftest import Api, Clock, Seed

# 1 + 50 (reviews under 50 PRs) = 51 requests: 1 point; 1 + 100 + 100 x 100 = 10,101: 101
# (and 110,100 nodes); HUGE would return up to 1,010,100 nodes.
SMALL = """
query Small { rateLimit { cost remaining used }
  repository(owner: "acme", name: "widgets") {
    pullRequests(first: 50) { nodes { reviews(last: 1) { totalCount } } } } }
"""
LARGE = """
query Large { rateLimit { cost remaining }
  repository(owner: "acme", name: "widgets") {
    pullRequests(first: 100) { nodes { commits(first: 100) { nodes { commit {
      checkSuites(first: 10) { totalCount } } } } } } } }
"""
HUGE = """
query Huge { repository(owner: "acme", name: "widgets") {
  pullRequests(first: 100) { nodes { commits(first: 100) { nodes { commit {
    checkSuites(first: 100) { nodes { checkRuns(first: 1) { totalCount } } } } } } } } } }
"""


async def test_graphql_points_follow_githubs_formula(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    await api.login(seed.installation_id)
    small = (await api.graphql(SMALL))["data"]["rateLimit"]
    assert (small["cost"], small["used"], small["remaining"]) == (1, 1, 4_999)
    large = (await api.graphql(LARGE))["data"]["rateLimit"]
    assert (large["cost"], large["remaining"]) == (101, 4_999 - 101)
    assert [call.points for call in sim.calls if call.kind == "graphql"] == [1, 101]


async def test_a_call_over_githubs_node_limit_is_refused(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    await api.login(seed.installation_id)
    result = await api.graphql(HUGE)
    assert [error["type"] for error in result["errors"]] == ["MAX_NODE_LIMIT_EXCEEDED"]
    assert f"{MAX_NODES:,}" in result["errors"][0]["message"]


async def test_a_spent_graphql_budget_answers_rate_limited(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    await api.login(seed.installation_id)
    sim.set_rate_limit_remaining(seed.installation_id, 100, resource="graphql")
    result = await api.graphql(LARGE)
    assert [error["type"] for error in result["errors"]] == ["RATE_LIMITED"]
    assert sim.rate_limit_status(seed.installation_id, "graphql")["remaining"] == 100
    assert (await api.graphql(SMALL))["data"]["rateLimit"]["remaining"] == 99


async def test_rest_charges_a_request_a_304_nothing_and_dates_with_githubs_clock(
    sim: GitHubSimulator, api: Api, seed: Seed, clock: Clock
) -> None:
    await api.login(seed.installation_id)
    clock.advance(hours=-2)
    path = "/repos/acme/widgets/pulls?state=open&sort=updated&direction=desc&per_page=1"
    status, _, headers = await api.call("GET", path)
    assert status == 200
    assert parsedate_to_datetime(headers["Date"]) == clock.moment
    used = int(headers["x-ratelimit-used"])
    status, _, again = await api.call("GET", path, headers={"If-None-Match": headers["ETag"]})
    assert (status, int(again["x-ratelimit-used"])) == (304, used)
    assert [call.points for call in sim.calls if call.path.endswith("/pulls")] == [1, 0]
