"""A declaration deleted (or edited away) by someone who may not lower the bar keeps its effect,
restored from the App's own record in its check run (issue 20). alice opened the PR."""

from __future__ import annotations

import dataclasses

import pytest

from bot.policy.commands import replay
from bot.policy.conflicts import Declaration
from bot.policy.facts import CommentDeletion, RecordedDeclaration
from bot.policy.records import read_records, record_line

from .builders import at, comment, facts, make_map

AMAP = make_map()
# erin declared carol's conflict on day 1; the comment is gone unless a test keeps it.
RECORD = RecordedDeclaration("c-erin-1", "erin", "carol", "erin", "reviews for Acme", at(1))


def deleted_by(actor: str | None, days: float = 2, author: str = "erin") -> CommentDeletion:
    return CommentDeletion(comment_author=author, actor=actor, at=at(days))


@pytest.mark.parametrize(
    ("deletions", "stands", "why"),
    [
        ((deleted_by("erin"),), False, None),  # the declarer
        ((deleted_by("ivan"),), False, None),  # an unconflicted TSC member
        ((deleted_by("alice"),), True, "@alice is an author"),
        ((deleted_by("bob"),), True, "@bob works for Acme (`acme`)"),
        ((deleted_by("carol"),), True, "@carol has a conflict declared"),  # its subject
        ((deleted_by("dave"),), True, "@dave is not a TSC member"),
        ((deleted_by(None),), True, "a deleted account"),
        ((), True, "not on the timeline"),
        ((deleted_by("alice", days=0.5),), True, "not on the timeline"),  # before it was made
        ((deleted_by("alice", author="ivan"),), True, "not on the timeline"),  # another's comment
        # Two of erin's comments deleted since: one by the author is enough to keep it.
        ((deleted_by("erin"), deleted_by("alice", days=3)), True, "@alice is an author"),
    ],
)
def test_a_deleted_declaration_stands_unless_an_allowed_person_deleted_it(
    deletions: tuple[CommentDeletion, ...], stands: bool, why: str | None
) -> None:
    pr = facts(recorded_declarations=(RECORD,), comment_deletions=deletions)
    state = replay(pr, AMAP, writers=frozenset())
    assert ("carol" in state.declarations) is stands
    if stands:
        assert state.declarations["carol"].reason == "reviews for Acme"
        assert state.declarations["carol"].by == "erin"
        (act,) = state.refused_acts
        assert why is not None
        assert why in act.why
        assert "@carol's conflict declared by @erin" in act.act
    else:
        assert state.refused_acts == ()


def test_a_declaration_still_in_its_comment_is_judged_by_its_text() -> None:
    pr = facts(
        comments=(comment("erin", "/coi declare @carol", 1),),
        recorded_declarations=(RECORD,),
    )
    state = replay(pr, AMAP, writers=frozenset())
    assert state.refused_acts == ()
    assert state.declarations["carol"].reason is None, "the text as it is now"


@pytest.mark.parametrize(("editor", "stands"), [("alice", True), ("ivan", False)])
def test_a_declaration_edited_away_by_the_author_stands(editor: str, stands: bool) -> None:
    edited = dataclasses.replace(comment("erin", "LGTM", 1), editor=editor, last_edited_at=at(2))
    pr = facts(comments=(edited,), recorded_declarations=(RECORD,))
    state = replay(pr, AMAP, writers=frozenset())
    assert ("carol" in state.declarations) is stands
    assert bool(state.refused_acts) is stands


def test_the_record_survives_hostile_reasons() -> None:
    hostile = "--> <b>x</b> ] --> ```"
    declared = Declaration("carol", "erin", hostile, "C_1", at=at(1))
    line = record_line([declared])
    assert "-->" not in line.removesuffix(" -->")
    (back,) = read_records(f"before\n{line}\nafter")
    assert (back.login, back.by, back.reason, back.at) == ("carol", "erin", hostile, at(1))
    assert back.comment_author == "erin"


def test_the_record_names_the_accounts_behind_its_logins() -> None:
    declared = Declaration("carol", "erin", None, "C_1", at=at(1), login_id=7, by_id=9)
    (back,) = read_records(record_line([declared]))
    assert (back.login_id, back.by_id, back.comment_author_id) == (7, 9, None)


_ROW = '{"comment":"C_1","author":"erin","login":"carol","by":"erin","reason":null,'
_AT = '"at":"2026-01-01T00:00:00+00:00"'


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "no record",
        "<!-- coi-bot:declarations [{}] -->",
        "<!-- coi-bot:declarations [1] -->",
        f'<!-- coi-bot:declarations [{_ROW}{_AT},"by_id":"9"}}] -->',
        f'<!-- coi-bot:declarations [{_ROW}{_AT},"login_id":0}}] -->',
        f'<!-- coi-bot:declarations [{_ROW}{_AT},"author_id":true}}] -->',
    ],
)
def test_no_or_broken_record_restores_nothing(text: str | None) -> None:
    assert read_records(text) == ()
