"""Evidence from GitHub matched against the map: companies, contradictions and the fixing edit."""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime

import pytest

from bot.affiliations.evidence import (
    Contradiction,
    Evidence,
    EvidenceKind,
    contradictions,
    email_domain,
    evidence_companies,
    match_company,
    match_evidence,
)
from bot.affiliations.index import AffiliationMap
from bot.affiliations.loader import load_map_text

MAP = """\
version: 1
companies:
  acme:
    name: Acme, Inc
    aliases: [acme, inc., ACME Corporation]
    domains: [acme.com]
    github_orgs: [acme-corp]
  globex: {name: Globex, parent: acme, domains: [globex.io]}
  initech: {name: Initech, domains: [initech.com, labs.acme.com], github_orgs: [Initech-OSS]}
  independent: {name: Independent, independent: true}
people:
  frank:
    logins: [frank-work]
    role: maintainer
    affiliations:
      - {company: initech, until: 2026-12-01}
      - {company: acme, from: 2026-12-01}
  gina:
    role: maintainer
    affiliations: [{company: globex}]
  hal:
    role: maintainer
  ivy:
    affiliations: [{company: independent, from: 2020-01-01}]
"""


@pytest.fixture(scope="module")
def amap() -> AffiliationMap:
    result = load_map_text(MAP, path="m.yml")
    assert result.errors == ()
    assert result.map is not None
    return result.map


def seen(kind: EvidenceKind, value: str, login: str = "frank") -> Evidence:
    return Evidence(login=login, kind=kind, value=value, source="commit abc1234")


@pytest.mark.parametrize(
    ("kind", "value", "company"),
    [
        pytest.param("profile_company", "Acme, Inc", "acme", id="name"),
        pytest.param("profile_company", "Acme, Inc.", "acme", id="trailing-punctuation"),
        pytest.param("profile_company", "ACME  corporation", "acme", id="alias-case-spaces"),
        pytest.param("profile_company", "acme", "acme", id="id"),
        pytest.param("profile_company", "@Globex", "globex", id="leading-at-name"),
        pytest.param("profile_company", "@acme-corp", "acme", id="leading-at-org"),
        pytest.param("profile_company", "@initech-oss @globex", "initech", id="first-mention"),
        pytest.param("profile_company", "Acme Corp", None, id="unknown-text-not-guessed"),
        pytest.param("profile_company", "@nobody @acme-corp", "acme", id="later-mention"),
        pytest.param("profile_company", "@nobody Acme Corp", None, id="no-mention-known"),
        pytest.param("profile_company", "  @ ", None, id="blank"),
        pytest.param("commit_email", "frank@acme.com", "acme", id="domain"),
        pytest.param("commit_email", "Frank@ACME.COM", "acme", id="domain-case"),
        pytest.param("commit_email", "frank@eng.acme.com", "acme", id="subdomain"),
        pytest.param("commit_email", "frank@labs.acme.com", "initech", id="nearest-domain-wins"),
        pytest.param("commit_email", "frank@acme.com.evil.io", None, id="not-a-subdomain"),
        pytest.param("commit_email", "frank@gmail.com", None, id="free-mail"),
        pytest.param("commit_email", "frank@gmx.de", None, id="free-mail-country"),
        pytest.param("commit_email", "frank@yahoo.co.uk", None, id="free-mail-two-part-suffix"),
        pytest.param("commit_email", "1+frank@users.noreply.github.com", None, id="noreply"),
        pytest.param("commit_email", "not an email", None, id="no-at"),
        pytest.param("commit_email", "frank@unknown.org", None, id="unknown-domain"),
        pytest.param("org_member", "acme-corp", "acme", id="org"),
        pytest.param("org_member", "initech-oss", "initech", id="org-case"),
        pytest.param("org_member", "Acme", None, id="org-by-name-is-not-employment"),
    ],
)
def test_match_company(
    amap: AffiliationMap, kind: EvidenceKind, value: str, company: str | None
) -> None:
    assert match_company(amap, seen(kind, value)) == company


def test_unknown_text_is_recorded_as_unmatched(amap: AffiliationMap) -> None:
    known, unknown, free = (
        seen("profile_company", "Acme, Inc."),
        seen("profile_company", "Umbrella"),
        seen("commit_email", "frank@gmail.com"),
    )
    matches = match_evidence(amap, [known, unknown, free])
    assert matches.matched == ((known, "acme"),)
    assert matches.unmatched == (unknown,)
    assert matches.ignored == (free,)


@pytest.mark.parametrize(
    ("email", "domain"),
    [("a@Acme.COM.", "acme.com"), ("a@hotmail.fr", None), ("@acme.com", None), ("a@", None)],
)
def test_email_domain(email: str, domain: str | None) -> None:
    assert email_domain(email) == domain


AT = date(2026, 7, 1)


@pytest.mark.parametrize(
    ("login", "kind", "value", "at"),
    [
        pytest.param("frank", "commit_email", "frank@initech.com", AT, id="same-company"),
        pytest.param("frank-work", "org_member", "initech-oss", AT, id="other-login"),
        pytest.param("gina", "profile_company", "Acme, Inc.", AT, id="parent"),
        pytest.param("gina", "commit_email", "gina@globex.io", AT, id="alias-of-company"),
        pytest.param("frank", "commit_email", "frank@acme.com", date(2026, 12, 1), id="dated-new"),
        pytest.param("frank", "commit_email", "frank@gmail.com", AT, id="free-mail"),
        pytest.param("hal", "profile_company", "Umbrella", AT, id="unknown-text"),
    ],
)
def test_no_contradiction(
    amap: AffiliationMap, login: str, kind: EvidenceKind, value: str, at: date
) -> None:
    assert contradictions(amap, [seen(kind, value, login)], at=at) == ()


