"""Which PRs each delivery queues: one table over every recorded payload, then the edge cases."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from gidgethub import sansio

from bot.handlers import router
from bot.handlers.push import changes_map, touched_paths
from bot.pr import IssueRef, MapPushRef, MergedPullRequestRef, MergeGroupRef, WorkRef
from tests.web.deliveries import INSTALLATION_ID, load_payload, payload_files, with_installation

MAP_PATH = ".github/affiliations.yml"
HELLO = ("Codertocat", "Hello-World")


class RecordingScheduling:
    """Implements bot.handlers.Scheduling; records what a delivery asked for."""

    def __init__(self, *, accept: bool = True) -> None:
        self.accept = accept
        self.requests: list[tuple[Any, ...]] = []
        self.refs: list[WorkRef] = []

    def schedule(self, ref: WorkRef) -> bool:
        self.refs.append(ref)
        if isinstance(ref, MergeGroupRef):
            self.requests.append(("merge_group", ref))
        elif isinstance(ref, IssueRef):
            self.requests.append(("issue", ref.installation_id, ref.owner, ref.repo, ref.number))
        elif isinstance(ref, MapPushRef):
            self.requests.append(("map_push", ref.owner, ref.repo, ref.head_sha[:7], ref.pusher))
        elif isinstance(ref, MergedPullRequestRef):
            self.requests.append(("merged", ref.owner, ref.repo, ref.number, ref.merged_by))
        else:
            self.requests.append(("schedule", ref.installation_id, ref.owner, ref.repo, ref.number))
        return self.accept

    def sweep(self, installation_id: int, owner: str, repo: str) -> bool:
        self.requests.append(("sweep", installation_id, owner, repo))
        return self.accept

    def sweep_owner(self, installation_id: int, owner: str) -> bool:
        self.requests.append(("sweep_owner", installation_id, owner))
        return self.accept

    def map_changed(self, owner: str, repo: str) -> None:
        self.requests.append(("map_changed", owner, repo))


async def dispatch(
    event_name: str, data: dict[str, Any], *, map_path: str = MAP_PATH
) -> list[tuple[Any, ...]]:
    scheduling = RecordingScheduling()
    event = sansio.Event(data, event=event_name, delivery_id="d-1")
    await router.dispatch(event, scheduler=scheduling, map_path=map_path)
    return scheduling.requests


def pr2(installation: int = 1) -> tuple[Any, ...]:
    return ("schedule", installation, *HELLO, 2)


ISSUE_1 = ("issue", INSTALLATION_ID, *HELLO, 1)

# Every recorded delivery (given an installation where the sample lacks one) -> what is queued.
EXPECTED: dict[str, list[tuple[Any, ...]]] = {
    "check_run/completed.1.payload.json": [],
    "check_run/completed.payload.json": [],
    "check_run/created.payload.json": [],
    "check_run/requested_action.payload.json": [
        ("schedule", 690857, "electron", "electron", 26764)
    ],
    "check_run/rerequested.payload.json": [],  # a fork's PR: pull_requests is empty
    "check_suite/completed.1.payload.json": [],
    "check_suite/completed.payload.json": [],
    "check_suite/requested.payload.json": [],
    "check_suite/requested.payload.with-email-with-special-characters.json": [],
    "check_suite/rerequested.payload.json": [("schedule", 957387, *HELLO, 2)],
    "installation/created.payload.json": [("sweep", 957387, *HELLO)],
    "installation/deleted.payload.json": [],
    "installation/new_permissions_accepted.payload.json": [],
    "installation_repositories/added.payload.json": [("sweep", 957387, "Codertocat", "Space")],
    "installation_repositories/removed.payload.json": [],
    # The recorded comments are on issues, not PRs: the issue's vote is evaluated.
    "issue_comment/created.1.payload.json": [ISSUE_1],
    "issue_comment/created.payload.json": [ISSUE_1],
    "issue_comment/created.with-organization.payload.json": [ISSUE_1],
    "issue_comment/deleted.payload.json": [ISSUE_1],
    "issue_comment/edited.payload.json": [ISSUE_1],
    "issues/edited.payload.json": [ISSUE_1],
    "issues/labeled.payload.json": [ISSUE_1],
    "issues/labeled.with-organization.payload.json": [ISSUE_1],
    "issues/opened.payload.json": [ISSUE_1],
    "issues/opened.with-organization.payload.json": [ISSUE_1],
    "issues/reopened.payload.json": [("issue", 1, *HELLO, 1)],  # the sample's own installation
    "issues/unlabeled.payload.json": [ISSUE_1],
    "issues/unlabeled.with-organization.payload.json": [ISSUE_1],
    "merge_group/checks_requested.payload.json": [
        (
            "merge_group",
            MergeGroupRef(
                1,
                "octo-org",
                "octo-repo",
                head_sha="2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d",
                head_ref="refs/heads/gh-readonly-queue/main/"
                "pr-104-929f8209d40f77f4abc622a499c93a83babdbe64",
                base_ref="refs/heads/main",
                default_branch="main",  # its map judges the group
            ),
        )
    ],
    "ping/payload.json": [],
    "ping/with-app_id.payload.json": [],
    "pull_request/closed.payload.json": [pr2()],
    "pull_request/converted_to_draft.payload.json": [],
    "pull_request/converted_to_draft.with-organization.payload.json": [],
    "pull_request/labeled.payload.json": [pr2()],
    "pull_request/opened.payload.json": [pr2()],
    "pull_request/opened.with-null-body.json": [pr2()],
    "pull_request/ready_for_review.payload.json": [pr2(INSTALLATION_ID)],
    "pull_request/ready_for_review.with-installation.payload.json": [pr2()],
    "pull_request/reopened.payload.json": [pr2()],
    "pull_request/synchronize.payload.json": [pr2()],
    "pull_request/unlabeled.payload.json": [pr2()],
    "pull_request/unlabeled.with-organization.payload.json": [pr2()],
    "pull_request_review/dismissed.payload.json": [pr2()],
    "pull_request_review/submitted.payload.json": [pr2()],
    # Tag pushes, and pushes to master that do not touch the map.
    "push/1.payload.json": [],
    "push/payload.json": [],
    "push/with-new-branch.payload.json": [],
    "push/with-no-username-committer.payload.json": [],
}


def test_the_table_covers_every_recorded_payload(reference_dir: Path) -> None:
    names = {f"{path.parent.name}/{path.name}" for path in payload_files(reference_dir)}
    assert names == set(EXPECTED)


@pytest.mark.parametrize(("name", "expected"), sorted(EXPECTED.items()))
async def test_each_recorded_delivery_queues_what_the_contract_says(
    reference_dir: Path, name: str, expected: list[tuple[Any, ...]]
) -> None:
    event_name = name.split("/")[0]
    data = with_installation(load_payload(reference_dir, name))
    assert await dispatch(event_name, data) == expected


@pytest.mark.parametrize("action", ["added", "removed"])
async def test_the_owner_repository_given_or_taken_judges_the_owner_again(
    reference_dir: Path, action: str
) -> None:
    # Whether the App can read `.github` decides which map governs the owner's repositories.
    name = f"installation_repositories/{action}.payload.json"
    data = with_installation(load_payload(reference_dir, name))
    listed = data[f"repositories_{action}"]
    data[f"repositories_{action}"] = [
        {**listed[0], "name": ".github", "full_name": "Codertocat/.github"}
    ]
    installation = data["installation"]["id"]
    judged_again = [
        ("map_changed", "Codertocat", ".github"),
        ("sweep_owner", installation, "Codertocat"),
    ]
    swept = [("sweep", installation, "Codertocat", ".github")] if action == "added" else []
    assert await dispatch("installation_repositories", data) == swept + judged_again


@pytest.mark.parametrize(
    "name",
    [
        "pull_request/ready_for_review.payload.json",
        "issue_comment/created.payload.json",
        "check_suite/completed.payload.json",
        "push/with-new-branch.payload.json",
        "pull_request_review/submitted.payload.json",
        "installation_repositories/added.payload.json",
    ],
)
async def test_a_delivery_without_an_installation_queues_nothing(
    reference_dir: Path, name: str
) -> None:
    data = load_payload(reference_dir, name)
    data.pop("installation", None)
    if "issue" in data:
        data["issue"]["pull_request"] = {"url": "https://api.github.com/repos/o/r/pulls/1"}
    if "check_suite" in data:
        data["action"] = "rerequested"
    assert await dispatch(name.split("/")[0], data, map_path="README.md") == []


@pytest.mark.parametrize(
    "name",
    [
        "issue_comment/created.payload.json",
        "issue_comment/edited.payload.json",
        "issue_comment/deleted.payload.json",
    ],
)
async def test_a_comment_on_a_pr_queues_the_pr(reference_dir: Path, name: str) -> None:
    data = with_installation(load_payload(reference_dir, name))
    data["issue"]["pull_request"] = {"url": "https://api.github.com/repos/o/r/pulls/1"}
    number = data["issue"]["number"]
    assert await dispatch("issue_comment", data) == [("schedule", INSTALLATION_ID, *HELLO, number)]


async def test_a_comment_by_a_bot_queues_nothing(reference_dir: Path) -> None:
    data = with_installation(load_payload(reference_dir, "issue_comment/created.payload.json"))
    data["issue"]["pull_request"] = {"url": "https://api.github.com/repos/o/r/pulls/1"}
    data["comment"]["user"]["type"] = "Bot"
    assert await dispatch("issue_comment", data) == []


async def test_a_comment_action_not_in_the_contract_queues_nothing(reference_dir: Path) -> None:
    data = with_installation(load_payload(reference_dir, "issue_comment/created.payload.json"))
    data["issue"]["pull_request"] = {"url": "https://api.github.com/repos/o/r/pulls/1"}
    data["action"] = "pinned"
    assert await dispatch("issue_comment", data) == []


@pytest.mark.parametrize("action", ["edited"])
async def test_an_edited_review_queues_the_pr(reference_dir: Path, action: str) -> None:
    data = load_payload(reference_dir, "pull_request_review/submitted.payload.json")
    data["action"] = action
    assert await dispatch("pull_request_review", data) == [pr2()]


@pytest.mark.parametrize("action", ["edited"])
async def test_an_edited_pr_queues_it(reference_dir: Path, action: str) -> None:
    data = load_payload(reference_dir, "pull_request/opened.payload.json")
    data["action"] = action
    assert await dispatch("pull_request", data) == [pr2()]


async def test_a_check_suite_naming_several_prs_queues_each_once(reference_dir: Path) -> None:
    data = load_payload(reference_dir, "check_suite/rerequested.payload.json")
    template = data["check_suite"]["pull_requests"][0]
    data["check_suite"]["pull_requests"] = [
        {**copy.deepcopy(template), "number": number} for number in (5, 3, 5)
    ]
    assert await dispatch("check_suite", data) == [
        ("schedule", 957387, *HELLO, 3),
        ("schedule", 957387, *HELLO, 5),
    ]


def push_of_map(
    reference_dir: Path, *, repo: str = "Hello-World", ref: str = "refs/heads/master"
) -> dict[str, Any]:
    data = load_payload(reference_dir, "push/with-new-branch.payload.json")
    data["repository"]["name"] = repo
    data["ref"] = ref
    data["commits"][0]["modified"] = [MAP_PATH]
    return data


async def test_a_push_of_the_map_to_the_default_branch_sweeps_the_repository(
    reference_dir: Path,
) -> None:
    assert await dispatch("push", push_of_map(reference_dir)) == [
        ("map_changed", *HELLO),
        ("map_push", *HELLO, "6113728", "Codertocat"),
        ("sweep", 1, *HELLO),
    ]


async def test_a_push_of_the_map_to_the_owners_github_repository_sweeps_the_owner(
    reference_dir: Path,
) -> None:
    data = push_of_map(reference_dir, repo=".github")
    assert await dispatch("push", data) == [
        ("map_changed", "Codertocat", ".github"),
        ("map_push", "Codertocat", ".github", "6113728", "Codertocat"),
        ("sweep_owner", 1, "Codertocat"),
    ]


async def test_a_push_of_the_map_to_another_branch_queues_nothing(reference_dir: Path) -> None:
    data = push_of_map(reference_dir, ref="refs/heads/feature")
    assert await dispatch("push", data) == []


async def test_the_map_path_comes_from_the_settings(reference_dir: Path) -> None:
    data = load_payload(reference_dir, "push/with-new-branch.payload.json")
    assert await dispatch("push", data, map_path="README.md") == [
        ("map_changed", *HELLO),
        ("map_push", *HELLO, "6113728", "Codertocat"),
        ("sweep", 1, *HELLO),
    ]


async def test_a_map_push_names_its_pusher_its_commits_and_a_force(reference_dir: Path) -> None:
    data = push_of_map(reference_dir)
    data["forced"] = True
    data.pop("sender")
    scheduling = RecordingScheduling()
    await router.dispatch(
        sansio.Event(data, event="push", delivery_id="d-1"), scheduler=scheduling, map_path=MAP_PATH
    )
    (pushed,) = scheduling.refs
    assert pushed == MapPushRef(
        data["installation"]["id"],
        *HELLO,
        head_sha=data["after"],
        before="0" * 40,
        branch="master",
        pusher="Codertocat",  # the pusher's name when the sender is missing
        forced=True,
        commits=(data["after"],),
    )


async def test_a_merged_pr_is_looked_at_once_merged(reference_dir: Path) -> None:
    data = with_installation(load_payload(reference_dir, "pull_request/closed.payload.json"))
    data["pull_request"]["merged"] = True
    data["pull_request"]["merged_by"] = {"login": "admin"}
    number = data["pull_request"]["number"]
    owner, repo = data["repository"]["full_name"].split("/")
    # The PR itself too: twins that shared its head are judged again without it. In no set
    # order: gidgethub's Router.fetch returns its handlers as a frozenset.
    assert sorted(await dispatch("pull_request", data)) == [
        ("merged", owner, repo, number, "admin"),
        ("schedule", data["installation"]["id"], owner, repo, number),
    ]
    data["pull_request"]["merged"] = False
    assert await dispatch("pull_request", data) == [
        ("schedule", data["installation"]["id"], owner, repo, number)
    ], "closed without a merge: only its twins' verdict may change"


@pytest.mark.parametrize(
    ("commits", "head_commit", "expected"),
    [
        ([], None, set()),
        ([{"added": ["a"], "modified": ["b"], "removed": ["c"]}], None, {"a", "b", "c"}),
        ([{"added": ["a"]}, {"removed": ["d"]}], None, {"a", "d"}),
        ([], {"added": [], "modified": ["m"], "removed": []}, {"m"}),
        (None, None, set()),
    ],
)
def test_touched_paths_gathers_every_commit(
    commits: list[dict[str, Any]] | None,
    head_commit: dict[str, Any] | None,
    expected: set[str],
) -> None:
    assert touched_paths({"commits": commits, "head_commit": head_commit}) == expected


@pytest.mark.parametrize(
    ("ref", "removed", "expected"),
    [
        ("refs/heads/main", [MAP_PATH], True),
        ("refs/heads/main", ["other.yml"], False),
        ("refs/heads/dev", [MAP_PATH], False),
        ("refs/tags/main", [MAP_PATH], False),
    ],
)
def test_removing_the_map_on_the_default_branch_changes_it(
    ref: str, removed: list[str], expected: bool
) -> None:
    data = {
        "ref": ref,
        "repository": {"default_branch": "main"},
        "commits": [{"removed": removed}],
        "head_commit": None,
    }
    assert changes_map(data, map_path=MAP_PATH) is expected


@pytest.mark.parametrize("action", ["review_request_removed", "review_requested"])
async def test_a_review_request_change_queues_the_pr(reference_dir: Path, action: str) -> None:
    data = with_installation(load_payload(reference_dir, "pull_request/labeled.payload.json"))
    data["action"] = action
    data["requested_reviewer"] = copy.deepcopy(data["sender"])
    assert await dispatch("pull_request", data) == [pr2()]
