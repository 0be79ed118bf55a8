"""`GitHubSimulator`: the state, the HTTP server (REST + GraphQL) and the webhook sender."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import aiohttp
import jwt
from aiohttp import web

from githubsim.accounts import rename_in_repository, rename_in_teams
from githubsim.cost import MAX_NODES
from githubsim.graphql_api import GraphQLApi
from githubsim.rest import (
    DOCS,
    HttpError,
    Reply,
    RestApi,
    RestRequest,
    match_route,
)
from githubsim.shapes import Json, Shapes
from githubsim.state import (
    PERMISSION_LEVELS,
    CheckRun,
    CheckSuite,
    Comment,
    CommentDeletion,
    Commit,
    ContentEdit,
    Delivery,
    GitIdentity,
    IdSequence,
    Installation,
    InstallationToken,
    Issue,
    Label,
    LabelEvent,
    MergeGroup,
    PullRequest,
    Reaction,
    Repository,
    Review,
    ReviewRequestEvent,
    Team,
    Thread,
    User,
    iso,
    node_id,
)

RestValidator = Callable[[RestRequest], Sequence[str]]
GraphQLValidator = Callable[[str], Sequence[str]]
Clock = Callable[[], datetime]

RATE_LIMIT = {"core": 5000, "graphql": 5000, "search": 30}
JWT_MAX_LIFETIME = 600  # seconds: GitHub refuses an `exp` more than 10 minutes ahead
JWT_CLOCK_DRIFT = 60  # seconds of clock drift tolerated on `iat`
WEBHOOK_TIMEOUT = 10.0  # GitHub gives up on a delivery after 10 s
REVIEW_STATES = ("APPROVED", "CHANGES_REQUESTED", "COMMENTED")


@dataclass(frozen=True)
class Call:
    """One request the simulator answered."""

    method: str
    path: str
    operation_id: str | None
    status: int
    kind: str  # "rest" | "graphql"
    query_name: str | None = None
    points: int = 0  # charged against the primary limit: GraphQL by its cost, REST 1, a 304 0
    at: float = 0.0  # the simulator's clock (epoch seconds) when answered


@dataclass
class _InjectedFailure:
    status: int
    times: int
    headers: dict[str, str]
    message: str


def _system_clock() -> datetime:
    return datetime.now(UTC)


class GitHubSimulator:
    """A stateful GitHub: see the package docstring (`githubsim`) for the full API."""

    def __init__(
        self,
        *,
        app_id: int,
        app_public_key_pem: str,
        webhook_secret: str,
        webhook_url: str | None = None,
        bot_login: str = "coi-bot[bot]",
        app_slug: str | None = None,
        request_validator: RestValidator | None = None,
        graphql_validator: GraphQLValidator | None = None,
        clock: Clock | None = None,
        web_url: str = "https://github.com",
        echo_app_events: bool = True,
        emit_check_suites: bool = True,
    ) -> None:
        self.app_id = app_id
        # GitHub gives every App a client ID beside its numeric id; either may sign the App's JWT.
        self.client_id = f"Iv1.{app_id:016x}"
        self.app_slug = app_slug or bot_login.removesuffix("[bot]")
        self._public_key = app_public_key_pem
        self._webhook_secret = webhook_secret.encode()
        self.webhook_url = webhook_url
        self.bot_login = bot_login
        self.request_validator = request_validator
        self.graphql_validator = graphql_validator
        self.clock: Clock = clock or _system_clock
        self.web_url = web_url.rstrip("/")
        self.echo_app_events = echo_app_events
        self.emit_check_suites = emit_check_suites
        self.url = ""
        self.graphql_url = ""
        self.shapes = Shapes(
            api_url="", web_url=self.web_url, app_id=app_id, app_slug=self.app_slug
        )

        self.next_id = IdSequence(1_000_000)
        self._installation_ids = IdSequence(40_000_000)
        self._delivery_ids = IdSequence(90_000_000_000)
        self.users: dict[str, User] = {}
        self.orgs: set[str] = set()
        self.org_members: dict[str, set[str]] = {}
        self.teams: dict[tuple[str, str], Team] = {}
        self.repos: dict[str, Repository] = {}
        self.user_tokens: dict[str, str] = {}  # token -> login (see user_token)
        self.installations: dict[int, Installation] = {}
        self.tokens: dict[str, InstallationToken] = {}
        self.token_scopes: dict[str, frozenset[str] | None] = {}
        self.tokens_minted = 0
        self.check_run_store: dict[int, CheckRun] = {}
        self.suites: dict[int, CheckSuite] = {}
        self.merge_queues: dict[tuple[str, str], list[MergeGroup]] = {}  # (repo, base) -> entries
        # Branch protection's required status checks, by repository (see `merge_blockers`).
        self.required_checks: dict[str, tuple[str, ...]] = {}
        self.deliveries: list[Delivery] = []
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self._rate_used: dict[tuple[str, str], tuple[int, int]] = {}
        self._failures: dict[str, list[_InjectedFailure]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._rest = RestApi(self)
        self._graphql = GraphQLApi(self)

        self.app_owner = self.add_user(f"{self.app_slug}-owner")
        self.add_user(bot_login, bot=True)

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(client_max_size=30 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        self.url = f"http://{host}:{bound_port}"
        self.graphql_url = f"{self.url}/graphql"
        self.shapes = Shapes(
            api_url=self.url, web_url=self.web_url, app_id=self.app_id, app_slug=self.app_slug
        )
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT))

    async def close(self) -> None:
        await self.settle()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> GitHubSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Run work in the background (as GitHub delivers asynchronously), tracked for `settle`."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait until every background delivery has been answered."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    def now(self) -> datetime:
        return self.clock()

    # --- seeding ----------------------------------------------------------------------------

    def add_user(
        self,
        login: str,
        *,
        email: str | None = None,
        bot: bool = False,
        name: str | None = None,
        company: str | None = None,
    ) -> User:
        existing = self.users.get(login)
        if existing is not None:
            existing.email = email or existing.email
            existing.name = name or existing.name
            existing.company = company or existing.company
            return existing
        user_id = self.next_id()
        user = User(
            login=login,
            id=user_id,
            node_id=node_id("Bot" if bot else "User", user_id),
            email=email,
            name=name,
            bot=bot,
            company=company,
        )
        self.users[login] = user
        return user

    def set_profile(
        self,
        login: str,
        *,
        company: str | None = None,
        organizations: Iterable[str] | None = None,
    ) -> User:
        """Set what a profile shows: `company` (None clears it) and, when given, the public orgs.

        Each listed organization is created if missing and the user joins it publicly; orgs left
        out of a new list keep the membership but it is no longer public.
        """
        user = self._require_user(login)
        user.company = company
        if organizations is not None:
            public = list(dict.fromkeys(organizations))
            for org in public:
                self.add_org(org, members=[user.login])
            user.public_orgs = public
        return user

    def rename_user(self, old: str, new: str) -> User:
        """Rename a user as its owner can on GitHub: the same account (id, node id, every act
        now shown under `new`); the old login is free, and `add_user(old)` registers it anew
        as another account with another id."""
        user = self._require_user(old)
        if user.bot or old in self.orgs:
            raise ValueError(f"{old!r} is not a user account: only users are renamed here")
        if self.canonical_login(new) is not None:
            raise ValueError(f"login {new!r} is taken (logins ignore case)")
        del self.users[old]
        user.login = new
        self.users[new] = user
        for repo in self.repos.values():
            rename_in_repository(repo, old, new)
        rename_in_teams(self.teams.values(), self.org_members.values(), old, new)
        for token, login in list(self.user_tokens.items()):
            if login == old:
                self.user_tokens[token] = new
        for installation in self.installations.values():
            if installation.account == old:
                installation.account = new
        return user

    def add_org(self, org: str, *, members: Iterable[str] = ()) -> None:
        self.add_user(org)
        self.orgs.add(org)
        self.org_members.setdefault(org, set())
        for login in members:
            self._require_user(login)
            self.org_members[org].add(login)

    def add_team(
        self,
        org: str,
        slug: str,
        *,
        members: Iterable[str] = (),
        maintainers: Iterable[str] = (),
        name: str | None = None,
    ) -> Team:
        if org not in self.orgs:
            self.add_org(org)
        team_id = self.next_id()
        team = Team(team_id, node_id("Team", team_id), org, slug, name or slug)
        for login in members:
            self._require_user(login)
            team.members[login] = "member"
            self.org_members[org].add(login)
        for login in maintainers:
            self._require_user(login)
            team.members[login] = "maintainer"
            self.org_members[org].add(login)
        self.teams[(org.lower(), slug.lower())] = team
        return team

    def add_installation(self, account: str, *, installation_id: int | None = None) -> int:
        if account not in self.users:
            self.add_user(account)
        inst_id = installation_id or self._installation_ids()
        if inst_id in self.installations:
            raise ValueError(f"installation {inst_id} already exists")
        self.installations[inst_id] = Installation(inst_id, account, self.now())
        return inst_id

    def issue_token(self, owner: str, *, lifetime: timedelta = timedelta(hours=1)) -> str:
        """A token of the installation on `owner`, as a CI job's `GITHUB_TOKEN` is one.

        For people's tools (`coi-bot check`, `report`) pointed at a running simulator: GitHub
        mints such tokens for the App only, so handing one out needs no JWT here.
        """
        installation = next(
            (i for i in self.installations.values() if i.account.lower() == owner.lower()), None
        )
        if installation is None:
            raise KeyError(f"the App is not installed on {owner}")
        token = "ghs_" + secrets.token_hex(18)
        self.tokens[token] = InstallationToken(token, installation.id, self.now() + lifetime)
        return token

    def add_repo(
        self,
        owner: str,
        name: str,
        *,
        files: Mapping[str, str] | None = None,
        default_branch: str = "main",
        private: bool = False,
    ) -> Repository:
        full_name = f"{owner}/{name}"
        if full_name.lower() in self.repos:
            raise ValueError(f"repository {full_name} already exists")
        owner_user = self.users.get(owner) or self.add_user(owner)
        repo_id = self.next_id()
        repo = Repository(
            owner=owner,
            name=name,
            id=repo_id,
            node_id=node_id("Repository", repo_id),
            default_branch=default_branch,
            created_at=self.now(),
            private=private,
        )
        if owner not in self.orgs:
            repo.permissions[owner_user.login] = "admin"
        self.repos[full_name.lower()] = repo
        commit = self._commit(repo, {}, dict(files or {}), author=owner, message="Initial commit")
        repo.branches[default_branch] = commit.sha
        return repo

    def set_permission(self, repo: str, login: str, permission: str) -> None:
        if permission not in PERMISSION_LEVELS:
            raise ValueError(f"unknown permission {permission!r}: use one of {PERMISSION_LEVELS}")
        self._require_user(login)
        self._repo(repo).permissions[login] = permission

    # --- lookups used by the REST and GraphQL layers ------------------------------------

    def find_repo(self, owner: str, name: str) -> Repository | None:
        return self.repos.get(f"{owner}/{name}".lower())

    def _repo(self, full_name: str) -> Repository:
        repo = self.repos.get(full_name.lower())
        if repo is None:
            raise KeyError(f"unknown repository {full_name!r}: add it with add_repo first")
        return repo

    def _require_user(self, login: str) -> User:
        user = self.users.get(login)
        if user is None:
            raise KeyError(f"unknown user {login!r}: add it with add_user first")
        return user

    def canonical_login(self, login: str) -> str | None:
        if login in self.users:
            return login
        lowered = login.lower()
        return next((known for known in self.users if known.lower() == lowered), None)

    def login_for_email(self, email: str) -> str | None:
        lowered = email.lower()
        # A no-reply address names its account by id: it stays linked through a rename.
        account, _, rest = lowered.partition("+")
        noreply = rest.endswith("@users.noreply.github.com") and account.isdigit()
        for user in self.users.values():
            if (user.email and user.email.lower() == lowered) or (
                noreply and int(account) == user.id
            ):
                return user.login
        return None

    def account_type(self, login: str) -> str:
        if login in self.orgs:
            return "Organization"
        return self.users[login].type if login in self.users else "User"

    def find_org(self, org: str) -> str | None:
        return next((known for known in self.orgs if known.lower() == org.lower()), None)

    def find_team(self, org: str, slug: str, *, missing_ok: bool = False) -> Team:
        team = self.teams.get((org.lower(), slug.lower()))
        if team is None and not missing_ok:
            raise HttpError(404, "Not Found")
        return team  # type: ignore[return-value]  # None only when missing_ok

    def teams_of(self, repo: Repository, pull: PullRequest) -> list[Team]:
        return [self.teams[(repo.owner.lower(), slug.lower())] for slug in pull.requested_teams]

    def installation_for(self, repo: Repository) -> Installation | None:
        return next(
            (i for i in self.installations.values() if i.account.lower() == repo.owner.lower()),
            None,
        )

    def installation_covers(
        self, installation_id: int | None, repo: Repository, scope: frozenset[str] | None
    ) -> bool:
        installation = self.installations.get(installation_id) if installation_id else None
        if installation is None or installation.account.lower() != repo.owner.lower():
            return False
        selected = installation.repositories
        if selected is not None and repo.full_name.lower() not in selected:
            return False
        return scope is None or repo.full_name.lower() in scope

    async def select_repositories(
        self, account: str, names: Iterable[str], *, sender: str | None = None
    ) -> None:
        """The App's installation on `account` covers only these repositories (GitHub's "Only
        select repositories"): the others answer 404, as GitHub hides them from its token, and
        get no webhooks. The change is announced as `installation_repositories` events."""
        installation = next(
            i for i in self.installations.values() if i.account.lower() == account.lower()
        )
        owned = [r for r in self.repos.values() if r.owner.lower() == account.lower()]
        before = {
            r.full_name.lower() for r in owned if self.installation_covers(installation.id, r, None)
        }
        installation.repositories = frozenset(f"{account}/{name}".lower() for name in names)
        installation.updated_at = self.now()
        after = {
            r.full_name.lower() for r in owned if self.installation_covers(installation.id, r, None)
        }
        who = self.shapes.user(self.users[sender or account])
        for action, changed in (("added", after - before), ("removed", before - after)):
            if not changed:
                continue
            listed = [
                self.shapes.repository_lite(r) for r in owned if r.full_name.lower() in changed
            ]
            await self.deliver(
                "installation_repositories",
                {
                    "action": action,
                    "installation": self.installation_json(installation),
                    "repository_selection": "selected",
                    "repositories_added": listed if action == "added" else [],
                    "repositories_removed": listed if action == "removed" else [],
                    "requester": who,
                    "sender": who,
                },
            )

    def suite_for(self, repo: Repository, head_sha: str) -> CheckSuite:
        for suite in self.suites.values():
            if (
                suite.repo == repo.full_name
                and suite.head_sha == head_sha
                and suite.app_id == self.app_id
            ):
                return suite
        suite_id = self.next_id()
        branch = next((b for b, sha in repo.branches.items() if sha == head_sha), None)
        suite = CheckSuite(
            suite_id,
            node_id("CheckSuite", suite_id),
            repo.full_name,
            head_sha,
            branch,
            self.app_id,
            self.now(),
            self.now(),
        )
        self.suites[suite_id] = suite
        return suite

    def add_foreign_check_run(
        self,
        repo: str,
        head_sha: str,
        *,
        name: str,
        app_id: int = 15368,
        conclusion: str = "success",
    ) -> int:
        """A completed run written by another App (GitHub Actions' id by default), in its own
        suite, as a workflow job named like this App's check would be; returns its id."""
        target = self._repo(repo)
        if head_sha not in target.commits:
            raise KeyError(f"{repo} has no commit {head_sha}")
        if app_id == self.app_id:
            raise ValueError("a foreign run needs another App's id than the simulated App's")
        now = self.now()
        suite = next(
            (
                s
                for s in self.suites.values()
                if s.repo == target.full_name and s.head_sha == head_sha and s.app_id == app_id
            ),
            None,
        )
        if suite is None:
            suite_id = self.next_id()
            suite = CheckSuite(
                suite_id,
                node_id("CheckSuite", suite_id),
                target.full_name,
                head_sha,
                None,
                app_id,
                now,
                now,
            )
            self.suites[suite_id] = suite
        run_id = self.next_id()
        self.check_run_store[run_id] = CheckRun(
            id=run_id,
            node_id=node_id("CheckRun", run_id),
            repo=target.full_name,
            suite_id=suite.id,
            app_id=app_id,
            name=name,
            head_sha=head_sha,
            status="completed",
            conclusion=conclusion,
            started_at=now,
            completed_at=now,
            title=f"{name} (workflow job)",
        )
        return run_id

    def runs_of_suite(self, suite_id: int) -> list[CheckRun]:
        return [run for run in self.check_run_store.values() if run.suite_id == suite_id]

    def pulls_with_head(self, repo: Repository, head_sha: str) -> list[PullRequest]:
        return [p for p in repo.pulls.values() if p.head_sha == head_sha and p.state == "open"]

    def find_delivery(self, delivery_id: int) -> Delivery:
        for delivery in self.deliveries:
            if delivery.id == delivery_id:
                return delivery
        raise HttpError(404, "Not Found")

    def review_request_index(
        self, installation_id: int | None, scope: frozenset[str] | None
    ) -> dict[str, list[tuple[Repository, PullRequest]]]:
        """Visible pull requests by the login they ask for review (lower case), in one scan."""
        index: dict[str, list[tuple[Repository, PullRequest]]] = {}
        for repo in self.repos.values():
            if self.installation_covers(installation_id, repo, scope):
                for pull in repo.pulls.values():
                    for login in pull.requested_reviewers:
                        index.setdefault(login.lower(), []).append((repo, pull))
        return index

    def search_pulls(
        self,
        query: str,
        installation_id: int | None,
        scope: frozenset[str] | None,
        *,
        requested_index: dict[str, list[tuple[Repository, PullRequest]]] | None = None,
    ) -> list[tuple[Repository, PullRequest]]:
        """Pull requests matching a search query (the qualifiers the bot uses; others refuse).

        `requested_index` (from `review_request_index`): a GraphQL request that searches once
        per candidate scans the repositories once, not once per search.
        """
        conditions: list[Callable[[Repository, PullRequest], bool]] = []
        wanted_reviewer: str | None = None  # the bot's load query: skip PRs that ask nobody by name
        for term in query.split():
            key, _, value = term.partition(":")
            if key == "review-requested":
                wanted_reviewer = value.lower()
            negate = key.startswith("-")
            key = key.lstrip("-")
            condition = _search_condition(self, key, value, term)
            conditions.append(
                (lambda c: lambda r, p: not c(r, p))(condition) if negate else condition
            )
        if wanted_reviewer is not None and requested_index is not None:
            pool = requested_index.get(wanted_reviewer, [])
        else:
            pool = [
                (repo, pull)
                for repo in self.repos.values()
                if self.installation_covers(installation_id, repo, scope)
                for pull in repo.pulls.values()
                if wanted_reviewer is None
                or any(u.lower() == wanted_reviewer for u in pull.requested_reviewers)
            ]
        results = [
            (repo, pull)
            for repo, pull in pool
            if all(condition(repo, pull) for condition in conditions)
        ]
        results.sort(key=lambda pair: pair[1].created_at, reverse=True)
        return results

    # --- JSON renderings ------------------------------------------------------------------

    def repo_json(self, repo: Repository) -> Json:
        owner = self.users[repo.owner]
        return self.shapes.repository(repo, owner, owner_type=self.account_type(repo.owner))

    def pull_json(self, repo: Repository, pull: PullRequest, *, full: bool = True) -> Json:
        return self.shapes.pull_request(
            repo,
            pull,
            users=self.users,
            repo_json=self.repo_json(repo),
            teams=self.teams_of(repo, pull),
            full=full,
        )

    def comment_json(self, repo: Repository, comment: Comment) -> Json:
        return self.shapes.comment(
            repo, comment, user=self.users[comment.user], app_owner=self.app_owner
        )

    def commit_json(self, repo: Repository, commit: Commit) -> Json:
        api = f"{self.url}/repos/{repo.full_name}"

        def person(identity: GitIdentity) -> Json | None:
            login = identity.login or self.login_for_email(identity.email)
            return self.shapes.user(self.users[login]) if login else None

        return {
            "url": f"{api}/commits/{commit.sha}",
            "sha": commit.sha,
            "node_id": f"C_{commit.sha}",
            "html_url": f"{self.web_url}/{repo.full_name}/commit/{commit.sha}",
            "comments_url": f"{api}/commits/{commit.sha}/comments",
            "commit": {
                "url": f"{api}/git/commits/{commit.sha}",
                "author": {
                    "name": commit.author.name,
                    "email": commit.author.email,
                    "date": iso(commit.author.date),
                },
                "committer": {
                    "name": commit.committer.name,
                    "email": commit.committer.email,
                    "date": iso(commit.committer.date),
                },
                "message": commit.message,
                "comment_count": 0,
                "tree": {"sha": commit.tree_sha, "url": f"{api}/git/trees/{commit.tree_sha}"},
            },
            "author": person(commit.author),
            "committer": person(commit.committer),
            "parents": [
                {
                    "sha": sha,
                    "url": f"{api}/commits/{sha}",
                    "html_url": f"{self.web_url}/{repo.full_name}/commit/{sha}",
                }
                for sha in commit.parents
            ],
        }

    def check_run_json(self, run: CheckRun) -> Json:
        repo = self._repo(run.repo)
        suite = self.suites[run.suite_id]
        pulls = self.pulls_with_head(repo, run.head_sha)
        suite_json = self.shapes.check_suite(
            repo, suite, runs=self.runs_of_suite(suite.id), pulls=pulls, app_owner=self.app_owner
        )
        return self.shapes.check_run(
            repo, run, suite=suite_json, pulls=pulls, app_owner=self.app_owner
        )

    def installation_json(self, installation: Installation) -> Json:
        account = self.users[installation.account]
        return self.shapes.installation(
            installation, account, account_type=self.account_type(installation.account)
        )

    def delivery_json(self, delivery: Delivery, *, detailed: bool = False) -> Json:
        ok = 200 <= delivery.status_code < 300
        shape: Json = {
            "id": delivery.id,
            "guid": delivery.guid,
            "delivered_at": iso(delivery.delivered_at),
            "redelivery": delivery.redelivery,
            "duration": round(delivery.duration, 3),
            "status": "OK" if ok else _delivery_failure(delivery.status_code),
            "status_code": delivery.status_code,
            "event": delivery.event,
            "action": delivery.action,
            "installation_id": delivery.installation_id,
            "repository_id": delivery.repository_id,
            "throttled_at": None,
        }
        if detailed:
            shape["url"] = self.webhook_url or ""
            shape["request"] = {
                "headers": delivery.headers,
                "payload": json.loads(delivery.body),
            }
            shape["response"] = {
                "headers": delivery.response_headers,
                "payload": delivery.response_body,
            }
        return shape

    def rate_limit_status(self, installation_id: int | None, resource: str) -> Json:
        key = (str(installation_id or "app"), resource)
        used, reset = self._rate_window(key)
        limit = RATE_LIMIT[resource]
        return {
            "limit": limit,
            "used": used,
            "remaining": max(0, limit - used),
            "reset": reset,
            "resource": resource,
        }

    def _rate_window(self, key: tuple[str, str]) -> tuple[int, int]:
        now = int(self.now().timestamp())
        used, reset = self._rate_used.get(key, (0, now + 3600))
        if now >= reset:
            used, reset = 0, now + 3600
        self._rate_used[key] = (used, reset)
        return used, reset

    def _spend(self, installation_id: int | None, resource: str, points: int = 1) -> None:
        key = (str(installation_id or "app"), resource)
        used, reset = self._rate_window(key)
        self._rate_used[key] = (used + points, reset)

    def set_rate_limit_remaining(
        self, installation_id: int | None, remaining: int, *, resource: str = "core"
    ) -> None:
        """Make the next calls of an installation see `remaining` requests left (0 => 403)."""
        key = (str(installation_id or "app"), resource)
        _, reset = self._rate_window(key)
        self._rate_used[key] = (RATE_LIMIT[resource] - remaining, reset)

    def inject_failure(
        self,
        operation_id: str,
        *,
        status: int,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        message: str = "Server Error",
    ) -> None:
        """Answer the next `times` calls of an operation (or "graphql") with `status`."""
        self._failures.setdefault(operation_id, []).append(
            _InjectedFailure(status, times, dict(headers or {}), message)
        )

    # --- HTTP -------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw_path = request.raw_path.split("?", 1)[0]
        if raw_path == "/graphql":
            return await self._handle_graphql(request)
        query = {key: value for key, value in request.query.items()}
        matched = match_route(request.method, raw_path)
        if matched is None:
            self.violations.append(
                f"{request.method} {raw_path}: no such operation in GitHub's API"
            )
            return self._record(
                request, None, "rest", 404, {"message": "Not Found", "documentation_url": DOCS}, {}
            )
        route, params = matched
        if "X-GitHub-Api-Version" not in request.headers:
            self.violations.append(
                f"{request.method} {raw_path}: missing X-GitHub-Api-Version header"
            )
        body: Any = None
        raw = await request.read()
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return self._record(
                    request,
                    route.operation_id,
                    "rest",
                    400,
                    {"message": "Problems parsing JSON", "documentation_url": DOCS},
                    {},
                )
        rest_request = RestRequest(
            method=request.method,
            path=raw_path,
            operation_id=route.operation_id,
            path_params=params,
            query=query,
            body=body,
            headers=request.headers,
        )
        if self.request_validator is not None:
            for problem in self.request_validator(rest_request):
                self.violations.append(
                    f"{request.method} {raw_path} ({route.operation_id}): {problem}"
                )
        try:
            rest_request.user = self._token_user(request, route.auth)
            if rest_request.user is not None:
                installation_id, scope = None, None
            else:
                mode = "installation" if route.auth == "installation_or_user" else route.auth
                installation_id, scope = self._authenticate(request, mode)
            rest_request.installation_id = installation_id
            rest_request.token_repositories = scope
            self._raise_injected(route.operation_id)
            status = self.rate_limit_status(installation_id, "core")
            if status["remaining"] <= 0 and route.operation_id != "rate-limit/get":
                raise HttpError(
                    403,
                    f"API rate limit exceeded for installation ID {installation_id}.",
                    headers={
                        "retry-after": str(max(1, status["reset"] - int(self.now().timestamp())))
                    },
                )
            reply = await route.handler(self._rest, rest_request)
        except HttpError as error:
            reply = Reply(error.status, error.body(), error.headers)
            installation_id = rest_request.installation_id
        headers = dict(reply.headers)
        status_code = reply.status
        if request.method == "GET" and status_code == 200:
            etag = 'W/"' + hashlib.sha256(_dump(reply.body)).hexdigest() + '"'
            headers["ETag"] = etag
            if _etag_matches(request.headers.get("If-None-Match"), etag):
                return self._record(
                    request,
                    route.operation_id,
                    "rest",
                    304,
                    None,
                    headers,
                    installation_id=installation_id,
                    spend=False,
                )
        return self._record(
            request,
            route.operation_id,
            "rest",
            status_code,
            reply.body,
            headers,
            installation_id=installation_id,
        )

    def _record(
        self,
        request: web.Request,
        operation_id: str | None,
        kind: str,
        status: int,
        body: Any,
        headers: dict[str, str],
        *,
        installation_id: int | None = None,
        query_name: str | None = None,
        spend: bool = True,
        points: int | None = None,
    ) -> web.Response:
        """Answers and records one request; `spend`: charge it 1 (False: charged already, with
        `points`, or free as a 304)."""
        resource = "graphql" if kind == "graphql" else "core"
        charged = points if points is not None else 0
        if spend and status not in (401,):
            self._spend(installation_id, resource)
            charged = 1
        limits = self.rate_limit_status(installation_id, resource)
        headers.update(
            {
                "x-ratelimit-limit": str(limits["limit"]),
                "x-ratelimit-remaining": str(limits["remaining"]),
                "x-ratelimit-used": str(limits["used"]),
                "x-ratelimit-reset": str(limits["reset"]),
                "x-ratelimit-resource": resource,
                # GitHub's clock, which the bot reads to compare its own stamps with GitHub's
                "Date": format_datetime(self.now().astimezone(UTC), usegmt=True),
                "X-GitHub-Media-Type": "github.v3; format=json",
                "X-GitHub-Api-Version-Selected": "2022-11-28",
                "X-GitHub-Request-Id": uuid.uuid4().hex[:20].upper(),
            }
        )
        path = request.raw_path.split("?", 1)[0]
        self.calls.append(
            Call(
                request.method,
                path,
                operation_id,
                status,
                kind,
                query_name,
                points=charged,
                at=self.now().timestamp(),
            )
        )
        if body is None or status in (204, 304):
            return web.Response(status=status, headers=headers)
        return web.Response(
            status=status,
            body=_dump(body),
            headers=headers,
            content_type="application/json",
            charset="utf-8",
        )

    def _raise_injected(self, operation_id: str) -> None:
        queue = self._failures.get(operation_id)
        if not queue:
            return
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        raise HttpError(failure.status, failure.message, headers=failure.headers)

    def user_token(self, login: str) -> str:
        """A person's own token (as a personal access token), for the few routes people call
        in tests: editing a comment through REST as someone other than the App."""
        self._require_user(login)
        token = "ghp_" + secrets.token_urlsafe(27).replace("-", "A").replace("_", "b")[:36]
        self.user_tokens[token] = login
        return token

    def _token_user(self, request: web.Request, mode: str) -> str | None:
        """The person a user token names, on routes that take one; None otherwise."""
        if mode != "installation_or_user":
            return None
        _, _, credential = request.headers.get("Authorization", "").partition(" ")
        return self.user_tokens.get(credential.strip())

    def _authenticate(
        self, request: web.Request, mode: str
    ) -> tuple[int | None, frozenset[str] | None]:
        """Installation id and repository scope of the caller; raises 401 like GitHub."""
        header = request.headers.get("Authorization", "")
        scheme, _, credential = header.partition(" ")
        credential = credential.strip()
        if scheme.lower() not in ("bearer", "token") or not credential:
            raise HttpError(401, "Requires authentication")
        is_jwt = credential.count(".") == 2
        if mode == "jwt" or (mode == "any" and is_jwt):
            if not is_jwt:
                raise HttpError(401, "A JSON web token could not be decoded")
            self._verify_jwt(credential)
            return None, None
        if is_jwt:
            raise HttpError(
                403,
                "Resource not accessible by integration"
                if mode == "installation"
                else "Bad credentials",
            )
        token = self.tokens.get(credential)
        if token is None:
            raise HttpError(401, "Bad credentials")
        if token.expires_at <= self.now():
            raise HttpError(401, "Bad credentials")
        return token.installation_id, self.token_scopes.get(credential)

    def _verify_jwt(self, token: str) -> None:
        try:
            claims = jwt.decode(
                token,
                self._public_key,
                algorithms=["RS256"],
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_iss": False,
                    "require": ["iat", "exp", "iss"],
                },
            )
        except jwt.PyJWTError as error:
            raise HttpError(401, "A JSON web token could not be decoded") from error
        now = self.now().timestamp()
        if str(claims["iss"]) not in (str(self.app_id), self.client_id):
            raise HttpError(
                401,
                f"'Issuer' claim ('iss') {claims['iss']!r} is not this app's id",
            )
        if not isinstance(claims["exp"], int | float) or claims["exp"] <= now:
            raise HttpError(
                401,
                "'Expiration time' claim ('exp') must be a numeric value representing the future "
                "time at which the assertion expires",
            )
        if claims["exp"] > now + JWT_MAX_LIFETIME + JWT_CLOCK_DRIFT:
            raise HttpError(401, "'Expiration time' claim ('exp') is too far in the future")
        if not isinstance(claims["iat"], int | float) or claims["iat"] > now + JWT_CLOCK_DRIFT:
            raise HttpError(
                401,
                "'Issued at' claim ('iat') must be an Integer representing the time that the "
                "assertion was issued",
            )

    async def _handle_graphql(self, request: web.Request) -> web.Response:
        if request.method != "POST":
            return self._record(
                request,
                "graphql",
                "graphql",
                404,
                {"message": "Not Found", "documentation_url": DOCS},
                {},
            )
        try:
            installation_id, scope = self._authenticate(request, "installation")
        except HttpError as error:
            message = (
                "This endpoint requires you to be authenticated."
                if error.message == "Requires authentication"
                else error.message
            )
            body = {
                "message": message,
                "documentation_url": "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql",
            }
            return self._record(request, "graphql", "graphql", error.status, body, {})
        try:
            payload = json.loads(await request.read())
            query = payload["query"]
            if not isinstance(query, str):
                raise TypeError("query must be a string")
        except (ValueError, KeyError, TypeError):
            return self._record(
                request,
                "graphql",
                "graphql",
                400,
                {"message": "Problems parsing JSON", "documentation_url": DOCS},
                {},
                installation_id=installation_id,
            )
        variables = payload.get("variables")
        operation_name = payload.get("operationName")
        name = operation_name or _operation_name(query)
        if self.graphql_validator is not None:
            for problem in self.graphql_validator(query):
                self.violations.append(f"graphql {name or '(anonymous)'}: {problem}")
        try:
            self._raise_injected("graphql")
        except HttpError as error:
            return self._record(
                request,
                "graphql",
                "graphql",
                error.status,
                error.body(),
                error.headers,
                installation_id=installation_id,
                query_name=name,
            )
        variables = variables if isinstance(variables, dict) else None
        price = self._graphql.price(query, variables, operation_name)
        if price is not None and price.nodes > MAX_NODES:
            return self._record(
                request,
                "graphql",
                "graphql",
                200,
                {"errors": [_node_limit_error(price.nodes)]},
                {},
                installation_id=installation_id,
                query_name=name,
            )
        points = price.points if price is not None else 1
        if self.rate_limit_status(installation_id, "graphql")["remaining"] < points:
            limited = {
                "type": "RATE_LIMITED",
                "message": "API rate limit already exceeded for installation ID "
                f"{installation_id}.",
            }
            return self._record(
                request,
                "graphql",
                "graphql",
                200,
                {"data": None, "errors": [limited]},
                {},
                installation_id=installation_id,
                query_name=name,
                spend=False,
            )
        # before executing, so that `rateLimit` counts it
        self._spend(installation_id, "graphql", points)
        result = self._graphql.run(
            query,
            variables,
            operation_name,
            installation_id=installation_id,
            scope=scope,
            cost=points,
        )
        if "data" not in result:
            self.violations.append(f"graphql {name or '(anonymous)'}: {result['errors']}")
        return self._record(
            request,
            "graphql",
            "graphql",
            200,
            result,
            {},
            installation_id=installation_id,
            query_name=name,
            spend=False,
            points=points,
        )

    # --- webhooks ---------------------------------------------------------------------------

    def sign(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self._webhook_secret, body, hashlib.sha256).hexdigest()

    async def deliver(self, event: str, payload: Json, *, delivery_id: str | None = None) -> int:
        """Send one signed webhook to `webhook_url`; returns the bot's status code (0: none)."""
        body = json.dumps(payload).encode()
        guid = delivery_id or str(uuid.uuid4())
        installation = payload.get("installation") or {}
        repository = payload.get("repository") or {}
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/sim",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": guid,
            "X-GitHub-Hook-ID": "1",
            "X-GitHub-Hook-Installation-Target-Type": "integration",
            "X-GitHub-Hook-Installation-Target-ID": str(self.app_id),
            "X-Hub-Signature-256": self.sign(body),
        }
        delivery = Delivery(
            id=self._delivery_ids(),
            guid=guid,
            event=event,
            action=payload.get("action"),
            installation_id=installation.get("id"),
            repository_id=repository.get("id"),
            body=body,
            headers=headers,
            delivered_at=self.now(),
            redelivery=False,
        )
        self.deliveries.append(delivery)
        await self._post(delivery)
        return delivery.status_code

    async def redeliver(self, original: Delivery) -> int:
        delivery = replace(
            original,
            id=self._delivery_ids(),
            delivered_at=self.now(),
            redelivery=True,
            status_code=0,
            duration=0.0,
            response_body="",
            response_headers={},
        )
        self.deliveries.append(delivery)
        await self._post(delivery)
        return delivery.status_code

    async def _post(self, delivery: Delivery) -> None:
        if self.webhook_url is None:
            return
        if self._session is None:
            raise RuntimeError("start() the simulator before delivering webhooks")
        started = time.perf_counter()
        try:
            async with self._session.post(
                self.webhook_url, data=delivery.body, headers=delivery.headers
            ) as response:
                delivery.status_code = response.status
                delivery.response_body = await response.text()
                delivery.response_headers = dict(response.headers)
        except (aiohttp.ClientError, TimeoutError) as error:
            delivery.status_code = 0
            delivery.response_body = f"{type(error).__name__}: {error}"
        delivery.duration = time.perf_counter() - started

    async def _emit(self, event: str, payload: Json, repo: Repository | None) -> int | None:
        """Deliver an event about `repo` if the App is installed on its owner (else: nothing)."""
        installation = self.installation_for(repo) if repo is not None else None
        if repo is not None and (
            installation is None or not self.installation_covers(installation.id, repo, None)
        ):
            return None
        if installation is not None:
            payload["installation"] = self.shapes.installation_lite(installation)
        if repo is not None and repo.owner in self.orgs:
            payload["organization"] = self._organization_json(repo.owner)
        return await self.deliver(event, payload)

    def announce(self, event: str, payload: Json, repo: Repository | None = None) -> None:
        """Deliver in the background an event caused by the App's own REST call."""
        if self.echo_app_events:
            target = repo or self._repo(payload["repository"]["full_name"])
            self.spawn(self._emit(event, payload, target))

    def _organization_json(self, org: str) -> Json:
        user = self.users[org]
        api = f"{self.url}/orgs/{org}"
        return {
            "login": org,
            "id": user.id,
            "node_id": user.node_id,
            "url": api,
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events",
            "hooks_url": f"{api}/hooks",
            "issues_url": f"{api}/issues",
            "members_url": f"{api}/members{{/member}}",
            "public_members_url": f"{api}/public_members{{/member}}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user.id}?v=4",
            "description": None,
        }

    def _pull_payload(
        self, action: str, repo: Repository, pull: PullRequest, *, sender: str, **extra: Any
    ) -> Json:
        payload: Json = {"action": action, "number": pull.number}
        payload.update(extra)
        payload["pull_request"] = self.pull_json(repo, pull)
        payload["repository"] = self.repo_json(repo)
        payload["sender"] = self.shapes.user(self.users[sender])
        return payload

    def comment_payload(
        self, action: str, repo: Repository, pull: Thread, comment: Comment, *, sender: str
    ) -> Json:
        return {
            "action": action,
            "issue": self.shapes.issue(repo, pull, users=self.users),
            "comment": self.comment_json(repo, comment),
            "repository": self.repo_json(repo),
            "sender": self.shapes.user(self.users[sender]),
        }

    def _review_payload(
        self, action: str, repo: Repository, pull: PullRequest, review: Review, *, sender: str
    ) -> Json:
        return {
            "action": action,
            "review": self.shapes.review(repo, pull, review, user=self.users[review.user]),
            "pull_request": self.pull_json(repo, pull, full=False),
            "repository": self.repo_json(repo),
            "sender": self.shapes.user(self.users[sender]),
        }

    def _check_suite_payload(
        self, action: str, repo: Repository, suite: CheckSuite, *, sender: str
    ) -> Json:
        shape = self.shapes.check_suite(
            repo,
            suite,
            runs=self.runs_of_suite(suite.id),
            pulls=self.pulls_with_head(repo, suite.head_sha),
            app_owner=self.app_owner,
            head_commit=repo.commits[suite.head_sha],
            webhook=True,
        )
        if action == "rerequested":  # GitHub's rerequested suite omits the rerequestable flags
            del shape["rerequestable"], shape["runs_rerequestable"]
        return {
            "action": action,
            "check_suite": shape,
            "repository": self.repo_json(repo),
            "sender": self.shapes.user(self.users[sender]),
        }

    async def _announce_head(self, repo: Repository, head_sha: str, *, sender: str) -> None:
        if self.emit_check_suites:
            suite = self.suite_for(repo, head_sha)
            await self._emit(
                "check_suite",
                self._check_suite_payload("requested", repo, suite, sender=sender),
                repo,
            )

    # --- acting: what people do on GitHub ----------------------------------------------

    def _identity(self, login: str, *, email: str | None = None) -> GitIdentity:
        user = self._require_user(login)
        address = email or user.email or f"{user.id}+{user.login}@users.noreply.github.com"
        linked = login if email is None else self.login_for_email(address)
        return GitIdentity(user.name or user.login, address, linked, self.now())

    def _commit(
        self,
        repo: Repository,
        base_tree: Mapping[str, str],
        changes: Mapping[str, str | None],
        *,
        author: str,
        message: str,
        parents: Sequence[str] = (),
        author_email: str | None = None,
        committer: str | None = None,
    ) -> Commit:
        tree = dict(base_tree)
        for path, text in changes.items():
            if text is None:
                if path not in tree:
                    raise KeyError(f"cannot delete {path!r}: it does not exist")
                del tree[path]
            else:
                tree[path] = text
        identity = self._identity(author, email=author_email)
        seed = json.dumps([sorted(tree.items()), list(parents), message, self.next_id()])
        sha = hashlib.sha1(seed.encode(), usedforsecurity=False).hexdigest()
        # Whoever rebased or applied someone else's commit is its committer (git's two roles).
        committed_by = identity if committer is None else self._identity(committer)
        commit = Commit(sha, tree, list(parents), message, identity, committed_by)
        repo.commits[sha] = commit
        return commit

    def _pull(self, repo_name: str, number: int) -> tuple[Repository, PullRequest]:
        repo = self._repo(repo_name)
        pull = repo.pulls.get(number)
        if pull is None:
            raise KeyError(f"{repo_name} has no pull request #{number}")
        return repo, pull

    def _thread(self, repo_name: str, number: int) -> tuple[Repository, Thread]:
        """The pull request or issue with this number."""
        repo = self._repo(repo_name)
        found = repo.pulls.get(number) or repo.issues.get(number)
        if found is None:
            raise KeyError(f"{repo_name} has no issue or pull request #{number}")
        return repo, found

    def issue_payload(self, action: str, repo: Repository, issue: Issue, *, sender: str) -> Json:
        """An `issues` payload (octokit's schemas/issues/<action>.schema.json)."""
        return {
            "action": action,
            "issue": self.shapes.issue(repo, issue, users=self.users),
            "repository": self.repo_json(repo),
            "sender": self.shapes.user(self.users[sender]),
        }

    async def open_issue(
        self, repo: str, *, author: str, title: str, body: str = "", labels: Sequence[str] = ()
    ) -> int:
        """Open an issue (`issues.opened`); its number follows the pull requests'."""
        target = self._repo(repo)
        self._require_user(author)
        number = target.next_number
        target.next_number += 1
        issue_id = self.next_id()
        now = self.now()
        issue = Issue(
            number, issue_id, node_id("Issue", issue_id), author, title, body, now, now,
            labels=[self._label(target, name).name for name in labels],
        )  # fmt: skip
        target.issues[number] = issue
        for name in issue.labels:
            self.record_label_event(issue, name, actor=author)
        await self._emit(
            "issues", self.issue_payload("opened", target, issue, sender=author), target
        )
        return number

    async def set_issue_labels(
        self, repo: str, number: int, labels: Sequence[str], *, sender: str
    ) -> None:
        """Make the issue's labels exactly `labels`: one labeled/unlabeled event per change."""
        target = self._repo(repo)
        issue = target.issues[number]
        for name in [n for n in issue.labels if n not in labels]:
            await self.apply_label(target, issue, name, sender=sender, add=False)
        for name in [n for n in labels if n not in issue.labels]:
            await self.apply_label(target, issue, name, sender=sender, add=True)

    def _label(self, repo: Repository, name: str) -> Label:
        if name not in repo.labels:
            label_id = self.next_id()
            repo.labels[name] = Label(label_id, node_id("Label", label_id), name)
        return repo.labels[name]

    async def open_pull_request(
        self,
        repo: str,
        *,
        author: str,
        title: str,
        files: Mapping[str, str | None],
        base: str | None = None,
        head: str | None = None,
        labels: Sequence[str] = (),
        draft: bool = False,
        body: str = "",
        co_authors: Sequence[str] = (),
        commit_author_email: str | None = None,
        commit_message: str | None = None,
    ) -> int:
        """Push a branch with one commit and open a PR from it; returns the PR number."""
        target = self._repo(repo)
        base_ref = base or target.default_branch
        base_commit = target.resolve_ref(base_ref)
        if base_commit is None:
            raise KeyError(f"{repo} has no branch {base_ref!r}")
        number = target.next_number
        target.next_number += 1
        head_ref = head or f"{author}/patch-{number}"
        message = _with_trailers(commit_message or title, self._co_author_lines(co_authors))
        commit = self._commit(
            target,
            base_commit.tree,
            files,
            author=author,
            message=message,
            parents=[base_commit.sha],
            author_email=commit_author_email,
        )
        target.branches[head_ref] = commit.sha
        await self._announce_head(target, commit.sha, sender=author)
        pull_id = self.next_id()
        now = self.now()
        pull = PullRequest(
            number=number,
            id=pull_id,
            node_id=node_id("PullRequest", pull_id),
            author=author,
            title=title,
            body=body,
            base_ref=base_ref,
            head_ref=head_ref,
            base_sha=base_commit.sha,
            commit_shas=[commit.sha],
            created_at=now,
            updated_at=now,
            draft=draft,
            labels=[self._label(target, name).name for name in labels],
        )
        target.pulls[number] = pull
        for name in pull.labels:  # labels set when opening are on the timeline, by the opener
            self.record_label_event(pull, name, actor=author)
        await self._emit(
            "pull_request", self._pull_payload("opened", target, pull, sender=author), target
        )
        return number

    async def open_pull_request_at(
        self,
        repo: str,
        *,
        author: str,
        title: str,
        head_sha: str,
        head: str | None = None,
        base: str | None = None,
    ) -> int:
        """Open a PR whose head is a commit that already exists, as a fork or a second branch
        pushing the same commit does (commit SHAs are content): no new commit, no new suite."""
        target = self._repo(repo)
        if head_sha not in target.commits:
            raise KeyError(f"{repo} has no commit {head_sha}")
        base_ref = base or target.default_branch
        base_commit = target.resolve_ref(base_ref)
        if base_commit is None:
            raise KeyError(f"{repo} has no branch {base_ref!r}")
        number = target.next_number
        target.next_number += 1
        head_ref = head or f"{author}/patch-{number}"
        target.branches[head_ref] = head_sha
        commits = target.commits_between(base_commit.sha, head_sha)
        pull_id = self.next_id()
        now = self.now()
        pull = PullRequest(
            number=number,
            id=pull_id,
            node_id=node_id("PullRequest", pull_id),
            author=author,
            title=title,
            body="",
            base_ref=base_ref,
            head_ref=head_ref,
            base_sha=base_commit.sha,
            commit_shas=[commit.sha for commit in commits],
            created_at=now,
            updated_at=now,
        )
        target.pulls[number] = pull
        await self._emit(
            "pull_request", self._pull_payload("opened", target, pull, sender=author), target
        )
        return number

    def _co_author_lines(self, co_authors: Sequence[str]) -> list[str]:
        lines = []
        for co_author in co_authors:
            if "<" in co_author:
                lines.append(f"Co-authored-by: {co_author}")
            else:
                identity = self._identity(co_author)
                lines.append(f"Co-authored-by: {identity.name} <{identity.email}>")
        return lines

    async def push_commits(
        self,
        repo: str,
        number: int,
        *,
        author: str,
        files: Mapping[str, str | None],
        message: str = "Update",
        co_authors: Sequence[str] = (),
        author_email: str | None = None,
        committer: str | None = None,
    ) -> str:
        """Add a commit to a PR's head branch (`synchronize`); returns the new head sha.

        `committer`: who pushed someone else's commit (a rebase, a cherry-pick); the author's by
        default. The push's sender is the committer."""
        target, pull = self._pull(repo, number)
        before = pull.head_sha
        commit = self._commit(
            target,
            target.commits[before].tree,
            files,
            author=author,
            message=_with_trailers(message, self._co_author_lines(co_authors)),
            parents=[before],
            author_email=author_email,
            committer=committer,
        )
        sender = committer or author
        target.branches[pull.head_ref] = commit.sha
        pull.commit_shas.append(commit.sha)
        pull.updated_at = self.now()
        await self._announce_head(target, commit.sha, sender=sender)
        await self._emit(
            "pull_request",
            self._pull_payload(
                "synchronize", target, pull, sender=sender, before=before, after=commit.sha
            ),
            target,
        )
        return commit.sha

    async def submit_review(
        self, repo: str, number: int, *, reviewer: str, state: str = "APPROVED", body: str = ""
    ) -> int:
        target, pull = self._pull(repo, number)
        self._require_user(reviewer)
        state = {
            "APPROVE": "APPROVED",
            "REQUEST_CHANGES": "CHANGES_REQUESTED",
            "COMMENT": "COMMENTED",
        }.get(state, state)
        if state not in REVIEW_STATES:
            raise ValueError(f"unknown review state {state!r}: use one of {REVIEW_STATES}")
        if reviewer == pull.author and state != "COMMENTED":
            raise ValueError("GitHub refuses: Can not approve your own pull request")
        if state == "CHANGES_REQUESTED" and not body:
            raise ValueError("GitHub refuses a change request without a body")
        review_id = self.next_id()
        review = Review(
            review_id,
            node_id("PullRequestReview", review_id),
            reviewer,
            state,
            body,
            pull.head_sha,
            self.now(),
        )
        pull.reviews.append(review)
        # Submitting a review fulfils that reviewer's pending request, as on GitHub.
        pull.requested_reviewers = [u for u in pull.requested_reviewers if u != reviewer]
        pull.updated_at = self.now()
        await self._emit(
            "pull_request_review",
            self._review_payload("submitted", target, pull, review, sender=reviewer),
            target,
        )
        return review_id

    def record_review_request(
        self, pull: PullRequest, reviewer: str, *, actor: str, removed: bool = False
    ) -> None:
        """Add (or remove) a pending request and list it on the timeline, as GitHub does."""
        if removed:
            pull.requested_reviewers = [
                u for u in pull.requested_reviewers if u.lower() != reviewer.lower()
            ]
        elif reviewer not in pull.requested_reviewers:
            pull.requested_reviewers.append(reviewer)
        event_id = self.next_id()
        event = ReviewRequestEvent(event_id, "", reviewer, actor, self.now(), removed=removed)
        event.node_id = node_id(event.typename, event_id)
        pull.review_request_events.append(event)
        pull.updated_at = self.now()

    def record_label_event(
        self, pull: Thread, label: str, *, actor: str, removed: bool = False
    ) -> None:
        """List a label added or removed on the PR's timeline, by whom, as GitHub does."""
        event_id = self.next_id()
        event = LabelEvent(event_id, "", label, actor, self.now(), removed=removed)
        event.node_id = node_id(event.typename, event_id)
        pull.label_events.append(event)

    async def request_review(self, repo: str, number: int, *, reviewer: str, sender: str) -> None:
        """A person asks `reviewer` for a review (`pull_request.review_requested`)."""
        target, pull = self._pull(repo, number)
        self._require_user(reviewer)
        self._require_user(sender)
        if reviewer.lower() == pull.author.lower():
            raise ValueError("GitHub refuses: Review cannot be requested from pull request author.")
        self.record_review_request(pull, reviewer, actor=sender)
        await self._emit(
            "pull_request",
            self._pull_payload(
                "review_requested",
                target,
                pull,
                sender=sender,
                requested_reviewer=self.shapes.user(self.users[reviewer]),
            ),
            target,
        )

    def _review(self, pull: PullRequest, review_id: int) -> Review:
        review = next((r for r in pull.reviews if r.id == review_id), None)
        if review is None:
            raise KeyError(f"PR #{pull.number} has no review {review_id}")
        return review

    async def edit_review(self, repo: str, number: int, review_id: int, *, body: str) -> None:
        target, pull = self._pull(repo, number)
        review = self._review(pull, review_id)
        before = review.body
        review.body = body
        pull.updated_at = self.now()
        payload = self._review_payload("edited", target, pull, review, sender=review.user)
        payload["changes"] = {"body": {"from": before}}
        await self._emit("pull_request_review", payload, target)

    async def dismiss_review(
        self, repo: str, number: int, review_id: int, *, sender: str, message: str = "Dismissed"
    ) -> None:
        target, pull = self._pull(repo, number)
        review = self._review(pull, review_id)
        if review.state not in ("APPROVED", "CHANGES_REQUESTED"):
            raise ValueError("GitHub dismisses only approvals and change requests")
        review.state = "DISMISSED"
        pull.updated_at = self.now()
        _ = message
        await self._emit(
            "pull_request_review",
            self._review_payload("dismissed", target, pull, review, sender=sender),
            target,
        )

    def add_comment(
        self, repo: Repository, pull: Thread, *, author: str, body: str, via_app: bool = False
    ) -> Comment:
        comment_id = self.next_id()
        now = self.now()
        comment = Comment(
            comment_id,
            node_id("IssueComment", comment_id),
            pull.number,
            author,
            body,
            now,
            now,
            via_app,
        )
        repo.comments[comment_id] = comment
        pull.updated_at = now  # a comment touches its PR, whoever wrote it (the App too)
        return comment

    def _comment_by_node(
        self, subject_id: str, installation_id: int | None, scope: frozenset[str] | None
    ) -> tuple[Repository, Comment] | None:
        """The issue comment with this node id, if the installation can see it."""
        for repo in self.repos.values():
            for comment in repo.comments.values():
                if comment.node_id == subject_id:
                    if not self.installation_covers(installation_id, repo, scope):
                        return None
                    return repo, comment
        return None

    def minimize_comment(
        self,
        subject_id: str,
        *,
        classifier: str,
        installation_id: int | None,
        scope: frozenset[str] | None,
    ) -> tuple[Repository, Comment] | None:
        """GraphQL's minimizeComment: hide an issue comment the installation can see.

        None when no such comment is visible to the caller (GitHub answers NOT_FOUND). No
        webhook: GitHub sends none for minimizing. Minimizing again only updates the reason.
        """
        located = self._comment_by_node(subject_id, installation_id, scope)
        if located is not None:
            # GitHub reports the reason lower-case and hyphenated (OFF_TOPIC: off-topic).
            located[1].minimized_reason = classifier.lower().replace("_", "-")
        return located

    def remove_reaction(
        self,
        subject_id: str,
        *,
        content: str,
        installation_id: int | None,
        scope: frozenset[str] | None,
    ) -> tuple[Repository, Comment] | None:
        """GraphQL's removeReaction: take the App's own reaction off an issue comment.

        None when no such comment is visible to the caller (GitHub answers NOT_FOUND). Removing
        a reaction the App does not have changes nothing. No webhook, as on GitHub.
        """
        located = self._comment_by_node(subject_id, installation_id, scope)
        if located is not None:
            located[1].reactions[:] = [
                reaction
                for reaction in located[1].reactions
                if reaction.user != self.bot_login or reaction.content != content
            ]
        return located

    def add_app_comment(self, repo: str, number: int, *, body: str) -> int:
        """A comment by the App that no webhook announces, as another bot process's would be."""
        target, pull = self._pull(repo, number)
        return self.add_comment(target, pull, author=self.bot_login, body=body, via_app=True).id

    def minimized_reason(self, repo: str, comment_id: int) -> str | None:
        """Why a comment is hidden (GraphQL's minimizedReason), or None while it is shown."""
        return self._comment(self._repo(repo), comment_id).minimized_reason

    async def post_comment(self, repo: str, number: int, *, author: str, body: str) -> int:
        target, pull = self._thread(repo, number)
        self._require_user(author)
        comment = self.add_comment(target, pull, author=author, body=body)
        await self._emit(
            "issue_comment",
            self.comment_payload("created", target, pull, comment, sender=author),
            target,
        )
        return comment.id

    def _comment(self, repo: Repository, comment_id: int) -> Comment:
        comment = repo.comments.get(comment_id)
        if comment is None:
            raise KeyError(f"{repo.full_name} has no comment {comment_id}")
        return comment

    async def edit_comment(
        self, repo: str, comment_id: int, *, body: str, editor: str | None = None
    ) -> None:
        target = self._repo(repo)
        comment = self._comment(target, comment_id)
        before = comment.body
        comment.body = body
        comment.updated_at = self.now()
        comment.edits.append(
            ContentEdit(self.next_id(), editor or comment.user, comment.updated_at, body)
        )
        self._thread(repo, comment.issue_number)[1].updated_at = comment.updated_at
        payload = self.comment_payload(
            "edited",
            target,
            self._thread(repo, comment.issue_number)[1],
            comment,
            sender=editor or comment.user,
        )
        payload["changes"] = {"body": {"from": before}}
        await self._emit("issue_comment", payload, target)

    async def delete_comment(
        self, repo: str, comment_id: int, *, sender: str | None = None
    ) -> None:
        target = self._repo(repo)
        comment = self._comment(target, comment_id)
        payload = self.comment_payload(
            "deleted",
            target,
            self._thread(repo, comment.issue_number)[1],
            comment,
            sender=sender or comment.user,
        )
        del target.comments[comment_id]
        thread = self._thread(repo, comment.issue_number)[1]
        deletion_id = self.next_id()  # a PR's and an issue's timeline alike list it
        thread.comment_deletions.append(
            CommentDeletion(
                deletion_id,
                node_id("CommentDeletedEvent", deletion_id),
                sender or comment.user,
                comment.user,
                self.now(),
            )
        )
        thread.updated_at = self.now()
        payload["issue"] = self.shapes.issue(
            target, self._thread(repo, comment.issue_number)[1], users=self.users
        )
        await self._emit("issue_comment", payload, target)

    async def apply_label(
        self,
        repo: Repository,
        pull: Thread,
        name: str,
        *,
        sender: str,
        add: bool,
        wait: bool = True,
    ) -> None:
        label = self._label(repo, name)
        if add:
            pull.labels.append(name)
        else:
            pull.labels.remove(name)
        self.record_label_event(pull, name, actor=sender, removed=not add)
        pull.updated_at = self.now()
        action = "labeled" if add else "unlabeled"
        event = "pull_request"
        if isinstance(pull, Issue):
            event, payload = "issues", self.issue_payload(action, repo, pull, sender=sender)
        else:
            payload = self._pull_payload(action, repo, pull, sender=sender)
        payload["label"] = self.shapes.label(repo, label)
        if wait:
            await self._emit(event, payload, repo)
        else:
            self.announce(event, payload, repo)

    async def set_labels(
        self, repo: str, number: int, labels: Sequence[str], *, sender: str
    ) -> None:
        """Make the PR's labels exactly `labels`: one labeled/unlabeled event per change."""
        target, pull = self._pull(repo, number)
        for name in [n for n in pull.labels if n not in labels]:
            await self.apply_label(target, pull, name, sender=sender, add=False)
        for name in [n for n in labels if n not in pull.labels]:
            await self.apply_label(target, pull, name, sender=sender, add=True)

    async def remove_review_request(
        self, repo: str, number: int, *, reviewer: str, sender: str
    ) -> None:
        """`sender` removes `reviewer`'s pending request (`pull_request.review_request_removed`).

        The reviewer removing themselves is how one declines a request on GitHub."""
        target, pull = self._pull(repo, number)
        self._require_user(sender)
        pending = next((u for u in pull.requested_reviewers if u.lower() == reviewer.lower()), None)
        if pending is None:
            raise ValueError(f"@{reviewer} has no pending review request on PR #{number}")
        self.record_review_request(pull, pending, actor=sender, removed=True)
        await self._emit(
            "pull_request",
            self.review_request_removed_payload(target, pull, pending, sender=sender),
            target,
        )

    def review_request_removed_payload(
        self, repo: Repository, pull: PullRequest, reviewer: str, *, sender: str
    ) -> Json:
        return self._pull_payload(
            "review_request_removed",
            repo,
            pull,
            sender=sender,
            requested_reviewer=self.shapes.user(self.users[reviewer]),
        )

    async def mark_ready(self, repo: str, number: int, *, sender: str | None = None) -> None:
        target, pull = self._pull(repo, number)
        if not pull.draft:
            raise ValueError(f"PR #{number} is not a draft")
        pull.draft = False
        pull.updated_at = self.now()
        await self._emit(
            "pull_request",
            self._pull_payload("ready_for_review", target, pull, sender=sender or pull.author),
            target,
        )

    async def edit_pull_request(
        self,
        repo: str,
        number: int,
        *,
        sender: str | None = None,
        title: str | None = None,
        body: str | None = None,
        base: str | None = None,
    ) -> None:
        target, pull = self._pull(repo, number)
        changes: Json = {}
        if base is not None and base != pull.base_ref:
            base_commit = target.resolve_ref(base)
            if base_commit is None:
                raise KeyError(f"{repo} has no branch {base!r}")
            changes["base"] = {"ref": {"from": pull.base_ref}, "sha": {"from": pull.base_sha}}
            pull.base_ref, pull.base_sha = base, base_commit.sha
        if title is not None and title != pull.title:
            changes["title"] = {"from": pull.title}
            pull.title = title
        if body is not None and body != pull.body:
            changes["body"] = {"from": pull.body}
            pull.body = body
        pull.updated_at = self.now()
        await self._emit(
            "pull_request",
            self._pull_payload(
                "edited", target, pull, sender=sender or pull.author, changes=changes
            ),
            target,
        )

    def require_checks(self, repo: str, *names: str) -> None:
        """Branch protection on every branch of `repo`: these checks must pass before a merge."""
        self.required_checks[self._repo(repo).full_name.lower()] = names

    def merge_blockers(self, repo: str, number: int) -> list[str]:
        """Why GitHub would refuse to merge the PR, one line per required check that does not
        pass: the latest run of each name on the head must be completed with `success`,
        `neutral` or `skipped` (docs.github.com/en/repositories/configuring-branches-and-merges-
        in-your-repository/managing-protected-branches/about-protected-branches)."""
        target, pull = self._pull(repo, number)
        blockers = []
        for name in self.required_checks.get(target.full_name.lower(), ()):
            runs = [run for run in self.check_runs(repo, pull.head_sha) if run["name"] == name]
            if not runs:
                blockers.append(f"Required status check {name!r} is expected.")
                continue
            latest = runs[-1]
            if latest["status"] != "completed":
                blockers.append(f"Required status check {name!r} is {latest['status']}.")
            elif latest["conclusion"] not in ("success", "neutral", "skipped"):
                blockers.append(f"Required status check {name!r} is {latest['conclusion']}.")
        return blockers

    async def close_pull_request(
        self,
        repo: str,
        number: int,
        *,
        sender: str | None = None,
        merge: bool = False,
        bypass: bool = False,
    ) -> None:
        """Close (or merge: the head tree lands on the base branch, with a push event). A merge
        is refused while a required check does not pass, unless an admin `bypass`es it."""
        target, pull = self._pull(repo, number)
        if pull.state != "open":
            raise ValueError(f"PR #{number} is not open")
        actor = sender or pull.author
        blockers = self.merge_blockers(repo, number) if merge and not bypass else []
        if blockers:
            raise ValueError("GitHub refuses the merge: " + " ".join(blockers))
        if merge:
            # A merge commit (base tip, PR head) applying the PR's own changes, as GitHub's
            # "Create a merge commit" does; its push lists the PR's commits and the merge.
            pull.merge_commit_sha = await self.push_to_branch(
                repo,
                pull.base_ref,
                _tree_changes(target.commits[pull.base_sha], target.commits[pull.head_sha]),
                author=actor,
                message=f"Merge pull request #{number} from {target.owner}/{pull.head_ref}",
                merged=pull,
            )
            pull.merged_by = actor
        pull.state = "closed"
        pull.merged = merge
        pull.closed_at = self.now()
        pull.updated_at = self.now()
        await self._emit(
            "pull_request", self._pull_payload("closed", target, pull, sender=actor), target
        )

    async def reopen_pull_request(
        self, repo: str, number: int, *, sender: str | None = None
    ) -> None:
        target, pull = self._pull(repo, number)
        if pull.state != "closed" or pull.merged:
            raise ValueError(f"PR #{number} cannot be reopened")
        pull.state = "open"
        pull.closed_at = None
        pull.updated_at = self.now()
        await self._emit(
            "pull_request",
            self._pull_payload("reopened", target, pull, sender=sender or pull.author),
            target,
        )

    async def push_to_branch(
        self,
        repo: str,
        branch: str,
        files: Mapping[str, str | None],
        *,
        author: str | None = None,
        message: str = "Update",
        merged: PullRequest | None = None,
        onto: str | None = None,
    ) -> str:
        """Push one commit to a branch (created if missing): `push` then `check_suite` events.

        `merged`: the commit merges that PR (its head is the second parent, its commits are
        pushed too); `onto`: a force push, the commit's parent instead of the branch's tip.
        """
        target = self._repo(repo)
        pusher = author or target.owner
        before = target.branches.get(branch)
        tip = onto if onto is not None else before
        parent = target.commits[tip] if tip else target.resolve_ref(target.default_branch)
        parents = [parent.sha] if parent else []
        if merged is not None:
            parents.append(merged.head_sha)
        commit = self._commit(
            target,
            parent.tree if parent else {},
            files,
            author=pusher,
            message=message,
            parents=parents,
        )
        target.branches[branch] = commit.sha
        identity = commit.author
        push_commit = self.shapes.push_commit(target, commit, parent)
        pushed = [push_commit]
        if merged is not None:
            pushed = [
                self.shapes.push_commit(
                    target, target.commits[sha], target.commits.get(target.commits[sha].parents[0])
                )
                for sha in merged.commit_shas
            ] + pushed
        payload: Json = {
            "ref": f"refs/heads/{branch}",
            "before": before or "0" * 40,
            "after": commit.sha,
            "repository": self.repo_json(target),
            "pusher": {"name": pusher, "email": identity.email},
            "sender": self.shapes.user(self.users[pusher]),
            "created": before is None,
            "deleted": False,
            "forced": onto is not None,
            "base_ref": None,
            "compare": (
                f"{self.web_url}/{target.full_name}/compare/"
                f"{(before or '0' * 40)[:12]}...{commit.sha[:12]}"
            ),
            "commits": pushed,
            "head_commit": push_commit,
        }
        await self._emit("push", payload, target)
        await self._announce_head(target, commit.sha, sender=pusher)
        return commit.sha

    async def push_existing(self, repo: str, branch: str, sha: str, *, author: str) -> None:
        """`git push origin <sha>:<branch>`: a commit that already exists (say a PR's head) becomes
        the branch's tip, with the `push` GitHub sends (a force push unless it descends)."""
        target = self._repo(repo)
        before = target.branches.get(branch)
        new: list[Commit] = []
        current: Commit | None = target.commits[sha]
        while current is not None and current.sha != before:
            new.append(current)
            current = target.commits.get(current.parents[0]) if current.parents else None
        target.branches[branch] = sha
        head = target.commits[sha]
        pushed = [
            self.shapes.push_commit(
                target, commit, target.commits.get(commit.parents[0]) if commit.parents else None
            )
            for commit in reversed(new)
        ]
        payload: Json = {
            "ref": f"refs/heads/{branch}",
            "before": before or "0" * 40,
            "after": sha,
            "repository": self.repo_json(target),
            "pusher": {"name": author, "email": self._identity(author).email},
            "sender": self.shapes.user(self.users[author]),
            "created": before is None,
            "deleted": False,
            "forced": current is None and before is not None,
            "base_ref": None,
            "compare": f"{self.web_url}/{target.full_name}/compare/{(before or '0' * 40)[:12]}"
            f"...{sha[:12]}",
            "commits": pushed,
            "head_commit": self.shapes.push_commit(
                target, head, target.commits.get(head.parents[0]) if head.parents else None
            ),
        }
        await self._emit("push", payload, target)

    async def enqueue(
        self, repo: str, numbers: Sequence[int], *, sender: str | None = None
    ) -> list[MergeGroup]:
        """Add open PRs, in order, to the merge queue of their base branch.

        Like GitHub, each PR becomes one merge group built on the queue so far (the base
        branch's tip, or the entry ahead): a merge commit on the read-only branch
        `gh-readonly-queue/<base>/pr-<n>-<sha it is built on>`, then `check_suite.requested`
        (naming no PR) and `merge_group.checks_requested`. Returns the new entries.
        """
        target = self._repo(repo)
        entries = []
        for number in numbers:
            _, pull = self._pull(repo, number)
            if pull.state != "open":
                raise ValueError(f"PR #{number} is not open: it cannot be queued")
            queue = self.merge_queues.setdefault((target.full_name, pull.base_ref), [])
            parent_sha = queue[-1].head_sha if queue else target.branches[pull.base_ref]
            parent = target.commits[parent_sha]
            actor = sender or pull.author
            changes = _tree_changes(target.commits[pull.base_sha], target.commits[pull.head_sha])
            commit = self._commit(
                target,
                parent.tree,
                changes,
                author=actor,
                message=f"Merge pull request #{number} from {pull.head_ref}\n\n{pull.title}",
                parents=[parent_sha, pull.head_sha],
            )
            branch = f"gh-readonly-queue/{pull.base_ref}/pr-{number}-{parent_sha}"
            target.branches[branch] = commit.sha
            entry = MergeGroup(
                repo=target.full_name,
                numbers=(number,),
                head_sha=commit.sha,
                head_ref=f"refs/heads/{branch}",
                base_ref=f"refs/heads/{pull.base_ref}",
                base_sha=parent_sha,
            )
            queue.append(entry)
            entries.append(entry)
            await self._announce_head(target, commit.sha, sender=actor)
            await self.request_merge_group_checks(entry, sender=actor)
        return entries

    def merge_group_payload(self, action: str, group: MergeGroup, *, sender: str) -> Json:
        """A `merge_group` payload (octokit's schemas/merge_group/<action>.schema.json)."""
        target = self._repo(group.repo)
        return {
            "action": action,
            "merge_group": {
                "head_sha": group.head_sha,
                "head_ref": group.head_ref,
                "base_sha": group.base_sha,
                "base_ref": group.base_ref,
                "head_commit": self.shapes.commit_simple(target.commits[group.head_sha]),
            },
            "repository": self.repo_json(target),
            "sender": self.shapes.user(self.users[sender]),
        }

    async def request_merge_group_checks(
        self, group: MergeGroup, *, sender: str | None = None
    ) -> int | None:
        """Send `merge_group.checks_requested` for a queued group (a new delivery each time)."""
        target = self._repo(group.repo)
        payload = self.merge_group_payload("checks_requested", group, sender=sender or target.owner)
        return await self._emit("merge_group", payload, target)

    async def click_button(
        self, repo: str, check_run_id: int, *, user: str, identifier: str
    ) -> int | None:
        """A user clicks a requested-action button of a check run (`check_run.requested_action`)."""
        target, run = self._run(repo, check_run_id)
        if identifier not in {action["identifier"] for action in run.actions}:
            raise ValueError(f"check run {check_run_id} has no button {identifier!r}")
        payload = self._check_run_payload("requested_action", target, run, sender=user)
        payload["requested_action"] = {"identifier": identifier}
        return await self._emit("check_run", payload, target)

    async def rerequest_check(self, repo: str, check_run_id: int, *, user: str) -> int | None:
        target, run = self._run(repo, check_run_id)
        return await self._emit(
            "check_run", self._check_run_payload("rerequested", target, run, sender=user), target
        )

    async def rerequest_check_suite(self, repo: str, head_sha: str, *, user: str) -> int | None:
        target = self._repo(repo)
        suite = self.suite_for(target, head_sha)
        return await self._emit(
            "check_suite",
            self._check_suite_payload("rerequested", target, suite, sender=user),
            target,
        )

    def _run(self, repo: str, check_run_id: int) -> tuple[Repository, CheckRun]:
        target = self._repo(repo)
        run = self.check_run_store.get(check_run_id)
        if run is None or run.repo != target.full_name:
            raise KeyError(f"{repo} has no check run {check_run_id}")
        return target, run

    def _check_run_payload(
        self, action: str, repo: Repository, run: CheckRun, *, sender: str
    ) -> Json:
        return {
            "action": action,
            "check_run": self.check_run_json(run),
            "repository": self.repo_json(repo),
            "sender": self.shapes.user(self.users[sender]),
        }

    async def install_app(
        self, account: str, *, sender: str | None = None, installation_id: int | None = None
    ) -> int:
        """Install the App on an account (`installation.created`, with its repositories)."""
        inst_id = self.add_installation(account, installation_id=installation_id)
        installation = self.installations[inst_id]
        requester = self.shapes.user(self.users[sender or account])
        repos = [r for r in self.repos.values() if r.owner.lower() == account.lower()]
        payload: Json = {
            "action": "created",
            "installation": self.installation_json(installation),
            "repositories": [self.shapes.repository_lite(r) for r in repos],
            "requester": requester,
            "sender": requester,
        }
        await self.deliver("installation", payload)
        return inst_id

    async def add_installation_repository(
        self,
        owner: str,
        name: str,
        *,
        files: Mapping[str, str] | None = None,
        sender: str | None = None,
    ) -> None:
        """Create a repository on an installed account (`installation_repositories.added`)."""
        repo = self.add_repo(owner, name, files=files)
        installation = self.installation_for(repo)
        if installation is None:
            raise KeyError(f"the App is not installed on {owner}")
        who = self.shapes.user(self.users[sender or owner])
        await self.deliver(
            "installation_repositories",
            {
                "action": "added",
                "installation": self.installation_json(installation),
                "repository_selection": "all",
                "repositories_added": [self.shapes.repository_lite(repo)],
                "repositories_removed": [],
                "requester": who,
                "sender": who,
            },
        )

    # --- inspection -------------------------------------------------------------------------

    def pull(self, repo: str, number: int) -> PullRequest:
        return self._pull(repo, number)[1]

    def head_sha(self, repo: str, number: int) -> str:
        return self.pull(repo, number).head_sha

    def check_runs(self, repo: str, head_sha: str) -> list[Json]:
        """Every run on a commit (oldest first), with its annotations and actions."""
        runs = sorted(
            (
                r
                for r in self.check_run_store.values()
                if r.repo.lower() == repo.lower() and r.head_sha == head_sha
            ),
            key=lambda r: r.id,
        )
        rendered = []
        for run in runs:
            shape = self.check_run_json(run)
            shape["annotations"] = [dict(vars(a)) for a in run.annotations]
            shape["actions"] = [dict(a) for a in run.actions]
            rendered.append(shape)
        return rendered

    def review_requests(self, repo: str, number: int) -> list[str]:
        return list(self.pull(repo, number).requested_reviewers)

    def team_review_requests(self, repo: str, number: int) -> list[str]:
        return list(self.pull(repo, number).requested_teams)

    def issue(self, repo: str, number: int) -> Issue:
        return self._repo(repo).issues[number]

    def comments(self, repo: str, number: int) -> list[Json]:
        target = self._repo(repo)
        ordered = sorted(
            (c for c in target.comments.values() if c.issue_number == number), key=lambda c: c.id
        )
        return [self.comment_json(target, c) for c in ordered]

    def reactions(self, repo: str, comment_id: int) -> list[str]:
        return [r.content for r in self._comment(self._repo(repo), comment_id).reactions]

    def react_as(self, user: str, repo: str, comment_id: int, content: str) -> None:
        """A person's reaction on a comment (GitHub sends no webhook for reactions)."""
        self._require_user(user)
        reaction_id = self.next_id()
        self._comment(self._repo(repo), comment_id).reactions.append(
            Reaction(reaction_id, node_id("Reaction", reaction_id), user, content, self.now())
        )

    def reset_calls(self) -> None:
        self.calls.clear()


