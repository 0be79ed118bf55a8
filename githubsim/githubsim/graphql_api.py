"""GitHub's GraphQL API over the simulator's state, executed by graphql-core.

Objects are dicts: a value that is callable is called with the field's arguments (so a connection
is a function of first/last/after/before), and abstract types carry a `__typename` key.
"""

from __future__ import annotations

import base64
import functools
import heapq
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    build_schema,
    execute,
    parse,
    validate,
)

from githubsim.cost import CostError, QueryCost, query_cost
from githubsim.host import GraphQLHost
from githubsim.profiles import user_field
from githubsim.reference import GRAPHQL_SCHEMA
from githubsim.state import (
    CheckRun,
    Comment,
    CommentDeletion,
    Commit,
    GitIdentity,
    Issue,
    LabelEvent,
    PullRequest,
    Reaction,
    Repository,
    Review,
    ReviewRequestEvent,
    blob_sha,
    iso,
    node_id,
)

Node = dict[str, Any]
MAX_PAGE = 100
_CURSOR_PREFIX = "cursor:v2:"
# REST reaction contents -> GraphQL's ReactionContent enum.
GRAPHQL_REACTION = {
    "+1": "THUMBS_UP",
    "-1": "THUMBS_DOWN",
    "laugh": "LAUGH",
    "confused": "CONFUSED",
    "heart": "HEART",
    "hooray": "HOORAY",
    "rocket": "ROCKET",
    "eyes": "EYES",
}
REST_REACTION = {graphql: rest for rest, graphql in GRAPHQL_REACTION.items()}


@functools.cache
def github_schema() -> GraphQLSchema:
    """GitHub's public schema (reference/graphql/); built once per process (~0.7 s)."""
    sdl = GRAPHQL_SCHEMA.read_text(encoding="utf-8")
    # The upstream SDL defines two EnterpriseOwnerInfo fields twice (see reference/SOURCES.md).
    return build_schema(sdl, assume_valid_sdl=True)


class GitHubGraphQLError(Exception):
    """An error GitHub reports with a `type` (NOT_FOUND, EXCESSIVE_PAGINATION, ...)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class LazyNode(dict[str, Any]):
    """A node whose cheap fields are known up front; the rest is built when first asked for.

    Search pages list many pull requests of which a query usually reads only the id.
    """

    def __init__(self, known: dict[str, Any], build: Callable[[], dict[str, Any]]) -> None:
        super().__init__(known)
        self._build: Callable[[], dict[str, Any]] | None = build

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self and self._build is not None:
            build, self._build = self._build, None
            self.update(build())
        return super().get(key, default)


def resolve_field(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    value = source.get(info.field_name) if isinstance(source, dict) else None
    return value(**args) if callable(value) else value


def resolve_type(value: Any, info: GraphQLResolveInfo, abstract_type: Any) -> str | None:
    return value.get("__typename") if isinstance(value, dict) else None


def encode_cursor(index: int) -> str:
    return base64.b64encode(f"{_CURSOR_PREFIX}{index}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError) as error:
        raise GitHubGraphQLError(
            "INVALID_CURSOR_ARGUMENTS", f"`{cursor}` does not appear to be a valid cursor."
        ) from error
    if not text.startswith(_CURSOR_PREFIX) or not text[len(_CURSOR_PREFIX) :].isdigit():
        raise GitHubGraphQLError(
            "INVALID_CURSOR_ARGUMENTS", f"`{cursor}` does not appear to be a valid cursor."
        )
    return int(text[len(_CURSOR_PREFIX) :])


def connection(items: Sequence[Any], args: dict[str, Any], *, field: str) -> Node:
    """A Relay connection over `items`, with GitHub's first/last rules (required, at most 100)."""
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GitHubGraphQLError(
            "MISSING_PAGINATION_BOUNDARIES",
            f"You must provide a `first` or `last` value to properly paginate the `{field}` "
            "connection.",
        )
    for name, value in (("first", first), ("last", last)):
        if value is not None and value > MAX_PAGE:
            raise GitHubGraphQLError(
                "EXCESSIVE_PAGINATION",
                f"Requesting {value} records on the `{field}` connection exceeds the `{name}` "
                f"limit of {MAX_PAGE} records.",
            )
        if value is not None and value < 0:
            raise GitHubGraphQLError(
                "INVALID_PAGINATION", f"`{name}` on the `{field}` connection cannot be negative."
            )
    window = list(enumerate(items))
    if args.get("after"):
        after = decode_cursor(args["after"])
        window = [pair for pair in window if pair[0] > after]
    if args.get("before"):
        before = decode_cursor(args["before"])
        window = [pair for pair in window if pair[0] < before]
    has_next = has_previous = False
    if first is not None:
        has_next = len(window) > first
        window = window[:first]
    if last is not None:
        has_previous = len(window) > last
        window = window[len(window) - last :] if last else []
    return {
        "totalCount": len(items),
        "nodes": [node for _, node in window],
        "edges": [{"cursor": encode_cursor(index), "node": node} for index, node in window],
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": encode_cursor(window[0][0]) if window else None,
            "endCursor": encode_cursor(window[-1][0]) if window else None,
        },
    }


