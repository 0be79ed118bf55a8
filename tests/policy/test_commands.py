from __future__ import annotations

import pytest

from bot.policy.commands import CommandState, parse_commands, replay

from .builders import comment, facts, make_map

AMAP = make_map()


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
    assert "only a TSC member may withdraw" in (state.outcomes[1].reason or "")
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
