"""`AffiliationMap` queries: range edges, aliases, parents, independents, logins and emails."""

from __future__ import annotations

from datetime import date

import pytest

from bot.affiliations.index import AffiliationMap, StandingConflict
from bot.affiliations.loader import load_map_text

MAP = """\
version: 1
companies:
  extreme: {name: Extreme Networks, aliases: [StackStorm, Brocade]}
  broadcom: {name: Broadcom}
  vmware: {name: VMware, parent: broadcom}
  vmware-labs: {name: VMware Labs, parent: vmware}
  copart: {name: Copart}
  independent: {name: Independent, independent: true}
people:
  cognifloyd:
    name: Jacob Floyd
    logins: [cognifloyd-work]
    emails: [Cognifloyd@Gmail.com]
    role: senior-maintainer
    affiliations:
      - {company: independent, until: 2021-06-01}
      - {company: copart, from: 2021-06-01, until: 2024-01-01}
      - {company: vmware-labs, from: 2024-01-01}
    conflicts:
      - {company: extreme, reason: consults for Extreme, from: 2025-01-01, until: 2027-01-01}
      - {company: copart}
    away:
      - {from: 2026-12-20, until: 2027-01-05}
  amanda11:
    role: leader
    affiliations: [{company: broadcom, from: 2020-01-01}]
  nzlosh:
    role: maintainer
    affiliations: [{company: independent}]
  newbie:
    role: contributor
    affiliations: [{company: extreme}]
  norole: {}
  ghost: {role: maintainer}
bots: ["stackstorm-ci"]
policy:
  roles:
    leader: {tsc: true}
    senior-maintainer: {tsc: true}
    maintainer: {tsc: true}
    contributor: {tsc: false}
"""


@pytest.fixture(scope="module")
def amap() -> AffiliationMap:
    result = load_map_text(MAP)
    assert result.errors == ()
    assert result.map is not None
    return result.map


@pytest.mark.parametrize(
    ("login", "day", "companies"),
    [
        ("cognifloyd", date(2021, 5, 31), {"independent"}),  # last day before until
        ("cognifloyd", date(2021, 6, 1), {"copart"}),  # until is exclusive, from inclusive
        ("cognifloyd", date(2023, 12, 31), {"copart"}),
        ("cognifloyd", date(2024, 1, 1), {"vmware-labs"}),
        ("cognifloyd", date(1970, 1, 1), {"independent"}),  # no from: since always
        ("cognifloyd", date(2100, 1, 1), {"vmware-labs"}),  # no until: still
        ("COGNIFLOYD-WORK", date(2022, 1, 1), {"copart"}),  # other login, any case
        ("amanda11", date(2019, 12, 31), set()),
        ("amanda11", date(2020, 1, 1), {"broadcom"}),
        ("norole", date(2020, 1, 1), set()),
        ("stranger", date(2020, 1, 1), set()),
    ],
)
def test_companies_of_a_login_on_a_day(
    amap: AffiliationMap, login: str, day: date, companies: set[str]
) -> None:
    assert amap.companies_of(login, day) == companies


@pytest.mark.parametrize(
    ("email", "day", "companies"),
    [
        ("cognifloyd@gmail.com", date(2022, 1, 1), {"copart"}),
        ("COGNIFLOYD@GMAIL.COM", date(2020, 1, 1), {"independent"}),
        ("someone@example.com", date(2022, 1, 1), set()),
    ],
)
def test_companies_of_an_email(
    amap: AffiliationMap, email: str, day: date, companies: set[str]
) -> None:
    login = amap.login_of_email(email)
    assert (amap.companies_of(login, day) if login else set()) == companies


@pytest.mark.parametrize(
    ("login", "key"),
    [
        ("cognifloyd", "cognifloyd"),
        ("CogniFloyd", "cognifloyd"),
        ("cognifloyd-work", "cognifloyd"),
        ("Cognifloyd-Work", "cognifloyd"),
        ("stranger", None),
    ],
)
def test_every_login_of_a_person_finds_the_person(
    amap: AffiliationMap, login: str, key: str | None
) -> None:
    assert amap.login_of(login) == key
    assert amap.is_known(login) is (key is not None)
    person = amap.person(login)
    assert (person is None) is (key is None)
    if key is not None:
        assert person is amap.document.people[key]


def test_emails_find_their_person_ignoring_case(amap: AffiliationMap) -> None:
    assert amap.login_of_email("COGNIFLOYD@gmail.com") == "cognifloyd"
    assert amap.login_of_email("nobody@example.com") is None


