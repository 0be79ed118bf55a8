"""Companies GitHub shows for people the map places nowhere decide, whatever `policy.evidence`."""

from __future__ import annotations

from typing import Any

import pytest

from bot.affiliations.evidence import Evidence
from bot.affiliations.index import AffiliationMap
from bot.affiliations.model import MapDocument
from bot.policy.facts import Commit, Profile, PullRequestFacts
from bot.policy.markdown import text
from bot.policy.render import render
from bot.policy.shown_companies import ShownCompany, companies_on, companies_shown, describe
from bot.policy.verdict import MapRef, Verdict, evaluate

from .builders import HEAD, NOW, approve, document, facts

REF = MapRef(path=".github/affiliations.yml", blob_sha=None, source="repository")
SHORT = HEAD[:7]


def amap(**policy: Any) -> AffiliationMap:
    doc = document(policy=policy)
    doc["companies"]["acme"] |= {"domains": ["acme.example"], "github_orgs": ["acme-corp"]}
    doc["companies"]["stackstorm"] = {"name": "StackStorm", "domains": ["stackstorm.example"]}
    # TSC members with no company on record (as in the bundled map).
    doc["people"]["kami"] = {"role": "maintainer"}
    doc["people"]["m4dcoder"] = {"role": "maintainer"}
    return AffiliationMap(MapDocument.model_validate(doc))


def judge(pr: PullRequestFacts, **policy: Any) -> Verdict:
    return evaluate(pr, amap(**policy), now=NOW, map_ref=REF)


def by(login: str, email: str | None = None, *, message: str = "Change") -> tuple[Commit, ...]:
    return (Commit(sha=HEAD, author_login=login, author_email=email, message=message),)


# zed is not in the map: a second account, say. bob (Acme, TSC) approves.
CASES: list[tuple[str, PullRequestFacts, dict[str, Any], str, tuple[str, ...], str | None]] = [
    (
        "unknown author, commit email at an Acme domain",
        facts(opener="zed", commits=by("zed", "zed@acme.example"), reviews=(approve("bob"),)),
        {},
        "action_required",
        ("acme",),
        f"GitHub shows Acme (`acme`) ({text(f'commit {SHORT} authored as zed@acme.example')})",
    ),
    (
        "the same under evidence: ignore",
        facts(opener="zed", commits=by("zed", "zed@acme.example"), reviews=(approve("bob"),)),
        {"evidence": "ignore"},
        "action_required",
        ("acme",),
        f"GitHub shows Acme (`acme`) ({text(f'commit {SHORT} authored as zed@acme.example')})",
    ),
    (
        "unknown author, profile company",
        facts(
            opener="zed",
            commits=by("zed"),
            reviews=(approve("bob"),),
            profiles=(Profile("zed", company="ACME Corp"),),
        ),
        {},
        "action_required",
        ("acme",),
        f"GitHub shows Acme (`acme`) ({text('profile company: ACME Corp')})",
    ),
    (
        "unknown author, public member of the company's organization",
        facts(
            opener="zed",
            commits=by("zed"),
            reviews=(approve("bob"),),
            profiles=(Profile("zed", organizations=("acme-corp",)),),
        ),
        {"require": "when_conflicted"},
        "action_required",
        ("acme",),
        f"GitHub shows Acme (`acme`) ({text('public member of acme-corp')})",
    ),
    (
        "unknown author, nothing shown: unaffiliated, bob is independent of them",
        facts(opener="zed", commits=by("zed", "zed@gmail.com"), reviews=(approve("bob"),)),
        {},
        "success",
        (),
        None,
    ),
    (
        "an author known by email only (no GitHub account)",
        facts(
            opener="carol",
            commits=(Commit(sha=HEAD, author_email="pat@acme.example"),),
            reviews=(approve("bob"),),
        ),
        {},
        "action_required",
        ("acme",),
        f"GitHub shows Acme (`acme`) ({text('commit authored as pat@acme.example')})",
    ),
    (
        "a co-author trailer at an Acme domain",
        facts(
            opener="carol",
            commits=by("carol", message="Fix\n\nCo-authored-by: Pat <pat@acme.example>"),
            reviews=(approve("bob"),),
        ),
        {},
        "action_required",
        ("acme",),
        f"GitHub shows Acme (`acme`) ({text('co-author trailer authored as pat@acme.example')})",
    ),
    (
        "a profile naming an independent company is no independence",
        facts(
            opener="zed",
            commits=by("zed", "zed@acme.example"),
            reviews=(approve("bob"),),
            profiles=(Profile("zed", company="Independent"),),
        ),
        {},
        "action_required",
        ("acme",),
        f"GitHub shows Acme (`acme`) ({text(f'commit {SHORT} authored as zed@acme.example')})",
    ),
]


