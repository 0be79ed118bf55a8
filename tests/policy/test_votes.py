"""The tally of TSC votes: weights, thresholds, `of`, quorum, company caps, conflicts, early
close and ties, with exact fractions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest

from bot.affiliations.index import AffiliationMap
from bot.affiliations.model import MapDocument, Votes
from bot.policy.facts import ChangedFile
from bot.policy.votes import (
    Ballot,
    Choice,
    Tally,
    VoteRules,
    electorate,
    rules_for,
    show,
    tally,
    voter,
)

OPENED = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
DAY = OPENED.date()
DURING = OPENED + timedelta(days=1)
AFTER = OPENED + timedelta(days=8)

# login -> (role, company id or None): a StackStorm-like TSC.
PEOPLE: dict[str, tuple[str, str | None]] = {
    "lea": ("leader", "acme"),  # 3
    "sam": ("senior-maintainer", "acme"),  # 2
    "sue": ("senior-maintainer", "globex"),  # 2
    "max": ("maintainer", "globex"),  # 1
    "mia": ("maintainer", "vmware"),  # 1, VMware's parent is Broadcom
    "moe": ("maintainer", "broadcom"),  # 1
    "ivy": ("maintainer", "independent"),  # 1
    "ian": ("maintainer", "independent"),  # 1
    "nat": ("maintainer", None),  # 1, no company on record
    "cal": ("contributor", "globex"),  # 0: may not vote
}


def vote_map(**votes: Any) -> AffiliationMap:
    document = {
        "version": 1,
        "companies": {
            "acme": {"name": "Acme"},
            "globex": {"name": "Globex"},
            "broadcom": {"name": "Broadcom"},
            "vmware": {"name": "VMware", "parent": "broadcom"},
            "independent": {"name": "Independent", "independent": True},
        },
        "people": {
            login: {"role": role, "affiliations": [{"company": company}] if company else []}
            for login, (role, company) in PEOPLE.items()
        },
        "policy": {
            "roles": {
                "leader": {"tsc": True, "votes": 3},
                "senior-maintainer": {"tsc": True, "votes": 2},
                "maintainer": {"tsc": True},
                "contributor": {"tsc": False},
            },
            "votes": votes,
        },
    }
    return AffiliationMap(MapDocument.model_validate(document))


def run(
    cast: dict[str, Choice],
    *,
    now: datetime = AFTER,
    conflicts: dict[str, str] | None = None,
    files: tuple[str, ...] = (),
    **votes: Any,
) -> Tally:
    amap = vote_map(**votes)
    rules = rules_for(amap.policy.votes, [ChangedFile(path) for path in files])
    voters = electorate(amap, DAY, also=cast)
    ballots = [Ballot(login, choice) for login, choice in cast.items()]
    return tally(rules, voters, ballots, conflicts=conflicts or {}, opened_at=OPENED, now=now)


def test_weights_come_from_roles() -> None:
    amap = vote_map()
    weights = {login: v.weight for login, v in electorate(amap, DAY).items()}
    assert weights == {
        "lea": 3,
        "sam": 2,
        "sue": 2,
        "max": 1,
        "mia": 1,
        "moe": 1,
        "ivy": 1,
        "ian": 1,
        "nat": 1,
    }
    outsider = voter(amap, "Stranger", DAY)
    assert (outsider.login, outsider.weight, outsider.role) == ("stranger", 0, None)


def test_cap_groups_join_parents_and_split_independents() -> None:
    amap = vote_map()
    groups = {login: v.cap_group for login, v in electorate(amap, DAY).items()}
    assert groups["mia"] == groups["moe"] == "company:broadcom"
    assert groups["ivy"] == "person:ivy" != groups["ian"]
    assert groups["nat"] == "person:nat"
    assert groups["lea"] == groups["sam"] == "company:acme"


# (ballots, map keys, yes, no, outcome at the deadline)
CASES: list[tuple[dict[str, Choice], dict[str, Any], Fraction | int, Fraction | int, str]] = [
    # Weights: the leader's 3 beats two maintainers.
    ({"lea": "yes", "max": "no", "mia": "no"}, {}, Fraction(3), Fraction(2), "passed"),
    # A tie is not a majority ...
    ({"sam": "yes", "sue": "no"}, {}, Fraction(2), Fraction(2), "failed"),
    # ... but reaches "1/2" (at least half).
    ({"sam": "yes", "sue": "no"}, {"threshold": "1/2"}, Fraction(2), Fraction(2), "passed"),
    # 2/3 exactly: at least 2/3 passes.
    ({"sam": "yes", "max": "yes", "mia": "no"}, {"threshold": "2/3"}, 3, 1, "passed"),
    ({"sam": "yes", "max": "no", "mia": "no"}, {"threshold": "2/3"}, 2, 2, "failed"),
    ({"lea": "yes", "sue": "no"}, {"threshold": "2/3"}, 3, 2, "failed"),  # 3/5 < 2/3
    # Abstentions count for nobody under `of: cast`.
    ({"max": "yes", "lea": "abstain"}, {}, Fraction(1), Fraction(0), "passed"),
    # `of: eligible`: 13 eligible, 3 yes is no majority.
    ({"lea": "yes"}, {"of": "eligible"}, Fraction(3), Fraction(0), "failed"),
    ({"lea": "yes", "sam": "yes", "sue": "yes"}, {"of": "eligible"}, 7, 0, "passed"),
    # Non-binding votes are shown and never counted.
    ({"cal": "yes", "max": "no"}, {}, Fraction(0), Fraction(1), "failed"),
    # Nobody voted: failed.
    ({}, {}, Fraction(0), Fraction(0), "failed"),
    # Company cap 2: Acme's 5 yes count as 2; Globex's 3 no as 2.
    ({"lea": "yes", "sam": "yes", "sue": "no", "max": "no"}, {"company_cap": 2}, 2, 2, "failed"),
    # Cap 2 scales Acme's 3 yes and 2 no by 2/5 each.
    (
        {"lea": "yes", "sam": "no", "max": "yes"},
        {"company_cap": 2},
        Fraction(6, 5) + 1,
        Fraction(4, 5),
        "passed",
    ),
    # VMware and Broadcom share one cap of 1; the independents are each their own.
    (
        {"mia": "no", "moe": "no", "ivy": "yes", "ian": "yes"},
        {"company_cap": 1},
        Fraction(2),
        Fraction(1),
        "passed",
    ),
    # A leader alone is capped too.
    ({"lea": "yes", "sue": "no"}, {"company_cap": 2}, Fraction(2), Fraction(2), "failed"),
]


@pytest.mark.parametrize(("cast", "keys", "yes", "no", "outcome"), CASES)
def test_outcomes_at_the_deadline(
    cast: dict[str, Choice],
    keys: dict[str, Any],
    yes: Fraction | int,
    no: Fraction | int,
    outcome: str,
) -> None:
    result = run(cast, **keys)
    assert (result.yes, result.no, result.outcome) == (yes, no, outcome)
    assert not result.closed_early


def test_the_cap_shows_cast_and_counted_weight() -> None:
    result = run({"lea": "yes", "sam": "no", "max": "yes"}, company_cap=2)
    acme = next(group for group in result.groups if group.name == "Acme")
    assert (acme.yes_cast, acme.no_cast, acme.yes, acme.no) == (
        3,
        2,
        Fraction(6, 5),
        Fraction(4, 5),
    )
    assert acme.factor == Fraction(2, 5)
    row = next(row for row in result.rows if row.voter.login == "lea")
    assert row.counted == Fraction(6, 5)
    assert row.why_not == "Acme's yes and no scaled by 2/5 to the cap"


def test_abstentions_are_not_capped() -> None:
    result = run({"lea": "abstain", "sam": "abstain", "max": "yes"}, company_cap=1)
    assert result.abstain == 5
    assert result.voted == 6


def test_a_cap_changes_the_result() -> None:
    cast: dict[str, Choice] = {"lea": "yes", "sam": "yes", "sue": "no", "max": "no", "mia": "no"}
    assert run(cast).outcome == "passed"  # 5 to 4
    assert run(cast, company_cap=2).outcome == "failed"  # 2 to 3


def test_eligible_weight_is_capped_per_company() -> None:
    result = run({}, of="eligible", company_cap=2)
    # Acme 5 -> 2, Globex 3 -> 2, Broadcom 2, and ivy, ian, nat 1 each.
    assert result.eligible == 9
    assert result.electorate_weight == 13


@pytest.mark.parametrize(
    ("quorum", "cast", "needed", "outcome"),
    [
        (0.5, {"lea": "yes", "sam": "abstain", "max": "yes"}, Fraction(13, 2), "failed"),
        (
            "1/2",
            {"lea": "yes", "sam": "abstain", "max": "yes", "mia": "abstain"},
            Fraction(13, 2),
            "passed",
        ),
        (1, {login: "yes" for login in PEOPLE if login != "nat"}, Fraction(13), "failed"),
        (0, {"max": "yes"}, Fraction(0), "passed"),
    ],
)
def test_quorum_counts_abstentions(
    quorum: float | str, cast: dict[str, Choice], needed: Fraction, outcome: str
) -> None:
    result = run(cast, quorum=quorum)
    assert result.quorum_needed == needed
    assert result.outcome == outcome
    assert result.quorum_met is (outcome == "passed")


def test_conflicted_voters_abstain_and_leave_the_denominator() -> None:
    conflicts = {"sam": "Acme, like the nominee @nom"}
    result = run({"sam": "yes", "max": "no"}, conflicts=conflicts, of="eligible")
    assert (result.yes, result.no) == (Fraction(0), Fraction(1))
    assert result.electorate_weight == 11
    row = next(row for row in result.rows if row.voter.login == "sam")
    assert (row.choice, row.counted_as, row.counted) == ("yes", "abstain", Fraction(0))
    assert row.why_not == "conflicted (Acme, like the nominee @nom): recorded as an abstention"


def test_a_conflicted_vote_decides_the_outcome() -> None:
    cast: dict[str, Choice] = {"lea": "yes", "sue": "no", "max": "no"}
    assert run(cast, threshold="1/2").outcome == "passed"
    conflicts = {"lea": "Acme, like the nominee @nom"}
    assert run(cast, threshold="1/2", conflicts=conflicts).outcome == "failed"
    assert run(cast, threshold="1/2", conflicts=conflicts, conflicted="count").outcome == "passed"


def test_under_count_a_conflict_is_shown_and_counted() -> None:
    result = run({"lea": "yes"}, conflicts={"lea": "an author"}, conflicted="count")
    row = next(row for row in result.rows if row.voter.login == "lea")
    assert (row.counted_as, row.counted) == ("yes", Fraction(3))
    assert (row.conflict, row.why_not) == ("an author", None)


def test_non_binding_rows_say_why() -> None:
    result = run({"cal": "yes"})
    row = next(row for row in result.rows if row.voter.login == "cal")
    assert row.counted_as is None
    assert row.counted == 0
    assert row.why_not == "non-binding: no vote in this TSC"


@pytest.mark.parametrize(
    ("cast", "keys", "outcome"),
    [
        # 7 of the 13 voted yes: the 6 left cannot undo a majority of all cast.
        ({"lea": "yes", "sam": "yes", "sue": "yes"}, {}, "passed"),
        # 3 to 2, with 8 to come: open.
        ({"lea": "yes", "sue": "no"}, {}, None),
        # of eligible: 7 of 13 is already more than half of everything that may vote.
        ({"lea": "yes", "sam": "yes", "sue": "yes"}, {"of": "eligible"}, "passed"),
        # 7 no of 13: yes can reach at most 6 of 13.
        ({"lea": "no", "sam": "no", "sue": "no"}, {"of": "eligible"}, "failed"),
        # Everyone voted: decided now.
        ({login: "yes" for login in PEOPLE}, {}, "passed"),
        # Under a quorum of all, abstaining is voting: the vote goes on.
        ({"lea": "abstain"}, {"quorum": 1}, None),
        # Under 2/3 of cast, 7 no against 6 possible yes can never reach 2/3.
        ({"lea": "no", "sam": "no", "sue": "no"}, {"threshold": "2/3"}, "failed"),
    ],
)
def test_early_close(cast: dict[str, Choice], keys: dict[str, Any], outcome: str | None) -> None:
    result = run(cast, now=DURING, **keys)
    if outcome is None:
        assert (result.outcome, result.closed_early) == ("open", False)
        assert result.reason.startswith("open: ")
    else:
        assert (result.outcome, result.closed_early) == (outcome, True)
        assert result.reason.startswith(f"{outcome} early")


def test_a_quorum_keeps_a_vote_open_until_reached() -> None:
    cast: dict[str, Choice] = {"lea": "yes", "sam": "yes", "sue": "yes"}
    result = run(cast, now=DURING, quorum=1)
    assert result.outcome == "open"
    assert (
        result.reason
        == "open: yes 7 of 7 cast yes and no, more than 1/2 needed; 7 of 13 voted, quorum 13"
    )


def test_the_deadline() -> None:
    result = run({"max": "yes"}, now=OPENED + timedelta(days=7) - timedelta(seconds=1))
    assert result.outcome == "open"
    assert result.closes_at == OPENED + timedelta(days=7)
    assert run({"max": "yes"}, now=OPENED + timedelta(days=7)).outcome == "passed"
    assert run({"max": "yes"}, now=DURING, duration="1h").outcome == "passed"


def test_rules_first_match_wins() -> None:
    votes = Votes.model_validate(
        {
            "threshold": "majority",
            "rules": [
                {"paths": ["OWNERS.md", "GOVERNANCE.md"], "threshold": "2/3", "duration": "90m"},
                {"paths": ["**"], "threshold": "3/4", "of": "eligible", "quorum": "1/2"},
            ],
        }
    )
    owners = rules_for(votes, [ChangedFile("OWNERS.md"), ChangedFile("README.md")])
    assert (owners.threshold, owners.more_than, owners.of) == (Fraction(2, 3), False, "cast")
    assert owners.duration == timedelta(minutes=90)
    assert owners.why == "rule 1 (paths OWNERS.md, GOVERNANCE.md) matches `OWNERS.md`"
    other = rules_for(votes, [ChangedFile("src/a.py")])
    assert (other.threshold, other.of, other.quorum) == (Fraction(3, 4), "eligible", Fraction(1, 2))
    assert other.duration == timedelta(days=7)
    renamed = rules_for(votes, [ChangedFile("docs/GOV.md", previous_path="GOVERNANCE.md")])
    assert renamed.threshold == Fraction(2, 3)
    issue = rules_for(votes, [])
    assert (issue.threshold, issue.more_than, issue.why) == (
        Fraction(1, 2),
        True,
        "the default rules",
    )
    assert issue.threshold_phrase == "more than 1/2"
    assert owners.threshold_phrase == "at least 2/3"


def test_ballots_must_come_from_known_voters() -> None:
    amap = vote_map()
    rules: VoteRules = rules_for(amap.policy.votes, [])
    with pytest.raises(ValueError, match="missing from the voters: ghost"):
        tally(
            rules,
            electorate(amap, DAY),
            [Ballot("ghost", "yes")],
            conflicts={},
            opened_at=OPENED,
            now=AFTER,
        )


def test_show() -> None:
    assert (show(Fraction(3)), show(Fraction(4, 3))) == ("3", "4/3")


def test_people_joining_later_are_non_binding() -> None:
    amap = vote_map()
    later = date(2026, 6, 1)
    assert electorate(amap, later)["lea"].weight == 3
    assert voter(amap, "cal", DAY).binding is False
