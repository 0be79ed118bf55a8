"""Every GraphQL document the bot can send is valid against GitHub's full published schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from githubsim.validation import reference_graphql_schema
from graphql import parse, validate

from bot.github import queries

DOCUMENTS = {
    "SNAPSHOT": queries.SNAPSHOT,
    **{f"PAGE_QUERIES[{name}]": document for name, document in queries.PAGE_QUERIES.items()},
    "review_load_query": queries.review_load_query(["alice", "bob-2", "c"]),
    "review_load_query(profiles)": queries.review_load_query(["alice", "c"], profiles=True),
    "review_load_query(accounts)": queries.review_load_query(["alice", "c"], accounts=["c"]),
    "MERGED_PULL_REQUEST": queries.MERGED_PULL_REQUEST,
    "REQUESTED_PAGE": queries.REQUESTED_PAGE,
    "MAP_AT_COMMIT": queries.MAP_AT_COMMIT,
    "MINIMIZE_DUPLICATE_REPLY": queries.MINIMIZE_DUPLICATE_REPLY,
    "REMOVE_APPLIED_MARK": queries.REMOVE_APPLIED_MARK,
    "audit_people_query": queries.audit_people_query(3),
    "AUDIT_PULL_REQUESTS": queries.AUDIT_PULL_REQUESTS,
    "MERGE_GROUP_COMMITS": queries.MERGE_GROUP_COMMITS,
    "OWNERS_TEXTS": queries.OWNERS_TEXTS,
    "MAP_BLOB": queries.MAP_BLOB,
    "ISSUE_VOTE": queries.ISSUE_VOTE,
    "ISSUE_COMMENTS_PAGE": queries.ISSUE_COMMENTS_PAGE,
    "MAP_HISTORY": queries.MAP_HISTORY,
    "DEFAULT_MAP_AT": queries.DEFAULT_MAP_AT,
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_the_document_is_valid_against_githubs_schema(name: str, reference_dir: Path) -> None:
    schema = reference_graphql_schema(reference_dir / "graphql" / "schema.graphql")
    errors = validate(schema, parse(DOCUMENTS[name]))
    assert [error.message for error in errors] == []


def test_every_public_document_is_listed() -> None:
    public = {
        name
        for name, value in vars(queries).items()
        if name.isupper() and not name.startswith("_") and isinstance(value, str | dict)
    }
    documents = {"SNAPSHOT", "PAGE_QUERIES", "MERGED_PULL_REQUEST", "REQUESTED_PAGE"}
    documents |= {"MAP_AT_COMMIT", "MINIMIZE_DUPLICATE_REPLY", "REMOVE_APPLIED_MARK"}
    documents |= {"AUDIT_PULL_REQUESTS", "OWNERS_TEXTS", "MAP_BLOB", "ISSUE_VOTE"}
    documents |= {"MERGE_GROUP_COMMITS", "MAP_HISTORY", "DEFAULT_MAP_AT", "ISSUE_COMMENTS_PAGE"}
    fragments = {"FILES", "COMMITS", "REVIEWS", "COMMENTS", "REMOVED_REQUESTS", "AUDIT_PROFILE"}
    fragments |= {"LABEL_CHANGES", "COMMENT_DELETIONS"}
    assert public - {"MAP_HISTORY_DEPTH"} == documents | fragments
