"""What `coi-bot audit` reads from GitHub: who can write, what profiles and commits show, the map
in force (once, through `MapSource`), and with `--history` how each change of the map and of the
protected files landed. Reading only: the rules are `bot.affiliations.audit_rules` and
`bot.policy.trust`, the output `bot.audit_output`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import gidgethub
import gidgethub.abc

from bot.affiliations.audit_rules import AuditFacts, Collaborator
from bot.affiliations.evidence import Evidence
from bot.affiliations.index import AffiliationMap
from bot.affiliations.loader import LoadResult, MapError, load_map_file
from bot.affiliations.model import DEFAULT_CHECK_NAME, MapDocument
from bot.dryrun import CheckError
from bot.github.errors import data_beside_not_found
from bot.github.map_history import OWNER_REPOSITORY, read_map_history
from bot.github.map_source import MapSource, git_blob_sha
from bot.github.queries import AUDIT_PULL_REQUESTS, MAP_AT_COMMIT, audit_people_query
from bot.github.times import github_time
from bot.policy.trust import (
    LandedChange,
    MapCommit,
    bootstrap_commit,
    how_it_landed,
    map_changes,
)
from bot.policy.verdict import MapRef
from bot.report import Progress

PEOPLE_PER_QUERY = 50


class AuditMapInvalid(CheckError):
    """The map to audit has errors: each is `FILE:LINE:COL: message`."""

    def __init__(self, where: str, errors: tuple[MapError, ...]) -> None:
        super().__init__(f"{where}: {len(errors)} error(s)")
        self.errors = errors


@dataclass(frozen=True, slots=True)
class AuditedMap:
    map: AffiliationMap
    ref: MapRef
    file: str | None  # the local file, for `--map`
    text: str | None  # the text judged, for `--suggest`; None when it could not be kept


def write_level(permissions: Mapping[str, Any]) -> str | None:
    """The highest of admin, maintain, write an account holds, from REST's `permissions`."""
    for level, key in (("admin", "admin"), ("maintain", "maintain"), ("write", "push")):
        if permissions.get(key):
            return level
    return None


async def write_collaborators(
    gh: gidgethub.abc.GitHubAPI, *, owner: str, repo: str
) -> tuple[Collaborator, ...]:
    """Everyone with write access or more: direct, through teams and through the organization.

    https://docs.github.com/en/rest/collaborators/collaborators#list-repository-collaborators
    """
    found: list[Collaborator] = []
    items = gh.getiter(
        "/repos/{owner}/{repo}/collaborators{?affiliation,per_page}",
        {"owner": owner, "repo": repo, "affiliation": "all", "per_page": 100},
    )
    async for item in items:
        level = write_level(item.get("permissions") or {})
        if level is None or item.get("type") == "Bot":
            continue
        login = str(item["login"])
        account_id = item.get("id") if type(item.get("id")) is int else None
        found.append(Collaborator(login, level, str(item.get("html_url") or ""), account_id))
    return tuple(sorted(found, key=lambda c: c.login.lower()))


async def profiles(
    gh: gidgethub.abc.GitHubAPI,
    logins: Sequence[str],
    *,
    endpoint: str,
    progress: Progress | None = None,
    ids: dict[str, int] | None = None,
) -> tuple[list[Evidence], list[str]]:
    """Profile company and public organizations of each login; and the logins GitHub lacks.
    `ids`: filled with each account's numeric id, by login."""
    evidence: list[Evidence] = []
    unknown: list[str] = []
    for start in range(0, len(logins), PEOPLE_PER_QUERY):
        batch = logins[start : start + PEOPLE_PER_QUERY]
        variables = {f"u{index}": login for index, login in enumerate(batch)}
        try:
            data = await gh.graphql(audit_people_query(len(batch)), endpoint=endpoint, **variables)
        except gidgethub.QueryError as error:
            data = data_beside_not_found(error)
        for index, login in enumerate(batch):
            node = data.get(f"u{index}")
            if not isinstance(node, dict):
                unknown.append(login)
                continue
            if ids is not None and type(node.get("databaseId")) is int:
                ids[login] = node["databaseId"]
            profile = str(node.get("url") or "")
            company = node.get("company")
            if isinstance(company, str) and company.strip():
                evidence.append(Evidence(login, "profile_company", company.strip(), profile))
            for org in (node.get("organizations") or {}).get("nodes") or []:
                if org and org.get("login"):
                    url = str(org.get("url") or profile)
                    evidence.append(Evidence(login, "org_member", str(org["login"]), url))
        if progress is not None:
            progress(min(start + PEOPLE_PER_QUERY, len(logins)), len(logins))
    return evidence, unknown


