"""The REST operations of GitHub's API that the bot may call, served over the simulator's state.

Each handler implements one operation of `reference/openapi-subset.json` with GitHub's status
codes and shapes; `ROUTES` maps method + path template to handler and operation id.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlencode

from githubsim.host import RestHost
from githubsim.shapes import PERMISSION_ORDER, REACTION_CONTENTS, Json
from githubsim.state import (
    LEGACY_PERMISSION,
    PERMISSION_LEVELS,
    Annotation,
    CheckRun,
    Comment,
    ContentEdit,
    InstallationToken,
    PullRequest,
    Reaction,
    Repository,
    Thread,
    blob_sha,
    iso,
    node_id,
)

DOCS = "https://docs.github.com/rest"
WRITE_LEVEL = PERMISSION_LEVELS.index("write")
TOKEN_LIFETIME = timedelta(hours=1)
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 30

# Check-run limits from GitHub's REST description (see reference/LIMITS.md).
MAX_OUTPUT_TEXT = 65535
MAX_COMMENT_BODY = 65536  # GitHub: "body is too long (maximum is 65536 characters)"
MAX_ANNOTATIONS_PER_REQUEST = 50
MAX_ACTIONS = 3
MAX_ACTION_LABEL = 20
MAX_ACTION_DESCRIPTION = 40
MAX_ACTION_IDENTIFIER = 20
MAX_ANNOTATION_TITLE = 255
MAX_ANNOTATION_MESSAGE = 64 * 1024
CHECK_STATUSES = ("queued", "in_progress", "completed")
CHECK_CONCLUSIONS = (
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "timed_out",
)
ANNOTATION_LEVELS = ("notice", "warning", "failure")


class HttpError(Exception):
    """An error answer in GitHub's shape: `{"message", "documentation_url"[, "errors"]}`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[Json] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = dict(headers or {})

    def body(self) -> Json:
        body: Json = {"message": self.message, "documentation_url": DOCS}
        if self.errors is not None:
            body["errors"] = self.errors
        body["status"] = str(self.status)
        return body


def not_found() -> HttpError:
    return HttpError(404, "Not Found")


def invalid(field_name: str, *, resource: str, message: str | None = None) -> HttpError:
    """GitHub's 422 "Validation Failed" with one error entry."""
    error: Json = {"resource": resource, "field": field_name, "code": "invalid"}
    if message:
        error = {"resource": resource, "code": "custom", "field": field_name, "message": message}
    return HttpError(422, "Validation Failed", errors=[error])


@dataclass
class RestRequest:
    """One REST request as the simulator saw it; request validators receive this."""

    method: str
    path: str
    operation_id: str
    path_params: dict[str, str]
    query: dict[str, str]
    body: Any
    headers: Mapping[str, str]
    installation_id: int | None = None
    token_repositories: frozenset[str] | None = None
    user: str | None = None  # a person's own token, on the routes that take one (see Route.auth)


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["RestApi", RestRequest], Awaitable[Reply]]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    operation_id: str
    handler: Handler
    pattern: re.Pattern[str]
    auth: str  # "jwt" | "installation" | "any" | "installation_or_user"


ROUTES: list[Route] = []
_GREEDY_PARAMS = {"path", "ref"}


