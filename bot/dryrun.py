"""`coi-bot check OWNER/REPO#N`: the verdict the check would show, computed without writing.

The same reads as an evaluation (one GraphQL snapshot, the map through its ETag, write-access
look-ups, the candidates' review load) and none of its writes: no check run, no review request,
no reaction, no reply. `--map FILE` judges with a proposed map in place of the one in force.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import gidgethub
import gidgethub.abc

from bot.affiliations.loader import LoadResult, MapError, load_map_file
from bot.affiliations.model import LOGIN_PATTERN
from bot.github.auth import AuthError, GitHubApp
from bot.github.client import RetryPolicy, Sleep, clients_on
from bot.github.errors import describe_failure
from bot.github.map_history import MapHistoryError
from bot.github.map_source import MapSource, MapSourceError, MapTrust, git_blob_sha
from bot.github.snapshot import SnapshotError
from bot.github.votes import OpeningMaps, has_vote_activity, read_vote
from bot.judge import Judge
from bot.metrics import Metrics
from bot.policy.facts import PullRequestFacts
from bot.policy.render import CheckOutput, render
from bot.policy.verdict import MapRef, Verdict
from bot.policy.vote_render import VoteOutput, vote_output
from bot.settings import Secret, SettingsError, private_key_from_env

# GitHub's rules: an owner is spelt like a login; a repository name also allows dots and
# underscores.
_OWNER = LOGIN_PATTERN
_REPO = r"[A-Za-z0-9._-]{1,100}"
_PULL_REQUEST = re.compile(
    rf"^(?P<owner>{_OWNER})/(?P<repo>{_REPO})#(?P<number>[1-9][0-9]{{0,9}})$"
)
_REPOSITORY = re.compile(rf"^(?P<owner>{_OWNER})/(?P<repo>{_REPO})$")


class CheckError(Exception):
    """The command cannot judge anything: bad arguments, credentials or GitHub's answer."""


def parse_pull_request(text: str) -> tuple[str, str, int]:
    """`OWNER/REPO#N` -> (owner, repo, number); anything else is refused with the expected form."""
    match = _PULL_REQUEST.match(text.strip())
    if match is None:
        raise CheckError(f"{text!r} is not a pull request: expected OWNER/REPO#NUMBER")
    return match["owner"], match["repo"], int(match["number"])


def parse_repository(text: str) -> tuple[str, str]:
    match = _REPOSITORY.match(text.strip())
    if match is None:
        raise CheckError(f"{text!r} is not a repository: expected OWNER/REPO")
    return match["owner"], match["repo"]


@dataclass(frozen=True, slots=True)
class Credentials:
    """A plain token (`GITHUB_TOKEN`), or the App's id and private key."""

    token: Secret | None = None
    app_id: str | None = None
    private_key: Secret | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        env = os.environ if environ is None else environ
        if env.get("GITHUB_TOKEN"):
            # With a token, GITHUB_APP_ID (numeric) names the App whose check runs count.
            return cls(token=Secret(env["GITHUB_TOKEN"]), app_id=env.get("GITHUB_APP_ID") or None)
        app_id = env.get("GITHUB_APP_ID")
        try:
            key = private_key_from_env(env) if app_id else None
        except SettingsError as error:
            raise CheckError(str(error)) from None
        if app_id and key:
            return cls(app_id=app_id, private_key=Secret(key))
        raise CheckError(
            "no credentials: set GITHUB_TOKEN (any token that can read the repository), or "
            "GITHUB_APP_ID with GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_FILE"
        )


async def find_installation(app_client: gidgethub.abc.GitHubAPI, owner: str) -> int:
    """The App's installation on `owner`'s account, from the App's own list of installations."""
    installations = app_client.getiter("/app/installations{?per_page}", {"per_page": 100})
    async for installation in installations:
        account = installation.get("account") or {}
        if str(account.get("login", "")).lower() == owner.lower():
            return int(installation["id"])
    raise CheckError(f"the App is not installed on {owner}: install it there, or use GITHUB_TOKEN")