def _connection_of(items: Callable[[], Sequence[Any]], *, field: str) -> Callable[..., Node]:
    return lambda **args: connection(items(), args, field=field)


class GraphQLApi:
    """Parses (cached), validates and executes documents against the state of one simulator."""

    def __init__(self, sim: GraphQLHost) -> None:
        self.sim = sim
        self._documents: dict[str, DocumentNode | list[GraphQLError]] = {}

    def document(self, query: str) -> DocumentNode | list[GraphQLError]:
        cached = self._documents.get(query)
        if cached is None:
            try:
                document = parse(query)
            except GraphQLError as error:
                cached = [error]
            else:
                errors = validate(github_schema(), document)
                cached = list(errors) if errors else document
            self._documents[query] = cached
        return cached

    def run(
        self,
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        *,
        installation_id: int | None,
        scope: frozenset[str] | None,
        cost: int = 1,
    ) -> dict[str, Any]:
        """Executes `query`; `cost`: the points charged for it, which `rateLimit.cost` shows."""
        document = self.document(query)
        if isinstance(document, list):
            return {"errors": [error.formatted for error in document]}
        root = self.root(installation_id, scope, cost=cost)
        result = execute(
            github_schema(),
            document,
            root_value=root,
            variable_values=variables,
            operation_name=operation_name,
            field_resolver=resolve_field,
            type_resolver=resolve_type,
        )
        if not isinstance(result, ExecutionResult):  # every resolver here is synchronous
            raise TypeError("asynchronous GraphQL execution is not supported")
        answer: dict[str, Any] = {}
        if result.errors:
            answer["errors"] = [_format_error(error) for error in result.errors]
        answer["data"] = result.data
        return answer

    # --- root -------------------------------------------------------------------------------

    def price(
        self, query: str, variables: dict[str, Any] | None, operation_name: str | None
    ) -> QueryCost | None:
        """What GitHub charges for `query` (githubsim.cost); None for a document it refuses."""
        document = self.document(query)
        if isinstance(document, list):
            return None
        try:
            return query_cost(document, variables, operation_name)
        except CostError:
            return None

    def root(
        self, installation_id: int | None, scope: frozenset[str] | None, *, cost: int = 1
    ) -> Node:
        sim = self.sim

        def visible(repo: Repository) -> bool:
            return sim.installation_covers(installation_id, repo, scope)

        def repository(owner: str, name: str, **_: Any) -> Node:
            repo = sim.find_repo(owner, name)
            if repo is None or not visible(repo):
                raise GitHubGraphQLError(
                    "NOT_FOUND",
                    f"Could not resolve to a Repository with the name '{owner}/{name}'.",
                )
            return self.repository(repo)

        requested_index: dict[str, list[tuple[Repository, PullRequest]]] | None = None

        def search(query: str, type: str, **args: Any) -> Node:
            nonlocal requested_index
            if type != "ISSUE":
                matches: list[tuple[Repository, PullRequest]] = []
            else:
                if requested_index is None:  # once per request: the bot searches per candidate
                    requested_index = sim.review_request_index(installation_id, scope)
                matches = sim.search_pulls(
                    query, installation_id, scope, requested_index=requested_index
                )
            page = connection(matches, args, field="search")
            # Build nodes for the returned page only: a count query must not render every match.
            built = {
                id(pair): LazyNode(
                    {"__typename": "PullRequest", "id": pair[1].node_id},
                    functools.partial(self.pull_request, *pair),
                )
                for pair in page["nodes"]
            }
            page["nodes"] = [built[id(pair)] for pair in page["nodes"]]
            page["edges"] = [{**edge, "node": built[id(edge["node"])]} for edge in page["edges"]]
            page.update(
                issueCount=len(matches),
                codeCount=0,
                discussionCount=0,
                repositoryCount=0,
                userCount=0,
                wikiCount=0,
            )
            return page

        def rate_limit(**_: Any) -> Node:
            status = sim.rate_limit_status(installation_id, "graphql")
            return {
                "cost": cost,
                "limit": status["limit"],
                "nodeCount": 0,
                "remaining": status["remaining"],
                "resetAt": iso_epoch(status["reset"]),
                "used": status["used"],
            }

        def minimize_comment(input: dict[str, Any]) -> Node:
            located = sim.minimize_comment(
                input["subjectId"],
                classifier=input["classifier"],
                installation_id=installation_id,
                scope=scope,
            )
            if located is None:
                raise GitHubGraphQLError(
                    "NOT_FOUND",
                    f"Could not resolve to a node with the global id of '{input['subjectId']}'",
                )
            return {
                "clientMutationId": input.get("clientMutationId"),
                "minimizedComment": self.comment(*located),
            }

        def remove_reaction(input: dict[str, Any]) -> Node:
            content = REST_REACTION[input["content"]]
            located = sim.remove_reaction(
                input["subjectId"], content=content, installation_id=installation_id, scope=scope
            )
            if located is None:
                raise GitHubGraphQLError(
                    "NOT_FOUND",
                    f"Could not resolve to a node with the global id of '{input['subjectId']}'",
                )
            comment = self.comment(*located)
            return {
                "clientMutationId": input.get("clientMutationId"),
                "subject": comment,
                "reactionGroups": comment["reactionGroups"],
            }

        # Query and Mutation fields share this root: validation keeps each to its own type.
        return {
            "repository": repository,
            "search": search,
            "rateLimit": rate_limit,
            "viewer": lambda: self.actor(sim.bot_login),
            "user": user_field(sim, self.actor, functools.partial(GitHubGraphQLError, "NOT_FOUND")),
            "minimizeComment": minimize_comment,
            "removeReaction": remove_reaction,
        }

    # --- objects ----------------------------------------------------------------------------

    def actor(self, login: str) -> Node | None:
        user = self.sim.users.get(login)
        if user is None:
            return None
        return {
            "__typename": user.type,
            "login": user.login,
            "id": user.node_id,
            "databaseId": user.id,
            "name": user.name,
            "email": user.email or "",
            "url": f"{self.sim.web_url}/{user.login}",
            "resourcePath": f"/{user.login}",
            "avatarUrl": lambda **_: f"https://avatars.githubusercontent.com/u/{user.id}?v=4",
            # User-only fields; a Bot fragment cannot select them, so they are harmless there.
            "company": user.company,
            "organizations": _connection_of(
                lambda: [self.organization(org) for org in user.public_orgs],
                field="organizations",
            ),
        }

    def organization(self, login: str) -> Node:
        org = self.sim.users[login]
        return {
            "__typename": "Organization",
            "login": org.login,
            "id": org.node_id,
            "databaseId": org.id,
            "name": org.name,
            "url": f"{self.sim.web_url}/{org.login}",
            "resourcePath": f"/{org.login}",
        }

    def repository(self, repo: Repository) -> Node:
        owner_type = self.sim.account_type(repo.owner)

        def pull_request(number: int) -> Node:
            pull = repo.pulls.get(number)
            if pull is None:
                raise GitHubGraphQLError(
                    "NOT_FOUND", f"Could not resolve to a PullRequest with the number of {number}."
                )
            return self.pull_request(repo, pull)

        def issue(number: int) -> Node:
            found = repo.issues.get(number)
            if found is None:
                raise GitHubGraphQLError(
                    "NOT_FOUND", f"Could not resolve to an Issue with the number of {number}."
                )
            return self.issue(repo, found)

        def pull_requests(**args: Any) -> Node:
            states = args.get("states")
            pulls = [p for p in repo.pulls.values() if not states or _pull_state(p) in states]
            if args.get("baseRefName"):
                pulls = [p for p in pulls if p.base_ref == args["baseRefName"]]
            pulls.sort(key=lambda p: p.number)
            if args.get("orderBy"):
                pulls = _ordered(pulls, args["orderBy"])
            return connection(
                [self.pull_request(repo, p) for p in pulls], args, field="pullRequests"
            )

        def issues(**args: Any) -> Node:
            # GitHub's Repository.issues lists issues only (never pull requests); a label filter
            # keeps issues carrying any of the names given.
            states = args.get("states")
            wanted = {name.casefold() for name in args.get("labels") or ()}
            found = [
                i
                for i in repo.issues.values()
                if (not states or i.state.upper() in states)
                and (not wanted or wanted & {name.casefold() for name in i.labels})
            ]
            since = (args.get("filterBy") or {}).get("since")
            if since is not None:  # updated at or after
                found = [i for i in found if i.updated_at >= _datetime(since)]
            order = args.get("orderBy") or {"field": "CREATED_AT", "direction": "ASC"}
            found = _ordered(found, order)
            return connection([self.issue(repo, i) for i in found], args, field="issues")

        def git_object(expression: str | None = None, oid: str | None = None) -> Node | None:
            if oid is not None:
                commit = repo.commits.get(oid)
                if commit is not None:
                    return self.commit(repo, commit)
                return self.blob_with_oid(repo, oid)
            if expression is None:
                return None
            ref, _, path = expression.partition(":")
            if ref == "HEAD":  # git's name for the default branch's tip
                ref = repo.default_branch
            commit = repo.resolve_ref(ref or repo.default_branch)
            if commit is None:
                return None
            if not path:
                return self.commit(repo, commit)
            return self.blob(commit.tree[path]) if path in commit.tree else None

        default_commit = repo.resolve_ref(repo.default_branch)
        return {
            "__typename": "Repository",
            "id": repo.node_id,
            "databaseId": repo.id,
            "name": repo.name,
            "nameWithOwner": repo.full_name,
            "isPrivate": repo.private,
            "url": f"{self.sim.web_url}/{repo.full_name}",
            "owner": {"__typename": owner_type, "login": repo.owner},
            "defaultBranchRef": {
                "name": repo.default_branch,
                "prefix": "refs/heads/",
                "target": self.commit(repo, default_commit) if default_commit else None,
            },
            "pullRequest": pull_request,
            "pullRequests": pull_requests,
            "issue": issue,
            "issues": issues,
            "object": git_object,
            "ref": lambda qualifiedName: self.branch_ref(
                repo, qualifiedName.removeprefix("refs/heads/")
            ),
        }

    def pull_request(self, repo: Repository, pull: PullRequest) -> Node:
        def files() -> list[Node]:
            return [
                {
                    "path": change.path,
                    "additions": change.additions,
                    "deletions": change.deletions,
                    "changeType": change.change_type,
                    "viewerViewedState": "UNVIEWED",
                }
                for change in repo.pull_files(pull)
            ]

        def commits() -> list[Node]:
            return [
                {
                    "__typename": "PullRequestCommit",
                    "id": f"PRC_{pull.number}_{sha[:12]}",
                    "commit": self.commit(repo, repo.commits[sha]),
                }
                for sha in pull.commit_shas
            ]

        def reviews(**args: Any) -> Node:
            chosen = [
                review
                for review in pull.reviews
                if (not args.get("states") or review.state in args["states"])
                and (not args.get("author") or review.user == args["author"])
            ]
            return connection([self.review(repo, pull, r) for r in chosen], args, field="reviews")

        def comments() -> list[Node]:
            ordered = sorted(
                (c for c in repo.comments.values() if c.issue_number == pull.number),
                key=lambda c: c.id,
            )
            return [self.comment(repo, c) for c in ordered]

        def review_requests() -> list[Node]:
            requested: list[Node] = []
            for login in pull.requested_reviewers:
                requested.append({"requestedReviewer": self.actor(login)})
            for team in self.sim.teams_of(repo, pull):
                requested.append(
                    {
                        "requestedReviewer": {
                            "__typename": "Team",
                            "slug": team.slug,
                            "name": team.name,
                            "id": team.node_id,
                            "databaseId": team.id,
                            "combinedSlug": f"{team.org}/{team.slug}",
                        }
                    }
                )
            return requested

        def labels() -> list[Node]:
            return [
                {
                    "id": repo.labels[name].node_id,
                    "name": name,
                    "color": repo.labels[name].color,
                    "description": repo.labels[name].description,
                }
                for name in pull.labels
            ]

        def timeline_items(**args: Any) -> Node:
            wanted = args.get("itemTypes")
            since = args.get("since")
            # Review requests, labels (added, removed) and deleted comments are recorded; other
            # types list nothing.
            recorded: list[ReviewRequestEvent | LabelEvent | CommentDeletion] = sorted(
                [*pull.review_request_events, *pull.label_events, *pull.comment_deletions],
                key=lambda event: (event.created_at, event.id),
            )
            events = [
                event
                for event in recorded
                if (not wanted or event.item_type in wanted)
                and (since is None or event.created_at >= _datetime(since))
            ]
            page = connection(
                [self.timeline_event(repo, event) for event in events],
                args,
                field="timelineItems",
            )
            page.update(
                totalCount=len(events),
                filteredCount=len(events),
                pageCount=len(page["nodes"]),
                updatedAt=iso(pull.updated_at),
            )
            return page

        merge_commit = repo.commits.get(pull.merge_commit_sha) if pull.merge_commit_sha else None

        def changes() -> list[Any]:  # diffed only when a field asks: search pages list many PRs
            return repo.pull_files(pull)

        return {
            "__typename": "PullRequest",
            "id": pull.node_id,
            "databaseId": pull.id,
            "number": pull.number,
            "title": pull.title,
            "body": pull.body,
            "isDraft": pull.draft,
            "state": _pull_state(pull),
            "closed": pull.state == "closed",
            "merged": pull.merged,
            "baseRefName": pull.base_ref,
            "baseRef": lambda: self.branch_ref(repo, pull.base_ref),
            "headRefName": pull.head_ref,
            "baseRefOid": pull.base_sha,
            "headRefOid": pull.head_sha,
            "createdAt": iso(pull.created_at),
            "updatedAt": iso(pull.updated_at),
            "url": f"{self.sim.web_url}/{repo.full_name}/pull/{pull.number}",
            "author": self.actor(pull.author),
            "additions": lambda: sum(c.additions for c in changes()),
            "deletions": lambda: sum(c.deletions for c in changes()),
            "changedFiles": lambda: len(changes()),
            "repository": lambda: self.repository(repo),
            "labels": _connection_of(labels, field="labels"),
            "files": _connection_of(files, field="files"),
            "commits": _connection_of(commits, field="commits"),
            "reviews": reviews,
            "comments": _connection_of(comments, field="comments"),
            "reviewRequests": _connection_of(review_requests, field="reviewRequests"),
            "timelineItems": timeline_items,
            "closedAt": iso(pull.closed_at) if pull.closed_at else None,
            "mergedAt": iso(pull.closed_at) if pull.merged and pull.closed_at else None,
            "mergeCommit": self.commit(repo, merge_commit) if merge_commit else None,
            "mergedBy": self.actor(pull.merged_by) if pull.merged_by else None,
        }

    def issue(self, repo: Repository, issue: Issue) -> Node:
        """An issue: its labels, comments and label timeline, as a vote on it reads them."""

        def comments() -> list[Node]:
            ordered = sorted(
                (c for c in repo.comments.values() if c.issue_number == issue.number),
                key=lambda c: c.id,
            )
            return [self.comment(repo, c) for c in ordered]

        def labels() -> list[Node]:
            return [
                {"id": repo.labels[name].node_id, "name": name, "color": repo.labels[name].color}
                for name in issue.labels
            ]

        def timeline_items(**args: Any) -> Node:
            wanted = args.get("itemTypes")
            recorded: list[LabelEvent | CommentDeletion] = sorted(
                [*issue.label_events, *issue.comment_deletions],
                key=lambda event: (event.created_at, event.id),
            )
            events = [e for e in recorded if not wanted or e.item_type in wanted]
            page = connection(
                [self.timeline_event(repo, e) for e in events], args, field="timelineItems"
            )
            page.update(totalCount=len(events), filteredCount=len(events))
            page.update(pageCount=len(page["nodes"]), updatedAt=iso(issue.updated_at))
            return page

        return {
            "__typename": "Issue",
            "id": issue.node_id,
            "databaseId": issue.id,
            "number": issue.number,
            "title": issue.title,
            "body": issue.body,
            "state": issue.state.upper(),
            "createdAt": iso(issue.created_at),
            "updatedAt": iso(issue.updated_at),
            "url": f"{self.sim.web_url}/{repo.full_name}/issues/{issue.number}",
            "author": self.actor(issue.author),
            "labels": _connection_of(labels, field="labels"),
            "comments": _connection_of(comments, field="comments"),
            "timelineItems": timeline_items,
        }

    def timeline_event(
        self, repo: Repository, event: ReviewRequestEvent | LabelEvent | CommentDeletion
    ) -> Node:
        if isinstance(event, LabelEvent):
            return self.label_event(repo, event)
        if isinstance(event, CommentDeletion):
            return {
                "__typename": event.typename,
                "id": event.node_id,
                "databaseId": event.id,
                "createdAt": iso(event.created_at),
                "actor": self.actor(event.actor),
                "deletedCommentAuthor": self.actor(event.comment_author),
            }
        return self.review_request_event(event)

    def label_event(self, repo: Repository, event: LabelEvent) -> Node:
        label = repo.labels[event.label]
        return {
            "__typename": event.typename,
            "id": event.node_id,
            "createdAt": iso(event.created_at),
            "actor": self.actor(event.actor),
            "label": {
                "id": label.node_id,
                "name": label.name,
                "color": label.color,
                "description": label.description,
            },
            "labelable": lambda: None,  # not followed back: the bot never asks for it
        }

    def review_request_event(self, event: ReviewRequestEvent) -> Node:
        return {
            "__typename": event.typename,
            "id": event.node_id,
            "createdAt": iso(event.created_at),
            "actor": self.actor(event.actor),
            "requestedReviewer": self.actor(event.reviewer),
            "pullRequest": lambda: None,  # not followed back: the bot never asks for it
        }

    def git_actor(self, identity: GitIdentity) -> Node:
        login = identity.login or self.sim.login_for_email(identity.email)
        user = self.sim.users.get(login) if login else None
        return {
            "name": identity.name,
            "email": identity.email,
            "date": iso(identity.date),
            "user": self.actor(user.login) if user is not None and not user.bot else None,
            "avatarUrl": lambda **_: "https://avatars.githubusercontent.com/u/0?v=4",
        }

    def blob(self, text: str) -> Node:
        oid = blob_sha(text)
        return {
            "__typename": "Blob",
            "id": f"B_{oid}",
            "oid": oid,
            "abbreviatedOid": oid[:7],
            "text": text,
            "byteSize": len(text.encode()),
            "isBinary": False,
            "isTruncated": False,
        }

    def branch_ref(self, repo: Repository, branch: str) -> Node | None:
        """A branch as GraphQL's `Ref`: its tip is the target (None once the branch is gone)."""
        tip = repo.branches.get(branch)
        if tip is None:
            return None

        def compare(headRef: str) -> Node | None:  # GitHub names the argument
            head = repo.resolve_ref(headRef)
            return self.comparison(repo, repo.commits[tip], head) if head else None

        return {
            "__typename": "Ref",
            "id": f"REF_{repo.node_id}_{branch}",
            "name": branch,
            "prefix": "refs/heads/",
            "target": self.commit(repo, repo.commits[tip]),
            "compare": compare,
        }

    def comparison(self, repo: Repository, base: Commit, head: Commit) -> Node:
        """`Ref.compare`: the commits of `head` not in `base`, oldest first, as GitHub lists."""
        ahead = repo.commits_between(base.sha, head.sha)
        behind = repo.commits_between(head.sha, base.sha)
        status = (
            "IDENTICAL"
            if not ahead and not behind
            else "AHEAD"
            if not behind
            else "BEHIND"
            if not ahead
            else "DIVERGED"
        )

        def commits(**args: Any) -> Node:
            page = connection([self.commit(repo, c) for c in ahead], args, field="commits")
            page["authorCount"] = len({c.author.email for c in ahead})
            return page

        return {
            "__typename": "Comparison",
            "id": f"CMP_{base.sha}_{head.sha}",
            "aheadBy": len(ahead),
            "behindBy": len(behind),
            "status": status,
            "baseTarget": self.commit(repo, base),
            "headTarget": self.commit(repo, head),
            "commits": commits,
        }

    def blob_with_oid(self, repo: Repository, oid: str) -> Node | None:
        """A blob any commit of the repository holds, by its git id (GraphQL's `object(oid:)`)."""
        for commit in repo.commits.values():
            for text in commit.tree.values():
                if blob_sha(text) == oid:
                    return self.blob(text)
        return None

    def commit(self, repo: Repository, commit: Commit) -> Node:
        def file(path: str) -> Node | None:
            if path not in commit.tree:
                return None
            text = commit.tree[path]
            name = path.rsplit("/", 1)[-1]
            return {
                "name": name,
                "path": path,
                "oid": blob_sha(text),
                "type": "blob",
                "mode": 33188,
                "extension": "." + name.rsplit(".", 1)[-1] if "." in name else None,
                "size": len(text.encode()),
                "lineCount": len(text.splitlines()),
                "isGenerated": False,
                "object": self.blob(text),
            }

        def check_suites(**args: Any) -> Node:
            filter_by = args.get("filterBy") or {}
            suites = [
                suite
                for suite in self.sim.suites.values()
                if suite.repo == repo.full_name and suite.head_sha == commit.sha
            ]
            if filter_by.get("appId") is not None:
                suites = [s for s in suites if s.app_id == filter_by["appId"]]
            if filter_by.get("checkName") is not None:
                suites = [
                    s
                    for s in suites
                    if any(r.name == filter_by["checkName"] for r in self.sim.runs_of_suite(s.id))
                ]
            suites.sort(key=lambda s: s.id)
            return connection(
                [self.check_suite(repo, s.id) for s in suites], args, field="checkSuites"
            )

        def history(**args: Any) -> Node:
            found = path_history(repo, commit, args.get("path"))
            # `since` and `until` bound the commit date, both inclusive, as `git log` does.
            if args.get("since") is not None:
                found = [c for c in found if c.committer.date >= _datetime(args["since"])]
            if args.get("until") is not None:
                found = [c for c in found if c.committer.date <= _datetime(args["until"])]
            page = connection([self.commit(repo, c) for c in found], args, field="history")
            page["totalCount"] = len(found)
            return page

        def associated_pull_requests(**args: Any) -> Node:
            found = associated_pulls(repo, commit)
            order = args.get("orderBy") or {}
            updated = order.get("field") == "UPDATED_AT"
            found.sort(
                key=lambda p: (p.updated_at if updated else p.created_at, p.number),
                reverse=order.get("direction") == "DESC",
            )
            return connection(
                [self.pull_request(repo, p) for p in found], args, field="associatedPullRequests"
            )

        headline = commit.message.split("\n", 1)[0]
        return {
            "__typename": "Commit",
            "history": history,
            "associatedPullRequests": associated_pull_requests,
            "id": f"C_{commit.sha}",
            "oid": commit.sha,
            "abbreviatedOid": commit.sha[:7],
            "message": commit.message,
            "messageHeadline": headline,
            "messageBody": commit.message[len(headline) :].strip(),
            "committedDate": iso(commit.committer.date),
            "authoredDate": iso(commit.author.date),
            "author": self.git_actor(commit.author),
            "committer": self.git_actor(commit.committer),
            "url": f"{self.sim.web_url}/{repo.full_name}/commit/{commit.sha}",
            "file": file,
            "checkSuites": check_suites,
            "parents": lambda **args: connection(
                [self.commit(repo, repo.commits[sha]) for sha in commit.parents],
                args,
                field="parents",
            ),
        }

    def check_suite(self, repo: Repository, suite_id: int) -> Node:
        suite = self.sim.suites[suite_id]

        def check_runs(**args: Any) -> Node:
            filter_by = args.get("filterBy") or {}
            runs = sorted(self.sim.runs_of_suite(suite.id), key=lambda r: r.id)
            if filter_by.get("checkName") is not None:
                runs = [r for r in runs if r.name == filter_by["checkName"]]
            if filter_by.get("appId") is not None:
                runs = [r for r in runs if r.app_id == filter_by["appId"]]
            if filter_by.get("status") is not None:
                runs = [r for r in runs if r.status.upper() == filter_by["status"]]
            if filter_by.get("statuses"):
                runs = [r for r in runs if r.status.upper() in filter_by["statuses"]]
            if filter_by.get("conclusions"):
                runs = [
                    r
                    for r in runs
                    if r.conclusion and r.conclusion.upper() in filter_by["conclusions"]
                ]
            if filter_by.get("checkType", "LATEST") == "LATEST":
                latest: dict[str, CheckRun] = {}
                for run in runs:
                    latest[run.name] = run
                runs = list(latest.values())
            return connection([self.check_run(repo, r) for r in runs], args, field="checkRuns")

        return {
            "__typename": "CheckSuite",
            "id": suite.node_id,
            "databaseId": suite.id,
            "app": {
                "databaseId": suite.app_id,
                "slug": self.sim.app_slug if suite.app_id == self.sim.app_id else "github-actions",
                "name": self.sim.app_slug if suite.app_id == self.sim.app_id else "GitHub Actions",
            },
            "checkRuns": check_runs,
        }

    def check_run(self, repo: Repository, run: CheckRun) -> Node:
        return {
            "__typename": "CheckRun",
            "id": run.node_id,
            "databaseId": run.id,
            "name": run.name,
            "externalId": run.external_id,
            "status": run.status.upper(),
            "conclusion": run.conclusion.upper() if run.conclusion else None,
            "title": run.title,
            "summary": run.summary,
            "text": run.text,
            "detailsUrl": run.details_url,
            "startedAt": iso(run.started_at),
            "completedAt": iso(run.completed_at) if run.completed_at else None,
            "url": f"{self.sim.web_url}/{repo.full_name}/runs/{run.id}",
            "permalink": f"{self.sim.web_url}/{repo.full_name}/runs/{run.id}",
        }

    def review(self, repo: Repository, pull: PullRequest, review: Review) -> Node:
        return {
            "__typename": "PullRequestReview",
            "id": review.node_id,
            "databaseId": review.id,
            "author": self.actor(review.user),
            "state": review.state,
            "body": review.body,
            "submittedAt": iso(review.submitted_at),
            "createdAt": iso(review.submitted_at),
            "authorCanPushToRepository": repo.permissions.get(review.user, "none")
            in ("write", "maintain", "admin"),
            "commit": self.commit(repo, repo.commits[review.commit_id]),
            "url": (
                f"{self.sim.web_url}/{repo.full_name}/pull/{pull.number}"
                f"#pullrequestreview-{review.id}"
            ),
        }

    def comment(self, repo: Repository, comment: Comment) -> Node:
        last = comment.edits[-1] if comment.edits else None

        def user_content_edits(**args: Any) -> Node:
            # Newest first, as GitHub lists them; each edit names its editor.
            edits = [
                {
                    "id": node_id("UserContentEdit", edit.id),
                    "editor": self.actor(edit.editor),
                    "editedAt": iso(edit.edited_at),
                    "createdAt": iso(edit.edited_at),
                    "updatedAt": iso(edit.edited_at),
                    "diff": edit.body,
                    "deletedAt": None,
                    "deletedBy": None,
                }
                for edit in reversed(comment.edits)
            ]
            page = connection(edits, args, field="userContentEdits")
            page["totalCount"] = len(edits)
            return page

        return {
            "editor": self.actor(last.editor) if last else None,
            "lastEditedAt": iso(last.edited_at) if last else None,
            "includesCreatedEdit": False,
            "userContentEdits": user_content_edits,
            "__typename": "IssueComment",
            "id": comment.node_id,
            "databaseId": comment.id,
            "author": self.actor(comment.user),
            "body": comment.body,
            "createdAt": iso(comment.created_at),
            "updatedAt": iso(comment.updated_at),
            "isMinimized": comment.minimized_reason is not None,
            "minimizedReason": comment.minimized_reason,
            # The viewer is the App: installation tokens are the only GraphQL callers here.
            "viewerDidAuthor": comment.user == self.sim.bot_login,
            "reactionGroups": self.reaction_groups(comment.reactions),
            "url": (
                f"{self.sim.web_url}/{repo.full_name}/"
                f"{'issues' if comment.issue_number in repo.issues else 'pull'}/"
                f"{comment.issue_number}#issuecomment-{comment.id}"
            ),
        }

    def reaction_groups(self, reactions: Sequence[Reaction]) -> list[Node]:
        """Reactable.reactionGroups: one group per content, in first-reaction order."""
        groups: dict[str, list[Reaction]] = {}
        for reaction in reactions:
            groups.setdefault(GRAPHQL_REACTION[reaction.content], []).append(reaction)
        return [
            {
                "content": content,
                "createdAt": iso(members[0].created_at),
                "viewerHasReacted": any(r.user == self.sim.bot_login for r in members),
            }
            for content, members in groups.items()
        ]


