from __future__ import annotations

import dataclasses

import pytest

from bot.policy.commands import (
    CommandState,
    judge_button,
    logins_needing_write_check,
    parse_commands,
    replay,
)
from bot.policy.facts import Comment
from bot.policy.verdict import MapRef, evaluate

from .builders import NOW, at, comment, facts, make_map

AMAP = make_map()
REF = MapRef(path=".github/affiliations.yml", blob_sha=None, source="repository")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/coi declare", [("declare", None, None)]),
        ("/COI Declare @bob works with Acme", [("declare", "bob", "works with Acme")]),
        ("/coi declare consulting", [("declare", None, "consulting")]),
        ("/coi withdraw @bob", [("withdraw", "bob", None)]),
        ("/coi recheck\n/coi request", [("recheck", None, None), ("request", None, None)]),
        ("/coi major touches the API", [("major", None, "touches the API")]),
        ("/coi minor", [("minor", None, None)]),
        ("  /coi recheck  ", [("recheck", None, None)]),
        ("/coi declare @renovate[bot]", [("declare", "renovate[bot]", None)]),
        ("please /coi recheck", []),
        ("/coix recheck", []),
        ("> /coi declare", []),
        ("  > /coi declare", []),
        ("```\n/coi declare\n```\n/coi recheck", [("recheck", None, None)]),
        ("~~~~\n/coi declare\n~~~\n/coi recheck\n~~~~", []),
        ("````\n```\n/coi declare\n````\n/coi minor", [("minor", None, None)]),
        ("`/coi declare`", []),
        ("    /coi declare", []),
        ("\t/coi declare", []),
    ],
)
def test_grammar(body: str, expected: list[tuple[str, str | None, str | None]]) -> None:
    parsed = parse_commands(body, prefix="/coi")
    assert [(c.kind, c.target, c.reason) for c in parsed] == expected
    assert all(c.error is None for c in parsed)


@pytest.mark.parametrize(
    ("body", "kind", "error_part"),
    [
        ("/coi", "unknown", "unknown command nothing"),
        ("/coi frobnicate", "unknown", "unknown command `frobnicate`"),
        ("/coi recheck now", "recheck", "takes no arguments"),
        ("/coi declare @-bad", "declare", "not a GitHub login"),
        ("/coi withdraw @bob because", "withdraw", "at most one @login"),
    ],
)
def test_grammar_errors_show_the_syntax(body: str, kind: str, error_part: str) -> None:
    (parsed,) = parse_commands(body, prefix="/coi")
    assert parsed.kind == kind
    assert parsed.error is not None
    assert error_part in parsed.error


def test_prefix_must_be_one_word() -> None:
    with pytest.raises(ValueError, match="one word"):
        parse_commands("/coi recheck", prefix="/c oi")
    assert parse_commands("!COI recheck", prefix="!coi")[0].kind == "recheck"


def _state(
    *comments_: tuple[str, str, float], opener: str = "alice", writers: frozenset[str] = frozenset()
) -> CommandState:
    pr = facts(opener=opener, comments=tuple(comment(a, b, d) for a, b, d in comments_))
    return replay(pr, AMAP, writers=writers)


@pytest.mark.parametrize(
    ("author", "body", "writers", "applied", "reason_part"),
    [
        ("bob", "/coi declare", frozenset(), True, None),
        ("stranger", "/coi declare", frozenset(), False, "affiliation map or with write access"),
        ("stranger", "/coi declare", frozenset({"Stranger"}), True, None),
        ("dave", "/coi declare @bob", frozenset(), False, "only TSC members may declare"),
        ("carol", "/coi declare @bob", frozenset(), True, None),
        ("carol", "/coi declare @nobody-here", frozenset(), False, "unknown login `@nobody-here`"),
        ("dave", "/coi major", frozenset(), False, "only TSC members"),
        ("carol", "/coi minor", frozenset(), True, None),
        ("alice", "/coi recheck", frozenset(), True, None),
        ("stranger", "/coi request", frozenset(), False, "PR's author"),
        ("stranger", "/coi request", frozenset({"stranger"}), True, None),
        ("dave", "/coi recheck", frozenset(), False, "PR's author"),
        ("carol", "/coi request", frozenset(), True, None),
        ("carol", "/coi withdraw @bob", frozenset(), False, "no conflict declared"),
        ("carol", "/coi nonsense", frozenset(), False, "unknown command"),
    ],
)
def test_permissions(
    author: str, body: str, writers: frozenset[str], applied: bool, reason_part: str | None
) -> None:
    state = _state((author, body, 1), writers=writers)
    (outcome,) = state.outcomes
    assert outcome.applied is applied
    assert outcome.author == author
    assert outcome.comment_database_id == 1000
    if reason_part is None:
        assert outcome.reason is None
    else:
        assert outcome.reason is not None
        assert reason_part in outcome.reason
    assert outcome.wants_request is (applied and outcome.kind == "request")


