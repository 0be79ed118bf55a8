"""One GraphQL read -> `PullRequestFacts`, plus the check run the bot already wrote on the head.

Follow-up pages are fetched only for connections with more items than their first page. Parsing
is a pure function of the responses (`facts_from_response`), so it is tested on recorded data.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, cast

import gidgethub.abc

from bot.github.map_source import BaseMapHint
from bot.github.queries import MERGED_PULL_REQUEST, PAGE_QUERIES, REQUESTED_PAGE, SNAPSHOT
from bot.github.run_state import run_conclusion, run_state, run_status
from bot.github.times import github_time
from bot.policy.ballot_records import read_ballots
from bot.policy.facts import (
    Account,
    ChangedFile,
    Comment,
    CommentDeletion,
    Commit,
    LabelChange,
    MapFile,
    Profile,
    PullRequestFacts,
    RecordedBallot,
    RecordedDeclaration,
    Review,
    ReviewRequestRemoval,
)
from bot.policy.records import read_records
from bot.policy.vote_render import app_record

PAGED = ("files", "commits", "reviews", "comments")
# Commits read at most (GitHub's own listing cap): past it, the verdict knows authors are hidden
# and asks for independent approval, so a PR of 10,000 commits costs three pages, not a hundred.
MAX_COMMITS_READ = 250
_STATES = ("OPEN", "CLOSED", "MERGED")
_REVIEW_STATES = ("APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING")


class SnapshotError(Exception):
    """GitHub's answer does not describe the pull request asked for."""


@dataclass(frozen=True, slots=True)
class ExistingCheckRun:
    id: int
    external_id: str | None  # the fingerprint of the output last written
    conclusion: str | None  # lower case; None while the run is not completed
    name: str = ""
    status: str = "completed"  # lower case: `in_progress` while a verdict waits for approval


@dataclass(frozen=True, slots=True)
class MergeFacts:
    """What `coi-bot report` reads of a merged PR beyond the facts the verdict needs."""

    merged_at: datetime
    url: str
    base_oid: str  # the merge commit's first parent: the base as it was when merged
    base_map_blob: str | None  # the map's blob there; None when the base had no map
    requests: tuple[tuple[str, datetime], ...]  # (reviewer, when asked), from the timeline
    # (name, conclusion) of each latest check run on the head: what stood when it was merged;
    # the conclusion is lower case, the status (`in_progress`) for a run not completed.
    check_runs: tuple[tuple[str, str | None], ...] = ()
    default_branch: str = ""  # the repository's: its map judges every PR, whatever its base

    def check_conclusion(self, name: str) -> str:
        """`success` if any run of `name` succeeded, else the first run's conclusion (its status,
        `in_progress`, while it waits); "missing" when the head has no run of `name`."""
        found = [conclusion for run_name, conclusion in self.check_runs if run_name == name]
        if not found:
            return "missing"
        return "success" if "success" in found else found[0] or "incomplete"


@dataclass(frozen=True, slots=True)
class Snapshot:
    facts: PullRequestFacts
    graphql_requests: int  # 1, plus one per follow-up page
    # The App's runs on the head, whatever their name, oldest first: found by the App's id, so
    # that a restart or a renamed check never creates a second run of one name.
    check_runs: tuple[ExistingCheckRun, ...] = ()
    # The map at the default branch's tip, whose map judges every PR; None: ask the contents API.
    base_map: BaseMapHint | None = None
    merge: MergeFacts | None = None  # only for a merged PR read with `merged=True`
    # Other open PRs of this repository whose head is this head: they share its check run.
    same_head: tuple[int, ...] = ()
    same_head_unread: bool = False  # more PRs contain the head than one read lists
    default_branch: str = ""  # the repository's default branch: its map is in force

    def runs_named(self, name: str) -> tuple[ExistingCheckRun | None, tuple[ExistingCheckRun, ...]]:
        """The canonical (oldest) run of `name` and any younger copies racing evaluations made."""
        runs = tuple(run for run in self.check_runs if run.name == name)
        return (runs[0] if runs else None), runs[1:]


