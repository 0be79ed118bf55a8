"""Import an affiliation map from the files projects already keep, and print a map as YAML.

Two sources are understood: a StackStorm-style `OWNERS.md` (tiers of maintainers with
`([@handle](url))`, `_Company_` and `<<email>>`) and a cncf/gitdm `developers_affiliations*.txt`
file (`login: emails` followed by TAB-indented, dated affiliations). Both name companies in free
text, so `company_id` turns every spelling into one stable id and keeps the spellings as aliases:
the same people imported from either source land on the same company ids.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from bot.affiliations.evidence import email_domain
from bot.affiliations.model import (
    Affiliation,
    Company,
    MapDocument,
    Person,
    Policy,
    Role,
    is_company_domain,
)

INDEPENDENT = "independent"

# Trailing words that name a legal form, not a company: "VMware Inc." and "VMware" are one firm.
_LEGAL_SUFFIXES = frozenset(
    {
        "ab",
        "ag",
        "bv",
        "co",
        "corp",
        "corporation",
        "gmbh",
        "holdings",
        "inc",
        "incorporated",
        "kg",
        "limited",
        "llc",
        "llp",
        "ltd",
        "nv",
        "oy",
        "plc",
        "pte",
        "pty",
        "sa",
        "se",
        "srl",
    }
)
_SEPARATORS = re.compile(r"[\W_]+")


@dataclass(frozen=True, slots=True)
class ImportProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ImportFormatError(ValueError):
    """The source file cannot be imported; `problems` lists every one, in the order of lines."""

    def __init__(self, problems: Sequence[ImportProblem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda problem: problem.line))
        super().__init__("\n".join(map(str, self.problems)))


# --- company names ------------------------------------------------------------------------------


def _fold(text: str) -> str:
    # Accents go so "Zürich" and "Zurich" meet; casefold twice because folding can decompose.
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", stripped).casefold()


def _words(name: str) -> list[str]:
    return [word for word in _SEPARATORS.split(_fold(name)) if word]


def company_id(name: str) -> str:
    """A stable id for a company name: lowercase words joined by `-`, legal suffixes dropped.

    `company_id("VMware Inc.") == company_id(" vmware ") == "vmware"`; a name made only of a legal
    suffix keeps it (`"Co"` -> `"co"`) so that every non-empty name has an id.
    """
    words = _words(name)
    if not words:
        raise ValueError(f"company name {name!r} has no letters or digits")
    while len(words) > 1 and words[-1] in _LEGAL_SUFFIXES:
        words.pop()
    return "-".join(words)


def _display_name(spelling: str) -> str:
    """The spelling without its legal suffix or trailing decoration: "Sysdig Inc." -> "Sysdig".

    Only whole trailing words made of suffixes or of punctuation go, so the id stays the same.
    """
    words = spelling.replace(",", " ").split()

    def droppable(word: str, *, meaningful_left: int) -> bool:
        tokens = _words(word)
        return not tokens or (meaningful_left > 1 and all(t in _LEGAL_SUFFIXES for t in tokens))

    while words and droppable(words[-1], meaningful_left=sum(1 for w in words if _words(w))):
        words.pop()
    return " ".join(words).rstrip(" .,-·")


class _CompanyBook:
    """Collects the spellings met for each company id, in the order they were met.

    Spellings that differ only in case are one: the map matches company names ignoring case.
    """

    def __init__(self) -> None:
        self._spellings: dict[str, list[str]] = {}

    def add(self, spelling: str) -> str:
        cid = company_id(spelling)
        known = self._spellings.setdefault(cid, [])
        tidy = " ".join(spelling.split())
        if all(tidy.casefold() != seen.casefold() for seen in known):
            known.append(tidy)
        return cid

    def companies(self) -> dict[str, Company]:
        result: dict[str, Company] = {}
        for cid in sorted(self._spellings):
            spellings = self._spellings[cid]
            name = _display_name(spellings[0])
            aliases = [s for s in spellings if s.casefold() != name.casefold()]
            result[cid] = Company(name=name, aliases=aliases, independent=cid == INDEPENDENT)
        return result


# --- OWNERS.md ----------------------------------------------------------------------------------

# Section title -> role, highest tier first: the order decides which tier wins for a duplicate.
OWNERS_TIERS: dict[str, str] = {
    "leaders": "leader",
    "senior maintainers": "senior-maintainer",
    "maintainers": "maintainer",
    "contributors": "contributor",
    "friends": "friend",
}
# OWNERS.md's "3 vote points", "2 vote points", "1 vote points" under the voting tiers.
OWNERS_ROLES: dict[str, Role] = {
    "leader": Role(tsc=True, votes=3),
    "senior-maintainer": Role(tsc=True, votes=2),
    "maintainer": Role(tsc=True, votes=1),
    "contributor": Role(tsc=False),
    "friend": Role(tsc=False),
}

_SECTION = re.compile(r"^#\s+(?P<title>[^#*].*?)[\s*]*$")
_BULLET = re.compile(r"^\*\s+")
_ENTRY = re.compile(
    r"^\*\s+(?P<name>.*?)\s*\(\[@(?P<login>[A-Za-z0-9-]+)\]\((?P<url>[^)\s]*)\)\)(?P<rest>.*)$"
)
# The company comes right after the handle: ", _intive_", " - _Adobe_ -", ", _Salesforce_, -".
_OWNERS_COMPANY = re.compile(r"^\s*[,-]?\s*_(?P<company>[^_]+?)_")
_OWNERS_EMAIL = re.compile(r"<<(?P<email>[^<>\s@]+@[^<>\s@]+)>>")
_PROFILE_URL = re.compile(r"^https?://github\.com/(?P<login>[A-Za-z0-9-]+)/?$")


@dataclass
class _OwnersEntry:
    login: str
    name: str | None
    tier: int
    company: str | None
    emails: list[str] = field(default_factory=list)


def _owners_entries(text: str) -> Iterator[tuple[int, str, str | None]]:
    """(line number, bullet line, role) for every `* ` bullet, with the role of its section."""
    role: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if heading := _SECTION.match(line):
            role = OWNERS_TIERS.get(heading["title"].strip().lower())
        elif _BULLET.match(line):
            yield number, line, role


@dataclass(frozen=True, slots=True)
class OwnersLine:
    """One person's bullet in a StackStorm-style OWNERS.md."""

    login: str
    text: str  # the bullet as written, stripped
    role: str | None  # the tier's role; None outside the tiers
    company: str | None  # the `_Company_` text after the handle


