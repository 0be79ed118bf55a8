"""`coi-bot audit OWNER/REPO`: who can write to the repository, and what GitHub shows about the
map's people, checked against the map. Read-only, with the credentials of `coi-bot check`.

Reads: the repository (its default branch), the map there through `MapSource` (or `--map FILE`),
every collaborator (REST, `affiliation=all`), the profiles of the map's people and of everyone
with write access (GraphQL, 50 logins a query), and the commits of the pull requests updated in
the period (GraphQL, 50 PRs a page, their first 100 commits each). The rules are pure:
`bot.affiliations.audit_rules`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import gidgethub
import gidgethub.abc

from bot.affiliations.audit_rules import (
    SEVERITIES,
    AuditFacts,
    Collaborator,
    EditError,
    Finding,
    MapEdit,
    audit,
    suggestion_diff,
)
from bot.affiliations.evidence import Evidence
from bot.affiliations.index import AffiliationMap
from bot.affiliations.loader import LoadResult, MapError, load_map_file
from bot.dryrun import CheckError, Credentials, connect, parse_repository
from bot.github.auth import AuthError
from bot.github.errors import data_beside_not_found, describe_failure
from bot.github.map_source import OWNER_REPOSITORY, MapSource, MapSourceError, git_blob_sha
from bot.github.queries import AUDIT_PULL_REQUESTS, audit_people_query
from bot.github.times import github_time
from bot.policy.verdict import MapRef
from bot.report import Progress

DEFAULT_SINCE_DAYS = 90
PEOPLE_PER_QUERY = 50
JSON_FORMAT = 1  # bumped when a key of the --json output changes meaning


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
    text: str | None  # the map's text, read for `--suggest`


@dataclass(frozen=True, slots=True)
class AuditResult:
    repository: str
    day: date
    since: date
    audited: AuditedMap
    facts: AuditFacts
    profiles_read: int
    pull_requests_read: int
    findings: tuple[Finding, ...]

    @property
    def status(self) -> int:
        """0 when nothing is above info, 1 otherwise."""
        return 1 if any(f.severity != "info" for f in self.findings) else 0


# --- reading GitHub -----------------------------------------------------------------------------


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
        found.append(Collaborator(login, level, str(item.get("html_url") or "")))
    return tuple(sorted(found, key=lambda c: c.login.lower()))


async def profiles(
    gh: gidgethub.abc.GitHubAPI,
    logins: Sequence[str],
    *,
    endpoint: str,
    progress: Progress | None = None,
) -> tuple[list[Evidence], list[str]]:
    """Profile company and public organizations of each login; and the logins GitHub lacks."""
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
    profile_evidence, unknown = await profiles(gh, logins, endpoint=endpoint, progress=progress)
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
    )
    return facts, len(logins), pulls_read


async def _contents_text(
    gh: gidgethub.abc.GitHubAPI, *, owner: str, repo: str, path: str, ref: str | None
) -> str:
    url_vars = {"owner": owner, "repo": repo, "path": path}
    url = "/repos/{owner}/{repo}/contents/{+path}"
    if ref is not None:
        url += "{?ref}"
        url_vars["ref"] = ref
    content = await gh.getitem(url, url_vars)  # ETag-cached: the map source read it just now
    try:
        return base64.b64decode(content.get("content", "")).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, AttributeError) as error:
        raise MapSourceError(f"{owner}/{repo}:{path} is not UTF-8 text: {error}") from None


async def map_in_force(
    gh: gidgethub.abc.GitHubAPI,
    maps: MapSource,
    *,
    owner: str,
    repo: str,
    bundled_map: Path,
    with_text: bool,
) -> AuditedMap:
    """The map at the repository's default branch, chosen as for a PR into that branch."""
    info = await gh.getitem("/repos/{owner}/{repo}", {"owner": owner, "repo": repo})
    branch = str(info["default_branch"])
    loaded, ref = await maps.map_for(gh, owner=owner, repo=repo, base_ref=branch)
    if loaded.map is None:
        raise AuditMapInvalid(f"{ref.path} ({ref.source})", loaded.errors)
    text: str | None = None
    if with_text and ref.source == "bundled":
        text = await asyncio.to_thread(bundled_map.read_text, encoding="utf-8")
    elif with_text:
        where = (repo, branch) if ref.source == "repository" else (OWNER_REPOSITORY, None)
        text = await _contents_text(
            gh, owner=owner, repo=where[0], path=maps.map_path, ref=where[1]
        )
    return AuditedMap(loaded.map, ref, None, text)


