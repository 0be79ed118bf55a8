"""What each GraphQL document costs by GitHub's formula, pinned: a query that grows fails here.

The formula and its worked examples: docs.github.com/en/graphql/overview/
rate-limits-and-query-limits-for-the-graphql-api ("Predicting the point value of a query",
"Calculating nodes in a call"). The bot's reader (bot/github/query_cost.py) and the simulator's
(githubsim/githubsim/cost.py, on graphql-core's syntax tree) must agree on every document.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from githubsim.cost import CostError
from githubsim.cost import query_cost as charged
from githubsim.validation import reference_graphql_schema
from graphql import parse, validate

from bot.github import queries
from bot.github.map_blobs import map_blobs_query
from bot.github.query_cost import QueryCost, QueryCostError, query_cost
from bot.jobs.issue_votes import OPEN_VOTE_ISSUES
from bot.jobs.reconciler import OPEN_PULL_REQUESTS
from bot.report_votes import DEFAULT_BRANCH, ISSUE_VOTES, PULL_VOTES, VOTE_ISSUES, VOTE_PULLS

# GitHub's worked example: 1 + 100 + 5,000 = 5,101 requests, 51 points.
DOCS_EXAMPLE = """
query {
  viewer {
    login
    repositories(first: 100) {
      edges { node { id
        issues(first: 50) {
          edges { node { id
            labels(first: 60) { edges { node { id name } } }
          } }
        }
      } }
    }
  }
}
"""
# GitHub's node limit examples: 550 and 22,060 nodes.
NODES_SIMPLE = """
query { viewer { repositories(first: 50) { edges { repository: node { name
  issues(first: 10) { totalCount edges { node { title bodyHTML } } } } } } } }
"""
NODES_COMPLEX = """
query { viewer {
  repositories(first: 50) { edges { repository: node { name
    pullRequests(first: 20) { edges { pullRequest: node { title
      comments(first: 10) { edges { comment: node { bodyHTML } } } } } }
    issues(first: 20) { totalCount edges { issue: node { title bodyHTML
      comments(first: 10) { edges { comment: node { bodyHTML } } } } } } } } }
  followers(first: 10) { edges { follower: node { login } } } } }