def owners_lines(text: str) -> dict[str, OwnersLine]:
    """Each handle's last bullet, by lower-case login: what a vote compares to find whose line
    a proposal adds, removes or changes. Malformed bullets are skipped, never an error here."""
    lines: dict[str, OwnersLine] = {}
    for _, line, role in _owners_entries(text):
        match = _ENTRY.match(line)
        if match is None:
            continue
        company = _OWNERS_COMPANY.match(match["rest"])
        lines[match["login"].lower()] = OwnersLine(
            login=match["login"],
            text=line.strip(),
            role=role,
            company=None if company is None else company["company"].strip(),
        )
    return lines


def import_owners(text: str) -> MapDocument:
    """A map from a StackStorm-style OWNERS.md: each tier becomes a role, `_Company_` an
    undated affiliation and `<<email>>` an email. Bullets outside a known tier are ignored
    unless they name a GitHub handle (a person the map would silently lose)."""
    problems: list[ImportProblem] = []
    book = _CompanyBook()
    entries: dict[str, _OwnersEntry] = {}
    tier_order = list(OWNERS_TIERS.values())
    for number, line, role in _owners_entries(text):
        match = _ENTRY.match(line)
        if match is None:
            if role is not None or "[@" in line:
                problems.append(ImportProblem(number, "a person's entry needs '([@login](url))'"))
            continue
        login = match["login"]
        if role is None:
            problems.append(
                ImportProblem(
                    number,
                    f"@{login} is outside the tiers ({', '.join(t.title() for t in OWNERS_TIERS)})",
                )
            )
            continue
        profile = _PROFILE_URL.match(match["url"])
        if profile is not None and profile["login"].lower() != login.lower():
            problems.append(
                ImportProblem(
                    number, f"handle @{login} links to the profile of @{profile['login']}"
                )
            )
            continue
        company_match = _OWNERS_COMPANY.match(match["rest"])
        company = book.add(company_match["company"]) if company_match else None
        entry = _OwnersEntry(
            login=login,
            name=match["name"] or None,
            tier=tier_order.index(role),
            company=company,
            emails=_unique([m["email"] for m in _OWNERS_EMAIL.finditer(match["rest"])]),
        )
        _merge_owners_entry(entries, entry)
    if problems:
        raise ImportFormatError(problems)
    emails = _without_shared_emails({entry.login: entry.emails for entry in entries.values()})
    people = {
        entry.login: Person(
            id=account_id(entry.login, entry.emails),
            name=entry.name,
            emails=emails[entry.login],
            role=tier_order[entry.tier],
            affiliations=[] if entry.company is None else [Affiliation(company=entry.company)],
        )
        for entry in entries.values()
    }
    used = {entry.company for entry in entries.values() if entry.company is not None}
    companies = {cid: c for cid, c in book.companies().items() if cid in used}
    return MapDocument(
        version=1, companies=companies, people=people, policy=Policy(roles=dict(OWNERS_ROLES))
    )