def map_from_file(path: Path, *, map_path: str) -> AuditedMap:
    """`--map FILE`: audited as if it were the repository's map."""
    loaded: LoadResult = load_map_file(path)
    if loaded.map is None:
        raise AuditMapInvalid(str(path), loaded.errors)
    data = path.read_bytes()
    ref = MapRef(path=map_path, blob_sha=git_blob_sha(data), source="repository")
    return AuditedMap(loaded.map, ref, str(path), data.decode("utf-8"))


# --- output -------------------------------------------------------------------------------------


def _map_line(audited: AuditedMap) -> str:
    ref = audited.ref
    if audited.file is not None:
        return f"map: {audited.file} (given with --map)"
    return f"map: {ref.path} ({ref.source}, blob {(ref.blob_sha or '')[:12]})"


def _diff_or_error(text: str | None, edits: Sequence[MapEdit], *, path: str) -> str | None:
    if text is None or not edits:
        return None
    try:
        return suggestion_diff(text, edits, path=path)
    except EditError as error:
        return f"(no diff: {error})\n"


def _path_of(audited: AuditedMap) -> str:
    return audited.file if audited.file is not None else audited.ref.path


_HEADINGS = {"error": "ERRORS", "warning": "WARNINGS", "info": "INFO"}


def _counts(findings: Sequence[Finding]) -> dict[str, int]:
    return {severity: sum(f.severity == severity for f in findings) for severity in SEVERITIES}


def as_text(result: AuditResult, *, suggest: bool) -> str:
    """For a TSC meeting: what was read, then the findings grouped by severity."""
    facts = result.facts
    lines = [
        f"coi-bot audit {result.repository} on {result.day.isoformat()}",
        _map_line(result.audited),
        f"read: {len(facts.collaborators)} people with write access, {result.profiles_read}"
        f" profiles, {result.pull_requests_read} pull requests updated since"
        f" {result.since.isoformat()}",
    ]
    if facts.unknown_accounts:
        unknown = ", ".join(f"@{login}" for login in facts.unknown_accounts)
        lines.append(f"not on GitHub (check the spelling in the map): {unknown}")
    path = _path_of(result.audited)
    for severity in SEVERITIES:
        group = [f for f in result.findings if f.severity == severity]
        if not group:
            continue
        lines += ["", f"{_HEADINGS[severity]} ({len(group)})"]
        for finding in group:
            lines += ["", f"  {finding.message}  [{finding.rule}]"]
            lines += [f"    - {seen.describe()}: {seen.url}" for seen in finding.evidence]
            if finding.fix:
                lines.append(f"    fix: {finding.fix}")
            diff = (
                _diff_or_error(result.audited.text, finding.edits, path=path) if suggest else None
            )
            if diff:
                lines += [f"      {line}" for line in diff.splitlines()]
    counts = _counts(result.findings)
    lines += [
        "",
        ", ".join(
            f"{counts[s]} {s}{'s' if counts[s] != 1 and s != 'info' else ''}" for s in SEVERITIES
        )
        if result.findings
        else "no findings",
    ]
    if suggest:
        patch = _diff_or_error(
            result.audited.text, [e for f in result.findings for e in f.edits], path=path
        )
        if patch:
            lines += ["", "every suggested change together (git apply):", patch.rstrip("\n")]
    return "\n".join(lines) + "\n"


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def as_json_dict(result: AuditResult, *, suggest: bool) -> dict[str, Any]:
    """Stable keys (README, "coi-bot audit"); `diff` and `patch` are null without --suggest."""
    audited = result.audited
    path = _path_of(audited)
    return {
        "format": JSON_FORMAT,
        "repository": result.repository,
        "day": result.day.isoformat(),
        "since": result.since.isoformat(),
        "map": {
            "path": audited.ref.path,
            "blob_sha": audited.ref.blob_sha,
            "source": audited.ref.source,
            "file": audited.file,
        },
        "read": {
            "collaborators": [
                {"login": c.login, "permission": c.permission, "url": c.url}
                for c in result.facts.collaborators
            ],
            "profiles": result.profiles_read,
            "unknown_accounts": list(result.facts.unknown_accounts),
            "pull_requests": result.pull_requests_read,
        },
        "counts": _counts(result.findings),
        "findings": [
            {
                "severity": f.severity,
                "rule": f.rule,
                "person": f.person,
                "message": f.message,
                "evidence": [
                    {"kind": s.kind, "value": s.value, "url": s.url, "description": s.describe()}
                    for s in f.evidence
                ],
                "fix": f.fix,
                "edits": [
                    {"op": e.op, "path": list(e.path), "value": _jsonable(e.value)} for e in f.edits
                ],
                "diff": _diff_or_error(audited.text, f.edits, path=path) if suggest else None,
            }
            for f in result.findings
        ],
        "patch": _diff_or_error(
            audited.text, [e for f in result.findings for e in f.edits], path=path
        )
        if suggest
        else None,
    }


