"""Who is conflicted on a vote: subjects (map entries and OWNERS.md lines) and their colleagues,
else the one rule of a PR (`conflict_on_pr`), and declared conflicts."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bot.affiliations.importers import owners_lines
from bot.affiliations.index import AffiliationMap
from bot.affiliations.model import MapDocument
from bot.policy.authors import collect_authors
from bot.policy.conflicts import Declaration, Parties, conflict_on_pr
from bot.policy.facts import Commit, PullRequestFacts
from bot.policy.vote_conflicts import Party, Proposal, conflicts, subjects
from bot.policy.votes import electorate

from .builders import facts
from .test_votes import DAY, vote_map

OWNERS = """# Leaders ***
###### 3 vote points
* Lea ([@lea](https://github.com/lea)), _Acme_

# Maintainers *
###### 1 vote points
* Max ([@max](https://github.com/max)), _Globex_
"""
NOMINEE = "* Jake Z ([@skiedude](https://github.com/skiedude)), _ACME_\n"


def _head(amap: AffiliationMap, change: dict[str, Any]) -> AffiliationMap:
    data = amap.document.model_dump(by_alias=True)
    data["people"].update(change)
    return AffiliationMap(MapDocument.model_validate(data))


def _line(login: str, company: str) -> str:
    return f"* {login.title()} ([@{login}](https://github.com/{login})), _{company}_\n"


def _declared(**reasons: str | None) -> dict[str, Declaration]:
    return {
        login: Declaration(login=login, by=login, reason=reason, comment_id=f"c-{login}")
        for login, reason in reasons.items()
    }


def _conflicts(
    amap: AffiliationMap,
    proposal: Proposal,
    *,
    declared: dict[str, Declaration] | None = None,
    day: date = DAY,
) -> dict[str, str]:
    voters = electorate(amap, day).values()
    return conflicts(amap, voters, proposal, declared=declared or {}, day=day)


def test_owners_lines() -> None:
    lines = owners_lines(OWNERS + NOMINEE)
    assert set(lines) == {"lea", "max", "skiedude"}
    assert (lines["skiedude"].role, lines["skiedude"].company) == ("maintainer", "ACME")
    assert lines["lea"].role == "leader"


def test_a_nominee_missing_from_the_map_takes_the_company_of_their_line() -> None:
    amap = vote_map()
    found = subjects(
        amap, head_map=None, owners_before=OWNERS, owners_after=OWNERS + NOMINEE, day=DAY
    )
    assert found == (Party("skiedude", "nominee", ("acme",)),)
    proposal = Proposal(owners_before=OWNERS, owners_after=OWNERS + NOMINEE)
    assert _conflicts(amap, proposal) == {
        "lea": "Acme, like the nominee @skiedude",
        "sam": "Acme, like the nominee @skiedude",
    }


def test_a_promotion_in_owners_md_makes_the_promoted_a_subject() -> None:
    amap = vote_map()
    promoted = OWNERS.replace("* Max", "* Maxi")
    found = subjects(amap, head_map=None, owners_before=OWNERS, owners_after=promoted, day=DAY)
    assert found == (Party("max", "nominee", ("globex",)),)
    assert _conflicts(amap, Proposal(owners_before=OWNERS, owners_after=promoted)) == {
        "max": "the nominee @max",
        "sue": "Globex, like the nominee @max",
    }


def test_a_removal_makes_a_subject() -> None:
    amap = vote_map()
    without_max = OWNERS.split("* Max")[0]
    found = subjects(amap, head_map=None, owners_before=OWNERS, owners_after=without_max, day=DAY)
    assert found == (Party("max", "subject", ("globex",)),)


def test_a_changed_map_entry_makes_a_subject_and_parents_conflict() -> None:
    amap = vote_map()
    head = _head(
        amap, {"moe": {"role": "senior-maintainer", "affiliations": [{"company": "broadcom"}]}}
    )
    found = subjects(amap, head_map=head, owners_before=None, owners_after=None, day=DAY)
    assert found == (Party("moe", "nominee", ("broadcom",)),)
    # VMware's parent is Broadcom: one side of a conflict.
    assert _conflicts(amap, Proposal(head_map=head)) == {
        "moe": "the nominee @moe",
        "mia": "VMware, like the nominee @moe",
    }


def test_a_new_map_entry_takes_its_company_from_the_head_map_by_name() -> None:
    amap = vote_map()
    data = amap.document.model_dump(by_alias=True)
    data["companies"]["globex-inc"] = {"name": "Globex"}
    data["people"]["neo"] = {"role": "maintainer", "affiliations": [{"company": "globex-inc"}]}
    head = AffiliationMap(MapDocument.model_validate(data))
    found = subjects(amap, head_map=head, owners_before=None, owners_after=None, day=DAY)
    assert found == (Party("neo", "nominee", ("globex",)),)


def test_independents_never_conflict_by_company() -> None:
    amap = vote_map()
    proposal = Proposal(owners_before="", owners_after=_line("ian", "Independent"))
    assert _conflicts(amap, proposal) == {"ian": "the nominee @ian"}


def test_without_subjects_the_authors_decide_by_the_rule_of_a_pr() -> None:
    amap = vote_map()
    pr = facts(opener="max", commits=(Commit("c" * 40, author_login="Lea"),))
    assert _conflicts(amap, Proposal(pr)) == {
        "lea": "an author of the proposal",
        "max": "an author of the proposal",
        "sam": "same company as the authors, Acme (`acme`)",
        "sue": "same company as the authors, Globex (`globex`)",
        # No company on record: conflicted, as `unknown_people: conflicted` says for a PR.
        "nat": "no company on record, and GitHub shows none (policy: unknown people are "
        "conflicted)",
    }


def test_subjects_take_precedence_over_authors() -> None:
    amap = vote_map()
    pr = facts(opener="max", files=("OWNERS.md",))
    proposal = Proposal(pr, owners_before=OWNERS, owners_after=OWNERS + NOMINEE)
    assert set(_conflicts(amap, proposal)) == {"lea", "sam"}


def test_declared_conflicts() -> None:
    amap = vote_map()
    declared = _declared(ivy="my brother is the nominee", ian=None)
    assert _conflicts(amap, Proposal(facts(opener="max")), declared=declared) == {
        "max": "an author of the proposal",
        "sue": "same company as the authors, Globex (`globex`)",
        "nat": "no company on record, and GitHub shows none (policy: unknown people are "
        "conflicted)",
        "ivy": "conflict declared on this proposal by @ivy: my brother is the nominee",
        "ian": "conflict declared on this proposal by @ian",
    }
    nominee = Proposal(owners_before=OWNERS, owners_after=OWNERS + NOMINEE)
    assert _conflicts(amap, nominee, declared=declared) == {
        "lea": "Acme, like the nominee @skiedude",
        "sam": "Acme, like the nominee @skiedude",
        "ivy": "conflict declared on this proposal by @ivy: my brother is the nominee",
        "ian": "conflict declared on this proposal by @ian",
    }


def test_standing_conflicts_in_the_map() -> None:
    amap = _head(
        vote_map(),
        {
            "ivy": {
                "role": "maintainer",
                "affiliations": [{"company": "independent"}],
                "conflicts": [{"company": "acme", "reason": "consults for Acme"}],
            }
        },
    )
    found = _conflicts(amap, Proposal(owners_before=OWNERS, owners_after=OWNERS + NOMINEE))
    assert found["ivy"] == (
        "a standing conflict with Acme, like the nominee @skiedude: consults for Acme"
    )


def test_a_subjects_colleague_is_judged_on_the_day_the_vote_opened() -> None:
    amap = _head(
        vote_map(),
        {
            "sue": {
                "role": "senior-maintainer",
                "affiliations": [
                    {"company": "acme", "until": "2026-05-01"},
                    {"company": "globex", "from": "2026-05-01"},
                ],
            }
        },
    )
    proposal = Proposal(owners_before=OWNERS, owners_after=OWNERS + NOMINEE)
    assert "sue" not in _conflicts(amap, proposal)  # Globex on the day the vote opened
    assert _conflicts(amap, proposal, day=date(2026, 4, 30))["sue"] == (
        "Acme, like the nominee @skiedude"
    )


# --- the vote rule and the PR rule agree ---------------------------------------------------

AGREEMENT_MAP = {
    "lea": {"role": "leader", "affiliations": [{"company": "acme"}]},
    "sue": {"role": "senior-maintainer", "affiliations": [{"company": "globex"}]},
    "mia": {"role": "maintainer", "affiliations": [{"company": "vmware"}]},
    "moe": {"role": "maintainer", "affiliations": [{"company": "broadcom"}]},
    "ivy": {"role": "maintainer", "affiliations": [{"company": "independent"}]},
    "ian": {"role": "maintainer", "affiliations": [{"company": "independent"}]},
    "nat": {"role": "maintainer"},
    "ned": {
        "role": "maintainer",
        "emails": ["ned@example.org"],
        "affiliations": [{"company": "globex"}],
    },
}


def _agreement_map(unknown_people: str) -> AffiliationMap:
    data = vote_map().document.model_dump(by_alias=True)
    data["people"] = AGREEMENT_MAP
    data["policy"]["unknown_people"] = unknown_people
    return AffiliationMap(MapDocument.model_validate(data))


# case -> (the PR, conflicts declared on it, who is conflicted whatever `unknown_people` says)
CASES: dict[str, tuple[PullRequestFacts, dict[str, str | None], set[str]]] = {
    "opener": (facts(opener="lea"), {}, {"lea"}),
    # VMware's parent is Broadcom: one group, one side of a conflict.
    "parent company": (facts(opener="moe"), {}, {"moe", "mia"}),
    "commit author": (
        facts(opener="ivy", commits=(Commit("c" * 40, author_login="mia"),)),
        {},
        {"ivy", "mia", "moe"},  # independents never conflict by company: not ian
    ),
    "co-author by email": (
        facts(
            opener="ivy",
            commits=(Commit("c" * 40, "Fix\n\nCo-authored-by: Ned <ned@example.org>", "ivy"),),
        ),
        {},
        {"ivy", "ned", "sue"},
    ),
    "committer": (
        facts(opener="ivy", commits=(Commit("c" * 40, author_login="ivy", committer_login="lea"),)),
        {},
        {"ivy", "lea"},
    ),
    "unknown author": (facts(opener="stranger"), {}, {"stranger"}),
    "declared": (
        facts(opener="ivy"),
        {"sue": "I review for a client", "ian": None},
        {"ivy", "sue", "ian"},
    ),
}


@pytest.mark.parametrize("unknown_people", ["conflicted", "independent"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_vote_rule_and_the_pr_rule_agree(case: str, unknown_people: str) -> None:
    """For a proposal with no subject, whoever the PR rule finds conflicted abstains, and
    nobody else: declared conflicts, parents, commit authors, co-authors and committers as
    authors, unknown people (in the map with no company, or not in the map at all)."""
    amap = _agreement_map(unknown_people)
    pr, reasons, expected = CASES[case]
    declared = {
        login: Declaration(login=login, by="ivy", reason=reason, comment_id="c1")
        for login, reason in reasons.items()
    }
    parties = Parties(amap, collect_authors(pr, amap))
    voters = list(electorate(amap, DAY, also=["stranger", "ghost"]).values())
    by_vote = conflicts(amap, voters, Proposal(pr), declared=declared, day=DAY)
    by_pr = {}
    for person in voters:
        found = conflict_on_pr(parties, person.login, day=DAY, declared=declared)
        if found is not None:
            by_pr[person.login] = found
    assert set(by_vote) == set(by_pr)
    for login, found in by_pr.items():  # the same reason, worded for a proposal
        if found.kind not in ("author", "declared"):
            assert by_vote[login] == found.why
    unknown = {"nat", "stranger", "ghost"} if unknown_people == "conflicted" else set()
    assert set(by_vote) == expected | unknown