@asynccontextmanager
async def connect(
    credentials: Credentials,
    *,
    api_url: str,
    graphql_url: str,
    owner: str,
    retry: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
) -> AsyncIterator[gidgethub.abc.GitHubAPI]:
    """A client reading as the token's user, or as the App's installation on `owner`."""
    async with connect_app(
        credentials, api_url=api_url, graphql_url=graphql_url, owner=owner, retry=retry, sleep=sleep
    ) as (gh, _):
        yield gh


@asynccontextmanager
async def connect_app(
    credentials: Credentials,
    *,
    api_url: str,
    graphql_url: str,
    owner: str,
    retry: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
) -> AsyncIterator[tuple[gidgethub.abc.GitHubAPI, int | None]]:
    """`connect`, and the App's numeric id: from `GET /app` with the App's key, else from a
    numeric GITHUB_APP_ID beside the token; None when a token comes without it."""
    async with aiohttp.ClientSession() as session:
        metrics = Metrics()

        client = clients_on(
            session,
            metrics=metrics,
            base_url=api_url,
            graphql_url=graphql_url,
            retry=retry,
            sleep=sleep,
        )

        token = credentials.token
        if token is not None:

            async def token_authorization() -> str:
                return f"token {token.reveal()}"

            app_id = credentials.app_id
            if app_id is not None and not app_id.isdigit():
                raise CheckError(
                    f"GITHUB_APP_ID {app_id!r} is not the App's numeric id: with GITHUB_TOKEN, "
                    "give the numeric id (the App's settings page shows it as App ID)"
                )
            yield client(token_authorization), None if app_id is None else int(app_id)
            return
        assert credentials.app_id is not None
        assert credentials.private_key is not None
        app = GitHubApp(
            app_id=credentials.app_id,
            private_key=credentials.private_key,
            client_factory=client,
            metrics=metrics,
        )
        installation_id = await find_installation(app.app_client, owner)
        yield await app.installation_client(installation_id), await app.numeric_id()


def proposed_map_ref(loaded_text: bytes, *, map_path: str) -> MapRef:
    """A proposed map judges as if it were the repository's map at `map_path`."""
    return MapRef(path=map_path, blob_sha=git_blob_sha(loaded_text), source="repository")


Proposed = tuple[LoadResult, MapRef, str]  # a `--map` file: its map, its ref, its name


@dataclass(frozen=True, slots=True)
class DryRun:
    facts: PullRequestFacts
    verdict: Verdict
    output: CheckOutput
    map_ref: MapRef
    would_request: tuple[str, ...]  # whom the App would ask now
    pending: tuple[str, ...]  # eligible reviewers already asked
    no_candidate: bool  # a review is needed and nobody eligible is left
    proposed_map: str | None  # the local file judged with, when `--map` was given
    vote: VoteOutput | None = None  # the TSC vote this PR holds, as its check run would show it

    @property
    def passes(self) -> bool:
        return self.verdict.conclusion == "success"