def path_history(repo: Repository, start: Commit, path: str | None) -> list[Commit]:
    """`git log [-- path]` from `start`, newest first, with git's default history simplification:
    a merge TREESAME to one parent for `path` is left out and only that parent is followed, so
    a merged PR's own commits stand for the change (git-scm.com/docs/git-log, History
    Simplification). Commits are dated by when the simulator made them."""
    order = {sha: index for index, sha in enumerate(repo.commits)}
    shown: list[Commit] = []
    seen: set[str] = set()
    pending = [(-order[start.sha], start.sha)]
    while pending:
        _, sha = heapq.heappop(pending)
        if sha in seen:
            continue
        seen.add(sha)
        commit = repo.commits[sha]
        parents = [repo.commits[p] for p in commit.parents if p in repo.commits]
        if path is None:
            shown.append(commit)
            follow = parents
        else:
            blob = commit.tree.get(path)
            same = [p for p in parents if p.tree.get(path) == blob]
            if same:
                follow = same[:1]
            else:
                if blob is not None or parents:
                    shown.append(commit)
                follow = parents
        for parent in follow:
            heapq.heappush(pending, (-order[parent.sha], parent.sha))
    return shown


def associated_pulls(repo: Repository, commit: Commit) -> list[PullRequest]:
    """The merged PR that brought `commit` (one of its commits, or its merge commit); when the
    commit is not on the default branch, also the open PRs that carry it (GitHub's
    Commit.associatedPullRequests)."""
    merged = [
        pull
        for pull in repo.pulls.values()
        if pull.merged and (commit.sha in pull.commit_shas or commit.sha == pull.merge_commit_sha)
    ]
    tip = repo.resolve_ref(repo.default_branch)
    on_default = tip is not None and commit.sha in {c.sha for c in path_history(repo, tip, None)}
    opened = (
        []
        if on_default
        else [p for p in repo.pulls.values() if p.state == "open" and commit.sha in p.commit_shas]
    )
    return sorted([*merged, *opened], key=lambda pull: pull.created_at)


