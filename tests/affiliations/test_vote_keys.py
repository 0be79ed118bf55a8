"""The vote keys of the map: `policy.roles.<role>.votes` and `policy.votes`, with located errors."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest

from bot.affiliations.importers import dump_map, import_owners
from bot.affiliations.loader import load_map_text
from bot.affiliations.model import (
    Role,
    Votes,
    parse_duration,
    parse_share,
    parse_threshold,
)


def test_defaults() -> None:
    votes = Votes()
    assert (votes.label, votes.check_name, votes.duration) == ("TSC:voting", "TSC vote", "7d")
    assert (votes.threshold, votes.of, votes.quorum) == ("majority", "cast", 0)
    assert (votes.company_cap, votes.conflicted, votes.rules) == (None, "abstain", [])


@pytest.mark.parametrize(
    ("role", "weight"),
    [
        (Role(tsc=True), 1),
        (Role(tsc=False), 0),
        (Role(tsc=True, votes=3), 3),
        (Role(tsc=False, votes=2), 2),
        (Role(tsc=True, votes=0), 0),
    ],
)
def test_role_weight_defaults_to_one_for_the_tsc(role: Role, weight: int) -> None:
    assert role.vote_weight == weight


def test_a_full_votes_section_loads() -> None:
    text = (
        "version: 1\n"
        "policy:\n"
        "  roles: {leader: {tsc: true, votes: 3}, maintainer: {tsc: true}}\n"
        "  votes:\n"
        "    label: vote\n"
        "    duration: 36h\n"
        "    threshold: 2/3\n"
        "    of: eligible\n"
        "    quorum: '1/2'\n"
        "    company_cap: 2\n"
        "    conflicted: count\n"
        "    rules:\n"
        "      - {paths: [OWNERS.md], threshold: '3/4', of: cast, quorum: 0.25, duration: 90m}\n"
    )
    result = load_map_text(text)
    assert result.errors == ()
    assert result.document is not None
    votes = result.document.policy.votes
    assert (votes.label, votes.threshold) == ("vote", "2/3")
    assert (votes.of, votes.quorum) == ("eligible", "1/2")
    assert (votes.company_cap, votes.conflicted) == (2, "count")
    (rule,) = votes.rules
    assert (rule.paths, rule.threshold, rule.of, rule.quorum, rule.duration) == (
        ["OWNERS.md"],
        "3/4",
        "cast",
        0.25,
        "90m",
    )
    assert result.document.policy.roles["leader"].vote_weight == 3


@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        ("duration: 7w", 15, "policy.votes.duration: '7w' is not a duration such as 7d, 36h"),
        ("duration: 0d", 15, "policy.votes.duration: '0d' is not a duration"),
        ("duration: 400d", 15, "policy.votes.duration: '400d' is longer than 366 days"),
        ("quorum: 1.5", 13, "policy.votes.quorum: 1.5 is not between 0 and 1"),
        ("quorum: '3/2'", 13, "policy.votes.quorum: '3/2' is not between 0 and 1"),
        ("quorum: true", 13, "policy.votes.quorum: True is not a share such as 0.5 or '1/2'"),
        ("quorum: half", 13, "policy.votes.quorum: 'half' is not a share such as 0.5 or '1/2'"),
        ("threshold: 0/3", 16, "policy.votes.threshold: '0/3' is not a threshold: a fraction"),
        ("threshold: 0.5", 16, "policy.votes.threshold: 0.5 is not a threshold: write majority"),
        ("threshold: most", 16, "policy.votes.threshold: 'most' is not a threshold"),
        ("of: all", 9, "policy.votes.of should be 'cast' or 'eligible', got 'all'"),
        ("company_cap: 0", 18, "policy.votes.company_cap should be greater than 0, got 0"),
        ("conflicted: recuse", 17, "policy.votes.conflicted should be 'abstain' or 'count'"),
        ("treshold: 2/3", 5, "unknown key 'treshold' (did you mean 'threshold'?)"),
        ("check_name: COI review", 17, "policy.votes.check_name 'COI review' is the review"),
        ("rules: [{paths: []}]", 21, "policy.votes.rules[0].paths: List should have at least 1"),
        ("rules: [{path: [a]}]", 14, "unknown key 'path' (did you mean 'paths'?)"),
    ],
)
def test_bad_vote_keys_are_located_errors(line: str, column: int, message: str) -> None:
    text = f"version: 1\npolicy:\n  votes:\n    {line}\n"
    (error,) = load_map_text(text, path="m.yml").errors
    assert str(error).startswith(f"m.yml:4:{column}: {message}")


def test_a_negative_role_weight_is_located() -> None:
    text = "version: 1\npolicy:\n  roles: {leader: {tsc: true, votes: -1}}\n"
    (error,) = load_map_text(text, path="m.yml").errors
    assert str(error) == (
        "m.yml:3:38: policy.roles.leader.votes should be greater than or equal to 0, got -1"
    )


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("7d", timedelta(days=7)),
        ("36h", timedelta(hours=36)),
        ("90m", timedelta(minutes=90)),
        ("30s", timedelta(seconds=30)),
    ],
)
def test_durations(text: str, duration: timedelta) -> None:
    assert parse_duration(text) == duration


@pytest.mark.parametrize(
    ("value", "share"),
    [
        (0, Fraction(0)),
        (1, Fraction(1)),
        (0.5, Fraction(1, 2)),
        ("1/2", Fraction(1, 2)),
        (0.67, Fraction(67, 100)),
        ("2 / 3", Fraction(2, 3)),
    ],
)
def test_shares_are_exact(value: float | str, share: Fraction) -> None:
    assert parse_share(value) == share


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -0.1, "1/0", "x", True])
def test_bad_shares(value: float | str) -> None:
    with pytest.raises(ValueError, match=r"share|between"):
        parse_share(value)


@pytest.mark.parametrize(
    ("value", "threshold"),
    [
        ("majority", (Fraction(1, 2), True)),
        ("2/3", (Fraction(2, 3), False)),
        ("1/2", (Fraction(1, 2), False)),
        ("1/1", (Fraction(1), False)),
    ],
)
def test_thresholds(value: str, threshold: tuple[Fraction, bool]) -> None:
    assert parse_threshold(value) == threshold


def test_owners_import_carries_the_vote_points_and_dumps_them() -> None:
    owners = "# Leaders\n\n* Ann ([@ann](https://github.com/ann)), _Acme_\n"
    document = import_owners(owners)
    assert document.policy.roles["leader"].votes == 3
    assert document.policy.roles["senior-maintainer"].votes == 2
    assert document.policy.roles["contributor"].vote_weight == 0
    text = dump_map(document)
    assert "leader: {tsc: true, votes: 3}" in text
    reloaded = load_map_text(text).document
    assert reloaded is not None
    assert reloaded.policy.roles == document.policy.roles
