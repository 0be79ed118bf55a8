"""`coi-bot audit`'s rules: what GitHub shows about people, checked against the map. Pure.

Every rule is a function of the map, what was read from GitHub (write access, profile evidence)
and the day; each finding carries the evidence it rests on and, where one exists, the edit of
the map that settles it. `apply_edits` carries such edits out on the map's text, keeping its
comments, so that `--suggest` can show them as a unified diff.
"""

from __future__ import annotations

import difflib
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.tokens import CommentToken

from bot.affiliations.evidence import Evidence, contradictions, evidence_companies
from bot.affiliations.index import AffiliationMap
from bot.affiliations.lint import suppliers

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
WRITE_LEVELS = ("admin", "maintain", "write")

EditPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Collaborator:
    """Someone with write access or more to the repository; `url` is their profile."""

    login: str
    permission: str  # "admin", "maintain" or "write" (the highest the account holds)
    url: str
    id: int | None = None  # GitHub's numeric id of the account


@dataclass(frozen=True, slots=True)
class Seen:
    """One piece of evidence for a finding, and where anyone can look at it (a URL)."""

    kind: Literal["access", "profile_company", "org_member", "commit_email", "commit"]
    value: str
    url: str

    @classmethod
    def of(cls, evidence: Evidence) -> Seen:
        return cls(evidence.kind, evidence.value, evidence.source)

    def describe(self) -> str:
        if self.kind == "access":
            return f"{self.value} access to the repository"
        if self.kind == "profile_company":
            return f"profile company: {self.value}"
        if self.kind == "org_member":
            return f"public member of {self.value}"
        if self.kind == "commit":
            return f"commit {self.value}"
        return f"commit authored as {self.value}"


