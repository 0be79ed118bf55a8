"""`coi-bot audit OWNER/REPO`: who can write to the repository, and what GitHub shows about the
map's people, checked against the map; with `--history`, how every change of the map and of the
protected files landed. Read-only, with the credentials of `coi-bot check`.

Reading is `bot.audit_github` (the map read once, through `MapSource`), judging the pure rules
(`bot.affiliations.audit_rules`, `bot.policy.trust`), printing `bot.audit_output`; this module
runs them in order, as `report.py` and `dryrun.py` do on `judge.py`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

import aiohttp
import gidgethub

from bot.affiliations.audit_rules import audit
from bot.audit_github import (
    AuditMapInvalid,
    default_branch,
    gather,
    map_from_file,
    map_in_force,
    read_changes,
)
from bot.audit_output import AuditResult, as_json_dict, as_text
from bot.dryrun import CheckError, Credentials, connect_app, parse_repository
from bot.github.auth import AuthError
from bot.github.errors import describe_failure
from bot.github.map_history import MapHistoryError
from bot.github.map_source import MapSource, MapSourceError
from bot.policy.trust import history_findings

__all__ = ["AuditMapInvalid", "audit_command"]


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
    history: bool = False,
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
    maps = MapSource(map_path=map_path, bundled_map=bundled_map)
    from bot.report import progress_printer

    progress = progress_printer(errors, unit="people", line="audit: {done}/{total} profiles read")

    def notice(read: int) -> None:
        errors.write(f"audit: {read} pull requests read\n")

    changes = None
    try:
        # The App's own check runs, found by its numeric id (asked of GitHub with the App's key);
        # a token without GITHUB_APP_ID reads runs of any App of the name.
        async with connect_app(
            credentials, api_url=api_url, graphql_url=graphql_url, owner=owner
        ) as (gh, app_id):
            branch = await default_branch(gh, owner=owner, repo=repo)
            audited = proposed or await map_in_force(
                gh, maps, owner=owner, repo=repo, branch=branch
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
            if history:
                changes = await read_changes(
                    gh,
                    audited,
                    owner=owner,
                    repo=repo,
                    branch=branch,
                    since=since,
                    endpoint=graphql_url,
                    app_id=app_id,
                    maps=maps,
                    day=moment.date(),
                )
    except (gidgethub.GitHubException, aiohttp.ClientError, TimeoutError) as error:
        raise CheckError(describe_failure(error, api_url=api_url)) from None
    except (MapSourceError, MapHistoryError, AuthError) as error:
        raise CheckError(str(error)) from None
    findings = audit(audited.map, facts, today=moment.date())
    if changes is not None:
        map_paths = [audited.ref.path, f"{owner}/.github:{audited.ref.path}"]
        findings = history_findings(changes, map_paths=map_paths) + findings
    result = AuditResult(
        repository=f"{owner}/{repo}",
        day=moment.date(),
        since=since.date(),
        audited=audited,
        facts=facts,
        profiles_read=profiles_read,
        pull_requests_read=pulls_read,
        findings=findings,
        history=changes,
    )
    if as_json:
        stream.write(json.dumps(as_json_dict(result, suggest=suggest), indent=2) + "\n")
    else:
        stream.write(as_text(result, suggest=suggest))
    return result.status
