"""Who wrote a pull request: its opener, its commits' authors and their `Co-authored-by:` trailers,
collected by person whatever account or email they appear under (DESIGN.md, rules of judgement).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.affiliations.index import AffiliationMap
from bot.policy.facts import Commit, PullRequestFacts

CO_AUTHOR = re.compile(
    r"^\s*co-authored-by:\s*(?P<name>.*?)\s*<(?P<email>[^<>\s]+)>\s*$", re.I | re.M
)
# GitHub commits web edits, merges and squashes itself: its committer is nobody's act.
GITHUB_COMMITTER_LOGINS = frozenset({"web-flow", "github"})
GITHUB_COMMITTER_EMAIL = "noreply@github.com"
# GitHub's private commit emails name the account: "123+login@users.noreply.github.com".
_NOREPLY = re.compile(
    r"^(?:(?P<id>\d+)\+)?(?P<login>[A-Za-z0-9-]+)@users\.noreply\.github\.com$", re.I
)


def noreply_login(email: str) -> str | None:
    match = _NOREPLY.match(email)
    return None if match is None else match.group("login")


def noreply_account_id(email: str) -> int | None:
    """The account id a no-reply address names ("583231+login@..."): the account, whatever
    login it had when the address was written."""
    match = _NOREPLY.match(email)
    return None if match is None or match.group("id") is None else int(match.group("id"))


@dataclass(frozen=True, slots=True)
class AuthorEntry:
    display: str  # "@login", or "Name <email>" for someone only an email names
    login: str | None
    known: bool  # in the map
    roles: set[str] = field(default_factory=set)  # opener, commit author, co-author


class Authors:
    """Collects the PR's authors by person, whatever account or email they appear under."""

    def __init__(self, amap: AffiliationMap) -> None:
        self.amap = amap
        self.by_key: dict[str, AuthorEntry] = {}

    def add_login(self, login: str, role: str) -> None:
        key = self.amap.login_of(login)
        if key is None:
            self._add(login.lower(), f"@{login}", login, known=False, role=role)
        else:
            self._add(key, f"@{key}", key, known=True, role=role)

    def add_email(self, email: str, name: str | None, role: str) -> None:
        key = self.amap.login_of_email(email)
        if key is None and (account_id := noreply_account_id(email)) is not None:
            key = self.amap.key_of_account(account_id)
        if key is not None:
            self._add(key, f"@{key}", key, known=True, role=role)
        elif (login := noreply_login(email)) is not None:
            self.add_login(login, role)
        else:
            shown = f"{name} <{email}>" if name else f"<{email}>"
            self._add(f"email:{email.lower()}", shown, None, known=False, role=role)

    def _add(self, key: str, display: str, login: str | None, *, known: bool, role: str) -> None:
        entry = self.by_key.setdefault(key, AuthorEntry(display, login, known))
        entry.roles.add(role)


def collect_authors(facts: PullRequestFacts, amap: AffiliationMap) -> Authors:
    authors = Authors(amap)
    if facts.opener:
        authors.add_login(facts.opener, "opener")
    for commit in facts.commits:
        if commit.author_login:
            authors.add_login(commit.author_login, "commit author")
        elif commit.author_email:
            authors.add_email(commit.author_email, None, "commit author")
        if "co-authored-by" in commit.message.lower():
            for trailer in CO_AUTHOR.finditer(commit.message):
                authors.add_email(trailer["email"], trailer["name"] or None, "co-author")
        _add_committer(authors, commit)
    return authors


def _add_committer(authors: Authors, commit: Commit) -> None:
    """Someone who rebased or pushed another's commit wrote what is merged too."""
    login, email = commit.committer_login, commit.committer_email
    if login is not None and login.lower() in GITHUB_COMMITTER_LOGINS:
        return
    if email is not None and email.lower() == GITHUB_COMMITTER_EMAIL:
        return
    if login is not None and login.lower() != (commit.author_login or "").lower():
        authors.add_login(login, "committer")
    elif (
        login is None and email is not None and email.lower() != (commit.author_email or "").lower()
    ):
        authors.add_email(email, None, "committer")
