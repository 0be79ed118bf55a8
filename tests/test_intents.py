"""An edited comment asks for a reviewer only when the edit added an allowed `request`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.intents import CommentEdit
from bot.policy.commands import edited_comment, holds_request, replay, request_added_by_edit
from bot.policy.facts import Comment
from tests.policy.builders import comment, facts, make_map

AMAP = make_map()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/coi request", True),
        ("/COI Request", True),
        ("Please look.\n/coi request\n", True),
        ("/coi declare\n/coi request", True),
        ("/coi request now", False),  # malformed: not a request
        ("/coi requests", False),
        ("/coi declare", False),
        ("> /coi request", False),
        ("```\n/coi request\n```", False),
        ("`/coi request`", False),
        ("/bot request", False),
        ("", False),
    ],
)
def test_holds_request(body: str, expected: bool) -> None:
    assert holds_request(body, prefix="/coi") is expected


@given(st.text(max_size=200))
def test_a_body_without_the_word_holds_no_request(body: str) -> None:
    if "request" not in body.casefold():
        assert not holds_request(body, prefix="/coi")


def edit_of(note: Comment, before: str, *, by_node: bool = True) -> CommentEdit:
    assert note.database_id is not None
    return CommentEdit(
        comment_id=note.database_id if not by_node else 999_999,
        node_id=note.id if by_node else None,
        previous_body=before,
    )


def added(note: Comment, before: str, *, opener: str = "alice", by_node: bool = True) -> bool:
    pr = facts(opener=opener, comments=(note,))
    outcomes = replay(pr, AMAP, writers=frozenset()).outcomes
    return request_added_by_edit(
        pr, outcomes, [edit_of(note, before, by_node=by_node)], prefix="/coi"
    )


@pytest.mark.parametrize(
    ("author", "body", "before", "expected"),
    [
        ("carol", "/coi request", "/coi declare", True),  # TSC member: allowed
        ("alice", "/coi request", "hello", True),  # the PR's author
        ("carol", "/coi request", "/coi request", False),  # it already held the request
        ("carol", "/coi request\nthanks", "/coi request", False),
        ("carol", "/coi request", "> /coi request", True),  # a quote was never a command
        ("carol", "/coi request", "/coi request please", True),  # a malformed one neither
        ("dave", "/coi request", "/coi declare", False),  # a contributor: refused
        ("carol", "/coi declare", "/coi request", False),  # no request any more
        ("carol", "/coi request extra", "/coi declare", False),  # malformed now
    ],
)
@pytest.mark.parametrize("by_node", [True, False])
def test_an_edit_adds_a_request_only_when_new_and_allowed(
    author: str, body: str, before: str, expected: bool, by_node: bool
) -> None:
    assert added(comment(author, body), before, by_node=by_node) is expected


def test_a_deleted_comment_asks_nothing() -> None:
    note = comment("carol", "/coi request")
    pr = facts(comments=())
    assert edited_comment(pr, edit_of(note, "")) is None
    assert not request_added_by_edit(pr, (), [edit_of(note, "")], prefix="/coi")


def test_any_one_edit_adding_a_request_asks() -> None:
    kept = comment("carol", "/coi request", 0.5)
    new = comment("erin", "/coi request", 0.6)
    pr = facts(comments=(kept, new))
    outcomes = replay(pr, AMAP, writers=frozenset()).outcomes
    edits = [edit_of(kept, "/coi request"), edit_of(new, "/coi declare")]
    assert request_added_by_edit(pr, outcomes, edits, prefix="/coi")
    assert not request_added_by_edit(pr, outcomes, edits[:1], prefix="/coi")
    assert not request_added_by_edit(pr, outcomes, (), prefix="/coi")


def test_the_map_s_prefix_decides() -> None:
    note = comment("carol", "/bot request")
    amap = make_map(policy={"command_prefix": "/bot"})
    pr = facts(comments=(note,))
    outcomes = replay(pr, amap, writers=frozenset()).outcomes
    assert request_added_by_edit(pr, outcomes, [edit_of(note, "/coi request")], prefix="/bot")
    assert not request_added_by_edit(pr, outcomes, [edit_of(note, "/bot request")], prefix="/bot")