"""

# name -> (document, requests by GitHub's formula). Raise a figure only knowingly: every
# evaluation pays SNAPSHOT, every changed repository OPEN_PULL_REQUESTS per 50 open PRs.
PINNED: dict[str, tuple[str, int]] = {
    "SNAPSHOT": (queries.SNAPSHOT, 115),
    "OPEN_PULL_REQUESTS": (OPEN_PULL_REQUESTS, 301),
    "OPEN_VOTE_ISSUES": (OPEN_VOTE_ISSUES, 51),
    "VOTE_ISSUES": (VOTE_ISSUES, 51),
    "VOTE_PULLS": (VOTE_PULLS, 51),
    "ISSUE_VOTES": (ISSUE_VOTES, 1),
    "PULL_VOTES": (PULL_VOTES, 4),
    "DEFAULT_BRANCH": (DEFAULT_BRANCH, 0),
    "map_blobs_query(100)": (map_blobs_query(100), 0),
    "PAGE_QUERIES[files]": (queries.PAGE_QUERIES["files"], 1),
    "PAGE_QUERIES[commits]": (queries.PAGE_QUERIES["commits"], 101),
    "PAGE_QUERIES[reviews]": (queries.PAGE_QUERIES["reviews"], 101),
    "PAGE_QUERIES[comments]": (queries.PAGE_QUERIES["comments"], 1),
    "MERGED_PULL_REQUEST": (queries.MERGED_PULL_REQUEST, 132),
    "REQUESTED_PAGE": (queries.REQUESTED_PAGE, 1),
    "MAP_AT_COMMIT": (queries.MAP_AT_COMMIT, 0),
    "DEFAULT_MAP_AT": (queries.DEFAULT_MAP_AT, 1),
    "MINIMIZE_DUPLICATE_REPLY": (queries.MINIMIZE_DUPLICATE_REPLY, 0),
    "REMOVE_APPLIED_MARK": (queries.REMOVE_APPLIED_MARK, 0),
    "review_load_query(3)": (queries.review_load_query(["a", "b", "c"]), 4),
    "audit_people_query(3)": (queries.audit_people_query(3), 3),
    "AUDIT_PULL_REQUESTS": (queries.AUDIT_PULL_REQUESTS, 51),
    "review_load_query(3, profiles)": (
        queries.review_load_query(["a", "b", "c"], profiles=True),
        7,
    ),
    # The candidates' numeric ids add no connection, hence no node: the same cost.
    "review_load_query(3, accounts)": (
        queries.review_load_query(["a", "b", "c"], accounts=["a", "c"]),
        4,
    ),
    "MERGE_GROUP_COMMITS": (queries.MERGE_GROUP_COMMITS, 101),
    "MAP_HISTORY": (queries.MAP_HISTORY, 349),
    # Its comment deletions (100 more nodes) decide whether a deleted ballot stands.
    "ISSUE_VOTE": (queries.ISSUE_VOTE, 4),
    "ISSUE_COMMENTS_PAGE": (queries.ISSUE_COMMENTS_PAGE, 1),
    "OWNERS_TEXTS": (queries.OWNERS_TEXTS, 0),
    "MAP_BLOB": (queries.MAP_BLOB, 0),
}


def test_githubs_worked_example() -> None:
    assert query_cost(DOCS_EXAMPLE) == QueryCost(requests=5_101)
    assert query_cost(DOCS_EXAMPLE).points == 51
    assert (charged(DOCS_EXAMPLE).requests, charged(DOCS_EXAMPLE).points) == (5_101, 51)


def test_githubs_node_count_examples() -> None:
    assert charged(NODES_SIMPLE).nodes == 550
    assert charged(NODES_COMPLEX).nodes == 22_060


@pytest.mark.parametrize(
    ("requests", "points"), [(0, 1), (1, 1), (149, 1), (150, 2), (249, 2), (701, 7), (5_101, 51)]
)
def test_points_round_to_the_nearest_whole_number_and_are_at_least_one(
    requests: int, points: int
) -> None:
    assert QueryCost(requests=requests).points == points


@pytest.mark.parametrize("name", sorted(PINNED))
def test_each_document_costs_what_is_pinned(name: str) -> None:
    document, requests = PINNED[name]
    assert query_cost(document).requests == requests
    assert charged(document).requests == requests, "the simulator charges what the bot expects"


def test_an_evaluation_costs_one_point() -> None:
    assert query_cost(queries.SNAPSHOT).points == 1
    # Room left for what later issues add: 38 more requests before the second point.
    assert query_cost(queries.SNAPSHOT).requests < 150


@pytest.mark.parametrize("name", ["OPEN_PULL_REQUESTS", "OPEN_VOTE_ISSUES", "map_blobs_query(100)"])
def test_the_reconcilers_documents_are_valid_against_githubs_schema(
    name: str, reference_dir: Path
) -> None:
    schema = reference_graphql_schema(reference_dir / "graphql" / "schema.graphql")
    errors = validate(schema, parse(PINNED[name][0]))
    assert [error.message for error in errors] == []


def test_the_simulator_prices_variables_and_named_fragments() -> None:
    document = """
    query Q($n: Int) { viewer { ...Repos } }
    fragment Repos on User { repositories(first: $n) { nodes { issues(last: 10) { totalCount } } } }
    """
    assert charged(document, {"n": 30}).requests == 31
    with pytest.raises(CostError, match="must be an integer"):
        charged(document, {"n": "many"})
    with pytest.raises(CostError, match="one operation"):
        charged("query A { viewer { login } } query B { viewer { login } }")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("query { viewer { ...F } } fragment F on User { login }", "named fragments"),
        ("query($n: Int) { viewer { repositories(first: $n) { totalCount } } }", "literal"),
        ("query { viewer { login }", "ends early"),
        ("query { viewer { login } } ?", "unreadable"),
        ("subscription S { viewer { login } } nonsense", "unexpected"),
    ],
)
def test_the_bots_reader_refuses_what_it_cannot_price(document: str, message: str) -> None:
    with pytest.raises(QueryCostError, match=message):
        query_cost(document)
