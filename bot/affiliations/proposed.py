"""A pull request's new map, checked: its errors and a digest of each person's entry.

The check runs wherever the caller likes (the App runs it in a worker process with a time
budget); what it returns is small and plain, so it crosses a process boundary cheaply: the
errors (at most `loader.MAX_ERRORS`) and, for a valid map, each login's person key and a digest
of that person's entry, which is all the verdict compares with the map in force.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.affiliations.index import AffiliationMap
from bot.affiliations.loader import MapError, load_map_text
from bot.affiliations.model import Company, Person

DIGEST_CHARS = 32


@dataclass(frozen=True, slots=True)
class ProposedMap:
    """What checking a PR's new map found; `entries` is empty when the map has errors."""

    errors: tuple[MapError, ...]
    errors_omitted: int = 0  # errors found beyond those listed
    # Every login of every person (lower case) -> (the person's key, the entry's digest).
    entries: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # Every company id -> (the entry's digest, the root of its company tree).
    companies: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_count(self) -> int:
        return len(self.errors) + self.errors_omitted

    def family(self, company_id: str) -> frozenset[str]:
        """The company's tree in this map (see AffiliationMap.family)."""
        found = self.companies.get(company_id)
        if found is None:
            return frozenset({company_id})
        return frozenset(c for c, (_, root) in self.companies.items() if root == found[1])

    def entry_of(self, login: str) -> tuple[str, str] | None:
        """(person key, entry digest) for any of a person's logins; None when not in the map."""
        return self.entries.get(login.lower())


def entry_digest(entry: Person | Company) -> str:
    """The same text for two equal entries, whichever process validated them."""
    encoded = entry.model_dump_json().encode()
    return hashlib.sha256(encoded).hexdigest()[:DIGEST_CHARS]


def check_proposed_map(text: str, *, path: str) -> ProposedMap:
    """Parse and validate `text` as the map at `path` (synchronous, bounded by the loader)."""
    loaded = load_map_text(text, path=path)
    if loaded.map is None:
        return ProposedMap(errors=loaded.errors, errors_omitted=loaded.errors_omitted)
    return ProposedMap(
        errors=(), entries=_entries(loaded.map), companies=company_entries(loaded.map)
    )


def _entries(amap: AffiliationMap) -> dict[str, tuple[str, str]]:
    entries: dict[str, tuple[str, str]] = {}
    for key, person in amap.document.people.items():
        digest = entry_digest(person)
        for login in (key, *person.logins):
            entries[login.lower()] = (key, digest)
    return entries


# The map in force is one object per blob (bot.github.map_source): its digests are made once.
_COMPANY_ENTRIES: weakref.WeakKeyDictionary[AffiliationMap, dict[str, tuple[str, str]]] = (
    weakref.WeakKeyDictionary()
)


def company_entries(amap: AffiliationMap) -> dict[str, tuple[str, str]]:
    """Every company id -> (its entry's digest, the root of its company tree)."""
    found = _COMPANY_ENTRIES.get(amap)
    if found is None:
        found = {
            company_id: (entry_digest(company), amap.tree_root(company_id))
            for company_id, company in amap.document.companies.items()
        }
        _COMPANY_ENTRIES[amap] = found
    return found


def too_slow(path: str, *, seconds: float) -> ProposedMap:
    """The check of a map that did not finish within its budget: a failure, never a pass."""
    message = f"the map is too large or too broken to check in time ({seconds:g} s of CPU)"
    return ProposedMap(errors=(MapError(path, 1, 1, message),))
