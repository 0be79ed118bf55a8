"""What GitHub shows about a person, matched against the map: pure, no I/O, time passed in.

Three kinds of evidence name an employer: a commit's author email (by its domain), the profile's
free-text `company` field, and a public membership of a GitHub organization. Each is matched to
a company by `domains`, by name, id and aliases, or by `github_orgs`; text that names no company
is kept as unmatched, never guessed, and free-mail or no-reply addresses never count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from bot.affiliations.index import AffiliationMap
from bot.affiliations.model import is_free_mail

EvidenceKind = Literal["commit_email", "profile_company", "org_member"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """One thing GitHub shows about `login`; `source` says where ("commit abc1234", "profile",
    or a URL)."""

    login: str
    kind: EvidenceKind
    value: str
    source: str

    def describe(self) -> str:
        """What was seen and where, in the words of a check run's summary."""
        if self.kind == "commit_email":
            return f"{self.source} authored as {self.value}"
        shown = (
            f"profile company: {self.value}"
            if self.kind == "profile_company"
            else f"public member of {self.value}"
        )
        return shown if self.source in ("", "profile") else f"{shown} ({self.source})"


@dataclass(frozen=True, slots=True)
class EvidenceMatches:
    """Evidence sorted three ways: naming a company of the map, naming none, or saying nothing."""

    matched: tuple[tuple[Evidence, str], ...]
    unmatched: tuple[Evidence, ...]
    ignored: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class Contradiction:
    """Evidence naming a company the map does not give `login` on the day it was judged."""

    login: str
    map_says: str
    github_shows: tuple[str, ...]
    company: str
    fix: str
    evidence: tuple[Evidence, ...]

    def __str__(self) -> str:
        shown = "; ".join(self.github_shows)
        return f"@{self.login}: the map says {self.map_says}, GitHub shows {shown}; fix: {self.fix}"


def email_domain(email: str) -> str | None:
    """The domain of an address that can name an employer; None for free mail and no-reply."""
    local, at, domain = email.strip().rpartition("@")
    domain = domain.lower().rstrip(".")
    if not at or not local or not domain or is_free_mail(domain):
        return None
    return domain


def says_nothing(evidence: Evidence) -> bool:
    """True for evidence that cannot name an employer: free mail, no-reply, blank text."""
    if evidence.kind == "commit_email":
        return email_domain(evidence.value) is None
    return not evidence.value.strip().removeprefix("@").strip()


def match_company(amap: AffiliationMap, evidence: Evidence) -> str | None:
    """The company id the evidence names, or None when it names none of the map's companies."""
    if says_nothing(evidence):
        return None
    if evidence.kind == "commit_email":
        domain = email_domain(evidence.value)
        return None if domain is None else amap.company_of_domain(domain)
    if evidence.kind == "org_member":
        # Only `github_orgs`: membership of a project's own organization is no employment.
        return amap.company_of_org(evidence.value)
    return _company_of_profile(amap, evidence.value)


def _company_of_profile(amap: AffiliationMap, text: str) -> str | None:
    found = amap.company_of_text(text)
    if found is not None:
        return found
    words = text.split()
    if len(words) == 1:
        return amap.company_of_org(words[0])
    # "@acme-corp @stackstorm": the first mentioned organization the map knows.
    for word in words:
        if word.startswith("@"):
            mentioned = amap.company_of_text(word) or amap.company_of_org(word)
            if mentioned is not None:
                return mentioned
    return None


def match_evidence(amap: AffiliationMap, items: Iterable[Evidence]) -> EvidenceMatches:
    matched: list[tuple[Evidence, str]] = []
    unmatched: list[Evidence] = []
    ignored: list[Evidence] = []
    for item in items:
        if says_nothing(item):
            ignored.append(item)
        elif (company := match_company(amap, item)) is not None:
            matched.append((item, company))
        else:
            unmatched.append(item)
    return EvidenceMatches(tuple(matched), tuple(unmatched), tuple(ignored))


def _person_key(amap: AffiliationMap, login: str) -> str:
    return amap.login_of(login) or login


def evidence_companies(amap: AffiliationMap, items: Iterable[Evidence]) -> dict[str, set[str]]:
    """The companies the evidence names, by person (the map's key, else the login as given)."""
    named: dict[str, set[str]] = {}
    for item in items:
        company = match_company(amap, item)
        if company is not None:
            named.setdefault(_person_key(amap, item.login), set()).add(company)
    return named


def agrees(amap: AffiliationMap, company: str, mapped: Iterable[str]) -> bool:
    """True when `company` is one of `mapped` or on the same side of a conflict (parent, child)."""
    return any(company == other or amap.companies_conflict(company, other) for other in mapped)


def contradictions(
    amap: AffiliationMap, items: Iterable[Evidence], *, at: date | datetime
) -> tuple[Contradiction, ...]:
    """Each (person, company) the evidence names that the map's affiliation on `at` does not
    hold, in the order first seen, with the edit to the map that would settle it."""
    day = at.date() if isinstance(at, datetime) else at
    by_person: dict[str, dict[str, list[Evidence]]] = {}
    for item in items:
        company = match_company(amap, item)
        if company is not None:
            key = _person_key(amap, item.login)
            by_person.setdefault(key, {}).setdefault(company, []).append(item)
    found: list[Contradiction] = []
    for login, named in by_person.items():
        mapped = amap.companies_of(login, day)
        for company, seen in named.items():
            if agrees(amap, company, mapped):
                continue
            found.append(
                Contradiction(
                    login=login,
                    map_says=_map_says(amap, login, mapped),
                    github_shows=tuple(item.describe() for item in seen),
                    company=company,
                    fix=suggest_fix(amap, login, company, day),
                    evidence=tuple(seen),
                )
            )
    return tuple(found)


def _map_says(amap: AffiliationMap, login: str, mapped: frozenset[str]) -> str:
    if amap.person(login) is None:
        return "not in the map"
    if not mapped:
        return "no company on record"
    return ", ".join(sorted(amap.company_name(company) for company in mapped))


def suggest_fix(amap: AffiliationMap, login: str, company: str, day: date) -> str:
    """The edit of people.LOGIN.affiliations that makes `login` work for `company` from `day`."""
    entry = f"{{company: {company}, from: {day.isoformat()}}}"
    person = amap.person(login)
    if person is None:
        return f"add `{login}: {{affiliations: [{entry}]}}` to people"
    for index, affiliation in enumerate(person.affiliations):
        if not affiliation.covers(day):
            continue
        if affiliation.from_ == day:
            return f"set `company: {company}` in people.{login}.affiliations[{index}]"
        return (
            f"set `until: {day.isoformat()}` in people.{login}.affiliations[{index}]"
            f" ({affiliation.company}) and add `{entry}` to people.{login}.affiliations"
        )
    return f"add `{entry}` to people.{login}.affiliations"