@dataclass(frozen=True, slots=True)
class MapEdit:
    """One change of the map's document: set a value, append to a list, or delete an item."""

    op: Literal["set", "append", "delete"]
    path: EditPath
    value: Any = None

    def describe(self) -> str:
        where = ".".join(str(part) for part in self.path)
        if self.op == "delete":
            return f"delete {where}"
        if self.op == "append":
            return f"add `{_flow(self.value)}` to {where}"
        return f"set {where} to `{_flow(self.value)}`"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing for the TSC to settle. `rule` is a stable id; `person` the map's key (or the
    login the map lacks), None for the policy; `edits` the map change that settles it, if any."""

    severity: Severity
    rule: str
    person: str | None
    message: str
    evidence: tuple[Seen, ...] = ()
    edits: tuple[MapEdit, ...] = ()
    hint: str | None = None

    @property
    def fix(self) -> str | None:
        """The edits in words, then the hint."""
        words = [edit.describe() for edit in self.edits]
        if self.hint is not None:
            words.append(self.hint)
        return "; ".join(words) or None


@dataclass(frozen=True, slots=True)
class AuditFacts:
    """What GitHub shows: write access, and evidence about the map's people and those with
    access (profile company, public organizations, commit emails of recent PRs)."""

    collaborators: tuple[Collaborator, ...]
    evidence: tuple[Evidence, ...] = ()
    unknown_accounts: tuple[str, ...] = field(default=())  # map logins GitHub does not know
    # The numeric id of each account read (map logins' profiles, collaborators), by login.
    account_ids: Mapping[str, int] = field(default_factory=dict)

    def id_of(self, login: str) -> int | None:
        wanted = login.lower()
        return next((i for name, i in self.account_ids.items() if name.lower() == wanted), None)


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_flow(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(item) for item in value) + "]"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def tsc_role(amap: AffiliationMap) -> str | None:
    """The role to give someone who needs a TSC seat: `maintainer` if it is one, else the last
    TSC role the policy lists (the least senior, by the usual order)."""
    roles = [name for name, role in amap.policy.roles.items() if role.tsc]
    if "maintainer" in roles:
        return "maintainer"
    return roles[-1] if roles else None


def audit(amap: AffiliationMap, facts: AuditFacts, *, today: date) -> tuple[Finding, ...]:
    """Every finding on `today`, most severe first, then by person."""
    found = [
        *access_findings(amap, facts, today=today),
        *account_findings(amap, facts),
        *evidence_findings(amap, facts.evidence, today=today),
        *tsc_without_company(amap, facts.evidence, today=today),
        *ended_records(amap, today=today),
        *unsatisfiable_policy(amap, today=today),
    ]
    order = {severity: rank for rank, severity in enumerate(SEVERITIES)}
    return tuple(
        sorted(found, key=lambda f: (order[f.severity], f.person or "", f.rule, f.message))
    )


def _evidence_of(
    amap: AffiliationMap, items: Iterable[Evidence], person: str
) -> tuple[Evidence, ...]:
    return tuple(item for item in items if (amap.login_of(item.login) or item.login) == person)


def _named_company(amap: AffiliationMap, items: Sequence[Evidence], person: str) -> str | None:
    """The one company the evidence names for `person`, or None when it names none or several."""
    named = evidence_companies(amap, items).get(person, set())
    return next(iter(named)) if len(named) == 1 else None


def access_findings(amap: AffiliationMap, facts: AuditFacts, *, today: date) -> list[Finding]:
    """Write access held outside the TSC (the RFC counts it a conflict of interest)."""
    found: list[Finding] = []
    role = tsc_role(amap)
    for collaborator in facts.collaborators:
        login = collaborator.login
        if amap.is_bot(login):
            continue
        access = Seen("access", collaborator.permission, collaborator.url)
        seen = access.describe()
        # The account decides: a renamed member is theirs (`account_findings` tells the rename).
        bound = None if collaborator.id is None else _person_by_id(amap, collaborator.id)
        key = bound if bound is not None else amap.login_of(login)
        if key is None:
            evidence = _evidence_of(amap, facts.evidence, login)
            company = _named_company(amap, evidence, login)
            entry: dict[str, Any] = {} if collaborator.id is None else {"id": collaborator.id}
            if role is not None:
                entry["role"] = role
            if company is not None:
                entry["affiliations"] = [{"company": company, "from": today}]
            found.append(
                Finding(
                    "error",
                    "access-not-in-map",
                    login,
                    f"@{login} has {seen} but is not in the map",
                    evidence=(access, *map(Seen.of, evidence)),
                    edits=(MapEdit("set", ("people", login), entry),),
                    hint=_NO_ACCESS,
                )
            )
        elif not amap.is_tsc(key):
            person = amap.document.people[key]
            held = f"role {person.role!r}" if person.role else "no role"
            found.append(
                Finding(
                    "warning",
                    "access-without-tsc-role",
                    key,
                    f"@{login} has {seen} but {held}, not a TSC role",
                    evidence=(access,),
                    edits=() if role is None else (MapEdit("set", ("people", key, "role"), role),),
                    hint=_NO_ACCESS,
                )
            )
    return found


_NO_ACCESS = "or take their write access away"


def _person_by_id(amap: AffiliationMap, account_id: int) -> str | None:
    return next((k for k, p in amap.document.people.items() if p.id == account_id), None)


def account_findings(amap: AffiliationMap, facts: AuditFacts) -> list[Finding]:
    """People are accounts: fill the ids the map lacks, and tell which map logins were renamed
    (the account, found by its id, goes by another login) or now belong to another account."""
    found: list[Finding] = []
    by_id = {account_id: login for login, account_id in facts.account_ids.items()}
    for key, person in amap.document.people.items():
        shown = facts.id_of(key)
        if person.id is None:
            if shown is not None:
                found.append(
                    Finding(
                        "info",
                        "id-missing",
                        key,
                        f"@{key} is GitHub account {shown}; the map does not bind them to it",
                        edits=(MapEdit("set", ("people", key, "id"), shown),),
                    )
                )
            continue
        now = by_id.get(person.id)
        if now is not None and now.lower() != key.lower():
            found.append(
                Finding(
                    "warning",
                    "login-renamed",
                    key,
                    f"@{key}'s account (GitHub id {person.id}) is now @{now}: the bot recognises"
                    " them by id; update the map's login",
                    hint=f"rename `people.{key}` to `{now}`",
                )
            )
        elif now is None and key in facts.unknown_accounts:
            found.append(
                Finding(
                    "warning",
                    "login-gone",
                    key,
                    f"GitHub knows no @{key}: their account (GitHub id {person.id}) was renamed"
                    " or deleted, and the bot asks nobody under that login",
                    hint=f"find the login account {person.id} goes by now",
                )
            )
        if shown is not None and shown != person.id:
            found.append(
                Finding(
                    "error",
                    "login-reused",
                    key,
                    f"@{key} is GitHub account {shown}, not the map's {person.id}: the login now"
                    " belongs to another account, treated as someone not in the map",
                    hint=f"find the login account {person.id} goes by now",
                )
            )
    return found


def evidence_findings(
    amap: AffiliationMap, items: Sequence[Evidence], *, today: date
) -> list[Finding]:
    """People in the map whom GitHub shows at a company the map does not give them today."""
    found: list[Finding] = []
    for contradiction in contradictions(amap, items, at=today):
        login = contradiction.login
        if amap.person(login) is None:
            continue  # people outside the map matter only with write access (above)
        if amap.is_tsc(login) and not amap.companies_of(login, today):
            continue  # told as a TSC member without a company (below)
        company = amap.company_name(contradiction.company)
        if contradiction.map_says == "no company on record":
            rule, message = "company-missing", f"@{login} has no company on record"
        else:
            rule, message = "affiliation-contradicted", f"the map says @{login} works for"
            message += f" {contradiction.map_says}"
        found.append(
            Finding(
                "warning",
                rule,
                login,
                f"{message}; GitHub shows {company}",
                evidence=tuple(map(Seen.of, contradiction.evidence)),
                edits=affiliation_edits(amap, login, contradiction.company, today),
            )
        )
    return found


def affiliation_edits(
    amap: AffiliationMap, login: str, company: str, day: date
) -> tuple[MapEdit, ...]:
    """The edits `evidence.suggest_fix` words: `login` works for `company` from `day`."""
    entry = {"company": company, "from": day}
    key = amap.login_of(login) or login
    person = amap.person(login)
    if person is None:
        return (MapEdit("set", ("people", key), {"affiliations": [entry]}),)
    at = ("people", key, "affiliations")
    for index, affiliation in enumerate(person.affiliations):
        if not affiliation.covers(day):
            continue
        if affiliation.from_ == day:
            return (MapEdit("set", (*at, index, "company"), company),)
        return (MapEdit("set", (*at, index, "until"), day), MapEdit("append", at, entry))
    return (MapEdit("append", at, entry),)


def tsc_without_company(
    amap: AffiliationMap, items: Sequence[Evidence], *, today: date
) -> list[Finding]:
    """TSC members with no company today: their approvals cannot be judged independent."""
    found: list[Finding] = []
    independent = [cid for cid, c in amap.document.companies.items() if c.independent]
    for login in amap.tsc_members():
        if amap.companies_of(login, today):
            continue
        evidence = _evidence_of(amap, items, login)
        company = _named_company(amap, evidence, login)
        if company is None and len(independent) == 1:
            edits = affiliation_edits(amap, login, independent[0], today)
            hint = None
        elif company is not None:
            edits = affiliation_edits(amap, login, company, today)
            hint = None
        else:
            edits = ()
            hint = "add their affiliation (to an `independent: true` company if they work for none)"
        shown = f"; GitHub shows {amap.company_name(company)}" if company is not None else ""
        found.append(
            Finding(
                "error",
                "tsc-without-company",
                login,
                f"TSC member @{login} has no company on record{shown}",
                evidence=tuple(map(Seen.of, evidence)),
                edits=edits,
                hint=hint,
            )
        )
    return found


def ended_records(amap: AffiliationMap, *, today: date) -> list[Finding]:
    """Affiliations that ended with none after them, and away windows over (for tidying)."""
    found: list[Finding] = []
    for login, person in amap.document.people.items():
        ends = [a.until for a in person.affiliations]
        if ends and all(until is not None and until <= today for until in ends):
            last = max(until for until in ends if until is not None)
            found.append(
                Finding(
                    "info",
                    "affiliation-ended",
                    login,
                    f"@{login}'s last affiliation ended on {last.isoformat()}, none follows",
                    hint="add their current affiliation, or confirm they work for none",
                )
            )
        over = [
            index
            for index, window in enumerate(person.away)
            if window.until is not None and window.until <= today
        ]
        if over:
            last = max(person.away[index].until or today for index in over)
            found.append(
                Finding(
                    "info",
                    "away-ended",
                    login,
                    f"@{login} has {len(over)} away window(s) over, the last ended on"
                    f" {last.isoformat()}",
                    # Deleted from the end, so each index still names the same window.
                    edits=tuple(
                        MapEdit("delete", ("people", login, "away", index))
                        for index in reversed(over)
                    ),
                )
            )
    return found


def unsatisfiable_policy(amap: AffiliationMap, *, today: date) -> list[Finding]:
    """A policy asking for more sides than today's TSC members come from."""
    if not amap.tsc_members():
        return []
    available = suppliers(amap, today)
    found: list[Finding] = []
    for key, needed in (
        ("independent_approvals", amap.policy.independent_approvals),
        ("protected_companies", amap.policy.protected_companies),
    ):
        if needed > available:
            found.append(
                Finding(
                    "error",
                    "policy-unsatisfiable",
                    None,
                    f"policy.{key} is {needed}, but today's TSC members come from only"
                    f" {available} companies (independent members count one each)",
                    edits=(MapEdit("set", ("policy", key), available),),
                    hint="or add TSC members from other companies",
                )
            )
    return found


