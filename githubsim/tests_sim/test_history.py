"""A file's history as GitHub serves it: merges, direct and forced pushes, associated PRs."""

from __future__ import annotations

from typing import Any

from githubsim.state import iso

from bot.github.queries import DEFAULT_MAP_AT, MAP_HISTORY
from githubsim import GitHubSimulator
from tests_sim.conftest import APP_ID, MAP_PATH, MAP_TEXT, Api, Clock, Receiver, Seed

REPO = "acme/widgets"
HISTORY = """
query History($owner: String!, $name: String!, $rev: String!, $path: String!) {
  repository(owner: $owner, name: $name) {
    object(expression: $rev) { ... on Commit {
      oid
      associatedPullRequests(first: 5) { nodes { number merged mergedBy { login } } }
      history(path: $path, first: 10) {
        totalCount
        pageInfo { hasNextPage }
        nodes { oid associatedPullRequests(first: 5) { nodes { number state } } }
      }
    } }
  }
}
"""


def tip(sim: GitHubSimulator, branch: str = "main") -> str:
    repo = sim.find_repo("acme", "widgets")
    assert repo is not None
    return repo.branches[branch]


async def history(api: Api, rev: str, path: str = MAP_PATH) -> dict[str, Any]:
    answer = await api.graphql(HISTORY, owner="acme", name="widgets", rev=rev, path=path)
    assert "errors" not in answer
    found: dict[str, Any] = answer["data"]["repository"]["object"]
    return found


async def test_a_merge_is_a_merge_commit_pushed_with_the_prs_commits(
    sim: GitHubSimulator, seed: Seed, receiver: Receiver
) -> None:
    base = tip(sim)
    number = await sim.open_pull_request(
        REPO, author="alice", title="Map", files={MAP_PATH: MAP_TEXT + "bots: []\n"}
    )
    head = sim.head_sha(REPO, number)
    await sim.close_pull_request(REPO, number, merge=True, sender="bob")
    await sim.settle()
    merge = sim.pull(REPO, number).merge_commit_sha
    assert merge is not None
    repo = sim.find_repo("acme", "widgets")
    assert repo is not None
    assert repo.commits[merge].parents == [base, head]
    pushes = [payload for event, payload in receiver.events() if event == "push"]
    assert pushes[-1]["after"] == merge
    assert [c["id"] for c in pushes[-1]["commits"]] == [head, merge]
    assert pushes[-1]["head_commit"]["id"] == merge
    assert pushes[-1]["forced"] is False
    closed = [p for e, p in receiver.events() if e == "pull_request" and p["action"] == "closed"]
    assert closed[-1]["pull_request"]["merged_by"]["login"] == "bob"