async def dry_run(
    gh: gidgethub.abc.GitHubAPI,
    judge: Judge,
    *,
    owner: str,
    repo: str,
    number: int,
    now: datetime,
    proposed: Proposed | None = None,
) -> DryRun:
    """Judge one PR as an evaluation would, writing nothing. `proposed`: (map, ref, file)."""
    chosen = proposed[:2] if proposed is not None else None
    judged = await judge.judge(
        gh, owner=owner, repo=repo, number=number, now=now, chosen_map=chosen
    )
    plan = judged.plan
    vote = None
    if judged.map is not None and has_vote_activity(judged.facts, judged.map):
        verdict = judged.verdict
        reading = await read_vote(
            gh,
            judged.facts,
            judged.map,
            map_ref=judged.map_ref,
            declared={judged.map.key_of(d.login): d for d in verdict.declarations},
            now=now,
            map_path=judge.maps.map_path,
            endpoint=judge.graphql_url,
            opening_maps=OpeningMaps(judge.maps),
            default_branch=judged.snapshot.default_branch or None,
        )
        if reading.state.tally is not None:
            vote = vote_output(reading.state, reading.map)
    output = render(
        judged.verdict,
        check_name=judged.check_name,
        requested=plan.shown,
        no_candidate=plan.no_candidate,
        waiting_on=plan.waiting_on,
    )
    return DryRun(
        judged.facts,
        judged.verdict,
        output,
        judged.map_ref,
        plan.ask,
        plan.pending,
        plan.no_candidate,
        proposed[2] if proposed is not None else None,
        vote,
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _evidence_json(verdict: Verdict) -> dict[str, Any]:
    return {
        "policy": verdict.evidence,
        "contradictions": [
            {
                "login": c.login,
                "map_says": c.map_says,
                "github_shows": list(c.github_shows),
                "company": c.company,
                "fix": c.fix,
            }
            for c in verdict.contradictions
        ],
    }


def as_json_dict(result: DryRun) -> dict[str, Any]:
    """Everything a script needs to act on the verdict, in stable keys."""
    verdict = result.verdict
    names = dict(verdict.company_names)

    def companies(ids: tuple[str, ...]) -> list[dict[str, str]]:
        return [{"id": c, "name": names.get(c, c)} for c in ids]

    protected = verdict.protected
    return {
        "pull_request": verdict.slug,
        "state": result.facts.state,
        "head_sha": verdict.head_sha,
        "conclusion": verdict.conclusion,
        "passes": result.passes,
        "title": result.output.title,
        "reasons": list(verdict.reasons),
        "major": verdict.classification.major,
        "major_reasons": list(verdict.classification.reasons),
        "authors": [
            {
                "display": author.display,
                "login": author.login,
                "known": author.known,
                "roles": list(author.roles),
                "companies": companies(author.companies),
                "shown_by": author.shown_by,  # set when GitHub, not the map, placed them
            }
            for author in verdict.authors
        ],
        "approvals": [
            {
                "reviewer": approval.reviewer,
                "submitted_at": _iso(approval.submitted_at),
                "commit_sha": approval.commit_sha,
                "companies": companies(approval.companies),
                "tsc": approval.tsc,
                "counted": approval.counted,
                "why_not": approval.why_not,
                "stale": approval.stale,
                "shown_by": approval.shown_by,
            }
            for approval in verdict.approvals
        ],
        "independent_approvals": {
            "required": verdict.independent_required,
            "counted": verdict.independent_count,
            "missing": verdict.missing,
            "needs_review": verdict.needs_independent_review,
        },
        "protected": None
        if protected is None
        else {
            "files": list(protected.files),
            "required_companies": protected.required_companies,
            "approving_companies": list(protected.approving_companies),
            "satisfied": protected.satisfied,
        },
        "declarations": [
            {"login": d.login, "by": d.by, "reason": d.reason} for d in verdict.declarations
        ],
        # Logins the map's ids disagree with: a renamed member, or a login now another's.
        "accounts": [
            {
                "login": note.login,
                "id": note.account_id,
                "person": note.person,
                "map_id": note.map_id,
                "renamed": note.renamed,
            }
            for note in verdict.accounts
        ],
        "map": {
            "path": result.map_ref.path,
            "blob_sha": result.map_ref.blob_sha,
            "source": result.map_ref.source,
            "branch": result.map_ref.branch,  # the default branch, whatever the PR's base
            "unread_owner": result.map_ref.unread_owner,  # "owner/.github" the App cannot read
            "proposed_file": result.proposed_map,
            "held": None
            if result.map_ref.held is None
            else {
                "commit": result.map_ref.held.commit_sha,
                "url": result.map_ref.held.commit_url,
            },
        },
        "evidence": _evidence_json(verdict),
        "vote": None
        if result.vote is None
        else {
            "status": result.vote.status,
            "conclusion": result.vote.conclusion,
            "title": result.vote.title,
            "summary": result.vote.summary,
        },
        "map_errors": [str(error) for error in verdict.map_errors],
        "head_map_errors": [str(error) for error in verdict.head_map_errors],
        "would_request": list(result.would_request),
        "pending_requests": list(result.pending),
        "no_candidate": result.no_candidate,
        "summary": result.output.summary,
    }


_CONCLUSION_WORDS = {
    "success": "PASS",
    "action_required": "ACTION REQUIRED",
    "neutral": "NEUTRAL (advisory)",
    "failure": "FAILURE",
    "in_progress": "WAITING for an approval to judge",
}


def as_text(result: DryRun) -> str:
    """For a terminal: the headline, which map decided, then the check's Markdown as is."""
    verdict = result.verdict
    ref = result.map_ref
    lines = [
        f"{verdict.slug}: {_CONCLUSION_WORDS[verdict.conclusion]}: {result.output.title}",
    ]
    if result.facts.state != "OPEN":
        lines.append(f"(the pull request is {result.facts.state.lower()}: judged as of now)")
    if result.proposed_map is not None:
        lines.append(f"map: proposed {result.proposed_map} (as {ref.path}, blob {ref.blob_sha})")
    else:
        lines.append(f"map: {ref.path} ({ref.source}, blob {ref.blob_sha})")
    if result.would_request:
        lines.append(
            "would request review from: " + ", ".join(f"@{r}" for r in result.would_request)
        )
    elif result.pending:
        lines.append("review pending from: " + ", ".join(f"@{r}" for r in result.pending))
    lines.append("dry run: nothing was written to GitHub")
    lines.append("")
    lines.append(result.output.summary.rstrip())
    if result.vote is not None:
        shown = [line for line in result.vote.summary.splitlines() if not line.startswith("<!--")]
        lines += ["", f"TSC vote: {result.vote.title}", "", "\n".join(shown).rstrip()]
    return "\n".join(lines) + "\n"


class ProposedMapInvalid(CheckError):
    """The `--map` file has errors: each is `FILE:LINE:COL: message`."""

    def __init__(self, path: Path, errors: tuple[MapError, ...]) -> None:
        super().__init__(f"{path}: {len(errors)} error(s)")
        self.errors = errors


def load_proposed(path: Path, *, map_path: str) -> Proposed:
    """The `--map` file, judged as if it were the repository's map at `map_path`."""
    loaded = load_map_file(path)
    if loaded.map is None:
        raise ProposedMapInvalid(path, loaded.errors)
    return loaded, proposed_map_ref(path.read_bytes(), map_path=map_path), str(path)


async def check_command(
    pull_request: str,
    *,
    urls: tuple[str, str],
    proposed: Proposed | None,
    as_json: bool,
    map_path: str,
    bundled_map: Path,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    now: datetime | None = None,
) -> int:
    """`coi-bot check`: print the verdict; 0 when it passes, 1 when not (see CHECK_EPILOG)."""
    stream = out or sys.stdout
    owner, repo, number = parse_pull_request(pull_request)
    credentials = Credentials.from_env(environ)
    api_url, graphql_url = urls
    try:
        async with connect_app(
            credentials, api_url=api_url, graphql_url=graphql_url, owner=owner
        ) as (gh, app_id):
            maps = MapSource(
                map_path=map_path,
                bundled_map=bundled_map,
                # The map in force as the App sees it: an unreviewed change is held here too.
                trust=MapTrust(graphql_url=graphql_url, app_id=app_id),
            )
            judge = Judge(maps=maps, graphql_url=graphql_url, app_id=app_id)
            result = await dry_run(
                gh,
                judge,
                owner=owner,
                repo=repo,
                number=number,
                now=now or datetime.now(UTC),
                proposed=proposed,
            )
    except (gidgethub.GitHubException, aiohttp.ClientError, TimeoutError) as error:
        raise CheckError(describe_failure(error, api_url=api_url)) from None
    except (SnapshotError, MapSourceError, MapHistoryError, AuthError) as error:
        raise CheckError(str(error)) from None
    if as_json:
        stream.write(json.dumps(as_json_dict(result), indent=2) + "\n")
    else:
        stream.write(as_text(result))
    return 0 if result.passes else 1