# --- suggestions as a diff of the map's text ------------------------------------------------


class EditError(Exception):
    """The map's text cannot take the edit (it is not the map the findings were made on)."""


def _indentation(text: str) -> tuple[int, int]:
    """(mapping indent, offset of a block sequence's dash) as the file writes them."""
    mapping = 0
    offset: int | None = None
    previous = 0
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        if stripped.startswith("- ") or stripped == "-":
            if offset is None and indent >= previous:
                offset = indent - previous
        elif indent and not mapping:
            mapping = indent
        if not stripped.startswith("-"):
            previous = indent
    return mapping or 2, offset if offset is not None else 2


def _yaml_for(text: str) -> tuple[YAML, Any]:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a line the TSC wrote
    yaml.brace_single_entry_mapping_in_flow_sequence = True  # keep `[{company: acme}]` as is
    mapping, offset = _indentation(text)
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    try:
        document = yaml.load(text)
    except YAMLError as error:
        raise EditError(f"the map is not YAML: {error}") from None
    return yaml, document


_Slot = tuple[Any, Any, int]


def _last_slots(node: Any) -> list[_Slot]:
    """The chain of last items under `node`, outermost first: ruamel keeps the comment lines
    after a node's last line on one of them (or in a block sequence's `end`)."""
    chain: list[_Slot] = []
    while True:
        if isinstance(node, CommentedMap) and node:
            key: Any = list(node)[-1]
            slot = 2
        elif isinstance(node, CommentedSeq) and node:
            key, slot = len(node) - 1, 0
        else:
            return chain
        chain.append((node, key, slot))
        child = node[key]
        if not isinstance(child, CommentedMap | CommentedSeq) or child.fa.flow_style():
            return chain
        node = child