async def test_history_follows_git_log_and_names_the_pr_that_brought_each_commit(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    number = await sim.open_pull_request(
        REPO, author="alice", title="Map", files={MAP_PATH: MAP_TEXT + "bots: []\n"}
    )
    pr_commit = sim.head_sha(REPO, number)
    await sim.close_pull_request(REPO, number, merge=True, sender="bob")
    await sim.push_to_branch(REPO, "main", {"README.md": "unrelated\n"}, author="bob")
    direct = await sim.push_to_branch(REPO, "main", {MAP_PATH: MAP_TEXT}, author="bob")
    opened = await sim.open_pull_request(
        REPO, author="carol", title="Open", files={MAP_PATH: MAP_TEXT + "bots: [x]\n"}
    )
    await api.login(seed.installation_id)

    found = await history(api, "HEAD")
    assert found["oid"] == direct
    nodes = found["history"]["nodes"]
    root = nodes[-1]["oid"]
    # The merge commit is TREESAME to the PR's head: the PR's own commit stands for it.
    assert [n["oid"] for n in nodes] == [direct, pr_commit, root]
    assert found["history"]["totalCount"] == 3
    assert found["history"]["pageInfo"] == {"hasNextPage": False}
    assert [n["associatedPullRequests"]["nodes"] for n in nodes] == [
        [],
        [{"number": number, "state": "MERGED"}],
        [],
    ]
    merged = await history(api, sim.pull(REPO, number).merge_commit_sha or "")
    assert merged["associatedPullRequests"]["nodes"] == [
        {"number": number, "merged": True, "mergedBy": {"login": "bob"}}
    ]
    # A commit not on the default branch: the open PR that carries it.
    head = await history(api, sim.head_sha(REPO, opened))
    assert head["associatedPullRequests"]["nodes"] == [
        {"number": opened, "merged": False, "mergedBy": None}
    ]
    everything = await history(api, "main", path="README.md")
    assert len(everything["history"]["nodes"]) == 2


async def test_a_force_push_rewrites_the_history(
    sim: GitHubSimulator, api: Api, seed: Seed, receiver: Receiver
) -> None:
    base = tip(sim)
    dropped = await sim.push_to_branch(REPO, "main", {MAP_PATH: "version: 1\n"}, author="bob")
    forced = await sim.push_to_branch(
        REPO, "main", {MAP_PATH: MAP_TEXT + "bots: []\n"}, author="bob", onto=base
    )
    await sim.settle()
    push = [payload for event, payload in receiver.events() if event == "push"][-1]
    assert (push["before"], push["after"], push["forced"]) == (dropped, forced, True)
    await api.login(seed.installation_id)
    nodes = (await history(api, "main"))["history"]["nodes"]
    assert dropped not in [n["oid"] for n in nodes]
    assert nodes[0]["oid"] == forced


async def test_the_bots_history_read_runs_and_a_missing_owner_repository_is_not_found(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    await api.login(seed.installation_id)
    answer = await api.graphql(
        MAP_HISTORY,
        owner="acme",
        name="widgets",
        rev="main",
        mapPath=MAP_PATH,
        appId=APP_ID,
        checkName="COI review",
        ownerRepository=".github",
    )
    assert [(e["type"], e["path"]) for e in answer["errors"]] == [("NOT_FOUND", ["ownerMap"])]
    tip_commit = answer["data"]["repository"]["tip"]
    assert tip_commit["mapFile"]["object"]["text"] == MAP_TEXT
    assert len(tip_commit["history"]["nodes"]) == 1
    assert answer["data"]["ownerMap"] is None

    sim.add_repo("acme", ".github", files={MAP_PATH: MAP_TEXT})
    answer = await api.graphql(
        MAP_HISTORY,
        owner="acme",
        name="widgets",
        rev="HEAD",
        mapPath=MAP_PATH,
        appId=APP_ID,
        checkName="COI review",
        ownerRepository=".github",
    )
    assert "errors" not in answer
    owner_history = answer["data"]["ownerMap"]["defaultBranchRef"]["target"]["history"]
    assert len(owner_history["nodes"]) == 1


async def test_an_existing_commit_pushed_onto_a_branch(
    sim: GitHubSimulator, seed: Seed, receiver: Receiver
) -> None:
    base = tip(sim)
    number = await sim.open_pull_request(
        REPO, author="alice", title="Map", files={MAP_PATH: MAP_TEXT + "bots: []\n"}
    )
    head = sim.head_sha(REPO, number)
    await sim.push_existing(REPO, "main", head, author="bob")
    await sim.settle()
    push = [payload for event, payload in receiver.events() if event == "push"][-1]
    assert (push["before"], push["after"], push["forced"]) == (base, head, False)
    assert [c["id"] for c in push["commits"]] == [head]
    assert push["commits"][0]["modified"] == [MAP_PATH]
    assert push["sender"]["login"] == "bob"
    assert tip(sim) == head
    # Back onto the old tip, which does not descend from the new one: a force push.
    await sim.push_existing(REPO, "main", base, author="bob")
    await sim.settle()
    push = [payload for event, payload in receiver.events() if event == "push"][-1]
    assert (push["before"], push["after"], push["forced"]) == (head, base, True)


async def test_history_until_and_since_bound_the_commit_dates(
    sim: GitHubSimulator, api: Api, seed: Seed, clock: Clock
) -> None:
    clock.advance(hours=1)
    first = await sim.push_to_branch(REPO, "main", {"a.txt": "a\n"}, author="bob")
    between = clock.moment
    clock.advance(hours=1)
    second = await sim.push_to_branch(REPO, "main", {MAP_PATH: "version: 1\n"}, author="bob")
    await api.login(seed.installation_id)

    async def default_map_at(moment: str) -> list[dict[str, Any]]:
        answer = await api.graphql(
            DEFAULT_MAP_AT, owner="acme", name="widgets", until=moment, mapPath=MAP_PATH
        )
        assert "errors" not in answer
        target = answer["data"]["repository"]["defaultBranchRef"]["target"]
        nodes: list[dict[str, Any]] = target["history"]["nodes"]
        return nodes

    [at_first] = await default_map_at(iso(between))
    [at_second] = await default_map_at(iso(clock.moment))
    assert (at_first["oid"], at_second["oid"]) == (first, second)
    assert at_first["mapFile"]["oid"] != at_second["mapFile"]["oid"]
    answer = await api.graphql(
        'query($since: GitTimestamp!) { repository(owner: "acme", name: "widgets") { '
        "defaultBranchRef { target { ... on Commit { history(first: 5, since: $since) { "
        "nodes { oid } } } } } } }",
        since=iso(clock.moment),
    )
    nodes = answer["data"]["repository"]["defaultBranchRef"]["target"]["history"]["nodes"]
    assert [node["oid"] for node in nodes] == [second]
