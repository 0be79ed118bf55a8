"""Companies GitHub shows for people the map gives none: unknown authors and approvers, and map
people with no company on record that day.

The map decides whoever it places; for the others, a company that commit emails (by `domains`),
the profile's `company` or public `github_orgs` name decides whatever `policy.evidence` says, so
that a second account, or a TSC member nobody placed, cannot pass as independent of everyone.
A company marked `independent` is never taken from evidence: anyone can write it in a profile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from bot.affiliations.evidence import Evidence, match_company
from bot.affiliations.index import AffiliationMap
from bot.policy.markdown import named_company, text

EMAIL_KEY = "email:"  # the verdict's key for an author known only by an email address


@dataclass(frozen=True, slots=True)
class ShownCompany:
    """One company GitHub shows for a person, with every sighting that names it."""

    company: str
    evidence: tuple[Evidence, ...]


ShownCompanies = Mapping[str, tuple[ShownCompany, ...]]


def email_evidence(key: str, source: str) -> Evidence | None:
    """The address behind an email-only author's key ("email:a@b"), as commit-email evidence."""
    if not key.startswith(EMAIL_KEY):
        return None
    return Evidence(key, "commit_email", key.removeprefix(EMAIL_KEY), source)


def companies_shown(
    amap: AffiliationMap, evidence: Iterable[Evidence]
) -> dict[str, tuple[ShownCompany, ...]]:
    """Person key (the map's, else the login or email key in lower case) -> the companies the
    evidence names, in the order first seen, each with its sightings."""
    found: dict[str, dict[str, list[Evidence]]] = {}
    for item in evidence:
        company = match_company(amap, item)
        if company is None or _independent(amap, company):
            continue
        key = item.login.lower() if item.login.startswith(EMAIL_KEY) else amap.key_of(item.login)
        sightings = found.setdefault(key, {}).setdefault(company, [])
        if item not in sightings:
            sightings.append(item)
    return {
        key: tuple(ShownCompany(company, tuple(items)) for company, items in named.items())
        for key, named in found.items()
    }


def _independent(amap: AffiliationMap, company: str) -> bool:
    found = amap.document.companies.get(company)
    return found is not None and found.independent


def companies_on(
    amap: AffiliationMap, key: str, day: date, shown: ShownCompanies
) -> tuple[frozenset[str], tuple[ShownCompany, ...]]:
    """The person's companies on `day` and, when they come from GitHub, what showed them: the
    map's when it places the person that day, else the evidence's (empty when none shows)."""
    on_record = amap.companies_of(key, day) if not key.startswith(EMAIL_KEY) else frozenset()
    if on_record:
        return on_record, ()
    seen = tuple(shown.get(key, ()))
    return frozenset(item.company for item in seen), seen


def describe(amap: AffiliationMap, seen: Iterable[ShownCompany]) -> str:
    """ "GitHub shows Acme (commit abc1234 authored as x@acme.com; profile company: Acme)", as
    inert Markdown: profiles, emails and the map's names are other people's text."""
    parts = [
        f"{named_company(amap.company_name(item.company), item.company)} ("
        + text("; ".join(sighting.describe() for sighting in item.evidence))
        + ")"
        for item in seen
    ]
    return "GitHub shows " + ", ".join(parts) if parts else ""