def base_map_hint(base_ref: Any) -> BaseMapHint | None:
    """What a branch's tip (the default branch's, for a PR) holds at the map path: its blob,
    or no file at all; None when GitHub gave no branch."""
    if not isinstance(base_ref, dict) or not isinstance(base_ref.get("target"), dict):
        return None
    found = base_ref["target"].get("baseMap")
    oid = found.get("oid") if isinstance(found, dict) else None
    # The map's last change there: with no file, a deletion whose review decides (issue 22).
    changes = (base_ref["target"].get("baseMapChange") or {}).get("nodes") or []
    last = changes[0].get("oid") if changes and isinstance(changes[0], dict) else None
    return BaseMapHint(
        blob_sha=oid if isinstance(oid, str) else None,
        last_change=last if isinstance(last, str) else None,
    )


def same_head_pull_requests(
    head: dict[str, Any] | None, *, slug: str, number: int
) -> tuple[tuple[int, ...], bool]:
    """(other open PRs of `slug` whose head is this head commit, whether some were not listed)."""
    head = head or {}
    found = head.get("associatedPullRequests") or {}
    nodes = [node for node in found.get("nodes") or () if node]
    numbers = sorted(
        {
            int(node["number"])
            for node in nodes
            if node.get("state") == "OPEN"
            and node.get("headRefOid") == head.get("oid")
            and str((node.get("repository") or {}).get("nameWithOwner", "")).lower() == slug.lower()
            and node.get("number") != number
        }
    )
    return tuple(numbers), len(nodes) < int(found.get("totalCount") or 0)


def _login(actor: dict[str, Any] | None) -> tuple[str | None, bool]:
    if not actor:
        return None, False  # a deleted ("ghost") account
    return actor.get("login"), actor.get("__typename") == "Bot"


def _profile(user: dict[str, Any] | None) -> Profile | None:
    """A User's profile as the query read it; None for bots, ghosts and unread profiles."""
    if not user or not user.get("login") or "company" not in user:
        return None
    organizations = ((user.get("organizations") or {}).get("nodes")) or []
    return Profile(
        login=user["login"],
        company=(user.get("company") or "").strip() or None,
        organizations=tuple(org["login"] for org in organizations if org and org.get("login")),
    )


def profiles_of(users: list[dict[str, Any] | None]) -> tuple[Profile, ...]:
    """One profile per login (first seen wins: all copies come from the same read)."""
    found: dict[str, Profile] = {}
    for user in users:
        profile = _profile(user)
        if profile is not None:
            found.setdefault(profile.login.lower(), profile)
    return tuple(found.values())


def accounts_in(*trees: Any) -> tuple[Account, ...]:
    """Every user account a response names, by login: a User node read with its `databaseId`
    (check runs and reviews carry a databaseId too, but no login)."""
    found: dict[str, Account] = {}
    todo = list(trees)
    while todo:
        item = todo.pop()
        if isinstance(item, list):
            todo.extend(item)
        elif isinstance(item, dict):
            login, account_id = item.get("login"), item.get("databaseId")
            if isinstance(login, str) and type(account_id) is int and account_id > 0:
                found.setdefault(login.lower(), Account(login, account_id))
            todo.extend(value for value in item.values() if isinstance(value, dict | list))
    return tuple(found[login] for login in sorted(found))


def _file(node: dict[str, Any]) -> ChangedFile:
    return ChangedFile(
        path=node["path"], additions=node.get("additions", 0), deletions=node.get("deletions", 0)
    )


def _commit(node: dict[str, Any]) -> Commit:
    commit = node["commit"]
    author = commit.get("author") or {}
    committer = commit.get("committer") or {}
    return Commit(
        sha=commit["oid"],
        message=commit.get("message", ""),
        author_login=(author.get("user") or {}).get("login"),
        author_email=author.get("email") or None,
        committer_login=(committer.get("user") or {}).get("login"),
        committer_email=committer.get("email") or None,
    )