def test_declare_withdraw_and_deleting_the_comment() -> None:
    declared = _state(("bob", "/coi declare old friends", 1))
    assert list(declared.declarations) == ["bob"]
    assert declared.declarations["bob"].reason == "old friends"
    withdrawn = _state(("bob", "/coi declare", 1), ("bob", "/coi withdraw", 2))
    assert withdrawn.declarations == {}
    # Deleting the declaring comment leaves the withdrawal with nothing to withdraw.
    deleted = _state(("bob", "/coi withdraw", 2))
    assert deleted.declarations == {}
    assert deleted.outcomes[0].applied is False


def test_declarations_by_another_account_of_the_same_person() -> None:
    state = _state(("frank-work", "/coi declare", 1), ("carol", "/coi declare @FRANK", 2))
    assert list(state.declarations) == ["frank"]
    assert state.declarations["frank"].by == "carol"


def test_a_tsc_declaration_is_not_undone_by_its_subject() -> None:
    state = _state(("carol", "/coi declare @dave", 1), ("dave", "/coi withdraw", 2))
    assert "dave" in state.declarations
    assert "who declared it, or a TSC member with no conflict" in (state.outcomes[1].reason or "")
    by_tsc = _state(("carol", "/coi declare @dave", 1), ("erin", "/coi withdraw @dave", 2))
    assert by_tsc.declarations == {}


def test_latest_override_wins_and_bots_are_ignored() -> None:
    pr = facts(
        comments=(
            comment("carol", "/coi minor", 1),
            comment("erin", "/coi major risky", 2),
            comment("renovate[bot]", "/coi minor", 3),
            comment("helper", "/coi minor", 4, bot=True),
            comment("dave", "/coi minor", 5),
        )
    )
    state = replay(pr, AMAP, writers=frozenset())
    assert state.override is not None
    assert (state.override.kind, state.override.by, state.override.reason) == (
        "major",
        "erin",
        "risky",
    )
    assert [o.author for o in state.outcomes] == ["carol", "erin", "dave"]


def test_comments_replay_in_time_order_whatever_the_listing_order() -> None:
    first, second = comment("bob", "/coi declare", 1), comment("bob", "/coi withdraw", 2)
    forward = replay(facts(comments=(first, second)), AMAP, writers=frozenset())
    backward = replay(facts(comments=(second, first)), AMAP, writers=frozenset())
    assert forward == backward
    assert forward.declarations == {}


# --- acts that ask for less review need a TSC member with no conflict (alice opened the PR) ----


@pytest.mark.parametrize(
    ("comments", "override", "refused"),
    [
        ([("alice", "/coi minor", 1)], None, {"alice": "@alice is an author: only a TSC member"}),
        (
            [("bob", "/coi minor", 1)],
            None,
            {"bob": "@bob works for Acme (`acme`), like the author"},
        ),
        ([("mallory", "/coi minor", 1)], None, {"mallory": "standing conflict with Acme"}),
        ([("carol", "/coi minor", 1)], ("minor", "carol"), {}),
        ([("alice", "/coi major", 1)], ("major", "alice"), {}),
        (
            [("erin", "/coi declare @carol", 1), ("carol", "/coi minor", 2)],
            None,
            {"carol": "declared on this pull request by @erin"},
        ),
        # A colleague's minor after an independent major: the major stands.
        (
            [("erin", "/coi major", 1), ("bob", "/coi minor", 2)],
            ("major", "erin"),
            {"bob": "@bob works for Acme (`acme`)"},
        ),
        # A conflicted member's override never cancels an unconflicted member's.
        (
            [("carol", "/coi minor", 1), ("bob", "/coi major", 2)],
            ("minor", "carol"),
            {"bob": "@carol's `/coi minor` stands"},
        ),
        ([("bob", "/coi major", 1), ("carol", "/coi minor", 2)], ("minor", "carol"), {}),
        ([("bob", "/coi major", 1), ("alice", "/coi major", 2)], ("major", "alice"), {}),
    ],
)
def test_overrides_by_conflicted_members(
    comments: list[tuple[str, str, float]],
    override: tuple[str, str] | None,
    refused: dict[str, str],
) -> None:
    state = _state(*comments)
    found = None if state.override is None else (state.override.kind, state.override.by)
    assert found == override
    assert {o.author: o.reason for o in state.outcomes if not o.applied}.keys() == refused.keys()
    for outcome in state.outcomes:
        if not outcome.applied:
            assert refused[outcome.author] in (outcome.reason or "")


_ERIN_ON_CAROL = ("erin", "/coi declare @carol")


