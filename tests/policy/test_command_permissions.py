"""Which commenters need a write-access look-up, and button clicks judged like commands."""

from __future__ import annotations

import dataclasses

import pytest

from bot.policy.commands import (
    ButtonKind,
    button_needs_write_check,
    judge_button,
    logins_needing_write_check,
)

from .builders import comment, facts, make_map

AMAP = make_map()


@pytest.mark.parametrize(
    ("author", "body", "needed"),
    [
        ("zoe", "/coi declare", {"zoe"}),  # not in the map: only write access can allow it
        ("zoe", "/coi withdraw @ZOE", {"zoe"}),  # for oneself, however the login is spelt
        ("zoe", "/coi recheck", {"zoe"}),
        ("zoe", "/coi request", {"zoe"}),
        ("dave", "/coi request", {"dave"}),  # in the map but no TSC role
        ("dave", "/coi declare", set()),  # the map settles people it knows
        ("carol", "/coi request", set()),  # TSC member
        ("alice", "/coi request", set()),  # the PR's author
        ("zoe", "/coi declare @bob", set()),  # for someone else: TSC only, no look-up helps
        ("zoe", "/coi major", set()),
        ("zoe", "/coi frobnicate", set()),  # not understood: refused whatever the rights
        ("zoe", "/coi recheck now", set()),
        ("zoe", "> /coi request", set()),
        ("zoe", "/coi recheck\n/coi request\n/coi declare", {"zoe"}),
    ],
)
def test_only_commenters_the_map_cannot_settle_are_looked_up(
    author: str, body: str, needed: set[str]
) -> None:
    pr = facts(comments=(comment(author, body),))
    assert logins_needing_write_check(pr, AMAP) == needed


def test_bots_are_never_looked_up() -> None:
    pr = facts(
        comments=(
            comment("renovate[bot]", "/coi request"),
            comment("some-app", "/coi request", bot=True),
            dataclasses.replace(comment("ghost", "/coi request"), author=None),
        )
    )
    assert logins_needing_write_check(pr, AMAP) == frozenset()


@pytest.mark.parametrize(
    ("login", "needed"), [("zoe", True), ("dave", True), ("carol", False), ("alice", False)]
)
def test_a_click_needs_a_look_up_unless_tsc_or_author(login: str, needed: bool) -> None:
    assert button_needs_write_check(facts(), AMAP, login=login) is needed


@pytest.mark.parametrize(
    ("login", "writers", "applied"),
    [
        ("alice", frozenset(), True),
        ("carol", frozenset(), True),
        ("zoe", frozenset({"zoe"}), True),
        ("zoe", frozenset(), False),
        ("dave", frozenset(), False),
    ],
)
@pytest.mark.parametrize(
    ("kind", "label"), [("recheck", "Recheck"), ("request", "Request reviewer")]
)
def test_a_click_is_judged_as_the_matching_command(
    login: str, writers: frozenset[str], applied: bool, kind: ButtonKind, label: str
) -> None:
    outcome = judge_button(
        facts(),
        AMAP,
        login=login,
        kind=kind,
        label=label,
        writers=writers,
    )
    assert outcome.applied is applied
    assert outcome.command == f"the {label} button"
    assert outcome.wants_request is (applied and kind == "request")
    if not applied:
        assert outcome.reason is not None
        assert f"/coi {kind}" in outcome.reason


def test_only_the_two_buttons_exist() -> None:
    with pytest.raises(ValueError, match="only 'recheck' and 'request'"):
        judge_button(facts(), AMAP, login="alice", kind="major", label="M", writers=frozenset())  # type: ignore[arg-type]
