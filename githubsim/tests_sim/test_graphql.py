"""The GraphQL endpoint: the bot's own documents executed over the simulator's state."""

from __future__ import annotations

from typing import Any

import pytest
from githubsim.state import blob_sha

from bot.github.queries import (
    ISSUE_COMMENTS_PAGE,
    ISSUE_VOTE,
    MAP_BLOB,
    MINIMIZE_DUPLICATE_REPLY,
    OWNERS_TEXTS,
    PAGE_QUERIES,
    REMOVE_APPLIED_MARK,
    SNAPSHOT,
    review_load_query,
)
from bot.jobs.issue_votes import OPEN_VOTE_ISSUES
from bot.jobs.reconciler import OPEN_PULL_REQUESTS
from bot.report_votes import VOTE_ISSUES, VOTE_PULLS
from githubsim import GitHubSimulator
from tests_sim.conftest import APP_ID, MAP_PATH, MAP_TEXT, Api, Clock, Receiver, Seed

CHECK = "COI review"
MINIMIZE = """
mutation Minimize($subjectId: ID!) {
  minimizeComment(input: {subjectId: $subjectId, classifier: %s}) {
    minimizedComment { __typename ... on IssueComment { id isMinimized minimizedReason } }
  }
}
"""


def snapshot_variables(number: int) -> dict[str, Any]:
    return {
        "owner": "acme",
        "name": "widgets",
        "number": number,
        "mapPath": MAP_PATH,
        "checkName": CHECK,
        "appId": APP_ID,
    }


