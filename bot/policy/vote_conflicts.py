"""Who is conflicted on a vote: its subjects and their colleagues, else its authors and theirs.

A proposal's subjects are the people whose entry in the map, or whose line in `OWNERS.md`, it
adds, removes or changes (a nominee). A voter is conflicted when, at the vote's opening, they are
a subject or share a company with one (`AffiliationMap.conflicting_companies`, parents included,
as for a PR's authors); for a proposal with no subject, when the one rule of a PR says so
(`bot.policy.conflicts.conflict_on_pr`: an author, an author's colleague, a declared conflict); or
when they declared a conflict on it. Pure: the day is an argument.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from bot.affiliations.importers import owners_lines
from bot.affiliations.index import AffiliationMap
from bot.policy.authors import Authors, collect_authors
from bot.policy.conflicts import Conflict, Declaration, Parties, conflict_on_pr
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


@dataclass(frozen=True, slots=True)
class Proposal:
    """What a vote decides, read from GitHub once; its parties are found with the map in force
    when the vote opened, on that day."""

    facts: PullRequestFacts | None = None  # the PR or issue: its authors
    head_map: AffiliationMap | None = None  # the PR's new map, when it changes the map
    owners_before: str | None = None  # OWNERS.md on the base, when the PR changes it
    owners_after: str | None = None  # OWNERS.md at the head

    def subjects(self, amap: AffiliationMap, day: date) -> tuple[Party, ...]:
        if self.head_map is None and self.owners_before is None and self.owners_after is None:
            return ()
        return subjects(
            amap,
            head_map=self.head_map,
            owners_before=self.owners_before,
            owners_after=self.owners_after,
            day=day,
        )

    def parties(self, amap: AffiliationMap) -> Parties:
        """The authors as the verdict finds them (opener, commit authors and committers,
        co-authors); an issue's opener alone."""
        if self.facts is None:
            return Parties(amap, Authors(amap))
        return Parties(amap, collect_authors(self.facts, amap))


def conflicts(
    amap: AffiliationMap,
    voters: Iterable[Voter],
    proposal: Proposal,
    *,
    declared: Mapping[str, Declaration],
    day: date,
) -> dict[str, str]:
    """Voter key -> why they are conflicted on the proposal at its opening (`day`).

    The subjects decide when there are any; otherwise the one rule of a PR
    (`bot.policy.conflicts.conflict_on_pr`): authors, their colleagues, declared conflicts.
    `declared`: the conflicts declared on the proposal by command, by map key."""
    found: dict[str, str] = {}
    people = proposal.subjects(amap, day)
    if people:
        for person in voters:
            why = _subject_conflict(amap, person, people, declared, day)
            if why is not None:
                found[person.login] = why
        return found
    parties = proposal.parties(amap)
    for person in voters:
        conflict = conflict_on_pr(parties, person.login, day=day, declared=declared)
        if conflict is not None:
            found[person.login] = _proposal_why(conflict, declared.get(person.login))
    return found


def _proposal_why(conflict: Conflict, declaration: Declaration | None) -> str:
    """The PR rule's reason, worded for a proposal (an issue has no pull request)."""
    if conflict.kind == "author":
        return "an author of the proposal"
    if conflict.kind == "declared" and declaration is not None:
        return _declared_why(declaration)
    return conflict.why


def _declared_why(declaration: Declaration) -> str:
    why = f": {declaration.reason}" if declaration.reason else ""
    return f"conflict declared on this proposal by @{declaration.by}{why}"


def _subject_conflict(
    amap: AffiliationMap,
    person: Voter,
    people: tuple[Party, ...],
    declared: Mapping[str, Declaration],
    day: date,
) -> str | None:
    """As `conflict_on_pr` judges an author and their colleagues, for a subject and theirs."""
    for party in people:
        if party.login == person.login:
            return f"the {party.kind} @{party.login}"
    companies = amap.companies_of(person.login, day)
    for party in people:
        shared = amap.conflicting_companies(companies, frozenset(party.companies))
        if shared:
            names = ", ".join(amap.company_name(c) for c in shared)
            return f"{names}, like the {party.kind} @{party.login}"
    for party in people:
        standing = amap.standing_conflict_with(person.login, day, frozenset(party.companies))
        if standing is not None:
            why = f": {standing.reason}" if standing.reason else ""
            company = amap.company_name(standing.company)
            return f"a standing conflict with {company}, like the {party.kind} @{party.login}{why}"
    declaration = declared.get(person.login)
    return None if declaration is None else _declared_why(declaration)