def route(
    method: str, template: str, operation_id: str, *, auth: str = "installation"
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        regex = re.sub(
            r"\{(\w+)\}",
            lambda m: f"(?P<{m[1]}>.+)" if m[1] in _GREEDY_PARAMS else f"(?P<{m[1]}>[^/]+)",
            template,
        )
        ROUTES.append(
            Route(method, template, operation_id, handler, re.compile(f"^{regex}$"), auth)
        )
        return handler

    return register


def match_route(method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
    path = raw_path.rstrip("/") or "/"
    for candidate in ROUTES:
        if candidate.method != method:
            continue
        found = candidate.pattern.match(path)
        if found:
            return candidate, {name: unquote(value) for name, value in found.groupdict().items()}
    return None


def int_param(request: RestRequest, name: str) -> int:
    value = request.path_params[name]
    if not value.isdigit():
        raise not_found()
    return int(value)


class RestApi:
    """Handlers; each reads and changes `sim`'s state."""

    def __init__(self, sim: RestHost) -> None:
        self.sim = sim

    # --- helpers -------------------------------------------------------------------------

    def repo(self, request: RestRequest) -> Repository:
        repo = self.sim.find_repo(request.path_params["owner"], request.path_params["repo"])
        if repo is None or not self.sim.installation_covers(
            request.installation_id, repo, request.token_repositories
        ):
            raise not_found()
        return repo

    def pull(
        self, request: RestRequest, repo: Repository, param: str = "pull_number"
    ) -> PullRequest:
        pull = repo.pulls.get(int_param(request, param))
        if pull is None:
            raise not_found()
        return pull

    def thread(self, request: RestRequest, repo: Repository) -> Thread:
        """The pull request or issue an `issue_number` names."""
        number = int_param(request, "issue_number")
        found = repo.pulls.get(number) or repo.issues.get(number)
        if found is None:
            raise not_found()
        return found

    def paginate(self, request: RestRequest, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
        """One page of `items` and GitHub's `Link` header (rel next/last/first/prev)."""
        per_page = _positive_int(request.query.get("per_page"), DEFAULT_PER_PAGE)
        per_page = min(per_page, MAX_PER_PAGE)
        page = _positive_int(request.query.get("page"), 1)
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []

        def url(number: int) -> str:
            query = dict(request.query, per_page=str(per_page), page=str(number))
            return f"<{self.sim.url}{request.path}?{urlencode(query)}>"

        if page > 1:
            links += [f'{url(page - 1)}; rel="prev"']
        if page < last:
            links += [f'{url(page + 1)}; rel="next"', f'{url(last)}; rel="last"']
        if page > 1:
            links += [f'{url(1)}; rel="first"']
        return chunk, ({"Link": ", ".join(links)} if links else {})

    def body_object(self, request: RestRequest) -> Json:
        if request.body is None:
            return {}
        if not isinstance(request.body, dict):
            raise HttpError(400, "Problems parsing JSON")
        return request.body

    # --- apps ------------------------------------------------------------------------------

    @route("GET", "/app", "apps/get-authenticated", auth="jwt")
    async def get_app(self, request: RestRequest) -> Reply:
        body = self.sim.shapes.app(self.sim.app_owner)
        body["client_id"] = self.sim.client_id  # only here: webhooks' `app` objects have none
        body["installations_count"] = len(self.sim.installations)
        return Reply(200, body)

    @route("GET", "/app/installations", "apps/list-installations", auth="jwt")
    async def list_installations(self, request: RestRequest) -> Reply:
        items = [self.sim.installation_json(inst) for inst in self.sim.installations.values()]
        page, headers = self.paginate(request, items)
        return Reply(200, page, headers)

    @route(
        "POST",
        "/app/installations/{installation_id}/access_tokens",
        "apps/create-installation-access-token",
        auth="jwt",
    )
    async def create_token(self, request: RestRequest) -> Reply:
        installation = self.sim.installations.get(int_param(request, "installation_id"))
        if installation is None:
            raise not_found()
        body = self.body_object(request)
        covered = [
            r for r in self.sim.repos.values() if r.owner.lower() == installation.account.lower()
        ]
        scope: frozenset[str] | None = None
        names = body.get("repositories")
        ids = body.get("repository_ids")
        if names is not None or ids is not None:
            chosen = [r for r in covered if (names and r.name in names) or (ids and r.id in ids)]
            if len(chosen) != len(names or []) + len(ids or []):
                raise HttpError(
                    422,
                    "There is at least one repository that does not exist or is not accessible to "
                    "the parent installation.",
                )
            scope = frozenset(r.full_name.lower() for r in chosen)
            covered = chosen
        token = "ghs_" + secrets.token_urlsafe(27).replace("-", "A").replace("_", "b")[:36]
        expires_at = self.sim.now() + TOKEN_LIFETIME
        self.sim.tokens[token] = InstallationToken(token, installation.id, expires_at)
        self.sim.token_scopes[token] = scope
        self.sim.tokens_minted += 1
        payload: Json = {
            "token": token,
            "expires_at": iso(expires_at),
            "permissions": body.get("permissions")
            or self.sim.shapes.app(self.sim.app_owner)["permissions"],
            "repository_selection": "selected" if scope is not None else "all",
        }
        if scope is not None:
            payload["repositories"] = [self.sim.repo_json(r) for r in covered]
        return Reply(201, payload)

    @route("GET", "/installation/repositories", "apps/list-repos-accessible-to-installation")
    async def list_installation_repos(self, request: RestRequest) -> Reply:
        repos = [
            self.sim.repo_json(r)
            for r in self.sim.repos.values()
            if self.sim.installation_covers(request.installation_id, r, request.token_repositories)
        ]
        page, headers = self.paginate(request, repos)
        selection = "selected" if request.token_repositories is not None else "all"
        return Reply(
            200,
            {"total_count": len(repos), "repository_selection": selection, "repositories": page},
            headers,
        )

    @route("GET", "/app/hook/deliveries", "apps/list-webhook-deliveries", auth="jwt")
    async def list_deliveries(self, request: RestRequest) -> Reply:
        per_page = min(_positive_int(request.query.get("per_page"), DEFAULT_PER_PAGE), MAX_PER_PAGE)
        newest_first = sorted(self.sim.deliveries, key=lambda d: d.id, reverse=True)
        cursor = request.query.get("cursor")
        if cursor:
            if not cursor.isdigit():
                raise HttpError(422, "Invalid cursor")
            newest_first = [d for d in newest_first if d.id < int(cursor)]
        page = newest_first[:per_page]
        headers = {}
        if len(newest_first) > per_page:
            query = urlencode({"per_page": per_page, "cursor": page[-1].id})
            headers["Link"] = f'<{self.sim.url}{request.path}?{query}>; rel="next"'
        return Reply(200, [self.sim.delivery_json(d) for d in page], headers)

    @route("GET", "/app/hook/deliveries/{delivery_id}", "apps/get-webhook-delivery", auth="jwt")
    async def get_delivery(self, request: RestRequest) -> Reply:
        delivery = self.sim.find_delivery(int_param(request, "delivery_id"))
        return Reply(200, self.sim.delivery_json(delivery, detailed=True))

    @route(
        "POST",
        "/app/hook/deliveries/{delivery_id}/attempts",
        "apps/redeliver-webhook-delivery",
        auth="jwt",
    )
    async def redeliver(self, request: RestRequest) -> Reply:
        delivery = self.sim.find_delivery(int_param(request, "delivery_id"))
        self.sim.spawn(self.sim.redeliver(delivery))
        return Reply(202, {})

    # --- rate limit ------------------------------------------------------------------------

    @route("GET", "/rate_limit", "rate-limit/get", auth="any")
    async def rate_limit(self, request: RestRequest) -> Reply:
        core = self.sim.rate_limit_status(request.installation_id, "core")
        graphql = self.sim.rate_limit_status(request.installation_id, "graphql")
        search = self.sim.rate_limit_status(request.installation_id, "search")
        return Reply(
            200,
            {"resources": {"core": core, "graphql": graphql, "search": search}, "rate": core},
        )

    # --- repositories, contents, collaborators ------------------------------------------

    @route("GET", "/repos/{owner}/{repo}", "repos/get")
    async def get_repo(self, request: RestRequest) -> Reply:
        return Reply(200, self.sim.repo_json(self.repo(request)))

    @route("GET", "/repos/{owner}/{repo}/contents/{path}", "repos/get-content")
    async def get_content(self, request: RestRequest) -> Reply:
        repo = self.repo(request)
        ref = request.query.get("ref") or repo.default_branch
        commit = repo.resolve_ref(ref)
        if commit is None:
            raise HttpError(404, f"No commit found for the ref {ref}")
        path = request.path_params["path"].strip("/")
        if path in commit.tree:
            return Reply(200, self.sim.shapes.content_file(repo, path, commit.tree[path], ref=ref))
        prefix = path + "/"
        children: dict[str, str] = {}
        for file_path, text in sorted(commit.tree.items()):
            if file_path.startswith(prefix):
                rest = file_path[len(prefix) :]
                child = rest.split("/", 1)[0]
                kind = "dir" if "/" in rest else "file"
                if child not in children:
                    children[child] = kind
                    _ = text
        if not children:
            raise not_found()
        entries = []
        for child, kind in children.items():
            child_path = prefix + child
            sha = blob_sha(commit.tree[child_path]) if kind == "file" else blob_sha(child_path)
            entries.append(
                self.sim.shapes.content_dir_entry(repo, child_path, kind=kind, sha=sha, ref=ref)
            )
        return Reply(200, entries)

    @route("GET", "/repos/{owner}/{repo}/collaborators", "repos/list-collaborators")
    async def list_collaborators(self, request: RestRequest) -> Reply:
        repo = self.repo(request)
        wanted = request.query.get("permission")
        items = [
            self.sim.shapes.collaborator(self.sim.users[login], level)
            for login, level in sorted(repo.permissions.items())
            if level != "none"
            and (
                wanted is None or _permission_at_least(level, _LEGACY_TO_LEVEL.get(wanted, wanted))
            )
        ]
        page, headers = self.paginate(request, items)
        return Reply(200, page, headers)

    @route("GET", "/repos/{owner}/{repo}/collaborators/{username}", "repos/check-collaborator")
    async def check_collaborator(self, request: RestRequest) -> Reply:
        repo = self.repo(request)
        login = self.sim.canonical_login(request.path_params["username"])
        if login is None or repo.permissions.get(login, "none") == "none":
            raise not_found()
        return Reply(204)

    @route(
        "GET",
        "/repos/{owner}/{repo}/collaborators/{username}/permission",
        "repos/get-collaborator-permission-level",
    )
    async def collaborator_permission(self, request: RestRequest) -> Reply:
        repo = self.repo(request)
        login = self.sim.canonical_login(request.path_params["username"])
        if login is None:
            raise not_found()
        level = repo.permissions.get(login, "none")
        if level == "none" and not repo.private:
            level = "read"  # anyone may read a public repository
        user = self.sim.shapes.collaborator(self.sim.users[login], level)
        return Reply(
            200,
            {"permission": LEGACY_PERMISSION[level], "role_name": level, "user": user},
        )

    # --- organisations and teams ---------------------------------------------------------

    @route("GET", "/orgs/{org}/members/{username}", "orgs/check-membership-for-user")
    async def check_member(self, request: RestRequest) -> Reply:
        org = self.sim.find_org(request.path_params["org"])
        login = self.sim.canonical_login(request.path_params["username"])
        if org is None or login is None or login not in self.sim.org_members[org]:
            raise HttpError(404, "User does not exist or is not a member of the organization")
        return Reply(204)

    @route("GET", "/orgs/{org}/teams/{team_slug}/members", "teams/list-members-in-org")
    async def team_members(self, request: RestRequest) -> Reply:
        team = self.sim.find_team(request.path_params["org"], request.path_params["team_slug"])
        role = request.query.get("role", "all")
        logins = [
            login for login, their_role in team.members.items() if role in ("all", their_role)
        ]
        items = [self.sim.shapes.user(self.sim.users[login]) for login in sorted(logins)]
        page, headers = self.paginate(request, items)
        return Reply(200, page, headers)

    @route(
        "GET",
        "/orgs/{org}/teams/{team_slug}/memberships/{username}",
        "teams/get-membership-for-user-in-org",
    )
    async def team_membership(self, request: RestRequest) -> Reply:
        team = self.sim.find_team(request.path_params["org"], request.path_params["team_slug"])
        login = self.sim.canonical_login(request.path_params["username"])
        if login is None or login not in team.members:
            raise not_found()
        url = f"{self.sim.url}/organizations/{team.org}/team/{team.id}/memberships/{login}"
        return Reply(200, {"url": url, "role": team.members[login], "state": "active"})

    # --- checks ----------------------------------------------------------------------------

    @route("POST", "/repos/{owner}/{repo}/check-runs", "checks/create")
    async def create_check_run(self, request: RestRequest) -> Reply:
        repo = self.repo(request)
        body = self.body_object(request)
        name = body.get("name")
        head_sha = body.get("head_sha")
        if not isinstance(name, str) or not name:
            raise invalid("name", resource="CheckRun")
        if not isinstance(head_sha, str) or head_sha not in repo.commits:
            raise HttpError(422, f"No commit found for SHA: {head_sha}")
        now = self.sim.now()
        suite = self.sim.suite_for(repo, head_sha)
        run = CheckRun(
            id=self.sim.next_id(),
            node_id="",
            repo=repo.full_name,
            suite_id=suite.id,
            app_id=self.sim.app_id,
            name=name,
            head_sha=head_sha,
            status="queued",
            conclusion=None,
            started_at=now,
            completed_at=None,
        )
        run.node_id = node_id("CheckRun", run.id)
        _apply_check_fields(run, body, now=now, creating=True)
        self.sim.check_run_store[run.id] = run
        suite.updated_at = now
        return Reply(201, self.sim.check_run_json(run))

    def check_run(self, request: RestRequest) -> tuple[Repository, CheckRun]:
        repo = self.repo(request)
        run = self.sim.check_run_store.get(int_param(request, "check_run_id"))
        if run is None or run.repo != repo.full_name:
            raise not_found()
        return repo, run

    @route("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}", "checks/get")
    async def get_check_run(self, request: RestRequest) -> Reply:
        _, run = self.check_run(request)
        return Reply(200, self.sim.check_run_json(run))

    @route("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}", "checks/update")
    async def update_check_run(self, request: RestRequest) -> Reply:
        _, run = self.check_run(request)
        if run.app_id != self.sim.app_id:
            raise HttpError(
                403,
                f"Invalid app_id `{self.sim.app_id}` - check run can only be modified by the "
                "GitHub App that created it.",
            )
        body = self.body_object(request)
        if "name" in body and (not isinstance(body["name"], str) or not body["name"]):
            raise invalid("name", resource="CheckRun")
        _apply_check_fields(run, body, now=self.sim.now(), creating=False)
        if isinstance(body.get("name"), str):
            run.name = body["name"]
        return Reply(200, self.sim.check_run_json(run))

    @route("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs", "checks/list-for-ref")
    async def list_check_runs(self, request: RestRequest) -> Reply:
        repo = self.repo(request)
        commit = repo.resolve_ref(request.path_params["ref"])
        if commit is None:
            raise HttpError(422, f"No commit found for SHA: {request.path_params['ref']}")
        runs = [
            r
            for r in self.sim.check_run_store.values()
            if r.repo == repo.full_name and r.head_sha == commit.sha
        ]
        if "check_name" in request.query:
            runs = [r for r in runs if r.name == request.query["check_name"]]
        if "status" in request.query:
            runs = [r for r in runs if r.status == request.query["status"]]
        if "app_id" in request.query:
            runs = [r for r in runs if str(r.app_id) == request.query["app_id"]]
        if request.query.get("filter", "latest") == "latest":
            latest: dict[str, CheckRun] = {}
            for run in sorted(runs, key=lambda r: r.id):
                latest[run.name] = run
            runs = list(latest.values())
        runs.sort(key=lambda r: r.id, reverse=True)
        page, headers = self.paginate(request, runs)
        return Reply(
            200,
            {"total_count": len(runs), "check_runs": [self.sim.check_run_json(r) for r in page]},
            headers,
        )

    # --- pull requests ---------------------------------------------------------------------

    @route("GET", "/repos/{owner}/{repo}/pulls", "pulls/list")
    async def list_pulls(self, request: RestRequest) -> Reply:
        repo = self.repo(request)
        state = request.query.get("state", "open")
        if state not in ("open", "closed", "all"):
            raise invalid("state", resource="PullRequest")
        pulls = [p for p in repo.pulls.values() if state in ("all", p.state)]
        if "base" in request.query:
            pulls = [p for p in pulls if p.base_ref == request.query["base"]]
        if "head" in request.query:
            pulls = [p for p in pulls if f"{repo.owner}:{p.head_ref}" == request.query["head"]]
        sort = request.query.get("sort", "created")
        by_update = sort in ("updated", "long-running")
        direction = request.query.get("direction", "desc")
        pulls.sort(
            key=lambda p: (p.updated_at if by_update else p.created_at, p.number),
            reverse=direction == "desc",
        )
        page, headers = self.paginate(request, pulls)
        return Reply(200, [self.sim.pull_json(repo, p, full=False) for p in page], headers)

    @route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", "pulls/get")
    async def get_pull(self, request: RestRequest) -> Reply:
        repo = self.repo(request)
        return Reply(200, self.sim.pull_json(repo, self.pull(request, repo)))

    @route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/commits", "pulls/list-commits")
    async def list_pull_commits(self, request: RestRequest) -> Reply:
        repo = self.repo(request)
        pull = self.pull(request, repo)
        items = [self.sim.commit_json(repo, repo.commits[sha]) for sha in pull.commit_shas[:250]]
        page, headers = self.paginate(request, items)
        return Reply(200, page, headers)

    @route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files", "pulls/list-files")
    async def list_pull_files(self, request: RestRequest) -> Reply:
        repo = self.repo(request)
        pull = self.pull(request, repo)
        changes = repo.pull_files(pull)[:3000]
        page, headers = self.paginate(request, changes)
        items = []
        for change in page:
            sha = change.blob or blob_sha(repo.commits[pull.base_sha].tree[change.path])
            web = f"{self.sim.web_url}/{repo.full_name}"
            items.append(
                {
                    "sha": sha,
                    "filename": change.path,
                    "status": change.status,
                    "additions": change.additions,
                    "deletions": change.deletions,
                    "changes": change.additions + change.deletions,
                    "blob_url": f"{web}/blob/{pull.head_sha}/{change.path}",
                    "raw_url": f"{web}/raw/{pull.head_sha}/{change.path}",
                    "contents_url": (
                        f"{self.sim.url}/repos/{repo.full_name}/contents/{change.path}"
                        f"?ref={pull.head_sha}"
                    ),
                }
            )
            if change.previous_path is not None:  # only REST names a renamed file's old path
                items[-1]["previous_filename"] = change.previous_path
        return Reply(200, items, headers)

    @route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", "pulls/list-reviews")
    async def list_reviews(self, request: RestRequest) -> Reply:
        repo = self.repo(request)
        pull = self.pull(request, repo)
        page, headers = self.paginate(request, pull.reviews)
        items = []
        for review in page:
            shape = self.sim.shapes.review(repo, pull, review, user=self.sim.users[review.user])
            shape["state"] = review.state  # REST answers upper case; webhooks lower case
            shape["body"] = review.body
            items.append(shape)
        return Reply(200, items, headers)

    @route(
        "GET",
        "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
        "pulls/list-requested-reviewers",
    )
    async def list_requested(self, request: RestRequest) -> Reply:
        repo = self.repo(request)
        pull = self.pull(request, repo)
        return Reply(
            200,
            {
                "users": [
                    self.sim.shapes.user(self.sim.users[u]) for u in pull.requested_reviewers
                ],
                "teams": [self.sim.shapes.team(t) for t in self.sim.teams_of(repo, pull)],
            },
        )

    @route(
        "POST",
        "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
        "pulls/request-reviewers",
    )
    async def request_reviewers(self, request: RestRequest) -> Reply:
        repo = self.repo(request)
        pull = self.pull(request, repo)
        body = self.body_object(request)
        logins = body.get("reviewers") or []
        slugs = body.get("team_reviewers") or []
        if not isinstance(logins, list) or not isinstance(slugs, list) or not (logins or slugs):
            raise invalid("reviewers", resource="PullRequest")
        canonical = []
        for login in logins:
            found = self.sim.canonical_login(str(login))
            if found is not None and found.lower() == pull.author.lower():
                raise HttpError(422, "Review cannot be requested from pull request author.")
            if found is None or repo.permissions.get(found, "none") == "none":
                raise HttpError(
                    422,
                    "Reviews may only be requested from collaborators. One or more of the users "
                    f"or teams you specified is not a collaborator of the {repo.full_name} "
                    "repository.",
                )
            canonical.append(found)
        for slug in slugs:
            if self.sim.find_team(repo.owner, str(slug), missing_ok=True) is None:
                raise HttpError(
                    422,
                    "Reviews may only be requested from collaborators. One or more of the users "
                    f"or teams you specified is not a collaborator of the {repo.full_name} "
                    "repository.",
                )
        for login in canonical:
            self.sim.record_review_request(pull, login, actor=self.sim.bot_login)
        for slug in slugs:
            if slug not in pull.requested_teams:
                pull.requested_teams.append(str(slug))
        pull.updated_at = self.sim.now()
        return Reply(201, self.sim.pull_json(repo, pull, full=False))

    @route(
        "DELETE",
        "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
        "pulls/remove-requested-reviewers",
    )
    async def remove_reviewers(self, request: RestRequest) -> Reply:
        repo = self.repo(request)
        pull = self.pull(request, repo)
        body = self.body_object(request)
        logins = body.get("reviewers")
        if not isinstance(logins, list):
            raise invalid("reviewers", resource="PullRequest")
        drop = {str(login).lower() for login in logins}
        for login in [u for u in pull.requested_reviewers if u.lower() in drop]:
            self.sim.record_review_request(pull, login, actor=self.sim.bot_login, removed=True)
            self.sim.announce(
                "pull_request",
                self.sim.review_request_removed_payload(
                    repo, pull, login, sender=self.sim.bot_login
                ),
                repo,
            )
        teams = {str(slug) for slug in body.get("team_reviewers") or []}
        pull.requested_teams = [t for t in pull.requested_teams if t not in teams]
        pull.updated_at = self.sim.now()
        return Reply(200, self.sim.pull_json(repo, pull, full=False))

    # --- issues: comments, labels, reactions ----------------------------------------------

    def comment(self, request: RestRequest) -> tuple[Repository, Comment]:
        repo = self.repo(request)
        comment = repo.comments.get(int_param(request, "comment_id"))
        if comment is None:
            raise not_found()
        return repo, comment

    @route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments", "issues/list-comments")
    async def list_comments(self, request: RestRequest) -> Reply:
        repo = self.repo(request)
        pull = self.thread(request, repo)
        comments = sorted(
            (c for c in repo.comments.values() if c.issue_number == pull.number),
            key=lambda c: c.id,
        )
        if "since" in request.query:
            since = _parse_time(request.query["since"])
            comments = [c for c in comments if c.updated_at >= since]
        page, headers = self.paginate(request, comments)
        return Reply(200, [self.sim.comment_json(repo, c) for c in page], headers)

    @route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", "issues/create-comment")
    async def create_comment(self, request: RestRequest) -> Reply:
        repo = self.repo(request)
        pull = self.thread(request, repo)
        body = self.body_object(request).get("body")
        if not isinstance(body, str) or not body:
            raise invalid("body", resource="IssueComment")
        _check_comment_length(body)
        comment = self.sim.add_comment(
            repo, pull, author=self.sim.bot_login, body=body, via_app=True
        )
        self.sim.announce(
            "issue_comment",
            self.sim.comment_payload("created", repo, pull, comment, sender=self.sim.bot_login),
        )
        return Reply(201, self.sim.comment_json(repo, comment))

    @route("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}", "issues/get-comment")
    async def get_comment(self, request: RestRequest) -> Reply:
        repo, comment = self.comment(request)
        return Reply(200, self.sim.comment_json(repo, comment))

    def _users_comment(self, request: RestRequest, user: str) -> tuple[Repository, Comment]:
        """A comment a person edits with their own token: its author, or anyone with write
        access, may (docs.github.com/en/communities/moderating-comments-and-conversations)."""
        repo = self.sim.find_repo(request.path_params["owner"], request.path_params["repo"])
        level = "none" if repo is None else repo.permissions.get(user, "none")
        if repo is None or (repo.private and level == "none"):
            raise not_found()
        comment = repo.comments.get(int_param(request, "comment_id"))
        if comment is None:
            raise not_found()
        if comment.user != user and PERMISSION_LEVELS.index(level) < WRITE_LEVEL:
            raise HttpError(403, "Resource not accessible by personal access token")
        return repo, comment

    @route(
        "PATCH",
        "/repos/{owner}/{repo}/issues/comments/{comment_id}",
        "issues/update-comment",
        auth="installation_or_user",
    )
    async def update_comment(self, request: RestRequest) -> Reply:
        if request.user is not None:
            editor = request.user
            repo, comment = self._users_comment(request, editor)
        else:
            editor = self.sim.bot_login
            repo, comment = self.comment(request)
            if comment.user != self.sim.bot_login:
                raise HttpError(403, "Resource not accessible by integration")
        body = self.body_object(request).get("body")
        if not isinstance(body, str) or not body:
            raise invalid("body", resource="IssueComment")
        _check_comment_length(body)
        before = comment.body
        comment.body = body
        comment.updated_at = self.sim.now()
        # GraphQL's editor and userContentEdits name whoever edited, the author included.
        comment.edits.append(ContentEdit(self.sim.next_id(), editor, comment.updated_at, body))
        pull: Thread = repo.pulls.get(comment.issue_number) or repo.issues[comment.issue_number]
        pull.updated_at = comment.updated_at
        payload = self.sim.comment_payload("edited", repo, pull, comment, sender=editor)
        payload["changes"] = {"body": {"from": before}}
        self.sim.announce("issue_comment", payload)
        return Reply(200, self.sim.comment_json(repo, comment))

    @route(
        "POST",
        "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
        "reactions/create-for-issue-comment",
    )
    async def react_to_comment(self, request: RestRequest) -> Reply:
        _, comment = self.comment(request)
        return self.react(request, comment.reactions)

    @route(
        "POST",
        "/repos/{owner}/{repo}/issues/{issue_number}/reactions",
        "reactions/create-for-issue",
    )
    async def react_to_issue(self, request: RestRequest) -> Reply:
        repo = self.repo(request)
        pull = self.thread(request, repo)
        return self.react(request, pull.reactions)

    def react(self, request: RestRequest, reactions: list[Reaction]) -> Reply:
        content = self.body_object(request).get("content")
        if content not in REACTION_CONTENTS:
            raise invalid("content", resource="Reaction")
        user = self.sim.users[self.sim.bot_login]
        for reaction in reactions:
            if reaction.user == user.login and reaction.content == content:
                return Reply(200, self.sim.shapes.reaction(reaction, user))
        reaction = Reaction(
            id=self.sim.next_id(),
            node_id="",
            user=user.login,
            content=str(content),
            created_at=self.sim.now(),
        )
        reaction.node_id = node_id("Reaction", reaction.id)
        reactions.append(reaction)
        return Reply(201, self.sim.shapes.reaction(reaction, user))

    @route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels", "issues/add-labels")
    async def add_labels(self, request: RestRequest) -> Reply:
        repo = self.repo(request)
        pull = self.thread(request, repo)
        body = request.body
        names: Any = body.get("labels") if isinstance(body, dict) else body
        if isinstance(names, list) and names and isinstance(names[0], dict):
            names = [item.get("name") for item in names]
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise invalid("labels", resource="Label")
        for name in names:
            if name not in pull.labels:
                await self.sim.apply_label(
                    repo, pull, name, sender=self.sim.bot_login, add=True, wait=False
                )
        return Reply(200, [self.sim.shapes.label(repo, repo.labels[n]) for n in pull.labels])

    @route(
        "DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", "issues/remove-label"
    )
    async def remove_label(self, request: RestRequest) -> Reply:
        repo = self.repo(request)
        pull = self.thread(request, repo)
        name = request.path_params["name"]
        if name not in pull.labels:
            raise HttpError(404, "Label does not exist")
        await self.sim.apply_label(
            repo, pull, name, sender=self.sim.bot_login, add=False, wait=False
        )
        return Reply(200, [self.sim.shapes.label(repo, repo.labels[n]) for n in pull.labels])

    # --- search ----------------------------------------------------------------------------

    @route("GET", "/search/issues", "search/issues-and-pull-requests")
    async def search_issues(self, request: RestRequest) -> Reply:
        query = request.query.get("q")
        if not query:
            raise invalid("q", resource="Search")
        matches = self.sim.search_pulls(query, request.installation_id, request.token_repositories)
        page, headers = self.paginate(request, matches)
        items = []
        for repo, pull in page:
            item = self.sim.shapes.issue(repo, pull, users=self.sim.users)
            item["score"] = 1.0
            items.append(item)
        return Reply(
            200,
            {"total_count": len(matches), "incomplete_results": False, "items": items},
            headers,
        )


def _positive_int(raw: str | None, default: int) -> int:
    if raw is None or not raw.isdigit() or int(raw) < 1:
        return default
    return int(raw)


def _parse_time(raw: str) -> datetime:
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as error:
        raise invalid("since", resource="Issue") from error


_LEGACY_TO_LEVEL = {
    "pull": "read",
    "push": "write",
    "triage": "triage",
    "maintain": "maintain",
    "admin": "admin",
}


def _permission_at_least(level: str, wanted: str) -> bool:
    if wanted not in PERMISSION_ORDER:
        return False
    return PERMISSION_ORDER.index(level) >= PERMISSION_ORDER.index(wanted)


def _apply_check_fields(run: CheckRun, body: Json, *, now: datetime, creating: bool) -> None:
    """Validate, then apply, the writable fields of a check run (create or update)."""
    status = body.get("status")
    conclusion = body.get("conclusion")
    if status is not None and status not in CHECK_STATUSES:
        raise invalid("status", resource="CheckRun")
    if conclusion is not None and conclusion not in CHECK_CONCLUSIONS:
        raise invalid("conclusion", resource="CheckRun")
    if status == "completed" and conclusion is None and run.conclusion is None:
        raise HttpError(
            422,
            "Validation Failed",
            errors=[{"resource": "CheckRun", "code": "missing_field", "field": "conclusion"}],
        )
    output = body.get("output")
    annotations: list[Annotation] = []
    if output is not None:
        if not isinstance(output, dict):
            raise invalid("output", resource="CheckRun")
        if creating or "summary" in output or "title" in output:
            for key in ("title", "summary"):
                if not isinstance(output.get(key), str):
                    raise HttpError(
                        422,
                        "Validation Failed",
                        errors=[
                            {
                                "resource": "CheckRun",
                                "code": "missing_field",
                                "field": f"output.{key}",
                            }
                        ],
                    )
        for key in ("summary", "text"):
            value = output.get(key)
            if isinstance(value, str) and len(value) > MAX_OUTPUT_TEXT:
                raise HttpError(
                    422,
                    "Invalid request.\n\nOnly 65535 characters are allowed; "
                    f"{len(value)} were supplied.",
                    errors=[{"resource": "CheckRun", "code": "too_long", "field": f"output.{key}"}],
                )
        raw_annotations = output.get("annotations") or []
        if not isinstance(raw_annotations, list):
            raise invalid("output.annotations", resource="CheckRun")
        if len(raw_annotations) > MAX_ANNOTATIONS_PER_REQUEST:
            raise HttpError(
                422,
                "Invalid request.\n\nOnly 50 annotations are allowed per request; "
                f"{len(raw_annotations)} were supplied.",
            )
        annotations = [_annotation(item) for item in raw_annotations]
    actions = body.get("actions")
    if actions is not None:
        _check_actions(actions)
    # Everything validated: now change the run.
    if not creating and run.status == "completed" and status in ("queued", "in_progress"):
        # GitHub does not open a completed run again: its status and conclusion stay.
        status = None
    if status is not None:
        run.status = status
    if conclusion is not None:
        run.conclusion = conclusion
        run.status = "completed"
    if body.get("completed_at"):
        run.status = "completed"
        if isinstance(body["completed_at"], str):
            run.completed_at = _parse_time(body["completed_at"])  # GitHub keeps the time sent
    if status in ("queued", "in_progress"):
        run.conclusion = None
        run.completed_at = None
    if run.status == "completed" and run.completed_at is None:
        run.completed_at = now
    if "started_at" in body and isinstance(body["started_at"], str):
        run.started_at = _parse_time(body["started_at"])
    if "external_id" in body:
        run.external_id = body["external_id"]
    if "details_url" in body:
        run.details_url = body["details_url"]
    if output is not None:
        run.title = output.get("title", run.title)
        run.summary = output.get("summary", run.summary)
        run.text = output.get("text", run.text)
        run.annotations.extend(annotations)  # GitHub appends, never replaces
    if actions is not None:
        run.actions = [dict(action) for action in actions]


def _annotation(item: Any) -> Annotation:
    if not isinstance(item, dict):
        raise invalid("output.annotations", resource="CheckRun")
    for key in ("path", "start_line", "end_line", "annotation_level", "message"):
        if key not in item:
            raise HttpError(
                422,
                "Validation Failed",
                errors=[
                    {"resource": "CheckRun", "code": "missing_field", "field": f"annotations.{key}"}
                ],
            )
    if item["annotation_level"] not in ANNOTATION_LEVELS:
        raise invalid("annotation_level", resource="CheckRun")
    if not isinstance(item["start_line"], int) or not isinstance(item["end_line"], int):
        raise invalid("start_line", resource="CheckRun")
    if item["end_line"] < item["start_line"]:
        raise invalid("end_line", resource="CheckRun")
    has_columns = "start_column" in item or "end_column" in item
    if has_columns and item["start_line"] != item["end_line"]:
        raise invalid(
            "start_column",
            resource="CheckRun",
            message="start_column and end_column may only be given when start_line equals end_line",
        )
    if len(str(item.get("title") or "")) > MAX_ANNOTATION_TITLE:
        raise invalid("title", resource="CheckRun")
    if len(str(item["message"]).encode()) > MAX_ANNOTATION_MESSAGE:
        raise invalid("message", resource="CheckRun")
    return Annotation(
        path=str(item["path"]),
        start_line=item["start_line"],
        end_line=item["end_line"],
        annotation_level=item["annotation_level"],
        message=str(item["message"]),
        title=item.get("title"),
        raw_details=item.get("raw_details"),
        start_column=item.get("start_column"),
        end_column=item.get("end_column"),
    )


def _check_actions(actions: Any) -> None:
    if not isinstance(actions, list):
        raise invalid("actions", resource="CheckRun")
    if len(actions) > MAX_ACTIONS:
        raise HttpError(
            422,
            f"Invalid request.\n\nOnly 3 actions are allowed; {len(actions)} were supplied.",
        )
    limits = {
        "label": MAX_ACTION_LABEL,
        "description": MAX_ACTION_DESCRIPTION,
        "identifier": MAX_ACTION_IDENTIFIER,
    }
    for action in actions:
        if not isinstance(action, dict):
            raise invalid("actions", resource="CheckRun")
        for key, limit in limits.items():
            value = action.get(key)
            if not isinstance(value, str) or not value:
                raise HttpError(
                    422,
                    "Validation Failed",
                    errors=[
                        {"resource": "CheckRun", "code": "missing_field", "field": f"actions.{key}"}
                    ],
                )
            if len(value) > limit:
                raise HttpError(
                    422,
                    f"Invalid request.\n\n{value!r} is too long (maximum is {limit} characters) "
                    f"for actions.{key}.",
                )


def _check_comment_length(body: str) -> None:
    if len(body) > MAX_COMMENT_BODY:
        raise invalid(
            "body",
            resource="IssueComment",
            message=f"body is too long (maximum is {MAX_COMMENT_BODY} characters)",
        )
