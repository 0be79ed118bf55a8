"""Queries over a validated map, each in constant time after loading.

Every query that depends on time takes the day as an argument: this module never reads a clock.
Logins and emails are matched case-insensitively, as GitHub does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from bot.affiliations.model import Affiliation, Conflict, MapDocument, Person, Policy


@dataclass(frozen=True, slots=True)
class StandingConflict:
    login: str
    company: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class AccountNote:
    """A GitHub account whose login and the map's disagree about who it is.

    `renamed`: the person's account (found by its id) goes by a new login, and is recognised
    under it; otherwise the login now belongs to another account, which is not the person.
    `account_id` is None when GitHub knows no account by that login any more."""

    login: str  # as GitHub shows it now
    account_id: int | None
    person: str  # the map's key
    map_id: int
    renamed: bool


class AffiliationMap:
    """An index over a `MapDocument` that has already passed validation.

    Built by `bot.affiliations.loader`; constructing it from an invalid document (unknown company
    ids, parent loops) is a programming error, not a user error.
    """

    def __init__(self, document: MapDocument) -> None:
        self.document = document
        self._person_by_login: dict[str, str] = {}
        self._person_by_email: dict[str, str] = {}
        # Affiliations as day ordinals by every login: a lookup is one dict get and a scan of a
        # few int pairs, not a walk through pydantic models (100,000 lookups in well under 0.2 s).
        self._spans_by_login: dict[str, tuple[tuple[int, int, str], ...]] = {}
        for login, person in document.people.items():
            spans = tuple(_span(a) for a in person.affiliations)
            for alias in (login, *person.logins):
                self._person_by_login[alias.lower()] = login
                self._spans_by_login[alias.lower()] = spans
            for email in person.emails:
                self._person_by_email[email.lower()] = login
        self._company_by_loose_spelling: dict[str, str] = {}
        # First claim wins for a domain or organization listed twice; `map_warnings` reports it.
        self._company_by_domain: dict[str, str] = {}
        self._company_by_org: dict[str, str] = {}
        for company_id, company in document.companies.items():
            for spelling in (company_id, company.name, *company.aliases):
                self._company_by_loose_spelling.setdefault(loose_spelling(spelling), company_id)
            for domain in company.domains:
                self._company_by_domain.setdefault(domain.lower(), company_id)
            for org in company.github_orgs:
                self._company_by_org.setdefault(org.lower(), company_id)
        self._group: dict[str, str] = {cid: self._root(cid) for cid in document.companies}
        self._bots = frozenset(b.lower() for b in document.bots)
        self._person_by_id = {p.id: key for key, p in document.people.items() if p.id is not None}
        self._base = self
        self._map_keys: dict[str, str] = {}  # a renamed person's key here -> their key in the map
        self._seen_from: dict[str, int | None] | None = None  # the accounts this view shows
        self._login_gone: frozenset[str] = frozenset()  # keys no GitHub login reaches here
        self.account_notes: tuple[AccountNote, ...] = ()

    def seen_as(self, accounts: Mapping[str, int | None]) -> AffiliationMap:
        """This map as GitHub's accounts show it: `accounts` maps logins to their numeric ids
        (None: GitHub knows no such login). A person whose map `id` an account holds is that
        account, under whatever login: keyed here by that login. A person whose login another
        account holds (or none) is no longer reached by it: keyed here as `"gus (old login)"`,
        which no login matches (their emails and other `logins` still find them) and reviewer
        choice never asks. People without an `id` match by login. `account_notes` says who was
        recognised by id and whose login is another's."""
        base = self._base
        if not base._person_by_id:
            return base
        if self._seen_from == accounts:  # judged and planned with the same view: built once
            return self
        renamed: dict[str, str] = {}  # map key -> the login their account has now
        notes: list[AccountNote] = []
        for login, account_id in sorted(accounts.items(), key=lambda pair: pair[0].lower()):
            lowered = login.lower()
            owner = base._person_by_id.get(account_id) if account_id is not None else None
            if owner is not None and account_id is not None:
                if lowered != owner.lower() and base._person_by_login.get(lowered) != owner:
                    renamed[owner] = login
                    notes.append(AccountNote(login, account_id, owner, account_id, True))
                continue
            key = base._person_by_login.get(lowered)
            # Only the key login carries the map's id; other `logins` match by login.
            key_login = key is not None and key.lower() == lowered
            map_id = base.document.people[key].id if key is not None and key_login else None
            if key is not None and map_id is not None:
                notes.append(AccountNote(login, account_id, key, map_id, False))
        left_out = {n.person for n in notes if not n.renamed} - set(renamed)
        # The account's id decides: a login it goes by now is nobody else's in the map.
        taken = {login.lower() for login in renamed.values()}
        holders = (base._person_by_login.get(login) for login in taken)
        left_out |= {key for key in holders if key is not None and key.lower() in taken}
        left_out -= set(renamed)
        if not renamed and not left_out:
            return base
        people: dict[str, Person] = {}
        keys = {key: f"{key} (old login)" for key in left_out} | renamed
        for key, person in base.document.people.items():
            if any(other.lower() in taken for other in person.logins):
                kept = [other for other in person.logins if other.lower() not in taken]
                person = person.model_copy(update={"logins": kept})
            people[keys.get(key, key)] = person
        view = AffiliationMap(base.document.model_copy(update={"people": people}))
        view._base = base
        view._map_keys = {shown: key for key, shown in keys.items()}
        view._login_gone = frozenset(keys[key] for key in left_out)
        view._seen_from = dict(accounts)
        view.account_notes = tuple(notes)
        return view

    def map_key(self, key: str) -> str:
        """The map's own key for a person this view keys by a new login (see `seen_as`)."""
        return self._map_keys.get(key, key)

    def _root(self, company_id: str) -> str:
        seen: set[str] = set()
        current = company_id
        while (parent := self.document.companies[current].parent) is not None:
            if parent in seen:  # the loader rejects loops; stop rather than spin
                break
            seen.add(current)
            current = parent
        return current

    @property
    def policy(self) -> Policy:
        return self.document.policy

    # --- people -----------------------------------------------------------------------------

    def login_of(self, login: str) -> str | None:
        """The person's key in the map for any of their logins, or None when unknown."""
        return self._person_by_login.get(login.lower())

    def key_of(self, login: str) -> str:
        """The person's key in the map, or the login in lower case for someone the map lacks:
        one spelling per person, to compare logins with."""
        return self._person_by_login.get(login.lower()) or login.lower()

    def key_of_account(self, account_id: int) -> str | None:
        """The person the map binds to this GitHub account id (their key here), or None."""
        return self._person_by_id.get(account_id)

    def login_of_email(self, email: str) -> str | None:
        return self._person_by_email.get(email.lower())

    def person(self, login: str) -> Person | None:
        key = self.login_of(login)
        return None if key is None else self.document.people[key]

    def is_known(self, login: str) -> bool:
        return self.login_of(login) is not None

    def is_bot(self, login: str) -> bool:
        return login.lower() in self._bots or login.lower().endswith("[bot]")

    def is_tsc(self, login: str) -> bool:
        person = self.person(login)
        if person is None or person.role is None:
            return False
        role = self.policy.roles.get(person.role)
        return role is not None and role.tsc

    def is_away(self, login: str, day: date) -> bool:
        person = self.person(login)
        return person is not None and any(window.covers(day) for window in person.away)

    def tsc_members(self) -> list[str]:
        """TSC members by the login to ask them under; none whose login is another's."""
        return [
            login
            for login in self.document.people
            if login not in self._login_gone and self.is_tsc(login)
        ]

    # --- companies --------------------------------------------------------------------------

    def companies_of(self, login: str, day: date) -> frozenset[str]:
        """Company ids a login is affiliated with on `day` (empty when unknown or unaffiliated)."""
        spans = self._spans_by_login.get(login.lower())
        if not spans:
            return _NO_COMPANIES
        ordinal = day.toordinal()
        return frozenset([company for start, end, company in spans if start <= ordinal < end])

    def company_of_text(self, text: str) -> str | None:
        """A company id from free text naming it: "@Acme, Inc." finds the company "Acme Inc"'s
        alias "acme, inc" (case, a leading `@` and trailing punctuation ignored)."""
        return self._company_by_loose_spelling.get(loose_spelling(text))

    def company_of_domain(self, domain: str) -> str | None:
        """The company owning an email domain or its nearest parent domain listed in `domains`."""
        labels = domain.lower().strip().rstrip(".").split(".")
        for start in range(len(labels) - 1):
            company = self._company_by_domain.get(".".join(labels[start:]))
            if company is not None:
                return company
        return None

    def company_of_org(self, org: str) -> str | None:
        """The company whose `github_orgs` lists this organization login (`@` optional)."""
        return self._company_by_org.get(org.strip().removeprefix("@").lower())

    def conflict_group(self, company_id: str) -> str | None:
        """The key two companies share when they are on one side of a conflict.

        None for independent companies: their members never conflict by company.
        """
        company = self.document.companies.get(company_id)
        if company is None or company.independent:
            return None
        return self._group[company_id]

    def tree_root(self, company_id: str) -> str:
        """The top of the company's parent chain (itself when it has no parent)."""
        return self._group.get(company_id, company_id)

    def family(self, company_id: str) -> frozenset[str]:
        """The company with its parents, children and their other children: one company tree,
        whether or not its members conflict (`independent` changes that, not the tree)."""
        root = self._group.get(company_id)
        if root is None:
            return frozenset({company_id})
        return frozenset(c for c, r in self._group.items() if r == root)

    def conflict_groups(self, company_ids: Iterable[str]) -> frozenset[str]:
        return frozenset(g for c in company_ids if (g := self.conflict_group(c)) is not None)

    def companies_conflict(self, first: str, second: str) -> bool:
        group = self.conflict_group(first)
        return group is not None and group == self.conflict_group(second)

    def conflicting_companies(
        self, companies: Iterable[str], others: Iterable[str]
    ) -> tuple[str, ...]:
        """Those of `companies` on one side of a conflict with any of `others`, sorted.

        The one rule of "conflicts by company", for the verdict and the reviewer choice alike:
        two companies conflict when they share a conflict group (equal, or one parent chain).
        Independent companies conflict with none, not even each other: two independent members
        never conflict by company.
        """
        sides = self.conflict_groups(others)
        return tuple(sorted(c for c in companies if self.conflict_group(c) in sides))

    def standing_conflict_with(
        self, login: str, day: date, companies: Iterable[str]
    ) -> StandingConflict | None:
        """`login`'s standing declared conflict with one of `companies` (or their group) on
        `day`; a declaration names a company, so it holds even for an independent one."""
        named = frozenset(companies)
        for standing in self.standing_conflicts(login, day):
            if standing.company in named or self.conflicting_companies([standing.company], named):
                return standing
        return None

    def company_name(self, company_id: str) -> str:
        company = self.document.companies.get(company_id)
        return company_id if company is None else company.name

    # --- declared conflicts -----------------------------------------------------------------

    def standing_conflicts(self, login: str, day: date) -> tuple[StandingConflict, ...]:
        person = self.person(login)
        if person is None:
            return ()
        key = self.login_of(login)
        assert key is not None
        return tuple(_standing(key, c) for c in person.conflicts if c.covers(day))


_NO_COMPANIES: frozenset[str] = frozenset()
_TRAILING_PUNCTUATION = ".,;:!?-)\u00b7\u2013\u2014"  # middle dot, en and em dashes


def loose_spelling(text: str) -> str:
    """How free text naming a company is compared: casefolded, one space between words, no
    leading `@` and no trailing punctuation ("@Acme,  Inc." -> "acme, inc")."""
    words = " ".join(text.casefold().split())
    return words.removeprefix("@").strip().rstrip(_TRAILING_PUNCTUATION + " ")


# Open ends as ordinals beyond any date: date.max.toordinal() is 3,652,059.
_NO_START, _NO_END = 0, date.max.toordinal() + 1


def _span(affiliation: Affiliation) -> tuple[int, int, str]:
    """`[from, until)` as day ordinals, open ends included."""
    start = _NO_START if affiliation.from_ is None else affiliation.from_.toordinal()
    end = _NO_END if affiliation.until is None else affiliation.until.toordinal()
    return start, end, affiliation.company


def _standing(login: str, conflict: Conflict) -> StandingConflict:
    return StandingConflict(login=login, company=conflict.company, reason=conflict.reason)
