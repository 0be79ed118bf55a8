"""Checks that span several entries of a map: references, duplicates and date ranges.

They run on the plain values read from YAML, before or despite pydantic's verdict, so that one
run reports every problem; anything of the wrong type is skipped here (pydantic reports it).
Each problem names the place it concerns by its path in the document, never by line: the loader
turns paths into positions.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.affiliations.lookalike import skeleton
from bot.affiliations.model import LOGIN_PATTERN, Policy

Loc = tuple[str | int, ...]

_LOGIN = re.compile(LOGIN_PATTERN)
_BOT_LOGIN = re.compile(rf"{LOGIN_PATTERN}(?:\[bot\])?")  # apps' logins end in "[bot]"

# A suggestion compares a word with every choice (~30 ms against 3,000 companies): a map full of
# unknown ids gets suggestions for its first few only, so its check costs a bounded time.
MAX_SUGGESTIONS = 10


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem at `loc` (the key itself when `at_key`), optionally pointing at a first use."""

    loc: Loc
    message: str
    at_key: bool = False
    first: Loc | None = None
    first_at_key: bool = False


def closest(word: str, choices: Iterable[str]) -> list[str]:
    """The one choice closest to `word`, or none when none is close."""
    return difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)


def suggestion(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the closest choice, or nothing when none is close."""
    matches = closest(word, choices)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


def check_document(data: dict[str, Any]) -> list[Problem]:
    companies = _mapping(data.get("companies"))
    people = _mapping(data.get("people"))
    checker = _Checker(companies, _role_names(data.get("policy")))
    checker.check_parents()
    checker.check_lookalikes()
    # Primary logins first: a clash is then reported on the extra `logins` entry, the likelier slip.
    for login in people:
        checker.check_login(login, loc=("people", login), at_key=True)
        checker.claim_login(str(login), owner=str(login), loc=("people", login), at_key=True)
    for login, person in people.items():
        if isinstance(person, dict):
            checker.check_person(str(login), person)
    for index, bot in _items(data.get("bots")):
        if isinstance(bot, str) and not _BOT_LOGIN.fullmatch(bot):
            checker.problems.append(Problem(("bots", index), _not_a_login(bot, "bot's login")))
    checker.problems.extend(_vote_check_name_problems(data.get("policy")))
    return checker.problems


def _not_a_login(value: str, what: str) -> str:
    return (
        f"{value!r} is not a GitHub {what}: ASCII letters, digits and '-', at most 39"
        " characters, no spaces or invisible characters"
    )


def _vote_check_name_problems(policy: Any) -> list[Problem]:
    """The vote's check run must not overwrite the review check of the same name."""
    if not isinstance(policy, dict) or not isinstance(policy.get("votes"), dict):
        return []
    name = policy["votes"].get("check_name")
    review_name = policy.get("check_name", Policy().check_name)
    if isinstance(name, str) and name == review_name:
        message = f"policy.votes.check_name {name!r} is the review check's name: choose another"
        return [Problem(("policy", "votes", "check_name"), message)]
    return []


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _role_names(policy: Any) -> frozenset[str] | None:
    """The roles a person may hold, or None when `policy.roles` is malformed (pydantic says so)."""
    if not isinstance(policy, dict) or "roles" not in policy:
        return frozenset(Policy().roles)
    roles = policy["roles"]
    return frozenset(str(r) for r in roles) if isinstance(roles, dict) else None


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class _Range:
    index: int
    start: date
    end: date
    company: str


class _Checker:
    def __init__(self, companies: dict[str, Any], roles: frozenset[str] | None) -> None:
        self.companies = companies
        self.roles = roles
        self.problems: list[Problem] = []
        self._spellings: dict[str, str] = {}
        for company_id, company in companies.items():
            spellings: list[Any] = [company_id]
            if isinstance(company, dict):
                spellings.append(company.get("name"))
                aliases = company.get("aliases")
                if isinstance(aliases, list):
                    spellings.extend(aliases)
            for spelling in spellings:
                if isinstance(spelling, str):
                    self._spellings.setdefault(spelling.casefold(), company_id)
        self._logins: dict[str, tuple[str, Loc, bool]] = {}
        self._emails: dict[str, tuple[str, Loc]] = {}
        self._account_ids: dict[int, tuple[str, Loc]] = {}
        self._days: dict[str, date | None] = {}
        self._suggestions_left = MAX_SUGGESTIONS

    def _suggestion(self, word: str, choices: Iterable[str]) -> str:
        if self._suggestions_left <= 0:
            return ""
        self._suggestions_left -= 1
        return suggestion(word, choices)

    def check_lookalikes(self) -> None:
        """Ids, names and aliases of different companies must not look alike: `acme` and `Acme`
        or a Cyrillic spelling of `acme` would split one company into two that never conflict."""
        seen: dict[str, tuple[str, str, Loc]] = {}
        for company_id, company in self.companies.items():
            for spelling, loc in _spellings_of(str(company_id), company):
                folded = skeleton(spelling)
                if not folded:
                    continue
                first = seen.setdefault(folded, (str(company_id), spelling, loc))
                if first[0] == str(company_id):
                    continue
                self.problems.append(
                    Problem(
                        loc,
                        f"{spelling!r} of company {company_id!r} looks like {first[1]!r} of"
                        f" company {first[0]!r}: ids, names and aliases of different companies"
                        " must differ by more than case, punctuation, spaces or look-alike letters",
                        at_key=len(loc) == 2,
                        first=first[2],
                        first_at_key=len(first[2]) == 2,
                    )
                )

    def check_login(self, login: Any, *, loc: Loc, at_key: bool) -> None:
        if isinstance(login, str) and not _LOGIN.fullmatch(login):
            self.problems.append(Problem(loc, _not_a_login(login, "login"), at_key=at_key))

    def _company_ref(self, value: Any, loc: Loc) -> None:
        if isinstance(value, str) and value not in self.companies:
            self._unknown_company(value, loc)

    def _unknown_company(self, value: str, loc: Loc) -> None:
        known = self._spellings.get(value.casefold())
        hint = f" (did you mean {known!r}?)" if known else self._suggestion(value, self.companies)
        self.problems.append(Problem(loc, f"unknown company {value!r}{hint}"))

    def check_parents(self) -> None:
        reported: set[frozenset[str]] = set()
        for company_id, company in self.companies.items():
            if not isinstance(company, dict):
                continue
            self._company_ref(company.get("parent"), ("companies", company_id, "parent"))
            chain = self._parent_chain(company_id)
            if chain is None:
                continue
            cycle = frozenset(chain)
            if cycle not in reported:
                reported.add(cycle)
                loop = " -> ".join([*chain, chain[0]])
                self.problems.append(
                    Problem(("companies", chain[0], "parent"), f"parent chain loops: {loop}")
                )

    def _parent_chain(self, company_id: str) -> list[str] | None:
        """The loop reached from `company_id` through parents, from its first member, or None."""
        path: list[str] = []
        current: Any = company_id
        while isinstance(current, str) and current in self.companies:
            if current in path:
                return path[path.index(current) :]
            path.append(current)
            company = self.companies[current]
            current = company.get("parent") if isinstance(company, dict) else None
        return None

    def claim_login(self, login: str, *, owner: str, loc: Loc, at_key: bool) -> None:
        key = login.lower()
        if key not in self._logins:
            self._logins[key] = (owner, loc, at_key)
            return
        first_owner, first_loc, first_at_key = self._logins[key]
        whose = "is listed twice" if first_owner == owner else f"belongs to {first_owner!r}"
        self.problems.append(
            Problem(
                loc,
                f"login {login!r} {whose} (logins ignore case)",
                at_key=at_key,
                first=first_loc,
                first_at_key=first_at_key,
            )
        )

    def _claim_email(self, email: str, *, owner: str, loc: Loc) -> None:
        key = email.lower()
        if key not in self._emails:
            self._emails[key] = (owner, loc)
            return
        first_owner, first_loc = self._emails[key]
        whose = "is listed twice" if first_owner == owner else f"belongs to {first_owner!r}"
        self.problems.append(
            Problem(loc, f"email {email!r} {whose} (emails ignore case)", first=first_loc)
        )

    def _claim_account_id(self, account_id: int, *, owner: str, loc: Loc) -> None:
        # One account is one person: two entries with one id would make either's approval both's.
        first = self._account_ids.setdefault(account_id, (owner, loc))
        if first[0] != owner:
            self.problems.append(
                Problem(loc, f"GitHub id {account_id} belongs to {first[0]!r}", first=first[1])
            )

    def _check_email(self, email: str, *, loc: Loc) -> None:
        local, at, domain = email.rpartition("@")
        if not at or not local or not domain or any(c.isspace() for c in email):
            self.problems.append(
                Problem(loc, f"{email!r} is not an email address such as 'name@example.com'")
            )

    def check_person(self, login: str, person: dict[str, Any]) -> None:
        base: Loc = ("people", login)
        account_id = person.get("id")
        if isinstance(account_id, int) and not isinstance(account_id, bool) and account_id > 0:
            self._claim_account_id(account_id, owner=login, loc=(*base, "id"))
        for index, other in _items(person.get("logins")):
            if isinstance(other, str):
                self.check_login(other, loc=(*base, "logins", index), at_key=False)
                self.claim_login(other, owner=login, loc=(*base, "logins", index), at_key=False)
        for index, email in _items(person.get("emails")):
            if isinstance(email, str):
                self._check_email(email, loc=(*base, "emails", index))
                self._claim_email(email, owner=login, loc=(*base, "emails", index))
        role = person.get("role")
        if isinstance(role, str) and self.roles is not None and role not in self.roles:
            hint = (
                self._suggestion(role, self.roles) or f" (roles: {', '.join(sorted(self.roles))})"
            )
            self.problems.append(Problem((*base, "role"), f"unknown role {role!r}{hint}"))
        ranges = self._ranges(person.get("affiliations"), (*base, "affiliations"))
        self._check_overlaps(ranges, (*base, "affiliations"))
        self._ranges(person.get("conflicts"), (*base, "conflicts"))
        self._ranges(person.get("away"), (*base, "away"))

    def _ranges(self, entries: Any, loc: Loc) -> list[_Range]:
        """Check each entry's company and date order; return the well-formed ranges."""
        ranges: list[_Range] = []
        for index, entry in _items(entries):
            if not isinstance(entry, dict):
                continue
            company = entry.get("company")
            if isinstance(company, str) and company not in self.companies:
                self._unknown_company(company, (*loc, index, "company"))
            start = self._day(entry.get("from"), open_end=date.min)
            end = self._day(entry.get("until"), open_end=date.max)
            if start is None or end is None:
                continue  # an unreadable date: pydantic reports it
            if start >= end:
                self.problems.append(
                    Problem(
                        (*loc, index, "until"),
                        f"empty date range: 'from' {start} is not before 'until' {end}"
                        " (until is exclusive)",
                    )
                )
                continue
            name = company if isinstance(company, str) else "?"
            ranges.append(_Range(index, start, end, name))
        return ranges

    def _day(self, value: Any, *, open_end: date) -> date | None:
        """A date from a `date` or an ISO string, `open_end` when absent, None when unreadable."""
        if value is None:
            return open_end
        if isinstance(value, str):
            # Maps repeat their dates (start of a job = end of the last): parse each text once.
            if value not in self._days:
                self._days[value] = _parse_day(value)
            return self._days[value]
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        return None

    def _check_overlaps(self, ranges: list[_Range], loc: Loc) -> None:
        # A sweep in order of start: O(n log n) even for a hostile list of thousands of entries.
        latest: _Range | None = None
        for current in sorted(ranges, key=lambda r: (r.start, r.index)):
            if latest is not None and current.start < latest.end:
                earlier, later = sorted((latest, current), key=lambda r: r.index)
                self.problems.append(
                    Problem(
                        (*loc, later.index),
                        f"affiliation with {later.company!r} overlaps the one with"
                        f" {earlier.company!r} (a person has one affiliation at a time)",
                        first=(*loc, earlier.index),
                    )
                )
            if latest is None or current.end > latest.end:
                latest = current


def _spellings_of(company_id: str, company: Any) -> Iterable[tuple[str, Loc]]:
    base: Loc = ("companies", company_id)
    yield company_id, base
    if not isinstance(company, dict):
        return
    if isinstance(company.get("name"), str):
        yield company["name"], (*base, "name")
    for index, alias in _items(company.get("aliases")):
        if isinstance(alias, str):
            yield alias, (*base, "aliases", index)


def _items(value: Any) -> Iterable[tuple[int, Any]]:
    return enumerate(value) if isinstance(value, list) else ()