@pytest.mark.parametrize(
    ("evidence", "at", "expected"),
    [
        pytest.param(
            Evidence("frank", "commit_email", "frank@acme.com", "commit abc1234"),
            AT,
            Contradiction(
                login="frank",
                map_says="Initech",
                github_shows=("commit abc1234 authored as frank@acme.com",),
                company="acme",
                fix="set `until: 2026-07-01` in people.frank.affiliations[0] (initech) and add"
                " `{company: acme, from: 2026-07-01}` to people.frank.affiliations",
                evidence=(Evidence("frank", "commit_email", "frank@acme.com", "commit abc1234"),),
            ),
            id="dated-old-affiliation",
        ),
        pytest.param(
            Evidence("hal", "profile_company", "Globex", "https://github.com/hal"),
            datetime(2026, 7, 1, 12, tzinfo=UTC),
            Contradiction(
                login="hal",
                map_says="no company on record",
                github_shows=("profile company: Globex (https://github.com/hal)",),
                company="globex",
                fix="add `{company: globex, from: 2026-07-01}` to people.hal.affiliations",
                evidence=(Evidence("hal", "profile_company", "Globex", "https://github.com/hal"),),
            ),
            id="no-company",
        ),
        pytest.param(
            Evidence("zed", "org_member", "acme-corp", "profile"),
            AT,
            Contradiction(
                login="zed",
                map_says="not in the map",
                github_shows=("public member of acme-corp",),
                company="acme",
                fix="add `zed: {affiliations: [{company: acme, from: 2026-07-01}]}` to people",
                evidence=(Evidence("zed", "org_member", "acme-corp", "profile"),),
            ),
            id="unknown-person",
        ),
        pytest.param(
            Evidence("ivy", "commit_email", "ivy@acme.com", "commit 1234567"),
            date(2020, 1, 1),
            Contradiction(
                login="ivy",
                map_says="Independent",
                github_shows=("commit 1234567 authored as ivy@acme.com",),
                company="acme",
                fix="set `company: acme` in people.ivy.affiliations[0]",
                evidence=(Evidence("ivy", "commit_email", "ivy@acme.com", "commit 1234567"),),
            ),
            id="independent-from-that-day",
        ),
    ],
)
def test_contradiction(
    amap: AffiliationMap, evidence: Evidence, at: date, expected: Contradiction
) -> None:
    assert contradictions(amap, [evidence], at=at) == (expected,)


def test_sightings_of_one_company_make_one_contradiction(amap: AffiliationMap) -> None:
    items = [
        Evidence("frank", "commit_email", "f@acme.com", "commit aaaaaaa"),
        Evidence("frank-work", "profile_company", "ACME Corporation", "profile"),
        Evidence("frank", "org_member", "initech-oss", "profile"),
        Evidence("gina", "org_member", "initech-oss", "profile"),
    ]
    found = contradictions(amap, items, at=AT)
    assert [(c.login, c.company) for c in found] == [("frank", "acme"), ("gina", "initech")]
    assert found[0].github_shows == (
        "commit aaaaaaa authored as f@acme.com",
        "profile company: ACME Corporation",
    )
    assert str(found[1]) == (
        "@gina: the map says Globex, GitHub shows public member of initech-oss;"
        " fix: set `until: 2026-07-01` in people.gina.affiliations[0] (globex) and add"
        " `{company: initech, from: 2026-07-01}` to people.gina.affiliations"
    )


def test_evidence_companies_by_person(amap: AffiliationMap) -> None:
    items = [
        Evidence("Frank-Work", "commit_email", "f@acme.com", "commit aaaaaaa"),
        Evidence("frank", "org_member", "initech-oss", "profile"),
        Evidence("zed", "commit_email", "zed@globex.io", "commit bbbbbbb"),
        Evidence("hal", "commit_email", "hal@gmail.com", "commit ccccccc"),
    ]
    assert evidence_companies(amap, items) == {"frank": {"acme", "initech"}, "zed": {"globex"}}


def test_punctuation_of_the_map_side_is_ignored_too() -> None:
    text = textwrap.dedent(
        """\
        version: 1
        companies:
          a: {name: "Umbrella Corp.", aliases: ["@umbrella!"]}
        """
    )
    result = load_map_text(text)
    assert result.map is not None
    for spelling in ("umbrella corp", "UMBRELLA CORP,", "umbrella", "@Umbrella"):
        assert result.map.company_of_text(spelling) == "a"


def test_fix_before_a_dated_affiliation_starts(amap: AffiliationMap) -> None:
    evidence = Evidence("ivy", "commit_email", "ivy@acme.com", "commit 1234567")
    (found,) = contradictions(amap, [evidence], at=date(2019, 6, 1))
    assert found.map_says == "no company on record"
    assert found.fix == "add `{company: acme, from: 2019-06-01}` to people.ivy.affiliations"