def _review(node: dict[str, Any]) -> Review | None:
    if node.get("submittedAt") is None or node.get("state") not in _REVIEW_STATES:
        return None  # a pending review is visible only to its author and decides nothing
    author, is_bot = _login(node.get("author"))
    return Review(
        id=node["id"],
        author=author,
        state=node["state"],
        submitted_at=github_time(node["submittedAt"]),
        commit_sha=(node.get("commit") or {}).get("oid"),
        author_is_bot=is_bot,
        database_id=node.get("databaseId"),
        author_can_push=node.get("authorCanPushToRepository"),
    )


def _comment(node: dict[str, Any]) -> Comment:
    author, is_bot = _login(node.get("author"))
    return Comment(
        id=node["id"],
        author=author,
        body=node.get("body", ""),
        created_at=github_time(node["createdAt"]),
        updated_at=github_time(node.get("updatedAt") or node["createdAt"]),
        author_is_bot=is_bot,
        database_id=node.get("databaseId"),
        by_viewer=bool(node.get("viewerDidAuthor")),
        viewer_reactions=tuple(
            group["content"]
            for group in node.get("reactionGroups") or ()
            if group and group.get("viewerHasReacted")
        ),
        is_minimized=bool(node.get("isMinimized")),
        url=node.get("url") or None,
        editor=_login(node.get("editor"))[0],
        last_edited_at=github_time(node["lastEditedAt"]) if node.get("lastEditedAt") else None,
    )


def _removal(node: dict[str, Any]) -> ReviewRequestRemoval | None:
    if node.get("__typename") != "ReviewRequestRemovedEvent":
        return None
    reviewer = node.get("requestedReviewer") or {}
    if not reviewer.get("login"):
        return None  # a team, or a deleted account: nobody the bot would request
    actor, _ = _login(node.get("actor"))
    return ReviewRequestRemoval(
        reviewer=reviewer["login"], actor=actor, removed_at=github_time(node["createdAt"])
    )


def _label_change(node: dict[str, Any]) -> LabelChange | None:
    kind = node.get("__typename")
    label = (node.get("label") or {}).get("name")
    if kind not in ("LabeledEvent", "UnlabeledEvent") or not label:
        return None
    actor, _ = _login(node.get("actor"))
    return LabelChange(
        label=label, actor=actor, added=kind == "LabeledEvent", at=github_time(node["createdAt"])
    )


def _deletion(node: dict[str, Any]) -> CommentDeletion | None:
    if node.get("__typename") != "CommentDeletedEvent":
        return None
    return CommentDeletion(
        comment_author=_login(node.get("deletedCommentAuthor"))[0],
        actor=_login(node.get("actor"))[0],
        at=github_time(node["createdAt"]),
    )


def recorded_declarations(
    head: dict[str, Any] | None, comments: tuple[Comment, ...] = ()
) -> tuple[RecordedDeclaration, ...]:
    """The declarations the App recorded, one per comment: in its runs on the head, and in its
    own comments (its reply keeps them once a removal did not count: it survives pushes), as
    long as nobody else edited them."""
    texts = [comment.body for comment in comments if app_record(comment)]
    suites = ((head or {}).get("checkSuites") or {}).get("nodes") or []
    for suite in suites:
        for run in ((suite or {}).get("checkRuns") or {}).get("nodes") or []:
            texts.append((run or {}).get("text") or "")
    found: dict[str, RecordedDeclaration] = {}
    for text in texts:
        for record in read_records(text):
            found.setdefault(record.comment_id, record)
    return tuple(found.values())