def _with_trailers(message: str, trailers: list[str]) -> str:
    return message if not trailers else message + "\n\n" + "\n".join(trailers)


def _tree_changes(base: Commit | None, head: Commit) -> dict[str, str | None]:
    before = base.tree if base else {}
    changes: dict[str, str | None] = {p: t for p, t in head.tree.items() if before.get(p) != t}
    changes.update({p: None for p in before if p not in head.tree})
    return changes


def _dump(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _node_limit_error(nodes: int) -> Json:
    """GitHub's answer to a call that may return more nodes than it allows."""
    return {
        "type": "MAX_NODE_LIMIT_EXCEEDED",
        "message": f"This query requests up to {nodes:,} possible nodes which exceeds the "
        f"maximum limit of {MAX_NODES:,}.",
    }


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") in (wanted, "*") for tag in header.split(","))


def _delivery_failure(status: int) -> str:
    return "Timed out" if status == 0 else f"Invalid HTTP Response: {status}"


def _operation_name(query: str) -> str | None:
    import re

    found = re.search(r"\b(query|mutation)\s+(\w+)", query)
    return found[2] if found else None


def _search_condition(
    sim: GitHubSimulator, key: str, value: str, term: str
) -> Callable[[Repository, PullRequest], bool]:
    lowered = value.lower()
    if key == "is":
        checks: dict[str, Callable[[Repository, PullRequest], bool]] = {
            "pr": lambda r, p: True,
            "issue": lambda r, p: False,
            "open": lambda r, p: p.state == "open",
            "closed": lambda r, p: p.state == "closed",
            "merged": lambda r, p: p.merged,
            "draft": lambda r, p: p.draft,
        }
        if lowered in checks:
            return checks[lowered]
    elif key == "type" and lowered in ("pr", "issue"):
        return lambda r, p: lowered == "pr"
    elif key == "state" and lowered in ("open", "closed"):
        return lambda r, p: p.state == lowered
    elif key == "review-requested":
        return lambda r, p: any(u.lower() == lowered for u in p.requested_reviewers)
    elif key == "author":
        return lambda r, p: p.author.lower() == lowered
    elif key == "repo":
        return lambda r, p: r.full_name.lower() == lowered
    elif key in ("user", "org"):
        return lambda r, p: r.owner.lower() == lowered
    elif key == "label":
        return lambda r, p: lowered in {name.lower() for name in p.labels}
    elif key == "base":
        return lambda r, p: p.base_ref == value
    elif key == "reviewed-by":
        return lambda r, p: lowered in {review.user.lower() for review in p.reviews}
    if not value:  # free text: match titles
        return lambda r, p: term.lower() in p.title.lower()
    raise HttpError(
        422,
        "Validation Failed",
        errors=[
            {
                "resource": "Search",
                "field": "q",
                "code": "invalid",
                "message": f"unsupported qualifier {key!r} in the simulator",
            }
        ],
    )