def _ordered(items: Sequence[Issue | PullRequest], order: dict[str, Any]) -> list[Any]:
    """GitHub's IssueOrder on issues or pull requests (the fields the bot asks for)."""
    key = {"UPDATED_AT": "updated_at", "CREATED_AT": "created_at"}.get(order["field"])
    if key is None:
        raise GitHubGraphQLError("INVALID_ARGUMENTS", f"unsupported order {order['field']}")
    ordered = sorted(items, key=lambda item: (getattr(item, key), item.number))
    return ordered[::-1] if order.get("direction") == "DESC" else ordered


def _pull_state(pull: PullRequest) -> str:
    return "MERGED" if pull.merged else pull.state.upper()


def _datetime(raw: Any) -> datetime:
    """A DateTime argument as graphql-core passes it through (GitHub's scalar is ISO 8601)."""
    text = str(raw).replace("Z", "+00:00")
    moment = raw if isinstance(raw, datetime) else datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso_epoch(epoch: int) -> str:
    return iso(datetime.fromtimestamp(epoch, tz=UTC))


_ERROR_TYPE = re.compile(r"^[A-Z_]+$")


def _format_error(error: GraphQLError) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    original = error.original_error
    if isinstance(original, GitHubGraphQLError) and _ERROR_TYPE.match(original.error_type):
        formatted["type"] = original.error_type
    return formatted