def recorded_ballots(head: dict[str, Any] | None) -> tuple[RecordedBallot, ...]:
    """The ballots the App's vote runs on the head recorded, the newest run's first (only the
    App writes its runs: no one else's text is read here)."""
    texts: list[str] = []
    suites = ((head or {}).get("checkSuites") or {}).get("nodes") or []
    for suite in suites:
        for run in ((suite or {}).get("checkRuns") or {}).get("nodes") or []:
            texts.append((run or {}).get("text") or "")
    found: dict[tuple[str, str], RecordedBallot] = {}
    for text in reversed(texts):
        for ballot in read_ballots(text):
            found.setdefault((ballot.voter.lower(), ballot.comment_id), ballot)
    return tuple(found.values())


def _pull_request(data: dict[str, Any], slug: str) -> dict[str, Any]:
    repository = (data or {}).get("repository")
    pull = (repository or {}).get("pullRequest")
    if not pull:
        raise SnapshotError(f"{slug}: GitHub returned no such pull request")
    return cast(dict[str, Any], pull)


def existing_check_runs(head: dict[str, Any] | None) -> tuple[ExistingCheckRun, ...]:
    """Every run of the App on the head, oldest (canonical) first.

    More than one of a name exists only when two evaluations created one each at once."""
    runs: dict[int, ExistingCheckRun] = {}
    suites = ((head or {}).get("checkSuites") or {}).get("nodes") or []
    for suite in suites:
        for run in ((suite or {}).get("checkRuns") or {}).get("nodes") or []:
            if run and run.get("databaseId") is not None:
                status = run_status(run)
                runs[run["databaseId"]] = ExistingCheckRun(
                    id=run["databaseId"],
                    external_id=run.get("externalId") or None,
                    conclusion=run_conclusion(run) if status == "completed" else None,
                    name=str(run.get("name") or ""),
                    status=status,
                )
    return tuple(runs[run_id] for run_id in sorted(runs))


def facts_from_response(
    data: dict[str, Any],
    *,
    owner: str,
    repo: str,
    number: int,
    map_path: str,
    extra_nodes: dict[str, list[dict[str, Any]]] | None = None,
) -> PullRequestFacts:
    """Facts from the SNAPSHOT response and the nodes of any follow-up pages, per connection."""
    slug = f"{owner}/{repo}#{number}"
    pull = _pull_request(data, slug)
    extra = extra_nodes or {}

    def nodes(name: str) -> list[dict[str, Any]]:
        return [n for n in ((pull.get(name) or {}).get("nodes") or []) if n] + extra.get(name, [])

    files = tuple(_file(n) for n in nodes("files"))
    commits = tuple(_commit(n) for n in nodes("commits")[:MAX_COMMITS_READ])
    reviews = tuple(r for r in (_review(n) for n in nodes("reviews")) if r is not None)
    comments = tuple(_comment(n) for n in nodes("comments"))
    requested_users: list[str] = []
    requested_teams: list[str] = []
    for request in (pull.get("reviewRequests") or {}).get("nodes") or []:
        reviewer = (request or {}).get("requestedReviewer") or {}
        if reviewer.get("__typename") == "Team" and reviewer.get("slug"):
            requested_teams.append(reviewer["slug"])
        elif reviewer.get("login"):
            requested_users.append(reviewer["login"])

    removals = tuple(
        removal
        for removal in (_removal(n) for n in nodes("removedRequests"))
        if removal is not None
    )

    head_nodes = (pull.get("headCommit") or {}).get("nodes") or []
    head = (head_nodes[0] or {}).get("commit") if head_nodes else None
    head_map = None
    if any(f.path == map_path for f in files):
        blob = ((head or {}).get("mapFile") or {}).get("object") or {}
        if blob.get("text") is not None:
            head_map = MapFile(path=map_path, text=blob["text"], blob_sha=blob.get("oid"))

    state = pull.get("state")
    if state not in _STATES:
        raise SnapshotError(f"{slug}: unknown pull request state {state!r}")
    opener, opener_is_bot = _login(pull.get("author"))
    facts = PullRequestFacts(
        owner=owner,
        repo=repo,
        number=number,
        node_id=pull["id"],
        title=pull.get("title", ""),
        opener=opener,
        opener_is_bot=opener_is_bot,
        head_sha=pull["headRefOid"],
        base_ref=pull["baseRefName"],
        draft=bool(pull.get("isDraft")),
        state=cast(Literal["OPEN", "CLOSED", "MERGED"], state),
        labels=tuple(n["name"] for n in (pull.get("labels") or {}).get("nodes") or [] if n),
        files=files,
        commits=commits,
        reviews=reviews,
        comments=comments,
        requested_reviewers=tuple(requested_users),
        requested_teams=tuple(requested_teams),
        head_map=head_map,
        # GitHub lists at most 3000 files and 250 commits of a pull request.
        files_truncated=len(files) < (pull.get("files") or {}).get("totalCount", 0),
        commits_truncated=len(commits) < (pull.get("commits") or {}).get("totalCount", 0),
        commits_total=(pull.get("commits") or {}).get("totalCount"),
        review_request_removals=removals,
        comment_deletions=tuple(
            d for d in map(_deletion, nodes("commentDeletions")) if d is not None
        ),
        recorded_declarations=recorded_declarations(head, comments),
        recorded_ballots=recorded_ballots(head),
        label_changes=tuple(
            change for change in map(_label_change, nodes("labelChanges")) if change is not None
        ),
        profiles=profiles_of(
            [pull.get("author")]
            + [((n["commit"].get("author") or {}).get("user")) for n in nodes("commits")]
            + [n.get("author") for n in nodes("reviews")]
        ),
        accounts=accounts_in(pull, extra),
    )
    return facts


