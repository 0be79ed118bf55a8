"""Who is *conflicted on a pull request*: the one rule (DESIGN.md, "Nobody conflicted can lower
the bar") that the verdict, the commands, the labels, the withdrawals, the removed review requests
and the reviewer choice all ask.

Someone is conflicted on a PR when they are one of its authors, share a company with an author at
the time of the act (`AffiliationMap.conflicting_companies`), have a declared conflict with it
(standing in the map, or by command on this PR), are unknown to the map under
`unknown_people: conflicted`, or, under `policy.evidence: block`, when GitHub's evidence puts
them (or an author) on the other's side. For people the map places nowhere (unknown, or with no
company on record that day), the companies GitHub shows are theirs whatever `policy.evidence`
says (bot.policy.shown_companies); a map person GitHub shows nowhere either falls under
`unknown_people`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from bot.affiliations.evidence import Evidence, agrees, match_company
from bot.affiliations.index import AffiliationMap
from bot.policy.authors import Authors
from bot.policy.markdown import named_company, text
from bot.policy.shown_companies import ShownCompanies, ShownCompany, companies_on, describe

ConflictKind = Literal["author", "company", "standing", "declared", "unknown", "evidence"]


@dataclass(frozen=True, slots=True)
class Declaration:
    """A conflict declared on this PR by command: that person's approval is not independent."""

    login: str
    by: str
    reason: str | None
    comment_id: str
    comment_author: str | None = None  # who wrote the comment, when not `by` (an editor)
    at: datetime | None = None  # when it was declared
    # GitHub's ids of `login`, `by` and the comment's author when known: the App's record of a
    # declaration names accounts, since a login may be another's by the time it is read back.
    login_id: int | None = None
    by_id: int | None = None
    author_id: int | None = None


@dataclass(frozen=True, slots=True)
class Conflict:
    """Why someone is conflicted on a PR, in the two places it is shown."""

    login: str  # as the map spells it, else as GitHub does
    kind: ConflictKind
    why: str  # a phrase for the approvals table: "same company as the authors, Acme (`acme`)"
    sentence: str  # a sentence about the person: "@bob works for Acme (`acme`), like the author"


class Parties:
    """The people a PR's conflicts are judged against: its authors, with what GitHub shows about
    everyone involved when `policy.evidence` is `block` (empty otherwise)."""

    def __init__(
        self,
        amap: AffiliationMap,
        authors: Authors,
        *,
        blocking_evidence: tuple[Evidence, ...] = (),
        shown: ShownCompanies | None = None,
    ) -> None:
        self.amap = amap
        # Companies GitHub shows, by person key: theirs when the map places them nowhere.
        self.shown: ShownCompanies = shown or {}
        self.author_keys = frozenset(authors.by_key)
        self._companies_on: dict[date, frozenset[str]] = {}
        # The companies GitHub shows, by person key, with the sightings.
        self.seen: dict[str, dict[str, list[Evidence]]] = {}
        for item in blocking_evidence:
            company = match_company(amap, item)
            if company is not None:
                named = self.seen.setdefault(amap.key_of(item.login), {})
                named.setdefault(company, []).append(item)

    def author_companies(self, day: date) -> frozenset[str]:
        cached = self._companies_on.get(day)
        if cached is None:
            cached = frozenset().union(*(self.companies_of(k, day)[0] for k in self.author_keys))
            self._companies_on[day] = cached
        return cached

    def companies_of(
        self, login: str, day: date
    ) -> tuple[frozenset[str], tuple[ShownCompany, ...]]:
        """Someone's companies on `day`: the map's, else what GitHub shows (and the sightings)."""
        return companies_on(self.amap, self.amap.key_of(login), day, self.shown)

    def is_author(self, login: str) -> bool:
        return self.amap.key_of(login) in self.author_keys

    @property
    def like_the_author(self) -> str:
        return "like the author" if len(self.author_keys) == 1 else "like an author"