async def commit_emails(
    gh: gidgethub.abc.GitHubAPI,
    amap: AffiliationMap,
    *,
    owner: str,
    repo: str,
    since: datetime,
    endpoint: str,
    wanted: Callable[[str], bool],
    notice: Callable[[int], None] | None = None,
) -> tuple[list[Evidence], int]:
    """The author emails of the commits of PRs updated since `since`, by author (their GitHub
    account, else the map's owner of the email), for the logins `wanted` accepts; and the
    number of PRs read. Newest-updated first: a page with no PR that recent is the last."""
    evidence: list[Evidence] = []
    read = 0
    after: str | None = None
    while True:
        data = await gh.graphql(
            AUDIT_PULL_REQUESTS, endpoint=endpoint, owner=owner, name=repo, after=after
        )
        pulls = ((data.get("repository") or {}).get("pullRequests")) or {}
        recent = False
        for pull in pulls.get("nodes") or []:
            if github_time(pull["updatedAt"]) < since:
                continue
            recent = True
            read += 1
            for node in (pull.get("commits") or {}).get("nodes") or []:
                commit = node.get("commit") or {}
                author = commit.get("author") or {}
                email = author.get("email")
                if not email:
                    continue
                login = (author.get("user") or {}).get("login") or amap.login_of_email(email)
                if login and wanted(login):
                    url = str(commit.get("url") or pull.get("url") or "")
                    evidence.append(Evidence(login, "commit_email", str(email), url))
        page = pulls.get("pageInfo") or {}
        if not recent or not page.get("hasNextPage"):
            return evidence, read
        after = page["endCursor"]
        if notice is not None:
            notice(read)


def _first_of_each(items: Iterable[Evidence]) -> tuple[Evidence, ...]:
    """One piece of evidence per (person, kind, value): the first seen (the newest commit)."""
    seen: dict[tuple[str, str, str], Evidence] = {}
    for item in items:
        seen.setdefault((item.login.lower(), item.kind, item.value.lower()), item)
    return tuple(seen.values())


def people_to_read(amap: AffiliationMap, collaborators: Iterable[Collaborator]) -> list[str]:
    """Every login of the map's people, then those with write access the map lacks; no bots."""
    logins: dict[str, str] = {}
    for key, person in amap.document.people.items():
        for login in (key, *person.logins):
            logins.setdefault(login.lower(), login)
    for collaborator in collaborators:
        logins.setdefault(collaborator.login.lower(), collaborator.login)
    return [login for login in logins.values() if not amap.is_bot(login)]


async def gather(
    gh: gidgethub.abc.GitHubAPI,
    amap: AffiliationMap,
    *,
    owner: str,
    repo: str,
    since: datetime,
    endpoint: str,
    progress: Progress | None = None,
    notice: Callable[[int], None] | None = None,
) -> tuple[AuditFacts, int, int]:
    """What the rules need from GitHub; and how many profiles and PRs were read."""
    collaborators = await write_collaborators(gh, owner=owner, repo=repo)
    logins = people_to_read(amap, collaborators)
    account_ids = {c.login: c.id for c in collaborators if c.id is not None}
    profile_evidence, unknown = await profiles(
        gh, logins, endpoint=endpoint, progress=progress, ids=account_ids
    )
    writers = {c.login.lower() for c in collaborators}
    commits, pulls_read = await commit_emails(
        gh,
        amap,
        owner=owner,
        repo=repo,
        since=since,
        endpoint=endpoint,
        wanted=lambda login: amap.is_known(login) or login.lower() in writers,
        notice=notice,
    )
    facts = AuditFacts(
        collaborators=collaborators,
        evidence=_first_of_each([*profile_evidence, *commits]),
        unknown_accounts=tuple(unknown),
        account_ids=account_ids,
    )
    return facts, len(logins), pulls_read


async def default_branch(gh: gidgethub.abc.GitHubAPI, *, owner: str, repo: str) -> str:
    info = await gh.getitem("/repos/{owner}/{repo}", {"owner": owner, "repo": repo})
    return str(info["default_branch"])


async def map_in_force(
    gh: gidgethub.abc.GitHubAPI, maps: MapSource, *, owner: str, repo: str, branch: str
) -> AuditedMap:
    """The map in force, the default branch's (as for every PR), read once: its text is the one
    judged and the one `--suggest` edits."""
    loaded, ref = await maps.map_for(gh, owner=owner, repo=repo, branch=branch)
    if loaded.map is None:
        raise AuditMapInvalid(f"{ref.path} ({ref.source})", loaded.errors)
    return AuditedMap(loaded.map, ref, None, maps.text_of(ref))