def has_renames(pull: dict[str, Any], extra: dict[str, list[dict[str, Any]]]) -> bool:
    """True when GraphQL lists a RENAMED file: it gives no old path, REST's file list does."""
    first = [n for n in ((pull.get("files") or {}).get("nodes") or []) if n]
    return any(n.get("changeType") == "RENAMED" for n in first + extra.get("files", []))


def with_previous_paths(facts: PullRequestFacts, listing: list[dict[str, Any]]) -> PullRequestFacts:
    """The facts with each renamed file's old path, from REST's `previous_filename`."""
    previous = {
        str(entry["filename"]): str(entry["previous_filename"])
        for entry in listing
        if entry.get("status") == "renamed" and entry.get("previous_filename")
    }
    if not previous:
        return facts
    files = tuple(
        replace(f, previous_path=previous[f.path]) if f.path in previous else f for f in facts.files
    )
    return replace(facts, files=files)


async def read_previous_paths(
    gh: gidgethub.abc.GitHubAPI, facts: PullRequestFacts
) -> PullRequestFacts:
    """One REST listing of the PR's files (docs.github.com/en/rest/pulls/pulls#list-pull-
    requests-files), read only when a rename exists: a rename is judged under both names."""
    listing = [
        entry
        async for entry in gh.getiter(
            "/repos/{owner}/{repo}/pulls/{pull_number}/files{?per_page}",
            {
                "owner": facts.owner,
                "repo": facts.repo,
                "pull_number": facts.number,
                "per_page": 100,
            },
        )
    ]
    return with_previous_paths(facts, listing)


def _page_info(connection: dict[str, Any] | None) -> str | None:
    info = (connection or {}).get("pageInfo") or {}
    return info.get("endCursor") if info.get("hasNextPage") else None