def conflict_on_pr(
    parties: Parties,
    login: str,
    *,
    day: date,
    declared: Mapping[str, Declaration],
) -> Conflict | None:
    """Why `login` is conflicted on the PR on `day` (the day of their act), or None.

    `declared`: the conflicts declared on this PR by command, by map key (see
    `AffiliationMap.key_of`), as they stand at the act."""
    amap = parties.amap
    shown = amap.login_of(login) or login

    def found(kind: ConflictKind, why: str, sentence: str) -> Conflict:
        return Conflict(login=shown, kind=kind, why=why, sentence=sentence)

    if parties.is_author(login):
        return found("author", "an author of this pull request", f"@{shown} is an author")
    theirs = parties.author_companies(day)
    companies, seen = parties.companies_of(login, day)
    if seen:  # the map places them nowhere; GitHub does
        shared = amap.conflicting_companies(companies, theirs)
        if shared:
            names = ", ".join(named_company(amap.company_name(c), c) for c in shared)
            where = describe(amap, seen)
            return found(
                "company",
                f"same company as the authors, {names}: {where}",
                f"@{shown} works for {names}, {parties.like_the_author}: {where}",
            )
    if not amap.is_known(login):
        if amap.policy.unknown_people == "conflicted":
            return found(
                "unknown",
                "not in the affiliation map (policy: unknown people are conflicted)",
                f"@{shown} is not in the affiliation map (policy: unknown people are conflicted)",
            )
        return _evidence_conflict(parties, login, shown, day)
    if not companies and amap.policy.unknown_people == "conflicted":
        why = "no company on record, and GitHub shows none (policy: unknown people are conflicted)"
        return found("unknown", why, f"@{shown} has {why}")
    shared = amap.conflicting_companies(companies, theirs)
    if shared:
        names = ", ".join(named_company(amap.company_name(c), c) for c in shared)
        return found(
            "company",
            f"same company as the authors, {names}",
            f"@{shown} works for {names}, {parties.like_the_author}",
        )
    standing = amap.standing_conflict_with(login, day, theirs)
    if standing is not None:
        why = f": {text(standing.reason)}" if standing.reason else ""
        named = named_company(amap.company_name(standing.company), standing.company)
        return found(
            "standing",
            f"standing conflict with {named}{why}",
            f"@{shown} has a standing conflict with {named}, an author's company{why}",
        )
    declaration = declared.get(amap.key_of(login))
    if declaration is not None:
        why = f": {text(declaration.reason)}" if declaration.reason else ""
        return found(
            "declared",
            f"conflict declared on this PR by @{declaration.by}{why}",
            f"@{shown} has a conflict declared on this pull request by @{declaration.by}{why}",
        )
    return _evidence_conflict(parties, login, shown, day)


def _evidence_conflict(parties: Parties, login: str, shown: str, day: date) -> Conflict | None:
    """Under `evidence: block`: GitHub's evidence puts `login` in an author's company, or an
    author in theirs; None when it does not (or nothing is seen)."""
    if not parties.seen:
        return None
    amap = parties.amap
    theirs = parties.author_companies(day)
    for company, items in parties.seen.get(amap.key_of(login), {}).items():
        if agrees(amap, company, theirs) or any(
            agrees(amap, company, parties.seen.get(key, {})) for key in parties.author_keys
        ):
            sightings = text("; ".join(item.describe() for item in items))
            named = named_company(amap.company_name(company), company)
            why = f"GitHub shows them at {named}, an author's company"
            return Conflict(
                login=shown,
                kind="evidence",
                why=f"{why} ({sightings})",
                sentence=f"@{shown}: {why} ({sightings})",
            )
    companies = amap.companies_of(login, day)
    for key in sorted(parties.author_keys):
        for company, items in parties.seen.get(key, {}).items():
            if agrees(amap, company, companies):
                sightings = text("; ".join(item.describe() for item in items))
                named = named_company(amap.company_name(company), company)
                why = f"GitHub shows author @{key} at {named}, the reviewer's company"
                return Conflict(
                    login=shown,
                    kind="evidence",
                    why=f"{why} ({sightings})",
                    sentence=(
                        f"@{shown}: GitHub shows author @{key} at {named}, "
                        f"@{shown}'s company ({sightings})"
                    ),
                )
    return None


def may_not_lower_the_bar(
    parties: Parties, login: str | None, *, day: date, declared: Mapping[str, Declaration]
) -> str | None:
    """Why `login` may not ask for less review on this PR (only a TSC member with no conflict
    on it may), or None when they may. None for `login` means a deleted account."""
    if login is None:
        return "a deleted account"
    if not parties.amap.is_tsc(login):
        return f"@{parties.amap.login_of(login) or login} is not a TSC member"
    conflict = conflict_on_pr(parties, login, day=day, declared=declared)
    return None if conflict is None else conflict.sentence


@dataclass(frozen=True, slots=True)
class RefusedAct:
    """An act on the PR that did not lower the bar: who, what, why, and where to see it."""

    actor: str | None  # None for a deleted ("ghost") account
    act: str  # "added the label `trivial`"
    why: str  # "@alice is an author"
    url: str | None = None  # the comment it was written in, when there is one
    # A declaration's deletion or edit that did not count: the App's reply then keeps its record
    # (a check run's record is on one head commit; the reply survives pushes).
    keeps_declaration: bool = False