def map_from_file(path: Path, *, map_path: str) -> AuditedMap:
    """`--map FILE`: audited as if it were the repository's map."""
    loaded: LoadResult = load_map_file(path)
    if loaded.map is None:
        raise AuditMapInvalid(str(path), loaded.errors)
    data = path.read_bytes()
    ref = MapRef(path=map_path, blob_sha=git_blob_sha(data), source="repository")
    return AuditedMap(loaded.map, ref, str(path), data.decode("utf-8"))


# --- how each change landed (--history) ---------------------------------------------------------


async def _map_text(
    gh: gidgethub.abc.GitHubAPI, *, owner: str, repo: str, oid: str, path: str, endpoint: str
) -> str | None:
    data = await gh.graphql(
        MAP_AT_COMMIT, endpoint=endpoint, owner=owner, name=repo, oid=oid, mapPath=path
    )
    commit = ((data or {}).get("repository") or {}).get("object") or {}
    text = ((commit.get("mapFile") or {}).get("object") or {}).get("text")
    return text if isinstance(text, str) else None


async def read_changes(
    gh: gidgethub.abc.GitHubAPI,
    audited: AuditedMap,
    *,
    owner: str,
    repo: str,
    branch: str,
    since: datetime,
    endpoint: str,
    app_id: int | None,
    maps: MapSource,
    day: date,
) -> tuple[LandedChange, ...]:
    """Every change since `since` of the map and of the protected files on `branch`, newest
    first, each with how it landed (one history read per file, the last 30 changes each) and,
    for the map, what changed in it (one text read per version)."""
    amap = audited.map
    # The map's history where it lives (here, or the owner's `.github`), then the protected files.
    targets: list[tuple[str, str, str, bool]] = []
    if audited.ref.source == "repository":
        targets.append((repo, branch, maps.map_path, True))
    elif audited.ref.source == "owner":
        targets.append((OWNER_REPOSITORY, "HEAD", maps.map_path, True))
    for path in amap.policy.protected_files:
        if (repo, branch, path, True) not in targets:
            targets.append((repo, branch, path, False))
    check_name = amap.policy.check_name or DEFAULT_CHECK_NAME
    found: list[LandedChange] = []
    for where, rev, path, is_map in targets:
        read = await read_map_history(
            gh,
            owner=owner,
            repo=where,
            rev=rev,
            branch=None if rev == "HEAD" else rev,
            map_path=path,
            check_name=check_name,
            app_id=app_id,
            endpoint=endpoint,
        )
        # Only a repository's own map can have been governed by the owner's before it.
        governed = is_map and where != OWNER_REPOSITORY
        first = bootstrap_commit(read.history, owner_repository=not governed)
        commits = read.history.commits
        texts: dict[str, str | None] = {}
        for index, commit in enumerate(commits):
            if commit.committed_at < since:
                break
            changes = None
            if is_map:
                older = commits[index + 1] if index + 1 < len(commits) else None
                before = await _document_at(gh, older, texts, owner, where, endpoint, maps)
                after = await _document_at(gh, commit, texts, owner, where, endpoint, maps)
                changes = map_changes(before, after)
            shown = path if where == repo else f"{owner}/{where}:{path}"
            found.append(
                how_it_landed(
                    commit,
                    path=shown,
                    bootstrap=first is not None and first.oid == commit.oid,
                    amap=amap,
                    day=day,
                    changes=changes,
                )
            )
    found.sort(key=lambda change: change.commit.committed_at, reverse=True)
    return tuple(found)


async def _document_at(
    gh: gidgethub.abc.GitHubAPI,
    commit: MapCommit | None,
    texts: dict[str, str | None],
    owner: str,
    repo: str,
    endpoint: str,
    maps: MapSource,
) -> MapDocument | None:
    """The map document at `commit`, read once per blob; None when absent or invalid."""
    if commit is None or commit.blob_sha is None:
        return None
    if commit.blob_sha not in texts:
        texts[commit.blob_sha] = await _map_text(
            gh, owner=owner, repo=repo, oid=commit.oid, path=maps.map_path, endpoint=endpoint
        )
    text = texts[commit.blob_sha]
    loaded = maps.parsed(commit.blob_sha, text) if text is not None else None
    return loaded.map.document if loaded is not None and loaded.map is not None else None