def merge_facts(pull: dict[str, Any], requested: list[dict[str, Any]], slug: str) -> MergeFacts:
    if not pull.get("mergedAt"):
        raise SnapshotError(f"{slug}: GitHub returned no merged pull request")
    parents = ((pull.get("mergeCommit") or {}).get("parents") or {}).get("nodes") or []
    base = parents[0] if parents and parents[0] else {"oid": pull["baseRefOid"]}
    requests = tuple(
        (login, github_time(node["createdAt"]))
        for node in requested
        if node.get("__typename") == "ReviewRequestedEvent"
        for login in [str((node.get("requestedReviewer") or {}).get("login") or "")]
        if login
    )
    head_nodes = (pull.get("headCommit") or {}).get("nodes") or []
    head = ((head_nodes[0] or {}).get("commit") if head_nodes else None) or {}
    check_runs = tuple(
        (str(run["name"]), run_state(run))
        for suite in (head.get("checkSuites") or {}).get("nodes") or []
        for run in ((suite or {}).get("checkRuns") or {}).get("nodes") or []
        if run and run.get("name")
    )
    return MergeFacts(
        merged_at=github_time(pull["mergedAt"]),
        url=str(pull.get("url") or ""),
        base_oid=base["oid"],
        base_map_blob=(base.get("mapFile") or {}).get("oid"),
        requests=requests,
        check_runs=check_runs,
    )


async def fetch_snapshot(
    gh: gidgethub.abc.GitHubAPI,
    *,
    owner: str,
    repo: str,
    number: int,
    endpoint: str,
    map_path: str,
    app_id: int | None = None,
    merged: bool = False,
) -> Snapshot:
    """One query, then the page queries of whichever connections hold more than a page.

    `merged`: read a merged PR for `coi-bot report` (its merge time, the map at its merge, when
    each reviewer was asked) instead of an open one with the App's check runs."""
    slug = f"{owner}/{repo}#{number}"
    variables: dict[str, Any] = {"owner": owner, "name": repo, "number": number}
    if merged:
        data = await gh.graphql(
            MERGED_PULL_REQUEST, endpoint=endpoint, mapPath=map_path, appId=app_id, **variables
        )
        paged = {**{name: PAGE_QUERIES[name] for name in PAGED}, "requested": REQUESTED_PAGE}
    else:
        data = await gh.graphql(
            SNAPSHOT, endpoint=endpoint, mapPath=map_path, appId=app_id, **variables
        )
        paged = {name: PAGE_QUERIES[name] for name in PAGED}
    pull = _pull_request(data, slug)
    extra: dict[str, list[dict[str, Any]]] = {}
    requests = 1
    for name, query in paged.items():
        cursor = _page_info(pull.get(name))
        read = len((pull.get(name) or {}).get("nodes") or [])
        while cursor is not None and not (name == "commits" and read >= MAX_COMMITS_READ):
            page = await gh.graphql(query, endpoint=endpoint, after=cursor, **variables)
            requests += 1
            connection = _pull_request(page, slug).get(name)
            found = [n for n in ((connection or {}).get("nodes") or []) if n]
            extra.setdefault(name, []).extend(found)
            read += len(found)
            cursor = _page_info(connection)
    facts = facts_from_response(
        data, owner=owner, repo=repo, number=number, map_path=map_path, extra_nodes=extra
    )
    if has_renames(pull, extra):
        facts = await read_previous_paths(gh, facts)
    if merged:
        requested = [n for n in (pull.get("requested") or {}).get("nodes") or [] if n]
        merge = merge_facts(pull, requested + extra.get("requested", []), slug)
        repository = (data or {}).get("repository") or {}
        default_branch = str((repository.get("defaultBranchRef") or {}).get("name") or "")
        merge = replace(merge, default_branch=default_branch)
        return Snapshot(facts=facts, graphql_requests=requests, merge=merge)
    head_nodes = ((pull.get("headCommit") or {}).get("nodes") or [{}])[0] or {}
    default_ref = ((data or {}).get("repository") or {}).get("defaultBranchRef") or {}
    same_head, unread = same_head_pull_requests(
        head_nodes.get("commit"), slug=f"{owner}/{repo}", number=number
    )
    return Snapshot(
        facts=facts,
        graphql_requests=requests,
        check_runs=existing_check_runs(head_nodes.get("commit")),
        base_map=base_map_hint(default_ref),
        same_head=same_head,
        same_head_unread=unread,
        default_branch=str(default_ref.get("name") or ""),
    )