@pytest.mark.parametrize(
    ("declare", "withdraw", "withdrawn", "reason_part"),
    [
        (_ERIN_ON_CAROL, ("carol", "/coi withdraw"), False, "@carol has a conflict declared"),
        (("carol", "/coi declare"), ("carol", "/coi withdraw"), True, None),
        (_ERIN_ON_CAROL, ("erin", "/coi withdraw @carol"), True, None),
        (_ERIN_ON_CAROL, ("ivan", "/coi withdraw @carol"), True, None),
        (_ERIN_ON_CAROL, ("bob", "/coi withdraw @carol"), False, "@bob works for Acme (`acme`)"),
        (_ERIN_ON_CAROL, ("alice", "/coi withdraw @carol"), False, "@alice is an author"),
        (_ERIN_ON_CAROL, ("mallory", "/coi withdraw @carol"), False, "standing conflict"),
        (_ERIN_ON_CAROL, ("dave", "/coi withdraw @carol"), False, "only TSC members"),
    ],
)
def test_who_may_withdraw_a_declaration(
    declare: tuple[str, str], withdraw: tuple[str, str], withdrawn: bool, reason_part: str | None
) -> None:
    state = _state((*declare, 1), (*withdraw, 2))
    assert ("carol" not in state.declarations) is withdrawn
    outcome = state.outcomes[1]
    assert outcome.applied is withdrawn
    if reason_part is not None:
        assert reason_part in (outcome.reason or "")


def _edited(author: str, editor: str, body: str, days: float = 1) -> Comment:
    original = comment(author, body, days)
    return dataclasses.replace(original, editor=editor, last_edited_at=at(days + 0.5))


@pytest.mark.parametrize(
    ("author", "editor", "body", "writers", "applied", "reason_part"),
    [
        ("gus", "wendy", "/coi minor", frozenset({"wendy"}), False, "only TSC members may use"),
        ("carol", "alice", "/coi minor", frozenset(), False, "@alice is an author"),
        ("carol", "bob", "/coi withdraw @erin", frozenset(), False, "no conflict declared"),
        ("bob", "carol", "/coi minor", frozenset(), True, None),
        ("carol", "carol", "/coi minor", frozenset(), True, None),  # one's own edit
        ("carol", "renovate[bot]", "/coi minor", frozenset(), None, None),  # a bot's: no command
    ],
)
def test_an_edited_command_is_the_editors_act(
    author: str,
    editor: str,
    body: str,
    writers: frozenset[str],
    applied: bool | None,
    reason_part: str | None,
) -> None:
    state = replay(facts(comments=(_edited(author, editor, body),)), AMAP, writers=writers)
    if applied is None:
        assert state.outcomes == ()
        return
    (outcome,) = state.outcomes
    assert outcome.applied is applied
    assert outcome.author == author
    assert outcome.editor == (None if editor == author else editor)
    assert outcome.actor == editor
    if reason_part is not None:
        assert reason_part in (outcome.reason or "")
    if applied and editor != author:
        assert state.override is not None
        assert (state.override.by, state.override.in_comment_of) == (editor, author)
        assert outcome.shown_author == f"@{author} (edited by @{editor})"


def test_an_editors_write_access_is_what_is_looked_up() -> None:
    pr = facts(comments=(_edited("gus", "wendy", "/coi declare"),))
    assert logins_needing_write_check(pr, AMAP) == frozenset({"wendy"})


@pytest.mark.parametrize(
    ("major", "writers", "applied"),
    [
        (True, frozenset(), [True, False]),  # once per PR
        (False, frozenset(), [False, False]),  # only on a major change
        (False, frozenset({"Stranger"}), [True, True]),  # write access: as any writer
    ],
)
def test_a_stranger_opener_may_request_once_on_a_major_change(
    major: bool, writers: frozenset[str], applied: list[bool]
) -> None:
    pr = facts(
        opener="stranger",
        files=("core/a.py",) if major else ("docs/a.md",),
        comments=(comment("stranger", "/coi request", 1), comment("stranger", "/coi request", 2)),
    )
    verdict = evaluate(pr, AMAP, now=NOW, map_ref=REF, writers=writers)
    assert [o.applied for o in verdict.command_outcomes] == applied
    refused = [o.reason or "" for o in verdict.command_outcomes if not o.applied]
    if not major and not writers:
        assert all("only on a major change" in reason for reason in refused)
    if major:
        assert all("once per pull request" in reason for reason in refused)
    assert "stranger" in logins_needing_write_check(pr, AMAP)


def test_a_stranger_openers_request_click_is_refused() -> None:
    pr = facts(opener="stranger", files=("core/a.py",))
    click = judge_button(
        pr, AMAP, login="stranger", kind="request", label="Request reviewer", writers=frozenset()
    )
    assert not click.applied
    assert "asks with `/coi request`, once" in (click.reason or "")