async def test_snapshot_of_a_seeded_pull_request(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    number = await sim.open_pull_request(
        "acme/widgets",
        author="alice",
        title="Rework",
        files={"src/core.py": "a\nb\n", "README.md": None},
        labels=["major"],
        co_authors=["bob"],
    )
    await sim.push_commits("acme/widgets", number, author="bob", files={"src/core.py": "a\nc\n"})
    review_id = await sim.submit_review("acme/widgets", number, reviewer="bob")
    await sim.post_comment("acme/widgets", number, author="carol", body="/coi declare")
    await api.login(seed.installation_id)
    head = sim.head_sha("acme/widgets", number)
    await api.call(
        "POST",
        f"/repos/acme/widgets/pulls/{number}/requested_reviewers",
        json={"reviewers": ["carol"]},
    )
    _, run, _ = await api.call(
        "POST",
        "/repos/acme/widgets/check-runs",
        json={
            "name": CHECK,
            "head_sha": head,
            "external_id": "v7",
            "conclusion": "neutral",
            "output": {"title": "t", "summary": "s"},
        },
    )
    await api.call(
        "POST", f"/repos/acme/widgets/issues/{number}/comments", json={"body": "bot says"}
    )

    result = await api.graphql(SNAPSHOT, **snapshot_variables(number))
    assert "errors" not in result
    data = result["data"]
    assert data["rateLimit"]["remaining"] <= 5000
    pull = data["repository"]["pullRequest"]
    assert (pull["number"], pull["title"], pull["state"], pull["isDraft"]) == (
        number,
        "Rework",
        "OPEN",
        False,
    )
    assert (pull["baseRefName"], pull["headRefOid"]) == ("main", head)
    assert pull["author"] == {
        "__typename": "User",
        "login": "alice",
        "databaseId": sim.users["alice"].id,
        "company": None,
        "organizations": {"nodes": []},
    }
    assert pull["labels"]["nodes"] == [{"name": "major"}]
    assert pull["files"]["totalCount"] == 2
    assert {
        (f["path"], f["changeType"], f["additions"], f["deletions"]) for f in pull["files"]["nodes"]
    } == {
        ("src/core.py", "ADDED", 2, 0),
        ("README.md", "DELETED", 0, 1),
    }
    commits = pull["commits"]["nodes"]
    assert [c["commit"]["author"]["user"]["login"] for c in commits] == ["alice", "bob"]
    assert "Co-authored-by: bob <bob@acme.example>" in commits[0]["commit"]["message"]
    [review] = pull["reviews"]["nodes"]
    assert (review["databaseId"], review["state"], review["author"]["login"]) == (
        review_id,
        "APPROVED",
        "bob",
    )
    assert review["commit"]["oid"] == head
    assert review["submittedAt"].endswith("Z")
    assert review["authorCanPushToRepository"] is True
    comments = pull["comments"]["nodes"]
    assert [(c["author"]["__typename"], c["author"]["login"]) for c in comments] == [
        ("User", "carol"),
        ("Bot", "coi-bot[bot]"),
    ]
    requested = [n["requestedReviewer"] for n in pull["reviewRequests"]["nodes"]]
    assert requested == [
        {"__typename": "User", "login": "carol", "databaseId": sim.users["carol"].id}
    ]
    [head_commit] = pull["headCommit"]["nodes"]
    assert head_commit["commit"]["oid"] == head
    assert head_commit["commit"]["mapFile"]["object"]["text"] == MAP_TEXT
    runs = head_commit["commit"]["checkSuites"]["nodes"][0]["checkRuns"]["nodes"]
    assert runs == [
        {
            "databaseId": run["id"],
            "name": CHECK,
            "externalId": "v7",
            "status": "COMPLETED",
            "conclusion": "NEUTRAL",
            "text": None,
        }
    ]
    assert [c.kind for c in sim.calls].count("graphql") == 1
    assert sim.calls[-1].query_name == "Snapshot"


async def test_team_review_requests_and_a_missing_map(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    sim.add_team("acme", "tsc", members=["carol"])
    number = await sim.open_pull_request(
        "acme/widgets", author="alice", title="t", files={MAP_PATH: None}
    )
    await api.login(seed.installation_id)
    status, _, _ = await api.call(
        "POST",
        f"/repos/acme/widgets/pulls/{number}/requested_reviewers",
        json={"team_reviewers": ["tsc"]},
    )
    assert status == 201
    pull = (await api.graphql(SNAPSHOT, **snapshot_variables(number)))["data"]["repository"][
        "pullRequest"
    ]
    assert pull["reviewRequests"]["nodes"] == [
        {"requestedReviewer": {"__typename": "Team", "slug": "tsc"}}
    ]
    assert pull["headCommit"]["nodes"][0]["commit"]["mapFile"] is None
    # The push already created the App's (empty) suite, as GitHub does for apps with checks.
    suites = pull["headCommit"]["nodes"][0]["commit"]["checkSuites"]["nodes"]
    assert suites == [{"checkRuns": {"nodes": []}}]


@pytest.mark.parametrize("connection", ["files", "commits", "reviews", "comments"])
async def test_paging_beyond_100_items(
    sim: GitHubSimulator, api: Api, seed: Seed, connection: str
) -> None:
    files: dict[str, str | None] = {
        f"f{i:03}.txt": f"{i}\n" for i in range(250 if connection == "files" else 1)
    }
    number = await sim.open_pull_request("acme/widgets", author="alice", title="big", files=files)
    if connection == "commits":
        for i in range(150):
            await sim.push_commits(
                "acme/widgets", number, author="alice", files={"f000.txt": f"v{i}\n"}
            )
    elif connection == "reviews":
        for i in range(150):
            await sim.submit_review(
                "acme/widgets", number, reviewer="bob", state="COMMENTED", body=str(i)
            )
    elif connection == "comments":
        for i in range(150):
            await sim.post_comment("acme/widgets", number, author="bob", body=str(i))
    await api.login(seed.installation_id)
    total = 250 if connection == "files" else 151 if connection == "commits" else 150
    first = (await api.graphql(SNAPSHOT, **snapshot_variables(number)))["data"]["repository"][
        "pullRequest"
    ][connection]
    seen = len(first["nodes"])
    assert seen == (50 if connection in ("commits", "reviews") else 100)  # bot/github/queries.py
    page_info = first["pageInfo"]
    while page_info["hasNextPage"]:
        result = await api.graphql(
            PAGE_QUERIES[connection],
            owner="acme",
            name="widgets",
            number=number,
            after=page_info["endCursor"],
        )
        page = result["data"]["repository"]["pullRequest"][connection]
        seen += len(page["nodes"])
        page_info = page["pageInfo"]
    assert seen == total


async def test_review_load_counts_open_requests(sim: GitHubSimulator, api: Api, seed: Seed) -> None:
    await api.login(seed.installation_id)
    for author in ("alice", "bob"):
        number = await sim.open_pull_request(
            "acme/widgets", author=author, title="t", files={"x": author}
        )
        await api.call(
            "POST",
            f"/repos/acme/widgets/pulls/{number}/requested_reviewers",
            json={"reviewers": ["carol"]},
        )
    query = review_load_query(["carol", "bob", "dave"])
    result = await api.graphql(query, owner="acme", name="widgets", number=1)
    data = result["data"]
    pending = data.pop("pending")["pullRequest"]["reviewRequests"]["nodes"]
    assert [node["requestedReviewer"]["login"] for node in pending] == ["carol"]
    assert {alias: found["issueCount"] for alias, found in data.items()} == {
        "c0": 2,
        "c1": 0,
        "c2": 0,
    }


async def test_review_load_with_profiles_answers_unknown_logins_beside_the_rest(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    sim.set_profile("carol", company="Globex", organizations=["globex"])
    await sim.open_pull_request("acme/widgets", author="alice", title="t", files={"x": "y"})
    await api.login(seed.installation_id)
    query = review_load_query(["carol", "nobody-here"], profiles=True)
    result = await api.graphql(query, owner="acme", name="widgets", number=1)
    assert result["data"]["p0"] == {
        "login": "carol",
        "databaseId": sim.users["carol"].id,
        "company": "Globex",
        "organizations": {"nodes": [{"login": "globex"}]},
    }
    assert result["data"]["p1"] is None
    assert result["data"]["c1"] == {"issueCount": 0}
    assert [(e["type"], e["path"]) for e in result["errors"]] == [("NOT_FOUND", ["p1"])]


_PULL = 'query { repository(owner: "acme", name: "widgets") { pullRequest(number: %s) { %s } } }'


@pytest.mark.parametrize(
    ("query", "error_type"),
    [
        ('query { repository(owner: "acme", name: "nope") { id } }', "NOT_FOUND"),
        (_PULL % (99, "id"), "NOT_FOUND"),
        (_PULL % (1, "files(first: 101) { totalCount }"), "EXCESSIVE_PAGINATION"),
        (_PULL % (1, "files { totalCount }"), "MISSING_PAGINATION_BOUNDARIES"),
    ],
)
async def test_graphql_errors_carry_githubs_types(
    sim: GitHubSimulator, api: Api, seed: Seed, query: str, error_type: str
) -> None:
    await sim.open_pull_request("acme/widgets", author="alice", title="t", files={"x": "y"})
    await api.login(seed.installation_id)
    result = await api.graphql(query)
    assert [e["type"] for e in result["errors"]] == [error_type]


async def test_an_invalid_document_is_answered_and_recorded(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    await api.login(seed.installation_id)
    result = await api.graphql("query { repository(owner: 1) { nonsense } }")
    assert "data" not in result
    assert result["errors"]
    assert sim.violations
    sim.violations.clear()


async def test_graphql_needs_an_installation_token(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    async with api.session.post(
        sim.graphql_url, json={"query": "query { viewer { login } }"}
    ) as response:
        assert response.status == 401
        assert (await response.json())[
            "message"
        ] == "This endpoint requires you to be authenticated."


async def test_removed_review_requests_reach_the_timeline_and_the_webhooks(
    sim: GitHubSimulator, api: Api, seed: Seed, receiver: Receiver, clock: Clock
) -> None:
    sim.set_permission("acme/widgets", "dave", "write")
    number = await sim.open_pull_request(
        "acme/widgets", author="alice", title="t", files={"a": "b"}
    )
    await api.login(seed.installation_id)
    path = f"/repos/acme/widgets/pulls/{number}/requested_reviewers"
    await api.call("POST", path, json={"reviewers": ["carol", "dave"]})
    clock.advance(minutes=1)
    await sim.remove_review_request("acme/widgets", number, reviewer="Carol", sender="carol")
    clock.advance(minutes=1)
    status, _, _ = await api.call("DELETE", path, json={"reviewers": ["dave", "bob"]})
    assert status == 200
    await sim.settle()
    assert sim.review_requests("acme/widgets", number) == []
    with pytest.raises(ValueError, match="no pending review request"):
        await sim.remove_review_request("acme/widgets", number, reviewer="carol", sender="bob")

    pull = (await api.graphql(SNAPSHOT, **snapshot_variables(number)))["data"]["repository"][
        "pullRequest"
    ]
    removed = [
        (n["__typename"], n["requestedReviewer"]["login"], n["actor"]["login"])
        for n in pull["removedRequests"]["nodes"]
    ]
    # bob had no pending request: removing nobody leaves no event.
    assert removed == [
        ("ReviewRequestRemovedEvent", "carol", "carol"),
        ("ReviewRequestRemovedEvent", "dave", sim.bot_login),
    ]
    first, second = (n["createdAt"] for n in pull["removedRequests"]["nodes"])
    assert first < second
    webhooks = [
        (payload["requested_reviewer"]["login"], payload["sender"]["login"])
        for event, payload in receiver.events()
        if event == "pull_request" and payload["action"] == "review_request_removed"
    ]
    assert webhooks == [("carol", "carol"), ("dave", sim.bot_login)]


@pytest.mark.parametrize(
    ("classifier", "reason"),
    [("DUPLICATE", "duplicate"), ("OFF_TOPIC", "off-topic"), ("OUTDATED", "outdated")],
)
async def test_minimizing_a_comment_hides_it_from_graphql_only(
    sim: GitHubSimulator, api: Api, seed: Seed, receiver: Receiver, classifier: str, reason: str
) -> None:
    number = await sim.open_pull_request(
        "acme/widgets", author="alice", title="t", files={"a": "b"}
    )
    await api.login(seed.installation_id)
    _, created, _ = await api.call(
        "POST", f"/repos/acme/widgets/issues/{number}/comments", json={"body": "twice"}
    )
    await sim.settle()
    comment_path = f"/repos/acme/widgets/issues/comments/{created['id']}"
    _, rest_before, _ = await api.call("GET", comment_path)
    webhooks_before = len(receiver.received)

    result = await api.graphql(MINIMIZE % classifier, subjectId=created["node_id"])
    assert "errors" not in result
    assert result["data"]["minimizeComment"] == {
        "minimizedComment": {
            "__typename": "IssueComment",
            "id": created["node_id"],
            "isMinimized": True,
            "minimizedReason": reason,
        }
    }
    assert sim.minimized_reason("acme/widgets", created["id"]) == reason
    pull = (await api.graphql(SNAPSHOT, **snapshot_variables(number)))["data"]["repository"][
        "pullRequest"
    ]
    assert [c["isMinimized"] for c in pull["comments"]["nodes"]] == [True]
    _, rest_after, _ = await api.call("GET", comment_path)
    assert rest_after == rest_before  # REST shows no minimized state
    await sim.settle()
    assert len(receiver.received) == webhooks_before  # GitHub sends no webhook for it

    again = await api.graphql(MINIMIZE % "RESOLVED", subjectId=created["node_id"])
    assert again["data"]["minimizeComment"]["minimizedComment"]["minimizedReason"] == "resolved"


async def foreign_comment(sim: GitHubSimulator) -> tuple[int, str]:
    """A comment (REST id, node id) in a repository the test installation does not cover."""
    sim.add_user("erin")
    sim.add_org("elsewhere", members=["erin"])
    sim.add_repo("elsewhere", "gadgets", files={"README.md": "hi\n"})
    number = await sim.open_pull_request(
        "elsewhere/gadgets", author="erin", title="t", files={"a": "b"}
    )
    foreign = await sim.post_comment("elsewhere/gadgets", number, author="erin", body="mine")
    return foreign, sim.comments("elsewhere/gadgets", number)[0]["node_id"]


async def test_minimizing_needs_a_comment_the_installation_can_see(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    foreign, foreign_node = await foreign_comment(sim)
    await api.login(seed.installation_id)

    for subject_id in (foreign_node, "MDEyOklzc3VlQ29tbWVudDk5OTk5"):
        result = await api.graphql(MINIMIZE % "DUPLICATE", subjectId=subject_id)
        assert result["data"] == {"minimizeComment": None}
        assert [e["type"] for e in result["errors"]] == ["NOT_FOUND"]
        assert subject_id in result["errors"][0]["message"]
    assert sim.minimized_reason("elsewhere/gadgets", foreign) is None
    # An App JWT is no installation token: GraphQL refuses it before executing anything.
    async with api.session.post(
        sim.graphql_url,
        json={"query": MINIMIZE % "DUPLICATE", "variables": {"subjectId": foreign_node}},
        headers={"Authorization": f"Bearer {api.jwt()}"},
    ) as response:
        assert response.status == 403
    assert sim.minimized_reason("elsewhere/gadgets", foreign) is None


async def test_the_bots_own_mutation_runs_against_the_simulator(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    number = await sim.open_pull_request(
        "acme/widgets", author="alice", title="t", files={"a": "b"}
    )
    await api.login(seed.installation_id)
    _, created, _ = await api.call(
        "POST", f"/repos/acme/widgets/issues/{number}/comments", json={"body": "again"}
    )
    result = await api.graphql(MINIMIZE_DUPLICATE_REPLY, subjectId=created["node_id"])
    assert result == {"data": {"minimizeComment": {"minimizedComment": {"isMinimized": True}}}}
    assert sim.minimized_reason("acme/widgets", created["id"]) == "duplicate"
    assert sim.calls[-1].query_name == "MinimizeDuplicateReply"


async def test_removing_the_apps_reaction_leaves_everyone_elses(
    sim: GitHubSimulator, api: Api, seed: Seed, receiver: Receiver
) -> None:
    number = await sim.open_pull_request(
        "acme/widgets", author="alice", title="t", files={"a": "b"}
    )
    comment = await sim.post_comment("acme/widgets", number, author="alice", body="/coi declare")
    node = sim.comments("acme/widgets", number)[0]["node_id"]
    await api.login(seed.installation_id)
    path = f"/repos/acme/widgets/issues/comments/{comment}/reactions"
    for content in ("+1", "eyes"):
        await api.call("POST", path, json={"content": content})
    sim.react_as("alice", "acme/widgets", comment, "+1")
    await sim.settle()
    webhooks_before = len(receiver.received)

    for _ in range(2):  # removing again changes nothing and is no error
        result = await api.graphql(REMOVE_APPLIED_MARK, subjectId=node)
        assert result == {"data": {"removeReaction": {"subject": {"id": node}}}}
        assert sim.reactions("acme/widgets", comment) == ["eyes", "+1"]
    assert sim.calls[-1].query_name == "RemoveAppliedMark"
    pull = (await api.graphql(SNAPSHOT, **snapshot_variables(number)))["data"]["repository"][
        "pullRequest"
    ]
    groups = pull["comments"]["nodes"][0]["reactionGroups"]
    assert {g["content"]: g["viewerHasReacted"] for g in groups} == {
        "EYES": True,
        "THUMBS_UP": False,
    }
    await sim.settle()
    assert len(receiver.received) == webhooks_before


async def test_removing_a_reaction_needs_a_comment_the_installation_can_see(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    _, foreign_node = await foreign_comment(sim)
    await api.login(seed.installation_id)
    result = await api.graphql(REMOVE_APPLIED_MARK, subjectId=foreign_node)
    assert result["data"] == {"removeReaction": None}
    assert [e["type"] for e in result["errors"]] == ["NOT_FOUND"]


PROFILES = """
query Profiles($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      author { login ... on User { company organizations(first: 10) { nodes { login } } } }
      commits(first: 10) {
        nodes { commit { author { email user { login company
          organizations(first: 10) { nodes { login } } } } } }
      }
    }
  }
}
"""


async def test_profiles_show_company_and_public_organizations(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    sim.set_profile("alice", company="@acme-corp Acme Corp", organizations=["acme-corp", "oss"])
    sim.add_user("bob", company="Initech")
    number = await sim.open_pull_request(
        "acme/widgets", author="alice", title="t", files={"x": "y"}
    )
    await sim.push_commits("acme/widgets", number, author="bob", files={"x": "z"})
    await api.login(seed.installation_id)
    result = await api.graphql(PROFILES, owner="acme", name="widgets", number=number)
    assert "errors" not in result
    pull = result["data"]["repository"]["pullRequest"]
    assert pull["author"] == {
        "login": "alice",
        "company": "@acme-corp Acme Corp",
        "organizations": {"nodes": [{"login": "acme-corp"}, {"login": "oss"}]},
    }
    authors = [node["commit"]["author"] for node in pull["commits"]["nodes"]]
    assert [a["email"] for a in authors] == ["alice@acme.example", "bob@acme.example"]
    bob = authors[1]["user"]
    # bob's membership of `acme` (seeded through add_org) is private: profiles show public ones.
    assert (bob["company"], bob["organizations"]["nodes"]) == ("Initech", [])
    assert sim.org_members["acme-corp"] == {"alice"}


async def test_a_profile_can_be_cleared(sim: GitHubSimulator, seed: Seed) -> None:
    sim.set_profile("carol", company="Globex", organizations=["globex"])
    sim.set_profile("carol", organizations=[])
    assert (sim.users["carol"].company, sim.users["carol"].public_orgs) == (None, [])
    assert "carol" in sim.org_members["globex"]  # the membership stays, only hidden
    with pytest.raises(KeyError):
        sim.set_profile("nobody", company="x")


ASSOCIATED = """
query Associated($owner: String!, $name: String!, $oid: GitObjectID!) {
  repository(owner: $owner, name: $name) {
    object(oid: $oid) { ... on Commit {
      associatedPullRequests(first: 10) { totalCount nodes { number state headRefOid } }
    } }
  }
}
"""


async def test_a_commit_lists_the_open_prs_containing_it_until_one_merges_it(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    repo = "acme/widgets"
    first = await sim.open_pull_request(repo, author="alice", title="A", files={"a": "1\n"})
    head = sim.head_sha(repo, first)
    twin = await sim.open_pull_request_at(repo, author="bob", title="Twin", head_sha=head)
    later = await sim.push_commits(repo, twin, author="bob", files={"b": "2\n"})
    await api.login(seed.installation_id)

    async def associated(oid: str) -> list[tuple[int, str, str]]:
        result = await api.graphql(ASSOCIATED, owner="acme", name="widgets", oid=oid)
        assert "errors" not in result, result
        found = result["data"]["repository"]["object"]["associatedPullRequests"]
        assert found["totalCount"] == len(found["nodes"])
        return [(n["number"], n["state"], n["headRefOid"]) for n in found["nodes"]]

    assert sim.pull(repo, twin).commit_shas == [head, later], "the twin holds the same commit"
    assert await associated(head) == [(first, "OPEN", head), (twin, "OPEN", later)]
    assert await associated(later) == [(twin, "OPEN", later)]

    await sim.close_pull_request(repo, first, merge=True)
    # Once on the default branch: only the PR that merged it (GitHub's schema, Commit).
    assert await associated(head) == [(first, "MERGED", head)]


async def test_a_pr_opened_on_an_existing_commit_makes_no_new_commit(
    sim: GitHubSimulator, seed: Seed, receiver: Receiver
) -> None:
    repo = "acme/widgets"
    first = await sim.open_pull_request(repo, author="alice", title="A", files={"a": "1\n"})
    head = sim.head_sha(repo, first)
    commits = len(sim.repos[repo].commits)
    twin = await sim.open_pull_request_at(
        repo, author="bob", title="Twin", head_sha=head, head="bob/copy"
    )
    assert len(sim.repos[repo].commits) == commits
    assert sim.head_sha(repo, twin) == head
    assert sim.repos[repo].branches["bob/copy"] == head
    events = [(e, p.get("action")) for e, p in receiver.events()]
    assert events[-1] == ("pull_request", "opened"), "no new check suite: the commit has one"
    with pytest.raises(KeyError):
        await sim.open_pull_request_at(repo, author="bob", title="x", head_sha="0" * 40)
    with pytest.raises(KeyError):
        await sim.open_pull_request_at(repo, author="bob", title="x", head_sha=head, base="gone")


async def test_a_review_says_whether_its_author_can_push(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    number = await sim.open_pull_request("acme/widgets", author="alice", title="t", files={})
    sim.set_permission("acme/widgets", "carol", "triage")
    await sim.submit_review("acme/widgets", number, reviewer="carol")  # triage cannot push
    await sim.submit_review("acme/widgets", number, reviewer="dave")  # no access at all
    sim.set_permission("acme/widgets", "bob", "maintain")
    await sim.submit_review("acme/widgets", number, reviewer="bob")
    await api.login(seed.installation_id)
    result = await api.graphql(SNAPSHOT, **snapshot_variables(number))
    reviews = result["data"]["repository"]["pullRequest"]["reviews"]["nodes"]
    assert {r["author"]["login"]: r["authorCanPushToRepository"] for r in reviews} == {
        "carol": False,
        "dave": False,
        "bob": True,
    }


async def test_label_changes_reach_the_timeline_with_their_actors(
    sim: GitHubSimulator, api: Api, seed: Seed, clock: Clock
) -> None:
    number = await sim.open_pull_request(
        "acme/widgets", author="alice", title="t", files={"a": "b"}, labels=["major"]
    )
    clock.advance(minutes=1)
    await sim.set_labels("acme/widgets", number, ["trivial"], sender="carol")
    await api.login(seed.installation_id)
    pull = (await api.graphql(SNAPSHOT, **snapshot_variables(number)))["data"]["repository"][
        "pullRequest"
    ]
    changes = [
        (n["__typename"], n["label"]["name"], n["actor"]["login"])
        for n in pull["labelChanges"]["nodes"]
    ]
    # Labels set when opening are the opener's; each later change is its sender's, in order.
    assert changes == [
        ("LabeledEvent", "major", "alice"),
        ("UnlabeledEvent", "major", "carol"),
        ("LabeledEvent", "trivial", "carol"),
    ]
    assert (
        pull["labelChanges"]["nodes"][0]["createdAt"]
        < pull["labelChanges"]["nodes"][1]["createdAt"]
    )
    # The other timeline alias asks only for removed review requests: it lists no labels.
    assert pull["removedRequests"]["nodes"] == []


async def test_an_edited_comment_names_its_editors(
    sim: GitHubSimulator, api: Api, seed: Seed, clock: Clock
) -> None:
    number = await sim.open_pull_request(
        "acme/widgets", author="alice", title="t", files={"a": "b"}
    )
    comment_id = await sim.post_comment("acme/widgets", number, author="carol", body="LGTM")
    untouched = await sim.post_comment("acme/widgets", number, author="bob", body="hi")
    clock.advance(minutes=1)
    await sim.edit_comment("acme/widgets", comment_id, body="LGTM!", editor="carol")
    clock.advance(minutes=1)
    await sim.edit_comment("acme/widgets", comment_id, body="/coi minor", editor="dave")
    await api.login(seed.installation_id)
    query = """
    query($owner: String!, $name: String!, $number: Int!) {
      repository(owner: $owner, name: $name) { pullRequest(number: $number) {
        comments(first: 10) { nodes {
          databaseId createdAt editor { __typename login } lastEditedAt
          userContentEdits(first: 10) { totalCount nodes { editor { login } editedAt diff } }
        } }
      } }
    }"""
    result = await api.graphql(query, owner="acme", name="widgets", number=number)
    assert "errors" not in result
    edited, plain = result["data"]["repository"]["pullRequest"]["comments"]["nodes"]
    assert edited["databaseId"] == comment_id
    assert edited["editor"] == {"__typename": "User", "login": "dave"}
    assert edited["lastEditedAt"] > edited["createdAt"]
    edits = edited["userContentEdits"]
    assert edits["totalCount"] == 2
    # Newest first, each with its own editor.
    assert [(e["editor"]["login"], e["diff"]) for e in edits["nodes"]] == [
        ("dave", "/coi minor"),
        ("carol", "LGTM!"),
    ]
    assert edits["nodes"][0]["editedAt"] == edited["lastEditedAt"]
    assert plain["databaseId"] == untouched
    assert (plain["editor"], plain["lastEditedAt"]) == (None, None)
    assert plain["userContentEdits"] == {"totalCount": 0, "nodes": []}


async def test_a_deleted_comment_leaves_who_deleted_whose_on_the_timeline(
    sim: GitHubSimulator, api: Api, seed: Seed, clock: Clock
) -> None:
    number = await sim.open_pull_request(
        "acme/widgets", author="alice", title="t", files={"a": "b"}
    )
    mine = await sim.post_comment("acme/widgets", number, author="carol", body="/coi declare")
    theirs = await sim.post_comment("acme/widgets", number, author="bob", body="hello")
    clock.advance(minutes=1)
    await sim.delete_comment("acme/widgets", mine, sender="alice")
    await sim.delete_comment("acme/widgets", theirs)
    await api.login(seed.installation_id)
    await api.call(
        "POST",
        "/repos/acme/widgets/check-runs",
        json={
            "name": CHECK,
            "head_sha": sim.head_sha("acme/widgets", number),
            "status": "completed",
            "conclusion": "success",
            "output": {"title": "t", "summary": "s", "text": "recorded here"},
        },
    )
    pull = (await api.graphql(SNAPSHOT, **snapshot_variables(number)))["data"]["repository"][
        "pullRequest"
    ]
    deletions = [
        (n["__typename"], n["actor"]["login"], n["deletedCommentAuthor"]["login"])
        for n in pull["commentDeletions"]["nodes"]
    ]
    # GitHub names whose comment was deleted and by whom, never which comment.
    assert deletions == [
        ("CommentDeletedEvent", "alice", "carol"),
        ("CommentDeletedEvent", "bob", "bob"),
    ]
    assert pull["comments"]["nodes"] == []
    [head] = pull["headCommit"]["nodes"]
    [run] = head["commit"]["checkSuites"]["nodes"][0]["checkRuns"]["nodes"]
    assert run["text"] == "recorded here"
    assert (run["status"], run["conclusion"]) == ("COMPLETED", "SUCCESS")


async def test_a_pushed_commit_names_its_committer_apart_from_its_author(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    number = await sim.open_pull_request("acme/widgets", author="alice", title="t", files={})
    await sim.push_commits(
        "acme/widgets", number, author="alice", committer="bob", files={"a": "b"}
    )
    await api.login(seed.installation_id)
    result = await api.graphql(SNAPSHOT, **snapshot_variables(number))
    commits = result["data"]["repository"]["pullRequest"]["commits"]["nodes"]
    pushed = commits[-1]["commit"]
    assert pushed["author"]["user"]["login"] == "alice"
    assert (pushed["committer"]["user"]["login"], pushed["committer"]["email"]) == (
        "bob",
        "bob@acme.example",
    )
    assert commits[0]["commit"]["committer"]["user"]["login"] == "alice"


async def test_a_blob_is_found_by_its_id(sim: GitHubSimulator, api: Api, seed: Seed) -> None:
    number = await sim.open_pull_request(
        "acme/widgets", author="alice", title="t", files={"OWNERS.md": "* new\n"}
    )
    await api.login(seed.installation_id)
    blob = blob_sha("* new\n")
    found = await api.graphql(MAP_BLOB, owner="acme", name="widgets", oid=blob)
    assert found["data"]["repository"]["object"] == {"oid": blob, "text": "* new\n"}
    missing = await api.graphql(MAP_BLOB, owner="acme", name="widgets", oid="0" * 40)
    assert missing["data"]["repository"]["object"] is None
    texts = await api.graphql(
        OWNERS_TEXTS,
        owner="acme",
        name="widgets",
        before="main:OWNERS.md",
        after=f"{sim.head_sha('acme/widgets', number)}:OWNERS.md",
    )
    assert texts["data"]["repository"] == {"before": None, "after": {"text": "* new\n"}}


async def test_an_issue_shares_numbers_comments_labels_and_the_label_timeline(
    sim: GitHubSimulator, api: Api, seed: Seed, clock: Clock
) -> None:
    pull = await sim.open_pull_request("acme/widgets", author="alice", title="t", files={"a": "b"})
    number = await sim.open_issue("acme/widgets", author="alice", title="Vote", labels=["major"])
    assert number == pull + 1
    clock.advance(minutes=1)
    await sim.set_issue_labels("acme/widgets", number, ["TSC:voting"], sender="carol")
    await sim.post_comment("acme/widgets", number, author="bob", body="/coi vote yes")
    await api.login(seed.installation_id)
    data = await api.graphql(ISSUE_VOTE, owner="acme", name="widgets", number=number)
    issue = data["data"]["repository"]["issue"]
    assert data["data"]["repository"]["defaultBranchRef"] == {"name": "main"}
    assert (issue["number"], issue["state"], issue["author"]["login"]) == (number, "OPEN", "alice")
    assert [n["name"] for n in issue["labels"]["nodes"]] == ["TSC:voting"]
    assert [n["body"] for n in issue["comments"]["nodes"]] == ["/coi vote yes"]
    changes = [
        (n["__typename"], n["label"]["name"], n["actor"]["login"])
        for n in issue["labelChanges"]["nodes"]
    ]
    assert changes == [
        ("LabeledEvent", "major", "alice"),
        ("UnlabeledEvent", "major", "carol"),
        ("LabeledEvent", "TSC:voting", "carol"),
    ]
    # REST treats the issue's number as GitHub does: comments and labels.
    _, created, _ = await api.call(
        "POST", f"/repos/acme/widgets/issues/{number}/comments", json={"body": "tally"}
    )
    assert created["body"] == "tally"
    status, _, _ = await api.call(
        "DELETE", f"/repos/acme/widgets/issues/{number}/labels/TSC:voting"
    )
    assert status == 200
    missing = await api.graphql(ISSUE_VOTE, owner="acme", name="widgets", number=999)
    assert missing["errors"][0]["type"] == "NOT_FOUND"


async def test_an_issue_timeline_lists_deleted_comments_as_github_does(
    sim: GitHubSimulator, api: Api, seed: Seed, clock: Clock
) -> None:
    number = await sim.open_issue("acme/widgets", author="alice", title="Vote")
    vote = await sim.post_comment("acme/widgets", number, author="bob", body="/coi vote no")
    own = await sim.post_comment("acme/widgets", number, author="carol", body="/coi vote yes")
    clock.advance(minutes=1)
    await sim.delete_comment("acme/widgets", vote, sender="carol")
    await sim.delete_comment("acme/widgets", own)
    await api.login(seed.installation_id)
    data = await api.graphql(ISSUE_VOTE, owner="acme", name="widgets", number=number)
    issue = data["data"]["repository"]["issue"]
    assert issue["comments"]["nodes"] == []
    deletions = [
        (n["__typename"], n["deletedCommentAuthor"]["login"], n["actor"]["login"])
        for n in issue["commentDeletions"]["nodes"]
    ]
    assert deletions == [
        ("CommentDeletedEvent", "bob", "carol"),
        ("CommentDeletedEvent", "carol", "carol"),
    ]
    # The label timeline lists no deletion: each connection asks for its own item types.
    assert issue["labelChanges"]["nodes"] == []


async def test_repository_issues_lists_open_issues_by_label_newest_update_first(
    sim: GitHubSimulator, api: Api, seed: Seed, clock: Clock
) -> None:
    pull = await sim.open_pull_request("acme/widgets", author="alice", title="t", files={"a": "b"})
    await sim.set_labels("acme/widgets", pull, ["TSC:voting"], sender="carol")
    first = await sim.open_issue("acme/widgets", author="alice", title="One", labels=["major"])
    second = await sim.open_issue("acme/widgets", author="alice", title="Two")
    plain = await sim.open_issue("acme/widgets", author="alice", title="No vote")
    closed = await sim.open_issue("acme/widgets", author="alice", title="Shut")
    clock.advance(minutes=1)
    await sim.set_issue_labels("acme/widgets", second, ["TSC:voting"], sender="carol")
    clock.advance(minutes=1)
    await sim.set_issue_labels("acme/widgets", first, ["major", "TSC:voting"], sender="bob")
    await sim.set_issue_labels("acme/widgets", closed, ["TSC:voting"], sender="bob")
    sim.issue("acme/widgets", closed).state = "closed"
    await api.login(seed.installation_id)
    data = await api.graphql(OPEN_VOTE_ISSUES, owner="acme", name="widgets", label="TSC:voting")
    nodes = data["data"]["repository"]["issues"]["nodes"]
    # Issues only (the labelled PR is not one), open, with the label, last updated
    # first; each with its label additions.
    assert [node["number"] for node in nodes] == [first, second]
    assert [
        (event["label"]["name"], event["actor"]["login"])
        for event in nodes[0]["labelChanges"]["nodes"]
    ] == [("major", "alice"), ("TSC:voting", "bob")]
    assert plain not in [node["number"] for node in nodes]
    everything = await api.graphql(
        'query { repository(owner: "acme", name: "widgets") { '
        "issues(first: 10) { nodes { number } } } }"
    )
    numbers = [node["number"] for node in everything["data"]["repository"]["issues"]["nodes"]]
    assert numbers == [first, second, plain, closed], "created first by default"
    unpaged = await api.graphql(
        'query { repository(owner: "acme", name: "widgets") { '
        "issues(states: [OPEN]) { nodes { number } } } }"
    )
    assert unpaged["errors"][0]["type"] == "MISSING_PAGINATION_BOUNDARIES"


async def test_issues_updated_since_and_pull_requests_by_last_update(
    sim: GitHubSimulator, api: Api, seed: Seed, clock: Clock
) -> None:
    old = await sim.open_issue("acme/widgets", author="alice", title="Old")
    first = await sim.open_pull_request("acme/widgets", author="alice", title="a", files={"a": "b"})
    second = await sim.open_pull_request(
        "acme/widgets", author="alice", title="c", files={"c": "d"}
    )
    clock.advance(hours=1)
    since = clock.moment
    fresh = await sim.open_issue("acme/widgets", author="alice", title="Fresh")
    await sim.post_comment("acme/widgets", first, author="bob", body="bumped")
    await api.login(seed.installation_id)
    data = await api.graphql(
        VOTE_ISSUES, owner="acme", name="widgets", since=since.isoformat(), after=None
    )
    issues = data["data"]["repository"]["threads"]["nodes"]
    assert [node["number"] for node in issues] == [fresh], "updated at or after `since` only"
    assert old != fresh
    pulls = await api.graphql(VOTE_PULLS, owner="acme", name="widgets", after=None)
    nodes = pulls["data"]["repository"]["threads"]["nodes"]
    assert [node["number"] for node in nodes] == [first, second], "last updated first"
    assert nodes[0]["state"] == "OPEN"
    assert nodes[0]["labelAdds"]["nodes"] == []


async def test_check_suites_filtered_by_app_leave_out_another_apps_runs(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    number = await sim.open_pull_request(
        "acme/widgets", author="alice", title="Change", files={"src/a.py": "a\n"}
    )
    head = sim.head_sha("acme/widgets", number)
    sim.add_foreign_check_run("acme/widgets", head, name=CHECK)
    await api.login(seed.installation_id)

    def suites(result: dict[str, Any]) -> list[Any]:
        pull = result["data"]["repository"]["pullRequest"]
        nodes: list[Any] = pull["headCommit"]["nodes"][0]["commit"]["checkSuites"]["nodes"]
        return nodes

    filtered = await api.graphql(SNAPSHOT, **snapshot_variables(number))
    assert [run for s in suites(filtered) for run in s["checkRuns"]["nodes"]] == []
    # The snapshot reads one suite; without the filter, every suite shows the other App's run.
    every_suite = """
    query($owner: String!, $name: String!, $number: Int!) {
      repository(owner: $owner, name: $name) { pullRequest(number: $number) {
        headCommit: commits(last: 1) { nodes { commit {
          checkSuites(first: 10) { nodes { checkRuns(first: 10) { nodes { name } } } }
        } } }
      } }
    }"""
    unfiltered = await api.graphql(every_suite, owner="acme", name="widgets", number=number)
    assert [run["name"] for s in suites(unfiltered) for run in s["checkRuns"]["nodes"]] == [CHECK]


async def test_check_runs_filtered_by_status_are_the_unfinished_ones_of_any_name(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    number = await sim.open_pull_request(
        "acme/widgets", author="alice", title="Change", files={"src/a.py": "a\n"}
    )
    head = sim.head_sha("acme/widgets", number)
    await api.login(seed.installation_id)
    for name, status in (("COI review", "completed"), ("Governance", "in_progress")):
        body: dict[str, Any] = {"name": name, "head_sha": head, "status": status}
        if status == "completed":
            body["conclusion"] = "success"
        body["output"] = {"title": name, "summary": f"{name} summary"}
        code, created, _ = await api.call("POST", "/repos/acme/widgets/check-runs", json=body)
        assert code == 201, created
    data = await api.graphql(
        OPEN_PULL_REQUESTS,
        owner="acme",
        name="widgets",
        appId=APP_ID,
        checkName=CHECK,
        mapPath=MAP_PATH,
    )
    assert "errors" not in data, data
    (node,) = data["data"]["repository"]["pullRequests"]["nodes"]
    (suite,) = node["headCommit"]["nodes"][0]["commit"]["checkSuites"]["nodes"]
    assert suite["checkRuns"]["nodes"][0]["name"] == CHECK
    assert suite["voteRuns"]["nodes"] == [{"summary": "Governance summary"}]


async def test_an_issues_comments_page_on_after_the_first_hundred(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    number = await sim.open_issue("acme/widgets", author="alice", title="Vote")
    for index in range(101):
        await sim.post_comment("acme/widgets", number, author="bob", body=f"point {index}")
    await api.login(seed.installation_id)
    first = await api.graphql(ISSUE_VOTE, owner="acme", name="widgets", number=number)
    comments = first["data"]["repository"]["issue"]["comments"]
    assert len(comments["nodes"]) == 100
    assert comments["pageInfo"]["hasNextPage"] is True
    rest = await api.graphql(
        ISSUE_COMMENTS_PAGE,
        owner="acme",
        name="widgets",
        number=number,
        after=comments["pageInfo"]["endCursor"],
    )
    more = rest["data"]["repository"]["issue"]["comments"]
    assert [node["body"] for node in more["nodes"]] == ["point 100"]
    assert more["pageInfo"]["hasNextPage"] is False