# GitHub's private commit address names the account's numeric id: "583231+login@users...".
_NOREPLY_ACCOUNT = re.compile(
    r"^(?P<id>[1-9][0-9]*)\+(?P<login>[A-Za-z0-9-]+)@users\.noreply\.github\.com$", re.I
)


def account_id(login: str, emails: Sequence[str]) -> int | None:
    """The person's GitHub id when a source gives one: a no-reply address of that very login
    (another login's address may be an old name, or someone else's); None otherwise."""
    for email in emails:
        match = _NOREPLY_ACCOUNT.match(email)
        if match is not None and match["login"].lower() == login.lower():
            return int(match["id"])
    return None


def _merge_owners_entry(entries: dict[str, _OwnersEntry], entry: _OwnersEntry) -> None:
    """A person listed twice keeps the higher tier and that entry's company, else the other's."""
    key = entry.login.lower()
    known = entries.get(key)
    if known is None:
        entries[key] = entry
        return
    first, second = (known, entry) if known.tier <= entry.tier else (entry, known)
    entries[key] = _OwnersEntry(
        login=known.login,
        name=first.name or second.name,
        tier=first.tier,
        company=first.company or second.company,
        emails=_unique([*first.emails, *second.emails]),
    )


def _without_shared_emails(emails_by_login: dict[str, list[str]]) -> dict[str, list[str]]:
    """Emails listed for two people identify neither: a commit by one must not count as both."""
    claims = Counter(email.lower() for emails in emails_by_login.values() for email in emails)
    return {
        login: [email for email in emails if claims[email.lower()] == 1]
        for login, emails in emails_by_login.items()
    }


