"""Who is conflicted on a vote: its subjects and their colleagues, else its authors and theirs.

A proposal's subjects are the people whose entry in the map, or whose line in `OWNERS.md`, it
adds, removes or changes (a nominee). A voter is conflicted when, at the vote's opening, they are
a subject or share a company with one; for a proposal with no subject, when they are an author or
share a company with one; or when they declared a conflict on it. Pure: the day is an argument.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from bot.affiliations.importers import owners_lines
from bot.affiliations.index import AffiliationMap
from bot.policy.authors import collect_authors
from bot.policy.facts import PullRequestFacts
from bot.policy.votes import Voter

OWNERS_PATH = "OWNERS.md"


@dataclass(frozen=True, slots=True)
class Party:
    """A subject or an author of a proposal, with their companies at the vote's opening."""

    login: str  # the map's key, or the login in lower case
    kind: Literal["nominee", "subject", "author"]
    companies: tuple[str, ...]


def _head_companies(amap: AffiliationMap, head: AffiliationMap, login: str, day: date) -> set[str]:
    """The head map's companies of `login`, as ids of the map in force (matched by name)."""
    found: set[str] = set()
    for company_id in head.companies_of(login, day):
        if company_id in amap.document.companies:
            found.add(company_id)
        elif (known := amap.company_of_text(head.company_name(company_id))) is not None:
            found.add(known)
    return found


def subjects(
    amap: AffiliationMap,
    *,
    head_map: AffiliationMap | None,
    owners_before: str | None,
    owners_after: str | None,
    day: date,
) -> tuple[Party, ...]:
    """The people whose map entry or `OWNERS.md` line the proposal adds, removes or changes.

    Someone removed is a `subject`; someone added or changed (a promotion) a `nominee`. A
    nominee missing from the map takes the company their `OWNERS.md` line names."""
    companies: dict[str, set[str]] = {}
    removed: set[str] = set()
    if head_map is not None:
        before, after = amap.document.people, head_map.document.people
        for login in sorted(set(before) | set(after)):
            if before.get(login) == after.get(login):
                continue
            key = amap.key_of(login)
            found = companies.setdefault(key, set())
            found |= amap.companies_of(key, day) | _head_companies(amap, head_map, login, day)
            if login not in after:
                removed.add(key)
    if owners_before is not None or owners_after is not None:
        lines_before = owners_lines(owners_before or "")
        lines_after = owners_lines(owners_after or "")
        for login in sorted(set(lines_before) | set(lines_after)):
            old, new = lines_before.get(login), lines_after.get(login)
            if old is not None and new is not None and (old.text, old.role) == (new.text, new.role):
                continue
            key = amap.key_of(login)
            found = companies.setdefault(key, set())
            found |= amap.companies_of(key, day)
            for line in (old, new):
                named = None if line is None or line.company is None else line.company
                if named is not None and (company := amap.company_of_text(named)) is not None:
                    found.add(company)
            if new is None:
                removed.add(key)
    return tuple(
        Party(key, "subject" if key in removed else "nominee", tuple(sorted(found)))
        for key, found in sorted(companies.items())
    )


def authors(facts: PullRequestFacts | None, amap: AffiliationMap, day: date) -> tuple[Party, ...]:
    """The proposal's authors (the opener, commit authors, co-authors), as the verdict finds
    them; for an issue, its opener alone."""
    if facts is None:
        return ()
    collected = collect_authors(facts, amap)
    return tuple(
        Party(key, "author", tuple(sorted(amap.companies_of(key, day))))
        for key in sorted(collected.by_key)
        if not key.startswith("email:")
    )


def opener_party(login: str, amap: AffiliationMap, day: date) -> Party:
    """An issue's opener as its author."""
    key = amap.key_of(login)
    return Party(key, "author", tuple(sorted(amap.companies_of(key, day))))


def conflicts(
    amap: AffiliationMap,
    voters: Iterable[Voter],
    *,
    subjects: Iterable[Party],
    authors: Iterable[Party],
    declared: Mapping[str, str | None],
    day: date,
) -> dict[str, str]:
    """Voter key -> why they are conflicted on the proposal at its opening.

    The subjects decide when there are any; otherwise the authors. `declared` maps a voter's key
    to the reason of a conflict they declared on the proposal (None when they gave none)."""
    parties = tuple(subjects) or tuple(authors)
    found: dict[str, str] = {}
    for person in voters:
        why = _conflict(amap, person, parties, declared, day)
        if why is not None:
            found[person.login] = why
    return found


def _conflict(
    amap: AffiliationMap,
    person: Voter,
    parties: tuple[Party, ...],
    declared: Mapping[str, str | None],
    day: date,
) -> str | None:
    if person.login in declared:
        reason = declared[person.login]
        return "declared a conflict" + (f": {reason}" if reason else "")
    for party in parties:
        if party.login == person.login:
            return f"the {party.kind} @{party.login}" if party.kind != "author" else "an author"
    for party in parties:
        shared = amap.conflicting_companies(person.companies, party.companies)
        if shared:
            names = ", ".join(amap.company_name(c) for c in shared)
            return f"{names}, like the {party.kind} @{party.login}"
    for party in parties:
        standing = amap.standing_conflict_with(person.login, day, party.companies)
        if standing is not None:
            why = f": {standing.reason}" if standing.reason else ""
            company = amap.company_name(standing.company)
            return f"a standing conflict with {company}, like the {party.kind} @{party.login}{why}"
    return None