# --- the command --------------------------------------------------------------------------------


async def audit_command(
    repository: str,
    *,
    urls: tuple[str, str],
    since_days: int,
    map_file: Path | None,
    as_json: bool,
    suggest: bool,
    map_path: str,
    bundled_map: Path,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    now: datetime | None = None,
) -> int:
    """`coi-bot audit`: print the findings; 0 when none is above info, 1 otherwise. Raises
    CheckError (exit 2) when it cannot run."""
    stream = out or sys.stdout
    errors = err or sys.stderr
    owner, repo = parse_repository(repository)
    if since_days < 1:
        raise CheckError(f"--since {since_days}: expected a number of days, 1 or more")
    credentials = Credentials.from_env(environ)
    moment = now or datetime.now(UTC)
    since = moment - timedelta(days=since_days)
    api_url, graphql_url = urls
    proposed = map_from_file(map_file, map_path=map_path) if map_file is not None else None
    from bot.report import progress_printer

    progress = progress_printer(errors, unit="people", line="audit: {done}/{total} profiles read")

    def notice(read: int) -> None:
        errors.write(f"audit: {read} pull requests read\n")

    try:
        async with connect(
            credentials, api_url=api_url, graphql_url=graphql_url, owner=owner
        ) as gh:
            audited = proposed or await map_in_force(
                gh,
                MapSource(map_path=map_path, bundled_map=bundled_map),
                owner=owner,
                repo=repo,
                bundled_map=bundled_map,
                with_text=suggest,
            )
            facts, profiles_read, pulls_read = await gather(
                gh,
                audited.map,
                owner=owner,
                repo=repo,
                since=since,
                endpoint=graphql_url,
                progress=progress,
                notice=notice,
            )
    except (gidgethub.GitHubException, aiohttp.ClientError, TimeoutError) as error:
        raise CheckError(describe_failure(error, api_url=api_url)) from None
    except (MapSourceError, AuthError) as error:
        raise CheckError(str(error)) from None
    except OSError as error:  # the bundled map, read again for --suggest
        raise CheckError(f"cannot read the bundled map {bundled_map}: {error.strerror}") from None
    result = AuditResult(
        repository=f"{owner}/{repo}",
        day=moment.date(),
        since=since.date(),
        audited=audited,
        facts=facts,
        profiles_read=profiles_read,
        pull_requests_read=pulls_read,
        findings=audit(audited.map, facts, today=moment.date()),
    )
    if as_json:
        stream.write(json.dumps(as_json_dict(result, suggest=suggest), indent=2) + "\n")
    else:
        stream.write(as_text(result, suggest=suggest))
    return result.status