def _unique(items: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    result = []
    for item in items:
        if item.lower() not in seen:
            seen.add(item.lower())
            result.append(item)
    return result


# --- cncf/gitdm ---------------------------------------------------------------------------------

# "login: e1, e2"; the header of the file says a trailing '*' marks a person found with several
# conflicting affiliations, which is a note to the editors, not part of the login.
_GITDM_HEADER = re.compile(r"^(?P<login>[^\s:*]+)\**\s*:\s*(?P<emails>.*)$")
_GITDM_AFFILIATION = re.compile(
    r"^(?P<company>.+?)"
    r"(?:\s+from\s+(?P<from>\S+))?"
    r"(?:\s+until\s+(?P<until>\S+))?\s*$"
)
# gitdm's placeholders for "we do not know": no company, so no affiliation.
_GITDM_UNKNOWN = frozenset({"unknown", "notfound"})
# RFC 2606 reserves .invalid: such addresses were redacted and can never be a commit's author.
_REDACTED_EMAIL = re.compile(r"\.invalid$", re.IGNORECASE)


@dataclass(frozen=True)
class _Span:
    company: str
    start: date | None
    end: date | None
    line: int

    def overlaps(self, other: _Span) -> bool:
        starts_before_other_ends = other.end is None or self.start is None or self.start < other.end
        ends_after_other_starts = self.end is None or other.start is None or other.start < self.end
        return starts_before_other_ends and ends_after_other_starts


@dataclass
class _GitdmRecord:
    login: str
    line: int
    emails: list[str] = field(default_factory=list)
    spans: list[_Span] = field(default_factory=list)


def _gitdm_date(text: str | None, number: int, problems: list[ImportProblem]) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(ImportProblem(number, f"{text!r} is not a date (YYYY-MM-DD)"))
        return None


def _gitdm_records(
    text: str, book: _CompanyBook, problems: list[ImportProblem]
) -> list[_GitdmRecord]:
    records: list[_GitdmRecord] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace():
            if not records:
                problems.append(
                    ImportProblem(number, "an affiliation before any 'login: emails' line")
                )
                continue
            span = _gitdm_span(line.strip(), number, book, problems)
            if span is not None:
                records[-1].spans.append(span)
            continue
        header = _GITDM_HEADER.match(line)
        if header is None:
            problems.append(ImportProblem(number, f"expected 'login: email, ...', got {line!r}"))
            continue
        record = _GitdmRecord(login=header["login"], line=number)
        for raw_email in header["emails"].split(","):
            email = raw_email.strip().replace("!", "@")
            if not email or _REDACTED_EMAIL.search(email):
                continue
            if email.count("@") != 1:
                problems.append(ImportProblem(number, f"{raw_email.strip()!r} is not an email"))
                continue
            record.emails.append(email)
        records.append(record)
    return records


def _gitdm_span(
    text: str, number: int, book: _CompanyBook, problems: list[ImportProblem]
) -> _Span | None:
    match = _GITDM_AFFILIATION.match(text)
    assert match is not None  # the pattern accepts any non-empty text
    before = len(problems)
    start = _gitdm_date(match["from"], number, problems)
    end = _gitdm_date(match["until"], number, problems)
    if len(problems) > before:
        return None
    if start is not None and end is not None and start >= end:
        problems.append(ImportProblem(number, f"'from {start}' is not before 'until {end}'"))
        return None
    try:
        cid = company_id(match["company"])
    except ValueError as error:
        problems.append(ImportProblem(number, str(error)))
        return None
    if cid in _GITDM_UNKNOWN:
        return None
    book.add(match["company"])
    return _Span(company=cid, start=start, end=end, line=number)


def _check_spans(record: _GitdmRecord, problems: list[ImportProblem]) -> None:
    spans = record.spans
    for index, span in enumerate(spans):
        for other in spans[index + 1 :]:
            if span.overlaps(other):
                problems.append(
                    ImportProblem(
                        other.line,
                        f"@{record.login}'s affiliation overlaps the one on line {span.line}",
                    )
                )


def _coalesce(spans: Sequence[_Span]) -> list[Affiliation]:
    """Sorted affiliations, with back-to-back ranges of one company joined into one."""
    ordered = sorted(spans, key=lambda s: (s.start is not None, s.start or date.min))
    joined: list[_Span] = []
    for span in ordered:
        last = joined[-1] if joined else None
        if last is not None and last.company == span.company and last.end == span.start:
            joined[-1] = _Span(company=last.company, start=last.start, end=span.end, line=last.line)
        else:
            joined.append(span)
    return [Affiliation(company=s.company, from_=s.start, until=s.end) for s in joined]


def import_gitdm(text: str) -> MapDocument:
    """A map from a cncf/gitdm developers_affiliations file.

    `from` is inclusive and `until` exclusive, as in gitdm. `Independent` becomes a company with
    `independent: true`; `(Unknown)` and `NotFound` give no affiliation; redacted `.invalid`
    emails are dropped, and so is an email listed for two logins. A login listed in several
    records (gitdm's "asterisk" people) gets the emails of all of them and the affiliations of
    the first, plus any later ones that do not overlap it: the map allows one company per day
    per person. A company's `domains` are the email domains only its people use.
    """
    problems: list[ImportProblem] = []
    book = _CompanyBook()
    records = _gitdm_records(text, book, problems)
    merged: dict[str, _GitdmRecord] = {}
    for record in records:
        _check_spans(record, problems)
        key = record.login.lower()
        known = merged.get(key)
        if known is None:
            merged[key] = _GitdmRecord(
                login=record.login,
                line=record.line,
                emails=_unique(record.emails),
                spans=list(record.spans),
            )
            continue
        known.emails = _unique([*known.emails, *record.emails])
        for span in record.spans:
            if not any(span.overlaps(kept) for kept in known.spans):
                known.spans.append(span)
    if problems:
        raise ImportFormatError(problems)
    emails = _without_shared_emails({r.login: r.emails for r in merged.values()})
    people = {
        record.login: Person(
            id=account_id(record.login, record.emails),
            emails=emails[record.login],
            affiliations=_coalesce(record.spans),
        )
        for record in merged.values()
    }
    used = {a.company for person in people.values() for a in person.affiliations}
    domains = _company_domains(people)
    companies = {
        cid: c.model_copy(update={"domains": domains.get(cid, [])})
        for cid, c in book.companies().items()
        if cid in used
    }
    return MapDocument(version=1, companies=companies, people=people)


def _company_domains(people: dict[str, Person]) -> dict[str, list[str]]:
    """Email domains that only one company's people use, by company: never free mail, never a
    domain also used by someone unaffiliated, independent or of another company."""
    users: dict[str, set[str | None]] = {}
    for person in people.values():
        companies: set[str | None] = {a.company for a in person.affiliations} or {None}
        for email in person.emails:
            domain = email_domain(email)
            if domain is not None and is_company_domain(domain):
                users.setdefault(domain, set()).update(companies)
    by_company: dict[str, list[str]] = {}
    for domain, companies in sorted(users.items()):
        (only, *others) = companies
        if not others and only is not None and only != INDEPENDENT:
            by_company.setdefault(only, []).append(domain)
    return by_company


# --- YAML output --------------------------------------------------------------------------------

_DATED_KEY_ORDER = ("company", "from", "until", "reason")
_PLAIN_FLOW_ITEM = re.compile(r"^[\w][\w.@/+*-]*( [\w.@/+*-]+)*$")


def _flow_map(data: dict[str, Any]) -> CommentedMap:
    ordered = CommentedMap()
    for key in (*_DATED_KEY_ORDER, *data):
        if key in data and key not in ordered:
            ordered[key] = data[key]
    ordered.fa.set_flow_style()
    return ordered


def _flow_item(item: Any) -> Any:
    # ruamel leaves some flow items plain that read back as something else ("[?0]" is a mapping).
    if isinstance(item, str) and not _PLAIN_FLOW_ITEM.match(item):
        return DoubleQuotedScalarString(item)
    return item


def _flow_list(items: list[Any]) -> CommentedSeq:
    seq = CommentedSeq(_flow_item(item) for item in items)
    seq.fa.set_flow_style()
    return seq


def _styled(value: Any, *, key: str | None = None) -> Any:
    """Short lists inline, dated entries as one-line mappings with `company` first."""
    if isinstance(value, CommentedMap):
        return value
    if isinstance(value, dict):
        block = CommentedMap()
        for child_key, child in value.items():
            block[child_key] = _styled(child, key=child_key)
        return block
    if isinstance(value, list):
        if key in {"affiliations", "conflicts", "away"}:
            return CommentedSeq(_flow_map(item) for item in value)
        return _flow_list(value)  # every other list in the model holds strings
    return value


def _represent_null(representer: Any, _: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def _role_keys(role: Role) -> dict[str, Any]:
    keys: dict[str, Any] = {"tsc": role.tsc}
    if role.votes is not None:
        keys["votes"] = role.votes
    return keys


def dump_map(document: MapDocument) -> str:
    """YAML text of a map: keys in the model's order, defaults left out, `from` spelled as such.

    Loading the text back gives a document equal to `document`.
    """
    data = document.model_dump(mode="python", by_alias=True, exclude_defaults=True)
    data = {"version": document.version, **data}
    if "roles" in data.get("policy", {}):
        # `{}` would hide what a role means; spell `tsc` out for every role.
        roles = document.policy.roles.items()
        data["policy"]["roles"] = {name: _flow_map(_role_keys(role)) for name, role in roles}
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    # ruamel writes None as nothing at all; `null` says "switched off" where a reader can see it.
    yaml.representer.add_representer(type(None), _represent_null)
    stream = io.StringIO()
    yaml.dump(_styled(data), stream)
    return stream.getvalue()
