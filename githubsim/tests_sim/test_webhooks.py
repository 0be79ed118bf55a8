"""Webhooks: signed like GitHub's, shaped like GitHub's (validated against octokit's schemas)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from githubsim.validation import WebhookPayloadValidator

from githubsim import GitHubSimulator
from tests_sim.conftest import WEBHOOK_SECRET, Api, Receiver, Seed

EVERY_EVENT = [
    ("installation", "created"),
    ("installation_repositories", "added"),
    ("check_suite", "requested"),
    ("check_suite", "rerequested"),
    ("check_run", "rerequested"),
    ("check_run", "requested_action"),
    ("pull_request", "opened"),
    ("pull_request", "synchronize"),
    ("pull_request", "edited"),
    ("pull_request", "labeled"),
    ("pull_request", "unlabeled"),
    ("pull_request", "ready_for_review"),
    ("pull_request", "review_requested"),
    ("pull_request", "review_request_removed"),
    ("pull_request", "closed"),
    ("pull_request", "reopened"),
    ("pull_request_review", "submitted"),
    ("pull_request_review", "edited"),
    ("pull_request_review", "dismissed"),
    ("issue_comment", "created"),
    ("issue_comment", "edited"),
    ("issue_comment", "deleted"),
    ("push", None),
    ("merge_group", "checks_requested"),
    ("issues", "opened"),
    ("issues", "labeled"),
    ("issues", "unlabeled"),
]


async def play_everything(sim: GitHubSimulator, api: Api, seed: Seed) -> None:
    """One story that makes the simulator emit every event it knows."""
    sim.add_user("zed")
    sim.add_repo("zed", "solo")
    await sim.install_app("zed")
    await sim.add_installation_repository("zed", "second", files={"a.txt": "a\n"})
    repo = "acme/widgets"
    number = await sim.open_pull_request(
        repo, author="alice", title="t", files={"a.py": "1\n"}, draft=True
    )
    await sim.push_commits(
        repo, number, author="alice", files={"a.py": "2\n"}, co_authors=["carol"]
    )
    await sim.edit_pull_request(repo, number, title="better title", body="now with a body")
    await sim.set_labels(repo, number, ["major"], sender="bob")
    await sim.set_labels(repo, number, [], sender="bob")
    await sim.mark_ready(repo, number)
    await sim.request_review(repo, number, reviewer="carol", sender="bob")
    await sim.remove_review_request(repo, number, reviewer="carol", sender="carol")
    review = await sim.submit_review(
        repo, number, reviewer="bob", state="CHANGES_REQUESTED", body="no"
    )
    await sim.edit_review(repo, number, review, body="no, really")
    await sim.dismiss_review(repo, number, review, sender="alice")
    comment = await sim.post_comment(repo, number, author="carol", body="/coi declare")
    await sim.edit_comment(repo, comment, body="/coi withdraw")
    await sim.delete_comment(repo, comment)
    await api.login(seed.installation_id)
    head = sim.head_sha(repo, number)
    _, run, _ = await api.call(
        "POST",
        "/repos/acme/widgets/check-runs",
        json={
            "name": "COI review",
            "head_sha": head,
            "conclusion": "action_required",
            "output": {"title": "t", "summary": "s"},
            "actions": [
                {"label": "Recheck", "description": "Evaluate again", "identifier": "recheck"}
            ],
        },
    )
    await sim.click_button(repo, run["id"], user="alice", identifier="recheck")
    await sim.rerequest_check(repo, run["id"], user="alice")
    await sim.rerequest_check_suite(repo, head, user="alice")
    await sim.enqueue(repo, [number], sender="alice")
    await sim.close_pull_request(repo, number)
    await sim.reopen_pull_request(repo, number)
    issue = await sim.open_issue(repo, author="alice", title="A vote", labels=["major"])
    await sim.set_issue_labels(repo, issue, ["TSC:voting"], sender="bob")
    vote = await sim.post_comment(repo, issue, author="carol", body="/coi vote yes")
    await sim.edit_comment(repo, vote, body="/coi vote no")
    await sim.delete_comment(repo, vote)
    await sim.close_pull_request(repo, number, merge=True)
    pushed = await sim.push_to_branch(
        repo, "main", {".github/affiliations.yml": "version: 1\n"}, author="bob"
    )
    widgets = sim.find_repo("acme", "widgets")
    assert widgets is not None
    parent = widgets.commits[pushed].parents[0]  # a force push drops the map's commit again
    await sim.push_to_branch(repo, "main", {"b.txt": "b\n"}, author="bob", onto=parent)
    await sim.push_existing(repo, "main", pushed, author="bob")  # an existing commit, forced
    await sim.settle()


async def test_every_emitted_payload_is_valid_against_githubs_schemas(
    sim: GitHubSimulator,
    api: Api,
    seed: Seed,
    receiver: Receiver,
    payload_validator: WebhookPayloadValidator,
) -> None:
    await play_everything(sim, api, seed)
    emitted = {(event, payload.get("action")) for event, payload in receiver.events()}
    assert set(EVERY_EVENT) <= emitted
    problems = {
        f"{event}.{payload.get('action')}": payload_validator.errors(event, payload)
        for event, payload in receiver.events()
    }
    assert {name: errors for name, errors in problems.items() if errors} == {}


async def test_every_payload_names_its_installation(
    sim: GitHubSimulator, api: Api, seed: Seed, receiver: Receiver
) -> None:
    await play_everything(sim, api, seed)
    installations = {i.account: i.id for i in sim.installations.values()}
    for event, payload in receiver.events():
        installation = payload["installation"]
        # installation events carry the full object, whose schema has no node_id
        required = {"id"} if event.startswith("installation") else {"id", "node_id"}
        assert set(installation) >= required, event
        account = payload.get("repository", {}).get("owner", {}).get("login") or installation.get(
            "account", {}
        ).get("login")
        assert installation["id"] == installations[account], event


async def test_deliveries_are_signed_and_recorded(
    sim: GitHubSimulator, seed: Seed, receiver: Receiver
) -> None:
    receiver.status = 202
    await sim.open_pull_request("acme/widgets", author="alice", title="t", files={"a": "b"})
    assert [d.status_code for d in sim.deliveries] == [202, 202]
    for headers, body in receiver.received:
        expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Hub-Signature-256"], expected)
        assert headers["User-Agent"].startswith("GitHub-Hookshot/")
        assert headers["Content-Type"] == "application/json"
        assert len(headers["X-GitHub-Delivery"]) == 36
    assert [h["X-GitHub-Event"] for h, _ in receiver.received] == ["check_suite", "pull_request"]
    opened = json.loads(receiver.received[1][1])
    assert (opened["action"], opened["number"], opened["sender"]["login"]) == ("opened", 1, "alice")


def test_the_signature_matches_githubs_test_vector(sim: GitHubSimulator) -> None:
    assert sim.sign(b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


@pytest.mark.parametrize("answer", [202, 200, 401, 503])
async def test_the_bots_answer_is_recorded(
    sim: GitHubSimulator, seed: Seed, receiver: Receiver, answer: int
) -> None:
    receiver.status = answer
    status = await sim.deliver(
        "ping", {"zen": "Keep it logically awesome."}, delivery_id="fixed-id"
    )
    assert status == answer
    assert sim.deliveries[-1].guid == "fixed-id"
    assert sim.deliveries[-1].status_code == answer


async def test_the_apps_own_comment_comes_back_as_a_webhook(
    sim: GitHubSimulator, api: Api, seed: Seed, receiver: Receiver
) -> None:
    number = await sim.open_pull_request(
        "acme/widgets", author="alice", title="t", files={"a": "b"}
    )
    await api.login(seed.installation_id)
    await api.call("POST", f"/repos/acme/widgets/issues/{number}/comments", json={"body": "hi"})
    await sim.settle()
    event, payload = receiver.events()[-1]
    assert (event, payload["action"], payload["sender"]["type"]) == (
        "issue_comment",
        "created",
        "Bot",
    )
    assert payload["comment"]["performed_via_github_app"]["id"] == sim.app_id


async def test_no_webhook_for_an_account_without_the_app(
    sim: GitHubSimulator, receiver: Receiver
) -> None:
    sim.add_user("nobody")
    sim.add_repo("nobody", "repo")
    await sim.open_pull_request("nobody/repo", author="nobody", title="t", files={"a": "b"})
    assert receiver.received == []


async def test_no_webhook_for_a_repository_outside_the_selected_ones(
    sim: GitHubSimulator,
    seed: Seed,
    receiver: Receiver,
    payload_validator: WebhookPayloadValidator,
) -> None:
    sim.add_repo("acme", "other", files={"README.md": "other\n"})
    await sim.select_repositories("acme", ["widgets"])
    [(event, removed)] = receiver.events()
    assert (event, removed["action"], removed["repository_selection"]) == (
        "installation_repositories",
        "removed",
        "selected",
    )
    assert [r["full_name"] for r in removed["repositories_removed"]] == ["acme/other"]
    await sim.open_pull_request("acme/other", author="alice", title="t", files={"a": "b"})
    assert len(receiver.received) == 1
    await sim.open_pull_request(seed.repo, author="alice", title="t", files={"a": "b"})
    await sim.select_repositories("acme", ["widgets", "other"])
    events = receiver.events()
    assert [event for event, _ in events[1:3]] == ["check_suite", "pull_request"]
    event, added = events[-1]
    assert (event, added["action"]) == ("installation_repositories", "added")
    assert [r["full_name"] for r in added["repositories_added"]] == ["acme/other"]
    for event, payload in events:
        assert payload_validator.errors(event, payload) == []
