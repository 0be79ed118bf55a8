"""What the REST and GraphQL endpoints need of the simulator that serves them.

`rest` and `graphql_api` are typed against these protocols, not against `simulator`, so the
simulator depends on its endpoints and never the other way round.
"""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import datetime
from typing import Any, Protocol

from githubsim.shapes import Json, Shapes
from githubsim.state import (
    CheckRun,
    CheckSuite,
    Comment,
    Commit,
    Delivery,
    IdSequence,
    Installation,
    InstallationToken,
    PullRequest,
    Repository,
    Team,
    Thread,
    User,
)

RequestedIndex = dict[str, list[tuple[Repository, PullRequest]]]


class EndpointHost(Protocol):
    """The state and look-ups both endpoints read."""

    app_id: int
    bot_login: str
    web_url: str
    users: dict[str, User]

    def find_repo(self, owner: str, name: str) -> Repository | None: ...

    def installation_covers(
        self, installation_id: int | None, repo: Repository, scope: frozenset[str] | None
    ) -> bool: ...

    def rate_limit_status(self, installation_id: int | None, resource: str) -> Json: ...

    def teams_of(self, repo: Repository, pull: PullRequest) -> list[Team]: ...

    def search_pulls(
        self,
        query: str,
        installation_id: int | None,
        scope: frozenset[str] | None,
        *,
        requested_index: RequestedIndex | None = None,
    ) -> list[tuple[Repository, PullRequest]]: ...


class GraphQLHost(EndpointHost, Protocol):
    """What the GraphQL endpoint reads and the two mutations it performs."""

    app_slug: str
    suites: dict[int, CheckSuite]

    def account_type(self, login: str) -> str: ...

    def login_for_email(self, email: str) -> str | None: ...

    def runs_of_suite(self, suite_id: int) -> list[CheckRun]: ...

    def review_request_index(
        self, installation_id: int | None, scope: frozenset[str] | None
    ) -> RequestedIndex: ...

    def minimize_comment(
        self,
        subject_id: str,
        *,
        classifier: str,
        installation_id: int | None,
        scope: frozenset[str] | None,
    ) -> tuple[Repository, Comment] | None: ...

    def remove_reaction(
        self,
        subject_id: str,
        *,
        content: str,
        installation_id: int | None,
        scope: frozenset[str] | None,
    ) -> tuple[Repository, Comment] | None: ...


class RestHost(EndpointHost, Protocol):
    """What the REST endpoint reads, renders and changes (changes announce their webhooks)."""

    url: str
    shapes: Shapes
    next_id: IdSequence
    app_owner: User
    client_id: str
    org_members: dict[str, set[str]]
    repos: dict[str, Repository]
    installations: dict[int, Installation]
    tokens: dict[str, InstallationToken]
    token_scopes: dict[str, frozenset[str] | None]
    tokens_minted: int
    check_run_store: dict[int, CheckRun]
    deliveries: list[Delivery]

    def now(self) -> datetime: ...

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None: ...

    def announce(self, event: str, payload: Json, repo: Repository | None = None) -> None: ...

    def canonical_login(self, login: str) -> str | None: ...

    def find_org(self, org: str) -> str | None: ...

    def find_team(self, org: str, slug: str, *, missing_ok: bool = False) -> Team: ...

    def find_delivery(self, delivery_id: int) -> Delivery: ...

    def suite_for(self, repo: Repository, head_sha: str) -> CheckSuite: ...

    def repo_json(self, repo: Repository) -> Json: ...

    def pull_json(self, repo: Repository, pull: PullRequest, *, full: bool = True) -> Json: ...

    def comment_json(self, repo: Repository, comment: Comment) -> Json: ...

    def commit_json(self, repo: Repository, commit: Commit) -> Json: ...

    def check_run_json(self, run: CheckRun) -> Json: ...

    def installation_json(self, installation: Installation) -> Json: ...

    def delivery_json(self, delivery: Delivery, *, detailed: bool = False) -> Json: ...

    def comment_payload(
        self, action: str, repo: Repository, pull: Thread, comment: Comment, *, sender: str
    ) -> Json: ...

    def review_request_removed_payload(
        self, repo: Repository, pull: PullRequest, reviewer: str, *, sender: str
    ) -> Json: ...

    def add_comment(
        self, repo: Repository, pull: Thread, *, author: str, body: str, via_app: bool = False
    ) -> Comment: ...

    def record_review_request(
        self, pull: PullRequest, reviewer: str, *, actor: str, removed: bool = False
    ) -> None: ...

    async def apply_label(
        self,
        repo: Repository,
        pull: Thread,
        name: str,
        *,
        sender: str,
        add: bool,
        wait: bool = True,
    ) -> None: ...

    async def redeliver(self, original: Delivery) -> int: ...