@pytest.mark.parametrize(
    ("pr", "policy", "conclusion", "companies", "shown_by"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_authors_the_map_does_not_place(
    pr: PullRequestFacts,
    policy: dict[str, Any],
    conclusion: str,
    companies: tuple[str, ...],
    shown_by: str | None,
) -> None:
    verdict = judge(pr, **policy)
    assert verdict.conclusion == conclusion, verdict.reasons
    unplaced = [a for a in verdict.authors if not a.known]
    assert [(a.companies, a.shown_by) for a in unplaced] == [(companies, shown_by)]
    assert set(companies) <= set(verdict.author_companies)
    row = render(verdict, check_name="COI review").summary
    if companies:
        assert f"| Acme (`acme`); {shown_by} |" in row
    else:
        assert "| unaffiliated, not in the map |" in row


# TSC members with no company on record: kami and m4dcoder.
TSC_CASES: list[tuple[str, PullRequestFacts, dict[str, Any], str, str | None]] = [
    (
        "both at one email domain: not independent",
        facts(
            opener="kami",
            commits=by("kami", "kami@stackstorm.example"),
            reviews=(approve("m4dcoder"),),
            profiles=(Profile("m4dcoder", company="StackStorm"),),
        ),
        {},
        "action_required",
        "same company as the authors, StackStorm (`stackstorm`): "
        "GitHub shows StackStorm (`stackstorm`) "
        f"({text('profile company: StackStorm')})",
    ),
    (
        "an approver GitHub shows nowhere falls under unknown_people: conflicted",
        facts(opener="alice", reviews=(approve("m4dcoder"),)),
        {},
        "action_required",
        "no company on record, and GitHub shows none (policy: unknown people are conflicted)",
    ),
    (
        "the same under unknown_people: independent counts",
        facts(opener="alice", reviews=(approve("m4dcoder"),)),
        {"unknown_people": "independent"},
        "success",
        None,
    ),
    (
        "an approver GitHub shows elsewhere is independent",
        facts(
            opener="alice",
            reviews=(approve("bob"), approve("m4dcoder", 2)),
            profiles=(Profile("m4dcoder", company="StackStorm"),),
        ),
        {},
        "success",
        None,
    ),
    (
        "an author GitHub shows at the approver's company",
        facts(
            opener="kami",
            commits=by("kami", "kami@acme.example"),
            reviews=(approve("bob"),),
        ),
        {},
        "action_required",
        "same company as the authors, Acme (`acme`)",
    ),
    (
        "an independent member stays independent whatever their profile says",
        facts(
            opener="alice",
            reviews=(approve("bob"), approve("ivan", 2)),
            profiles=(Profile("ivan", company="Acme"),),
        ),
        {},
        "success",
        None,
    ),
]


@pytest.mark.parametrize(
    ("pr", "policy", "conclusion", "why_not"),
    [case[1:] for case in TSC_CASES],
    ids=[case[0] for case in TSC_CASES],
)
def test_tsc_members_with_no_company_on_record(
    pr: PullRequestFacts, policy: dict[str, Any], conclusion: str, why_not: str | None
) -> None:
    verdict = judge(pr, **policy)
    assert verdict.conclusion == conclusion, verdict.reasons
    last = verdict.approvals[-1]
    assert last.why_not == why_not
    assert last.conflicted is (why_not is not None)


def test_where_each_company_came_from_is_kept_per_person() -> None:
    m = amap()
    items = [
        Evidence("zed", "commit_email", "zed@acme.example", "commit abc1234"),
        Evidence("ZED", "profile_company", "ACME Corp", "profile"),
        Evidence("zed", "commit_email", "zed@acme.example", "commit abc1234"),  # once
        Evidence("zed", "org_member", "stackstorm", "profile"),  # no github_orgs: nothing
        Evidence("bob", "profile_company", "StackStorm", "profile"),
        Evidence("email:pat@acme.example", "commit_email", "pat@acme.example", "commit"),
        Evidence("yan", "commit_email", "yan@gmail.com", "commit abc1234"),  # free mail
    ]
    shown = companies_shown(m, items)
    assert shown == {
        "zed": (ShownCompany("acme", (items[0], items[1])),),
        "bob": (ShownCompany("stackstorm", (items[4],)),),
        "email:pat@acme.example": (ShownCompany("acme", (items[5],)),),
    }
    # The map places bob: his record decides, the evidence is only shown against it.
    assert companies_on(m, "bob", NOW.date(), shown) == (frozenset({"acme"}), ())
    assert companies_on(m, "zed", NOW.date(), shown) == (frozenset({"acme"}), shown["zed"])
    assert companies_on(m, "kami", NOW.date(), shown) == (frozenset(), ())
    sightings = "commit abc1234 authored as zed@acme.example; profile company: ACME Corp"
    assert describe(m, shown["zed"]) == f"GitHub shows Acme (`acme`) ({text(sightings)})"
    assert "zed@\u200dacme\\.example" in describe(m, shown["zed"]), "no mention, no link"
    assert describe(m, ()) == ""
