"""Warnings about a valid map: things that load but will not work as the TSC expects.

They never stop a map from deciding (errors do): `coi-bot validate` prints them as
`FILE:LINE:COL: warning: message` and fails on them only under `--strict`. Some depend on the
day (who works where now), so the day is passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from bot.affiliations.consistency import Loc
from bot.affiliations.evidence import agrees, email_domain
from bot.affiliations.index import AffiliationMap

# (path in the document, at the key rather than the value) -> 1-based (line, column)
Locate = Callable[[Loc, bool], tuple[int, int]]


@dataclass(frozen=True, slots=True)
class MapWarning:
    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: warning: {self.message}"


@dataclass(frozen=True, slots=True)
class _Found:
    loc: Loc
    message: str
    at_key: bool = False


def map_warnings(
    amap: AffiliationMap, *, today: date, path: str, locate: Locate
) -> tuple[MapWarning, ...]:
    """Every warning about `amap` on `today`, sorted by position."""
    found = [
        *_tsc_without_company(amap, today),
        *_claimed_twice(amap, locate),
        *_emails_of_another_company(amap, today),
        *_unsatisfiable_policy(amap, today),
        *_independent_companies_that_employ(amap, today),
    ]
    located = {MapWarning(path, *locate(item.loc, item.at_key), item.message) for item in found}
    return tuple(sorted(located, key=lambda w: (w.line, w.column, w.message)))


def _tsc_without_company(amap: AffiliationMap, today: date) -> list[_Found]:
    return [
        _Found(
            ("people", login),
            f"TSC member {login!r} has no company on record on {today}: add their affiliation"
            " (to a company with `independent: true` if they work for none)",
            at_key=True,
        )
        for login in amap.tsc_members()
        if not amap.companies_of(login, today)
    ]


def _claimed_twice(amap: AffiliationMap, locate: Locate) -> list[_Found]:
    found: list[_Found] = []
    for field, what in (("domains", "domain"), ("github_orgs", "GitHub organization")):
        first_claim: dict[str, tuple[str, Loc]] = {}
        for company_id, company in amap.document.companies.items():
            claims: list[str] = company.domains if field == "domains" else company.github_orgs
            for index, claim in enumerate(claims):
                loc: Loc = ("companies", company_id, field, index)
                known = first_claim.setdefault(claim.lower(), (company_id, loc))
                if known[1] == loc:
                    continue
                first_line, _ = locate(known[1], False)
                whose = "twice" if known[0] == company_id else f"by {known[0]!r} too"
                found.append(
                    _Found(loc, f"{what} {claim!r} is claimed {whose}, first at line {first_line}")
                )
    return found


def _emails_of_another_company(amap: AffiliationMap, today: date) -> list[_Found]:
    found: list[_Found] = []
    for login, person in amap.document.people.items():
        current = amap.companies_of(login, today)
        for index, email in enumerate(person.emails):
            domain = email_domain(email)
            owner = None if domain is None else amap.company_of_domain(domain)
            if owner is None or agrees(amap, owner, current):
                continue
            mapped = ", ".join(sorted(map(repr, current))) or "no company"
            found.append(
                _Found(
                    ("people", login, "emails", index),
                    f"{email!r} is an email of company {owner!r} (by its domain), but the map"
                    f" gives {login!r} {mapped} on {today}",
                )
            )
    return found


def _independent_companies_that_employ(amap: AffiliationMap, today: date) -> list[_Found]:
    """`independent: true` exempts members from conflicting with each other: a company with
    email domains, GitHub organizations or several TSC members is likely an employer."""
    found: list[_Found] = []
    for company_id, company in amap.document.companies.items():
        if not company.independent:
            continue
        members = sorted(
            login for login in amap.tsc_members() if company_id in amap.companies_of(login, today)
        )
        signs = []
        if company.domains:
            signs.append("email domains")
        if company.github_orgs:
            signs.append("GitHub organizations")
        if len(members) > 1:
            signs.append(f"{len(members)} TSC members ({', '.join(members)})")
        if signs:
            found.append(
                _Found(
                    ("companies", company_id, "independent"),
                    f"company {company_id!r} is `independent: true` but has "
                    f"{' and '.join(signs)}: its members never conflict with each other; if it"
                    " is an employer, remove `independent`",
                )
            )
    return found


def suppliers(amap: AffiliationMap, today: date) -> int:
    """How many sides can supply an eligible reviewer: the conflict groups of TSC members'
    companies, plus each independent TSC member on their own; members with no company none."""
    groups: set[str] = set()
    independents = 0
    for login in amap.tsc_members():
        companies = amap.companies_of(login, today)
        member_groups = amap.conflict_groups(companies)
        groups |= member_groups
        if companies and not member_groups:
            independents += 1
    return len(groups) + independents


def _unsatisfiable_policy(amap: AffiliationMap, today: date) -> list[_Found]:
    # A map with no TSC at all records affiliations only (a fresh gitdm import): no policy yet.
    if not amap.tsc_members():
        return []
    available = suppliers(amap, today)
    policy = amap.policy
    found: list[_Found] = []
    for key, needed in (
        ("independent_approvals", policy.independent_approvals),
        ("protected_companies", policy.protected_companies),
    ):
        if needed > available:
            found.append(
                _Found(
                    ("policy", key),
                    f"policy.{key} is {needed}, but TSC members on {today} come from only"
                    f" {available} companies (independent members count one each): no"
                    " pull request can satisfy it",
                )
            )
    return found
