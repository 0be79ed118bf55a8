"""The SNAPSHOT answer as facts: paging beyond 100, head map, existing run, bad answers."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bot.github.map_source import BaseMapHint
from bot.github.snapshot import (
    SnapshotError,
    base_map_hint,
    existing_check_runs,
    facts_from_response,
    fetch_snapshot,
    has_renames,
    same_head_pull_requests,
    with_previous_paths,
)
from bot.github.times import github_time
from bot.policy.conflicts import Declaration
from bot.policy.facts import Profile, PullRequestFacts
from bot.policy.records import record_line
from tests.github.fakes import GRAPHQL_URL, Call, FakeServer, pull_request_node, snapshot_answer

MAP_PATH = ".github/affiliations.yml"


def parse(pull: dict[str, Any] | None, **extra: Any) -> PullRequestFacts:
    return facts_from_response(
        snapshot_answer(pull)["data"],
        owner="o",
        repo="r",
        number=1,
        map_path=MAP_PATH,
        **extra,
    )


def test_facts_carry_what_github_said() -> None:
    pull = pull_request_node(
        files=[("core/a.py", 3, 1)],
        reviews=[("bob", "APPROVED", "2026-03-30T10:00:00Z")],
        requested=("carol",),
        labels=("major",),
        check_run=(77, "fingerprint"),
    )
    pull["reviewRequests"]["nodes"].append(
        {"requestedReviewer": {"__typename": "Team", "slug": "tsc"}}
    )
    pull["comments"]["nodes"].append(
        {
            "id": "C_1",
            "databaseId": 11,
            "author": {"__typename": "Bot", "login": "coi-bot"},
            "body": "/coi recheck",
            "createdAt": "2026-03-30T10:00:00Z",
            "updatedAt": None,
        }
    )
    facts = parse(pull)
    (run,) = existing_check_runs(pull["headCommit"]["nodes"][0]["commit"])
    assert facts.slug == "o/r#1"
    assert facts.opener == "alice"
    assert facts.labels == ("major",)
    assert [(f.path, f.additions, f.deletions) for f in facts.files] == [("core/a.py", 3, 1)]
    assert facts.commits[0].author_login == "alice"
    assert facts.commits[0].committer_login is None
    assert [(r.author, r.state) for r in facts.reviews] == [("bob", "APPROVED")]
    assert facts.requested_reviewers == ("carol",)
    assert facts.requested_teams == ("tsc",)
    (comment,) = facts.comments
    assert (comment.author_is_bot, comment.database_id) == (True, 11)
    assert comment.updated_at == comment.created_at
    assert facts.head_map is None
    assert facts.files_truncated is False
    assert (run.id, run.name, run.external_id) == (77, "COI review", "fingerprint")


@pytest.mark.parametrize(
    ("answered", "minimized"),
    [({"isMinimized": True}, True), ({"isMinimized": False}, False), ({}, False)],
)
def test_a_comment_carries_whether_github_hides_it(
    answered: dict[str, bool], minimized: bool
) -> None:
    pull = pull_request_node()
    pull["comments"]["nodes"].append(
        {
            "id": "C_2",
            "databaseId": 12,
            "author": {"__typename": "Bot", "login": "coi-bot"},
            "body": "<!-- coi-bot:reply -->",
            "createdAt": "2026-03-30T10:00:00Z",
            "viewerDidAuthor": True,
            **answered,
        }
    )
    facts = parse(pull)
    (comment,) = facts.comments
    assert (comment.by_viewer, comment.is_minimized) == (True, minimized)


def test_pending_and_ghost_reviews() -> None:
    pull = pull_request_node(
        reviews=[("bob", "PENDING", None), ("erin", "APPROVED", "2026-03-30T10:00:00Z")]
    )
    pull["reviews"]["nodes"][1]["author"] = None
    facts = parse(pull)
    assert [(r.author, r.state) for r in facts.reviews] == [(None, "APPROVED")]


def test_the_head_map_is_read_only_when_the_pr_changes_it() -> None:
    changed = pull_request_node(files=[(MAP_PATH, 2, 0)], map_text="version: 1\n")
    facts = parse(changed)
    assert facts.head_map is not None
    assert (facts.head_map.path, facts.head_map.text) == (MAP_PATH, "version: 1\n")
    untouched = pull_request_node(files=[("a.py", 1, 0)], map_text="version: 1\n")
    assert parse(untouched).head_map is None


def test_truncation_is_reported() -> None:
    pull = pull_request_node()
    pull["files"]["totalCount"] = 3500
    assert parse(pull).files_truncated is True


@pytest.mark.parametrize(
    ("pull", "message"),
    [
        (None, "no such pull request"),
        ({**pull_request_node(), "state": "LOCKED"}, "unknown pull request state"),
    ],
)
def test_bad_answers_are_refused(pull: dict[str, Any] | None, message: str) -> None:
    with pytest.raises(SnapshotError, match=message):
        parse(pull)


async def test_connections_beyond_100_items_are_paged() -> None:
    pull = pull_request_node(files=[(f"f{i}", 1, 0) for i in range(100)])
    pull["files"]["pageInfo"] = {"hasNextPage": True, "endCursor": "c1"}
    pull["files"]["totalCount"] = 230
    pages = {
        "c1": ({"hasNextPage": True, "endCursor": "c2"}, range(100, 200)),
        "c2": ({"hasNextPage": False, "endCursor": None}, range(200, 230)),
    }

    def graphql(call: Call, match: Any) -> tuple[int, Any]:
        if call.graphql_operation == "Snapshot":
            assert call.body["variables"]["mapPath"] == MAP_PATH
            return 200, snapshot_answer(pull)
        assert call.graphql_operation == "FilesPage"
        info, numbers = pages[call.body["variables"]["after"]]
        nodes = [{"path": f"f{i}", "additions": 1, "deletions": 0} for i in numbers]
        return 200, {
            "data": {
                "repository": {
                    "pullRequest": {"files": {"totalCount": 230, "pageInfo": info, "nodes": nodes}}
                }
            }
        }

    server = FakeServer()
    server.route("POST", "/graphql", graphql)

    async def no_auth() -> str:
        return "token t"

    snapshot = await fetch_snapshot(
        server.factory(no_auth),
        owner="o",
        repo="r",
        number=1,
        endpoint=GRAPHQL_URL,
        map_path=MAP_PATH,
        app_id=12345,
    )
    assert snapshot.graphql_requests == 3
    assert len(snapshot.facts.files) == 230
    assert snapshot.facts.files[-1].path == "f229"
    assert snapshot.facts.files_truncated is False
    assert server.summary() == [
        "POST /graphql Snapshot",
        "POST /graphql FilesPage",
        "POST /graphql FilesPage",
    ]


def _removed(reviewer: dict[str, Any] | None, actor: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "__typename": "ReviewRequestRemovedEvent",
        "createdAt": "2026-03-30T11:00:00Z",
        "actor": actor,
        "requestedReviewer": reviewer,
    }


def test_removed_review_requests_of_people_are_kept() -> None:
    carol = {"__typename": "User", "login": "carol"}
    pull = pull_request_node()
    pull["removedRequests"] = {
        "nodes": [
            _removed(carol, carol),
            _removed({"__typename": "User", "login": "ivan"}, None),  # ghost actor
            _removed({"__typename": "Team", "slug": "tsc"}, carol),  # teams are never asked
            _removed(None, carol),  # the reviewer's account was deleted
            {"__typename": "ReviewRequestedEvent"},  # another type slipped in: not a removal
            None,
        ]
    }
    facts = parse(pull)
    assert [(r.reviewer, r.actor) for r in facts.review_request_removals] == [
        ("carol", "carol"),
        ("ivan", None),
    ]
    assert facts.review_request_removals[0].removed_at.isoformat() == "2026-03-30T11:00:00+00:00"


def test_no_timeline_means_no_removals() -> None:
    facts = parse(pull_request_node())
    assert facts.review_request_removals == ()


@pytest.mark.parametrize(
    ("default_ref", "expected"),
    [
        ({"target": {"baseMap": {"oid": "b" * 40}}}, BaseMapHint("b" * 40)),
        ({"target": {"baseMap": None}}, BaseMapHint(None)),  # no map at the default branch's tip
        (None, None),  # GitHub gave no default branch: the contents API decides
        ({"target": None}, None),
    ],
)
def test_the_default_branch_map_hint(
    default_ref: dict[str, Any] | None, expected: BaseMapHint | None
) -> None:
    assert base_map_hint(default_ref) == expected


def test_profiles_of_the_opener_commit_authors_and_reviewers() -> None:
    pull = pull_request_node(
        reviews=[
            ("bob", "APPROVED", "2026-03-30T10:00:00Z"),
            ("ci", "COMMENTED", "2026-03-30T11:00:00Z"),
        ]
    )
    orgs = {"nodes": [{"login": "acme-corp"}, None, {"login": "oss"}]}
    pull["author"] |= {"company": " Acme Corp ", "organizations": orgs}
    pull["commits"]["nodes"][0]["commit"]["author"]["user"] |= {"company": None}
    pull["commits"]["nodes"][0]["commit"]["author"]["user"]["login"] = "Alice"
    pull["reviews"]["nodes"][0]["author"] |= {"company": "", "organizations": {"nodes": []}}
    pull["reviews"]["nodes"][1]["author"] = {"__typename": "Bot", "login": "ci"}
    facts = parse(pull)
    assert facts.profiles == (
        Profile("alice", company="Acme Corp", organizations=("acme-corp", "oss")),
        Profile("bob"),
    )


def associated(*nodes: tuple[int, str, str, str], total: int | None = None) -> dict[str, Any]:
    """A head commit `h…` with `associatedPullRequests` (number, state, head, repository)."""
    return {
        "oid": "h" * 40,
        "associatedPullRequests": {
            "totalCount": len(nodes) if total is None else total,
            "nodes": [
                {
                    "number": number,
                    "state": state,
                    "headRefOid": head,
                    "repository": {"nameWithOwner": repository},
                }
                for number, state, head, repository in nodes
            ],
        },
    }


HEAD, OTHER = "h" * 40, "o" * 40


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (None, ((), False)),
        ({"oid": HEAD}, ((), False)),
        (associated((1, "OPEN", HEAD, "o/r")), ((), False)),  # itself
        (associated((1, "OPEN", HEAD, "o/r"), (3, "OPEN", HEAD, "O/R")), ((3,), False)),
        (associated((4, "CLOSED", HEAD, "o/r"), (5, "MERGED", HEAD, "o/r")), ((), False)),
        (associated((6, "OPEN", OTHER, "o/r")), ((), False)),  # contains the commit, not its head
        (associated((7, "OPEN", HEAD, "fork/r")), ((), False)),  # another repository's PR
        (associated((9, "OPEN", HEAD, "o/r"), (8, "OPEN", HEAD, "o/r")), ((8, 9), False)),
        (associated((2, "OPEN", HEAD, "o/r"), total=51), ((2,), True)),  # not all listed
    ],
)
def test_the_open_prs_sharing_the_head(
    head: dict[str, Any] | None, expected: tuple[tuple[int, ...], bool]
) -> None:
    assert same_head_pull_requests(head, slug="o/r", number=1) == expected


def test_label_changes_are_read_with_their_actors() -> None:
    carol = {"__typename": "User", "login": "carol"}
    pull = pull_request_node()
    pull["labelChanges"] = {
        "nodes": [
            {
                "__typename": "LabeledEvent",
                "createdAt": "2026-03-30T11:00:00Z",
                "actor": carol,
                "label": {"name": "trivial"},
            },
            {
                "__typename": "UnlabeledEvent",
                "createdAt": "2026-03-30T12:00:00Z",
                "actor": None,  # a deleted account
                "label": {"name": "major"},
            },
            {"__typename": "LabeledEvent", "createdAt": "2026-03-30T12:00:00Z", "label": None},
            None,
        ]
    }
    facts = parse(pull)
    assert [(c.label, c.actor, c.added) for c in facts.label_changes] == [
        ("trivial", "carol", True),
        ("major", None, False),
    ]
    assert facts.label_changes[0].at.isoformat() == "2026-03-30T11:00:00+00:00"


def test_a_comment_edited_by_someone_else_is_theirs() -> None:
    pull = pull_request_node()
    pull["comments"]["nodes"].append(
        {
            "id": "C_3",
            "databaseId": 13,
            "url": "https://github.com/o/r/pull/1#issuecomment-13",
            "author": {"__typename": "User", "login": "gus"},
            "editor": {"__typename": "User", "login": "wendy"},
            "lastEditedAt": "2026-03-30T12:00:00Z",
            "body": "/coi minor",
            "createdAt": "2026-03-30T10:00:00Z",
        }
    )
    (comment,) = parse(pull).comments
    assert (comment.author, comment.editor, comment.writer) == ("gus", "wendy", "wendy")
    assert comment.written_at.isoformat() == "2026-03-30T12:00:00+00:00"
    assert comment.url == "https://github.com/o/r/pull/1#issuecomment-13"


def test_deletions_and_the_apps_record_are_read() -> None:
    pull = pull_request_node(check_run=(77, "fingerprint"))
    pull["commentDeletions"] = {
        "nodes": [
            {
                "__typename": "CommentDeletedEvent",
                "createdAt": "2026-03-30T11:00:00Z",
                "actor": {"__typename": "User", "login": "alice"},
                "deletedCommentAuthor": {"__typename": "User", "login": "ivan"},
            },
            {"__typename": "LabeledEvent"},
            None,
        ]
    }
    declared = Declaration("gus", "ivan", "consults", "C_9", at=github_time("2026-03-29T00:00:00Z"))
    runs = pull["headCommit"]["nodes"][0]["commit"]["checkSuites"]["nodes"][0]["checkRuns"]
    runs["nodes"][0]["text"] = f"{record_line([declared])}\n\nDetails."
    facts = parse(pull)
    (deletion,) = facts.comment_deletions
    assert (deletion.comment_author, deletion.actor) == ("ivan", "alice")
    (record,) = facts.recorded_declarations
    assert (record.comment_id, record.login, record.by, record.reason) == (
        "C_9",
        "gus",
        "ivan",
        "consults",
    )


def test_only_the_apps_own_comments_are_read_for_records() -> None:
    declared = Declaration("gus", "ivan", None, "C_9", at=github_time("2026-03-29T00:00:00Z"))
    pull = pull_request_node()
    for index, by_viewer in enumerate((False, True)):
        pull["comments"]["nodes"].append(
            {
                "id": f"C_{index}",
                "databaseId": index,
                "author": {"__typename": "User", "login": "alice"},
                "body": record_line([dataclasses.replace(declared, login=f"p{index}")]),
                "createdAt": "2026-03-30T10:00:00Z",
                "viewerDidAuthor": by_viewer,
            }
        )
    (record,) = parse(pull).recorded_declarations
    assert record.login == "p1", "a record in someone else's comment is never trusted"
    # The App's own comment, once someone else edited it, is that editor's text.
    pull["comments"]["nodes"][1] |= {
        "editor": {"__typename": "User", "login": "mallory"},
        "lastEditedAt": "2026-03-30T11:00:00Z",
    }
    assert parse(pull).recorded_declarations == ()


def test_renamed_files_take_their_old_path_from_rest_only() -> None:
    pull = pull_request_node(files=[("docs/x.yml", 0, 0), ("core/a.py", 1, 1)])
    pull["files"]["nodes"][0]["changeType"] = "RENAMED"
    assert has_renames(pull, {})
    assert not has_renames(pull_request_node(files=[("core/a.py", 1, 1)]), {})
    assert has_renames(pull_request_node(files=[]), {"files": [pull["files"]["nodes"][0]]})
    facts = parse(pull)
    assert [f.previous_path for f in facts.files] == [None, None], "GraphQL gives no old path"
    listing = [
        {"filename": "docs/x.yml", "status": "renamed", "previous_filename": MAP_PATH},
        {"filename": "core/a.py", "status": "modified"},
        {"filename": "gone.py", "status": "renamed", "previous_filename": "old.py"},  # raced
    ]
    renamed = with_previous_paths(facts, listing)
    assert [f.previous_path for f in renamed.files] == [MAP_PATH, None]
    assert with_previous_paths(facts, listing[1:2]) is facts


@pytest.mark.parametrize(
    ("status", "conclusion", "read"),
    [
        ("COMPLETED", "ACTION_REQUIRED", ("action_required", "completed")),
        ("IN_PROGRESS", None, (None, "in_progress")),
        # A run set back to waiting may keep its former conclusion: the status decides.
        ("IN_PROGRESS", "SUCCESS", (None, "in_progress")),
        (None, "SUCCESS", ("success", "completed")),  # read without its status: as written
    ],
)
def test_a_waiting_run_is_never_read_as_its_former_conclusion(
    status: str | None, conclusion: str | None, read: tuple[str | None, str]
) -> None:
    node = {"databaseId": 7, "name": "COI review", "status": status, "conclusion": conclusion}
    head = {"checkSuites": {"nodes": [{"checkRuns": {"nodes": [node]}}]}}
    (run,) = existing_check_runs(head)
    assert (run.conclusion, run.status) == read


def test_every_user_the_answer_names_is_read_with_its_numeric_id() -> None:
    pull = pull_request_node(reviews=[("bob", "APPROVED", "2026-03-30T10:00:00Z")])
    pull["author"]["databaseId"] = 11
    commit = pull["commits"]["nodes"][0]["commit"]
    commit["author"]["user"] |= {"login": "alice", "databaseId": 11}
    commit["committer"] = {"email": "c@example.com", "user": {"login": "cy", "databaseId": 33}}
    pull["reviews"]["nodes"][0]["author"]["databaseId"] = 22  # the review's own databaseId too
    pull["comments"]["nodes"].append(
        {
            "id": "C_1",
            "databaseId": 9001,
            "author": {"__typename": "Bot", "login": "coi-bot"},  # a Bot: no user id
            "editor": {"__typename": "User", "login": "dora", "databaseId": 44},
            "body": "/coi recheck",
            "createdAt": "2026-03-30T10:00:00Z",
        }
    )
    pull["labelChanges"] = {
        "nodes": [
            {
                "__typename": "LabeledEvent",
                "createdAt": "2026-03-30T11:00:00Z",
                "actor": {"__typename": "User", "login": "eve", "databaseId": 55},
                "label": {"name": "trivial"},
            }
        ]
    }
    page = {"author": {"__typename": "User", "login": "fay", "databaseId": 66}}
    facts = parse(pull, extra_nodes={"comments": [page | {"id": "C_2", "body": "", **_TIMES}]})
    assert facts.account_ids == {
        "alice": 11,
        "bob": 22,
        "cy": 33,
        "dora": 44,
        "eve": 55,
        "fay": 66,
    }


_TIMES = {"createdAt": "2026-03-30T10:00:00Z", "updatedAt": "2026-03-30T10:00:00Z"}
