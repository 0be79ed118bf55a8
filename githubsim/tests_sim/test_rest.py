"""REST operations over the simulator's state, with GitHub's status codes, paging and ETags."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from githubsim import GitHubSimulator
from tests_sim.conftest import MAP_PATH, MAP_TEXT, Api, Seed

REPO = "/repos/acme/widgets"


async def open_pr(sim: GitHubSimulator, *, files: int = 1, author: str = "alice") -> int:
    changed: dict[str, str | None] = {f"src/f{i:03}.py": f"x = {i}\n" for i in range(files)}
    return await sim.open_pull_request("acme/widgets", author=author, title="Change", files=changed)


def links(header: str) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', header)}


async def test_every_call_is_recorded_with_rate_limit_headers(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    await api.login(seed.installation_id)
    _, _, first = await api.call("GET", REPO)
    _, _, second = await api.call("GET", REPO)
    assert int(second["x-ratelimit-remaining"]) == int(first["x-ratelimit-remaining"]) - 1
    assert first["x-ratelimit-limit"] == "5000"
    assert first["x-ratelimit-resource"] == "core"
    assert [(c.method, c.operation_id, c.status) for c in sim.calls] == [
        ("POST", "apps/create-installation-access-token", 201),
        ("GET", "repos/get", 200),
        ("GET", "repos/get", 200),
    ]
    sim.reset_calls()
    assert sim.calls == []


async def test_a_call_without_the_api_version_header_is_a_violation(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    await api.login(seed.installation_id)
    await api.call("GET", REPO, version=False)
    assert sim.violations == ["GET /repos/acme/widgets: missing X-GitHub-Api-Version header"]
    sim.violations.clear()


@pytest.mark.parametrize(
    ("method", "path", "json", "expected"),
    [
        ("GET", "/repos/acme/widgets/pulls?state=opened", None, "query parameter 'state'"),
        ("GET", "/repos/acme/widgets/pulls?colour=red", None, "unknown query parameter 'colour'"),
        ("POST", "/repos/acme/widgets/check-runs", {"head_sha": "abc"}, "'name' is a required"),
        ("GET", "/repos/acme/widgets/branches", None, "no such operation"),
    ],
)
async def test_requests_github_would_not_accept_are_violations(
    sim: GitHubSimulator, api: Api, seed: Seed, method: str, path: str, json: Any, expected: str
) -> None:
    await api.login(seed.installation_id)
    await api.call(method, path, json=json)
    assert len(sim.violations) == 1
    assert expected in sim.violations[0]
    sim.violations.clear()


async def test_pull_request_files_are_paged_with_link_headers(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    number = await open_pr(sim, files=250)
    await api.login(seed.installation_id)
    status, page1, headers = await api.call("GET", f"{REPO}/pulls/{number}/files?per_page=100")
    assert status == 200
    assert len(page1) == 100
    rels = links(headers["Link"])
    assert set(rels) == {"next", "last"}
    assert rels["next"].endswith("page=2")
    assert rels["last"].endswith("page=3")
    _, page3, headers = await api.call("GET", rels["last"])
    assert len(page3) == 50
    assert set(links(headers["Link"])) == {"prev", "first"}
    _, default_page, _ = await api.call("GET", f"{REPO}/pulls/{number}/files")
    assert len(default_page) == 30
    _, capped, _ = await api.call("GET", f"{REPO}/pulls/{number}/files?per_page=500")
    assert len(capped) == 100
    assert page1[0] | {"status": "added", "additions": 1, "deletions": 0} == page1[0]


async def test_contents_are_base64_with_the_git_blob_sha_and_an_etag(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    await api.login(seed.installation_id)
    status, body, headers = await api.call("GET", f"{REPO}/contents/{MAP_PATH}?ref=main")
    assert status == 200
    assert base64.b64decode(body["content"]).decode() == MAP_TEXT
    assert body["encoding"] == "base64"
    remaining = int(headers["x-ratelimit-remaining"])
    status, _, again = await api.call(
        "GET", f"{REPO}/contents/{MAP_PATH}?ref=main", headers={"If-None-Match": headers["ETag"]}
    )
    assert status == 304
    assert int(again["x-ratelimit-remaining"]) == remaining  # a 304 costs nothing
    await sim.push_to_branch("acme/widgets", "main", {MAP_PATH: "version: 1\n"}, author="alice")
    status, changed, _ = await api.call(
        "GET", f"{REPO}/contents/{MAP_PATH}?ref=main", headers={"If-None-Match": headers["ETag"]}
    )
    assert status == 200
    assert changed["sha"] != body["sha"]


async def test_the_blob_sha_is_gits(sim: GitHubSimulator, api: Api, seed: Seed) -> None:
    await api.login(seed.installation_id)
    _, body, _ = await api.call("GET", f"{REPO}/contents/README.md")
    assert body["sha"] == "ce013625030ba8dba906f756967f9e9ca394464a"  # git hash-object of "hello\n"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"{REPO}/contents/missing.txt", 404),
        (f"{REPO}/contents/README.md?ref=no-such-branch", 404),
        (f"{REPO}/contents/.github", 200),
    ],
)
async def test_contents_lookups(api: Api, seed: Seed, path: str, status: int) -> None:
    await api.login(seed.installation_id)
    assert (await api.call("GET", path))[0] == status


def run_body(head_sha: str, **fields: Any) -> dict[str, Any]:
    return {"name": "COI review", "head_sha": head_sha, **fields}


def failure_annotations(count: int, *, start: int = 1) -> list[dict[str, Any]]:
    return [
        {
            "path": MAP_PATH,
            "start_line": start + i,
            "end_line": start + i,
            "annotation_level": "failure",
            "message": f"problem {i}",
        }
        for i in range(count)
    ]


async def test_check_run_lifecycle_appends_annotations(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    number = await open_pr(sim)
    head = sim.head_sha("acme/widgets", number)
    await api.login(seed.installation_id)
    status, run, _ = await api.call(
        "POST",
        f"{REPO}/check-runs",
        json=run_body(
            head,
            status="in_progress",
            external_id="verdict-1",
            output={"title": "t", "summary": "s", "annotations": failure_annotations(50)},
            actions=[
                {"label": "Recheck", "description": "Evaluate again", "identifier": "recheck"}
            ],
        ),
    )
    assert status == 201
    assert (run["status"], run["conclusion"], run["external_id"]) == (
        "in_progress",
        None,
        "verdict-1",
    )
    assert run["pull_requests"][0]["number"] == number
    status, updated, _ = await api.call(
        "PATCH",
        f"{REPO}/check-runs/{run['id']}",
        json={
            "conclusion": "action_required",
            "output": {
                "title": "t2",
                "summary": "s2",
                "annotations": failure_annotations(30, start=51),
            },
        },
    )
    assert status == 200
    assert (updated["status"], updated["conclusion"]) == ("completed", "action_required")
    assert updated["completed_at"] is not None
    assert updated["output"]["annotations_count"] == 80
    [stored] = sim.check_runs("acme/widgets", head)
    assert [a["start_line"] for a in stored["annotations"]] == list(range(1, 81))
    assert stored["actions"][0]["identifier"] == "recheck"
    status, fetched, _ = await api.call("GET", f"{REPO}/check-runs/{run['id']}")
    assert fetched["output"]["title"] == "t2"
    status, listing, _ = await api.call(
        "GET", f"{REPO}/commits/{head}/check-runs?check_name=COI%20review"
    )
    assert listing["total_count"] == 1
    assert listing["check_runs"][0]["id"] == run["id"]
    _, none, _ = await api.call("GET", f"{REPO}/commits/{head}/check-runs?check_name=other")
    assert none == {"total_count": 0, "check_runs": []}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"output": {"title": "t", "summary": "s", "annotations": failure_annotations(51)}},
            "50 annotations",
        ),
        ({"output": {"title": "t", "summary": "x" * 65536}}, "65535 characters"),
        ({"output": {"title": "t", "summary": "s", "text": "x" * 65536}}, "65535 characters"),
        (
            {
                "actions": [
                    {"label": "a", "description": "b", "identifier": str(i)} for i in range(4)
                ]
            },
            "3 actions",
        ),
        (
            {"actions": [{"label": "x" * 21, "description": "b", "identifier": "i"}]},
            "maximum is 20",
        ),
        (
            {"actions": [{"label": "a", "description": "x" * 41, "identifier": "i"}]},
            "maximum is 40",
        ),
        ({"status": "completed"}, "Validation Failed"),
        ({"conclusion": "stale"}, "Validation Failed"),
        ({"output": {"title": "t"}}, "Validation Failed"),
    ],
)
async def test_check_run_limits_are_422(
    sim: GitHubSimulator, api: Api, seed: Seed, fields: dict[str, Any], message: str
) -> None:
    number = await open_pr(sim)
    await api.login(seed.installation_id)
    status, body, _ = await api.call(
        "POST", f"{REPO}/check-runs", json=run_body(sim.head_sha("acme/widgets", number), **fields)
    )
    assert status == 422
    assert message in body["message"]
    sim.violations.clear()  # the reference OpenAPI description refuses most of these too


async def test_check_run_on_an_unknown_commit_is_422(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    await api.login(seed.installation_id)
    status, body, _ = await api.call("POST", f"{REPO}/check-runs", json=run_body("0" * 40))
    assert (status, body["message"]) == (422, f"No commit found for SHA: {'0' * 40}")


async def test_review_requests(sim: GitHubSimulator, api: Api, seed: Seed) -> None:
    number = await open_pr(sim)
    await api.login(seed.installation_id)
    path = f"{REPO}/pulls/{number}/requested_reviewers"
    status, body, _ = await api.call("POST", path, json={"reviewers": ["alice"]})
    assert (status, body["message"]) == (
        422,
        "Review cannot be requested from pull request author.",
    )
    status, body, _ = await api.call("POST", path, json={"reviewers": ["dave"]})
    assert status == 422
    assert "collaborators" in body["message"]
    status, body, _ = await api.call("POST", path, json={"reviewers": ["carol"]})
    assert status == 201
    assert [u["login"] for u in body["requested_reviewers"]] == ["carol"]
    assert sim.review_requests("acme/widgets", number) == ["carol"]
    _, listed, _ = await api.call("GET", path)
    assert [u["login"] for u in listed["users"]] == ["carol"]
    status, _, _ = await api.call("DELETE", path, json={"reviewers": ["carol"]})
    assert status == 200
    assert sim.review_requests("acme/widgets", number) == []
    await sim.submit_review("acme/widgets", number, reviewer="bob")


async def test_a_review_fulfils_the_request(sim: GitHubSimulator, api: Api, seed: Seed) -> None:
    number = await open_pr(sim)
    await api.login(seed.installation_id)
    await api.call(
        "POST", f"{REPO}/pulls/{number}/requested_reviewers", json={"reviewers": ["carol"]}
    )
    await sim.submit_review("acme/widgets", number, reviewer="carol")
    assert sim.review_requests("acme/widgets", number) == []
    _, reviews, _ = await api.call("GET", f"{REPO}/pulls/{number}/reviews")
    assert [(r["user"]["login"], r["state"]) for r in reviews] == [("carol", "APPROVED")]


async def test_comments_and_reactions(sim: GitHubSimulator, api: Api, seed: Seed) -> None:
    number = await open_pr(sim)
    comment_id = await sim.post_comment("acme/widgets", number, author="bob", body="/coi recheck")
    await api.login(seed.installation_id)
    path = f"{REPO}/issues/comments/{comment_id}/reactions"
    assert (await api.call("POST", path, json={"content": "+1"}))[0] == 201
    assert (await api.call("POST", path, json={"content": "+1"}))[0] == 200
    assert (await api.call("POST", path, json={"content": "eyes"}))[0] == 201
    assert sim.reactions("acme/widgets", comment_id) == ["+1", "eyes"]
    status, created, _ = await api.call(
        "POST", f"{REPO}/issues/{number}/comments", json={"body": "Refused: not allowed"}
    )
    assert status == 201
    assert created["user"]["login"] == "coi-bot[bot]"
    assert created["user"]["type"] == "Bot"
    status, edited, _ = await api.call(
        "PATCH", f"{REPO}/issues/comments/{created['id']}", json={"body": "edited"}
    )
    assert (status, edited["body"]) == (200, "edited")
    _, listed, _ = await api.call("GET", f"{REPO}/issues/{number}/comments")
    assert [c["body"] for c in listed] == ["/coi recheck", "edited"]
    assert [c["body"] for c in sim.comments("acme/widgets", number)] == ["/coi recheck", "edited"]
    status, _, _ = await api.call(
        "PATCH", f"{REPO}/issues/comments/{comment_id}", json={"body": "x"}
    )
    assert status == 403  # the App may edit only its own comments


async def test_a_comment_body_holds_at_most_65536_characters(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    number = await open_pr(sim)
    await api.login(seed.installation_id)
    comments = f"{REPO}/issues/{number}/comments"
    status, created, _ = await api.call("POST", comments, json={"body": "x" * 65_536})
    assert status == 201
    status, refused, _ = await api.call("POST", comments, json={"body": "x" * 65_537})
    assert status == 422
    assert "maximum is 65536 characters" in json.dumps(refused)
    path = f"{REPO}/issues/comments/{created['id']}"
    assert (await api.call("PATCH", path, json={"body": "y" * 65_537}))[0] == 422
    assert (await api.call("PATCH", path, json={"body": "y" * 65_536}))[0] == 200


async def test_labels(sim: GitHubSimulator, api: Api, seed: Seed) -> None:
    number = await open_pr(sim)
    await api.login(seed.installation_id)
    status, body, _ = await api.call(
        "POST", f"{REPO}/issues/{number}/labels", json={"labels": ["major"]}
    )
    assert (status, [label["name"] for label in body]) == (200, ["major"])
    status, body, _ = await api.call("DELETE", f"{REPO}/issues/{number}/labels/major")
    assert (status, body) == (200, [])
    assert (await api.call("DELETE", f"{REPO}/issues/{number}/labels/major"))[0] == 404


@pytest.mark.parametrize(
    ("login", "permission", "expected"),
    [
        ("alice", "write", ("write", "write")),
        ("bob", "maintain", ("write", "maintain")),
        ("carol", "admin", ("admin", "admin")),
        ("dave", None, ("read", "read")),
    ],
)
async def test_collaborator_permission(
    sim: GitHubSimulator,
    api: Api,
    seed: Seed,
    login: str,
    permission: str | None,
    expected: tuple[str, str],
) -> None:
    if permission:
        sim.set_permission("acme/widgets", login, permission)
    await api.login(seed.installation_id)
    status, body, _ = await api.call("GET", f"{REPO}/collaborators/{login}/permission")
    assert status == 200
    assert (body["permission"], body["role_name"]) == expected
    check = (await api.call("GET", f"{REPO}/collaborators/{login}"))[0]
    assert check == (404 if permission is None else 204)


async def test_unknown_user_permission_is_404(api: Api, seed: Seed) -> None:
    await api.login(seed.installation_id)
    assert (await api.call("GET", f"{REPO}/collaborators/nobody/permission"))[0] == 404


async def test_pulls_list_get_and_search(sim: GitHubSimulator, api: Api, seed: Seed) -> None:
    first = await open_pr(sim)
    second = await open_pr(sim, author="bob")
    await sim.close_pull_request("acme/widgets", first)
    await api.login(seed.installation_id)
    _, open_pulls, _ = await api.call("GET", f"{REPO}/pulls?state=open")
    assert [p["number"] for p in open_pulls] == [second]
    _, every, _ = await api.call("GET", f"{REPO}/pulls?state=all")
    assert sorted(p["number"] for p in every) == [first, second]
    status, pull, _ = await api.call("GET", f"{REPO}/pulls/{second}")
    assert (status, pull["user"]["login"], pull["changed_files"]) == (200, "bob", 1)
    assert (await api.call("GET", f"{REPO}/pulls/999"))[0] == 404
    await api.call(
        "POST", f"{REPO}/pulls/{second}/requested_reviewers", json={"reviewers": ["carol"]}
    )
    _, found, _ = await api.call("GET", "/search/issues?q=is:pr+is:open+review-requested:carol")
    assert found["total_count"] == 1
    assert found["items"][0]["number"] == second
    _, commits, _ = await api.call("GET", f"{REPO}/pulls/{second}/commits")
    assert commits[0]["author"]["login"] == "bob"


async def test_orgs_and_teams(sim: GitHubSimulator, api: Api, seed: Seed) -> None:
    sim.add_team("acme", "tsc", members=["alice"], maintainers=["carol"])
    await api.login(seed.installation_id)
    assert (await api.call("GET", "/orgs/acme/members/alice"))[0] == 204
    assert (await api.call("GET", "/orgs/acme/members/dave"))[0] == 404
    _, members, _ = await api.call("GET", "/orgs/acme/teams/tsc/members")
    assert [m["login"] for m in members] == ["alice", "carol"]
    status, membership, _ = await api.call("GET", "/orgs/acme/teams/tsc/memberships/carol")
    assert (status, membership["role"], membership["state"]) == (200, "maintainer", "active")
    assert (await api.call("GET", "/orgs/acme/teams/nope/members"))[0] == 404


async def test_rate_limit_and_injected_failures(sim: GitHubSimulator, api: Api, seed: Seed) -> None:
    await api.login(seed.installation_id)
    sim.inject_failure("repos/get", status=502, times=2)
    assert [(await api.call("GET", REPO))[0] for _ in range(3)] == [502, 502, 200]
    sim.set_rate_limit_remaining(seed.installation_id, 0)
    status, body, headers = await api.call("GET", REPO)
    assert status == 403
    assert "rate limit" in body["message"]
    assert headers["x-ratelimit-remaining"] == "0"
    status, limits, _ = await api.call("GET", "/rate_limit")
    assert status == 200
    assert limits["resources"]["core"]["remaining"] == 0


async def test_webhook_deliveries_can_be_listed_and_redelivered(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    for _ in range(3):
        await open_pr(sim)
    auth = f"Bearer {api.jwt()}"
    status, page, headers = await api.call("GET", "/app/hook/deliveries?per_page=2", auth=auth)
    assert status == 200
    assert len(page) == 2
    assert page[0]["id"] > page[1]["id"]  # newest first
    assert page[0]["status_code"] == 202
    assert page[0]["status"] == "OK"
    _, rest, _ = await api.call("GET", links(headers["Link"])["next"], auth=auth)
    assert len(rest) == 2
    status, detail, _ = await api.call("GET", f"/app/hook/deliveries/{page[0]['id']}", auth=auth)
    assert detail["request"]["payload"]["action"] == "opened"
    status, _, _ = await api.call(
        "POST", f"/app/hook/deliveries/{page[0]['id']}/attempts", auth=auth
    )
    assert status == 202
    await sim.settle()
    assert sim.deliveries[-1].guid == page[0]["guid"]
    assert sim.deliveries[-1].redelivery


async def test_list_collaborators_with_roles(sim: GitHubSimulator, api: Api, seed: Seed) -> None:
    sim.set_permission("acme/widgets", "bob", "maintain")
    await api.login(seed.installation_id)
    status, body, _ = await api.call("GET", f"{REPO}/collaborators")
    assert status == 200
    roles = {item["login"]: (item["role_name"], item["permissions"]["push"]) for item in body}
    assert roles == {
        "alice": ("write", True),
        "bob": ("maintain", True),
        "carol": ("write", True),
    }
    status, body, _ = await api.call("GET", f"{REPO}/collaborators?permission=maintain")
    assert [item["login"] for item in body] == ["bob"]


async def test_people_edit_comments_with_their_own_token_and_graphql_names_them(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    number = await sim.open_pull_request(
        "acme/widgets", author="alice", title="t", files={"a": "b"}
    )
    lgtm = await sim.post_comment("acme/widgets", number, author="carol", body="LGTM")
    path = f"/repos/acme/widgets/issues/comments/{lgtm}"
    # Someone without write access may not edit another's comment; the App may not either.
    status, _, _ = await api.call(
        "PATCH", path, json={"body": "/coi minor"}, auth=f"token {sim.user_token('dave')}"
    )
    assert status == 403
    await api.login(seed.installation_id)
    status, _, _ = await api.call("PATCH", path, json={"body": "/coi minor"})
    assert status == 403
    # A writer may: GitHub then names them as the comment's editor.
    writer = sim.user_token("bob")
    status, body, _ = await api.call(
        "PATCH", path, json={"body": "/coi minor"}, auth=f"token {writer}"
    )
    assert status == 200, body
    assert body["body"] == "/coi minor"
    query = """
    query($owner: String!, $name: String!, $number: Int!) {
      repository(owner: $owner, name: $name) { pullRequest(number: $number) {
        comments(first: 10) { nodes {
          body editor { login } lastEditedAt
          userContentEdits(first: 5) { nodes { editor { login } diff } }
        } }
      } }
    }"""
    result = await api.graphql(query, owner="acme", name="widgets", number=number)
    (node,) = result["data"]["repository"]["pullRequest"]["comments"]["nodes"]
    assert node["editor"] == {"login": "bob"}
    assert node["lastEditedAt"] is not None
    assert node["userContentEdits"]["nodes"] == [{"editor": {"login": "bob"}, "diff": "/coi minor"}]
    # A user token opens only the routes people call here: the App's routes refuse it.
    status, _, _ = await api.call("GET", "/repos/acme/widgets/pulls", auth=f"token {writer}")
    assert status == 401
    await sim.settle()
    assert sim.violations == []


async def test_another_apps_run_is_listed_apart_and_cannot_be_written(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    number = await open_pr(sim)
    head = sim.head_sha("acme/widgets", number)
    foreign = sim.add_foreign_check_run("acme/widgets", head, name="COI review")
    await api.login(seed.installation_id)
    _, listing, _ = await api.call("GET", f"{REPO}/commits/{head}/check-runs")
    assert [(r["id"], r["app"]["id"], r["app"]["slug"]) for r in listing["check_runs"]] == [
        (foreign, 15368, "github-actions")
    ]
    assert listing["check_runs"][0]["check_suite"]["app"]["id"] == 15368
    _, mine, _ = await api.call(
        "GET", f"{REPO}/commits/{head}/check-runs?app_id={sim.app_id}&filter=all"
    )
    assert mine == {"total_count": 0, "check_runs": []}
    status, body, _ = await api.call(
        "PATCH", f"{REPO}/check-runs/{foreign}", json={"conclusion": "failure"}
    )
    assert status == 403
    assert "can only be modified by the GitHub App that created it" in body["message"]
    with pytest.raises(ValueError, match="another App's id"):
        sim.add_foreign_check_run("acme/widgets", head, name="x", app_id=sim.app_id)


async def test_a_rename_lists_its_old_name_in_rest_only(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    # The seeded repository holds the map; moving it (same content) and a file 50 % alike.
    number = await sim.open_pull_request(
        "acme/widgets",
        author="alice",
        title="Move",
        files={MAP_PATH: None, "docs/map.yml": MAP_TEXT, "src/new.py": "x = 1\n"},
    )
    await api.login(seed.installation_id)
    _, files, _ = await api.call("GET", f"{REPO}/pulls/{number}/files")
    by_name = {f["filename"]: f for f in files}
    assert by_name["docs/map.yml"]["status"] == "renamed"
    assert by_name["docs/map.yml"]["previous_filename"] == MAP_PATH
    assert (by_name["docs/map.yml"]["additions"], by_name["docs/map.yml"]["deletions"]) == (0, 0)
    assert MAP_PATH not in by_name, "a rename is one entry, under its new name"
    assert by_name["src/new.py"]["status"] == "added"
    assert "previous_filename" not in by_name["src/new.py"]
    query = (
        "query($owner: String!, $name: String!, $number: Int!) { repository(owner: $owner, "
        "name: $name) { pullRequest(number: $number) { files(first: 10) { nodes { path "
        "changeType } } } } }"
    )
    result = await api.graphql(query, owner="acme", name="widgets", number=number)
    nodes = result["data"]["repository"]["pullRequest"]["files"]["nodes"]
    assert {n["path"]: n["changeType"] for n in nodes} == {
        "docs/map.yml": "RENAMED",
        "src/new.py": "ADDED",
    }


def test_renames_are_found_as_git_finds_them() -> None:
    from githubsim.state import _renames

    body = "".join(f"line {i}\n" for i in range(10))
    assert _renames({"a.py": body}, {"b.py": body}) == {"b.py": "a.py"}
    half = body.replace("line 1\n", "changed\n")
    assert _renames({"a.py": body}, {"b.py": half}) == {"b.py": "a.py"}
    assert _renames({"a.py": body}, {"b.py": "other\n"}) == {}
    # Two identical old files: each new copy takes one of them.
    assert _renames({"a": body, "b": body}, {"c": body, "d": body}) == {"c": "a", "d": "b"}