@pytest.mark.parametrize(
    ("spelling", "company"),
    [
        ("extreme", "extreme"),
        ("Extreme Networks", "extreme"),
        ("stackstorm", "extreme"),
        ("BROCADE", "extreme"),
        ("vmware", "vmware"),
        ("VMware Labs", "vmware-labs"),
        ("Broadcom Inc", None),
    ],
)
def test_companies_resolve_from_id_name_or_alias(
    amap: AffiliationMap, spelling: str, company: str | None
) -> None:
    assert amap.company_of_text(spelling) == company


@pytest.mark.parametrize(
    ("first", "second", "conflict"),
    [
        ("vmware", "broadcom", True),  # VMware under Broadcom
        ("vmware-labs", "broadcom", True),  # grandparent
        ("vmware-labs", "vmware", True),
        ("broadcom", "broadcom", True),
        ("copart", "broadcom", False),
        ("extreme", "copart", False),
        ("independent", "independent", False),  # independents never conflict by company
        ("independent", "copart", False),
        ("unknown", "unknown", False),
    ],
)
def test_companies_conflict_when_they_share_a_group(
    amap: AffiliationMap, first: str, second: str, conflict: bool
) -> None:
    assert amap.companies_conflict(first, second) is conflict
    assert amap.companies_conflict(second, first) is conflict


def test_conflict_groups_drop_independents_and_merge_parents(amap: AffiliationMap) -> None:
    assert amap.conflict_group("vmware-labs") == "broadcom"
    assert amap.conflict_group("independent") is None
    assert amap.conflict_group("nowhere") is None
    groups = amap.conflict_groups(["vmware", "broadcom", "independent", "copart"])
    assert groups == {"broadcom", "copart"}


@pytest.mark.parametrize(
    ("login", "tsc"),
    [
        ("cognifloyd", True),
        ("cognifloyd-work", True),
        ("amanda11", True),
        ("nzlosh", True),
        ("newbie", False),  # a role without tsc
        ("norole", False),
        ("stranger", False),
    ],
)
def test_tsc_membership_comes_from_the_role(amap: AffiliationMap, login: str, tsc: bool) -> None:
    assert amap.is_tsc(login) is tsc


def test_tsc_members_in_map_order(amap: AffiliationMap) -> None:
    assert amap.tsc_members() == ["cognifloyd", "amanda11", "nzlosh", "ghost"]


@pytest.mark.parametrize(
    ("day", "away"),
    [
        (date(2026, 12, 19), False),
        (date(2026, 12, 20), True),
        (date(2027, 1, 4), True),
        (date(2027, 1, 5), False),
    ],
)
def test_away_windows_include_from_and_exclude_until(
    amap: AffiliationMap, day: date, away: bool
) -> None:
    assert amap.is_away("cognifloyd-work", day) is away
    assert amap.is_away("stranger", day) is False


@pytest.mark.parametrize(
    ("login", "is_bot"),
    [
        ("stackstorm-ci", True),
        ("StackStorm-CI", True),
        ("dependabot[bot]", True),  # every GitHub App account is a bot
        ("cognifloyd", False),
    ],
)
def test_bots_are_listed_or_apps(amap: AffiliationMap, login: str, is_bot: bool) -> None:
    assert amap.is_bot(login) is is_bot


@pytest.mark.parametrize(
    ("day", "companies"),
    [
        (date(2024, 12, 31), ["copart"]),
        (date(2025, 1, 1), ["extreme", "copart"]),
        (date(2027, 1, 1), ["copart"]),
    ],
)
def test_standing_conflicts_on_a_day(amap: AffiliationMap, day: date, companies: list[str]) -> None:
    conflicts = amap.standing_conflicts("Cognifloyd-Work", day)
    assert [c.company for c in conflicts] == companies
    assert all(c.login == "cognifloyd" for c in conflicts)


def test_standing_conflicts_keep_their_reason(amap: AffiliationMap) -> None:
    assert amap.standing_conflicts("cognifloyd", date(2026, 1, 1))[0] == StandingConflict(
        login="cognifloyd", company="extreme", reason="consults for Extreme"
    )
    assert amap.standing_conflicts("stranger", date(2026, 1, 1)) == ()


def test_company_names_fall_back_to_the_id(amap: AffiliationMap) -> None:
    assert amap.company_name("extreme") == "Extreme Networks"
    assert amap.company_name("gone") == "gone"


def test_policy_is_the_documents(amap: AffiliationMap) -> None:
    assert amap.policy is amap.document.policy
    assert amap.policy.roles["contributor"].tsc is False


def test_a_parent_loop_built_by_hand_does_not_hang() -> None:
    from bot.affiliations.model import Company, MapDocument

    document = MapDocument(
        version=1,
        companies={"a": Company(name="A", parent="b"), "b": Company(name="B", parent="a")},
    )
    amap = AffiliationMap(document)
    assert amap.conflict_group("a") in {"a", "b"}