def _take_trailing_comment(node: Any) -> str:
    """Detach the comment lines that follow `node` (after its last line's own comment)."""
    for container, key, slot in reversed(_last_slots(node)):
        end = getattr(container.ca, "end", None)
        if end:
            taken = "".join(str(token.value) for token in end)
            container.ca.end = []
            return taken
        entry = container.ca.items.get(key)
        if entry and entry[slot] is not None:
            token = entry[slot]
            own, newline, rest = str(token.value).partition("\n")
            token.value = own + newline
            return rest
    return ""


def _give_trailing_comment(node: Any, rest: str) -> None:
    chain = _last_slots(node)
    if not rest or not chain:
        return
    container, key, slot = chain[-1]
    entry = container.ca.items.setdefault(key, [None] * (4 if slot == 2 else 2))
    old = "" if entry[slot] is None else str(entry[slot].value)
    entry[slot] = CommentToken((old or "\n") + rest, CommentMark(0))


def _styled(value: Any, *, flow: bool) -> Any:
    if isinstance(value, dict):
        styled = CommentedMap((key, _styled(item, flow=True)) for key, item in value.items())
        if flow:
            styled.fa.set_flow_style()
        return styled
    if isinstance(value, list):
        return CommentedSeq(_styled(item, flow=True) for item in value)
    if isinstance(value, date):  # a fresh object: ruamel anchors a value dumped twice
        return date.fromordinal(value.toordinal())
    return value


def _container(document: Any, path: EditPath) -> Any:
    node = document
    for part in path:
        if isinstance(node, dict):
            if part not in node or node[part] is None:
                node[part] = CommentedMap()
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            raise EditError(f"{'.'.join(map(str, path))} is not in the map")
    return node


def apply_edits(text: str, edits: Iterable[MapEdit]) -> str:
    """The map's text with `edits` made, comments and layout kept (ruamel.yaml round trip)."""
    yaml, document = _yaml_for(text)
    if not isinstance(document, dict):
        raise EditError("the map is not a mapping")
    for edit in edits:
        *parents, last = edit.path
        holder = _container(document, tuple(parents))
        # A comment after the holder's last line must stay after it, whatever becomes last.
        trailing = _take_trailing_comment(holder)
        if edit.op == "append":
            items = holder.get(last) if isinstance(holder, dict) else None
            if not isinstance(items, list):
                items = CommentedSeq()
                holder[last] = items
            items.append(_styled(edit.value, flow=True))
        elif edit.op == "delete":
            try:
                del holder[last]
            except (KeyError, IndexError, TypeError):
                raise EditError(f"{'.'.join(map(str, edit.path))} is not in the map") from None
        else:
            holder[last] = _styled(edit.value, flow=False)
        _give_trailing_comment(holder, trailing)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def suggestion_diff(text: str, edits: Sequence[MapEdit], *, path: str) -> str:
    """`edits` as a unified diff against the map's text (`a/PATH`, `b/PATH`), or "" for none."""
    if not edits:
        return ""
    changed = apply_edits(text, edits)
    lines = difflib.unified_diff(
        text.splitlines(keepends=True),
        changed.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
