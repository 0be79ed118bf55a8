"""`issue_comment.edited` carries the text before the edit to the scheduler when the new text
may hold a `request`; every other comment event is a plain re-evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gidgethub import sansio

from bot.handlers import router
from bot.handlers.comments import request_edit
from bot.intents import ButtonClick, CommentEdit
from bot.pr import IssueRef, PullRequestRef
from tests.web.deliveries import INSTALLATION_ID, load_payload, with_installation

MAP_PATH = ".github/affiliations.yml"


class EditRecorder:
    """Implements bot.handlers.Scheduling; records each queued PR with its edit."""

    def __init__(self) -> None:
        self.scheduled: list[tuple[PullRequestRef | IssueRef, CommentEdit | None]] = []

    def schedule(
        self,
        ref: PullRequestRef | IssueRef,
        *,
        click: ButtonClick | None = None,
        edit: CommentEdit | None = None,
    ) -> bool:
        assert click is None, "a comment is no button click"
        self.scheduled.append((ref, edit))
        return True

    def sweep(self, installation_id: int, owner: str, repo: str) -> bool:
        raise AssertionError("a comment sweeps nothing")

    def sweep_owner(self, installation_id: int, owner: str) -> bool:
        raise AssertionError("a comment sweeps nothing")

    def map_changed(self, owner: str, repo: str) -> None:
        raise AssertionError("a comment changes no map")


def edited(
    reference_dir: Path, *, body: str, before: str | None = "/coi declare", action: str = "edited"
) -> dict[str, Any]:
    payload = with_installation(load_payload(reference_dir, "issue_comment/edited.payload.json"))
    payload["action"] = action
    payload["issue"]["pull_request"] = {"url": "https://api.github.com/repos/o/r/pulls/1"}
    payload["comment"]["body"] = body
    if before is None:
        payload.pop("changes", None)
    else:
        payload["changes"] = {"body": {"from": before}}
    return payload


async def dispatch(
    payload: dict[str, Any],
) -> list[tuple[PullRequestRef | IssueRef, CommentEdit | None]]:
    recorder = EditRecorder()
    await router.dispatch(
        sansio.Event(payload, event="issue_comment", delivery_id="d"),
        scheduler=recorder,
        map_path=MAP_PATH,
    )
    return recorder.scheduled


@pytest.mark.parametrize(
    ("body", "before"),
    [
        ("/coi request", "/coi declare"),
        ("/coi request", ""),
        ("Could someone look?\n/COI REQUEST", "Could someone look?"),
        ("/coi request", "/coi request"),  # the engine, which knows the prefix, compares them
    ],
)
async def test_an_edit_that_may_add_a_request_carries_the_old_text(
    reference_dir: Path, body: str, before: str
) -> None:
    payload = edited(reference_dir, body=body, before=before)
    comment = payload["comment"]
    ((ref, edit),) = await dispatch(payload)
    assert ref == PullRequestRef(
        INSTALLATION_ID,
        payload["repository"]["owner"]["login"],
        payload["repository"]["name"],
        payload["issue"]["number"],
    )
    assert edit == CommentEdit(
        comment_id=comment["id"], node_id=comment["node_id"], previous_body=before
    )


def test_the_recorded_edit_carries_its_ids_and_old_text(reference_dir: Path) -> None:
    payload = with_installation(load_payload(reference_dir, "issue_comment/edited.payload.json"))
    payload["comment"]["body"] += " Requested a review."
    assert request_edit(payload) == CommentEdit(
        comment_id=492700400,
        node_id="MDEyOklzc3VlQ29tbWVudDQ5MjcwMDQwMA==",
        previous_body="You are totally right! I'll get this fixed right away.",
    )


@pytest.mark.parametrize(
    ("action", "body", "before"),
    [
        ("created", "/coi request", "/coi declare"),
        ("deleted", "/coi request", "/coi declare"),
        ("edited", "/coi request", None),  # not a body edit: nothing to compare
        ("edited", "/coi declare @gus", "/coi request"),  # no request any more
        ("edited", "/coi recheck", "/coi declare"),
    ],
)
async def test_other_comment_events_are_plain_re_evaluations(
    reference_dir: Path, action: str, body: str, before: str | None
) -> None:
    ((_, edit),) = await dispatch(edited(reference_dir, body=body, before=before, action=action))
    assert edit is None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: p["changes"]["body"].update({"from": None}),
        lambda p: p.update({"changes": "body"}),
        lambda p: p["changes"].update({"body": "from"}),
        lambda p: p["comment"].update({"body": None}),
    ],
)
async def test_a_malformed_change_is_a_plain_re_evaluation(
    reference_dir: Path, mangle: Any
) -> None:
    payload = edited(reference_dir, body="/coi request")
    mangle(payload)
    ((_, edit),) = await dispatch(payload)
    assert edit is None


@pytest.mark.parametrize("comment_id", [None, "12", 0, True])
async def test_an_edit_without_a_rest_id_is_a_plain_re_evaluation(
    reference_dir: Path, comment_id: Any, caplog: pytest.LogCaptureFixture
) -> None:
    payload = edited(reference_dir, body="/coi request")
    payload["comment"]["id"] = comment_id
    ((_, edit),) = await dispatch(payload)
    assert edit is None
    assert "without a REST id" in caplog.text


@pytest.mark.parametrize("node_id", [None, "", 7])
async def test_an_edit_without_a_node_id_is_matched_by_its_rest_id(
    reference_dir: Path, node_id: Any
) -> None:
    payload = edited(reference_dir, body="/coi request")
    payload["comment"]["node_id"] = node_id
    ((_, edit),) = await dispatch(payload)
    assert edit is not None
    assert edit.node_id is None
    assert edit.comment_id == payload["comment"]["id"]


async def test_an_edit_by_a_bot_queues_nothing(reference_dir: Path) -> None:
    payload = edited(reference_dir, body="/coi request")
    payload["comment"]["user"]["type"] = "Bot"
    assert await dispatch(payload) == []


async def test_an_edit_on_an_issue_queues_its_vote_without_the_edit(reference_dir: Path) -> None:
    payload = edited(reference_dir, body="/coi request")
    del payload["issue"]["pull_request"]
    (queued,) = await dispatch(payload)
    assert queued == (IssueRef(4242, "Codertocat", "Hello-World", 1), None)


@pytest.mark.parametrize(
    ("comment_id", "previous_body", "message"),
    [
        (0, "", "positive"),
        (-3, "", "positive"),
        (True, "", "REST id"),
        ("12", "", "REST id"),
        (12, None, "changes.body.from"),
    ],
)
def test_an_edit_needs_a_comment_id_and_the_old_text(
    comment_id: Any, previous_body: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        CommentEdit(comment_id=comment_id, node_id=None, previous_body=previous_body)
