"""JSON shapes of GitHub objects, for REST answers and webhook payloads.

Built in code (not loaded from the reference data) so that shapes stay readable; the field sets
follow octokit/webhooks' payload schemas, which tests check every emitted payload against.
"""

from __future__ import annotations

import base64
from typing import Any

from githubsim.state import (
    LEGACY_PERMISSION,
    CheckRun,
    CheckSuite,
    Comment,
    Commit,
    Installation,
    Issue,
    Label,
    PullRequest,
    Reaction,
    Repository,
    Review,
    Team,
    User,
    blob_sha,
    iso,
)

Json = dict[str, Any]

APP_PERMISSIONS = {
    "checks": "write",
    "contents": "read",
    "issues": "write",
    "members": "read",
    "metadata": "read",
    "pull_requests": "write",
}
APP_EVENTS = [
    "check_run",
    "check_suite",
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "push",
]
REACTION_CONTENTS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")


class Shapes:
    """Renders state objects with URLs rooted at the simulator's API and web addresses."""

    def __init__(self, *, api_url: str, web_url: str, app_id: int, app_slug: str) -> None:
        self.api = api_url.rstrip("/")
        self.web = web_url.rstrip("/")
        self.app_id = app_id
        self.app_slug = app_slug

    def user(self, user: User, *, account_type: str | None = None) -> Json:
        api = f"{self.api}/users/{user.login}"
        return {
            "login": user.login,
            "id": user.id,
            "node_id": user.node_id,
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user.id}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{self.web}/{user.login}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": account_type or user.type,
            "site_admin": False,
        }

    def app(self, owner: User) -> Json:
        return {
            "id": self.app_id,
            "slug": self.app_slug,
            "node_id": f"A_sim{self.app_id}",
            "owner": self.user(owner),
            "name": self.app_slug,
            "description": "GitHub App served by the coi-bot simulator",
            "external_url": f"{self.web}/apps/{self.app_slug}",
            "html_url": f"{self.web}/apps/{self.app_slug}",
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            "permissions": dict(APP_PERMISSIONS),
            "events": list(APP_EVENTS),
        }

    def repository(self, repo: Repository, owner: User, *, owner_type: str) -> Json:
        api = f"{self.api}/repos/{repo.full_name}"
        html = f"{self.web}/{repo.full_name}"
        open_issues = sum(1 for pull in repo.pulls.values() if pull.state == "open")
        return {
            **self.repository_lite(repo),
            "owner": self.user(owner, account_type=owner_type),
            "html_url": html,
            "description": None,
            "fork": False,
            "url": api,
            "forks_url": f"{api}/forks",
            "keys_url": f"{api}/keys{{/key_id}}",
            "collaborators_url": f"{api}/collaborators{{/collaborator}}",
            "teams_url": f"{api}/teams",
            "hooks_url": f"{api}/hooks",
            "issue_events_url": f"{api}/issues/events{{/number}}",
            "events_url": f"{api}/events",
            "assignees_url": f"{api}/assignees{{/user}}",
            "branches_url": f"{api}/branches{{/branch}}",
            "tags_url": f"{api}/tags",
            "blobs_url": f"{api}/git/blobs{{/sha}}",
            "git_tags_url": f"{api}/git/tags{{/sha}}",
            "git_refs_url": f"{api}/git/refs{{/sha}}",
            "trees_url": f"{api}/git/trees{{/sha}}",
            "statuses_url": f"{api}/statuses/{{sha}}",
            "languages_url": f"{api}/languages",
            "stargazers_url": f"{api}/stargazers",
            "contributors_url": f"{api}/contributors",
            "subscribers_url": f"{api}/subscribers",
            "subscription_url": f"{api}/subscription",
            "commits_url": f"{api}/commits{{/sha}}",
            "git_commits_url": f"{api}/git/commits{{/sha}}",
            "comments_url": f"{api}/comments{{/number}}",
            "issue_comment_url": f"{api}/issues/comments{{/number}}",
            "contents_url": f"{api}/contents/{{+path}}",
            "compare_url": f"{api}/compare/{{base}}...{{head}}",
            "merges_url": f"{api}/merges",
            "archive_url": f"{api}/{{archive_format}}{{/ref}}",
            "downloads_url": f"{api}/downloads",
            "issues_url": f"{api}/issues{{/number}}",
            "pulls_url": f"{api}/pulls{{/number}}",
            "milestones_url": f"{api}/milestones{{/number}}",
            "notifications_url": f"{api}/notifications{{?since,all,participating}}",
            "labels_url": f"{api}/labels{{/name}}",
            "releases_url": f"{api}/releases{{/id}}",
            "deployments_url": f"{api}/deployments",
            "created_at": iso(repo.created_at),
            "updated_at": iso(repo.created_at),
            "pushed_at": iso(repo.created_at),
            "git_url": f"git://{self.web.split('://', 1)[-1]}/{repo.full_name}.git",
            "ssh_url": f"git@github.com:{repo.full_name}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "homepage": None,
            "size": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": None,
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": open_issues,
            "license": None,
            "forks": 0,
            "open_issues": open_issues,
            "watchers": 0,
            "default_branch": repo.default_branch,
            "is_template": False,
            "topics": [],
            "visibility": "private" if repo.private else "public",
            "web_commit_signoff_required": False,
            "custom_properties": {},
        }

    @staticmethod
    def repository_lite(repo: Repository) -> Json:
        return {
            "id": repo.id,
            "node_id": repo.node_id,
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
        }

    def label(self, repo: Repository, label: Label) -> Json:
        return {
            "id": label.id,
            "node_id": label.node_id,
            "url": f"{self.api}/repos/{repo.full_name}/labels/{label.name}",
            "name": label.name,
            "description": label.description,
            "color": label.color,
            "default": False,
        }

    def reactions_rollup(self, url: str, reactions: list[Reaction]) -> Json:
        rollup: Json = {"url": url, "total_count": len(reactions)}
        for content in REACTION_CONTENTS:
            rollup[content] = sum(1 for reaction in reactions if reaction.content == content)
        return rollup

    def reaction(self, reaction: Reaction, user: User) -> Json:
        return {
            "id": reaction.id,
            "node_id": reaction.node_id,
            "user": self.user(user),
            "content": reaction.content,
            "created_at": iso(reaction.created_at),
        }

    def _pull_urls(self, repo: Repository, pull: PullRequest) -> Json:
        api = f"{self.api}/repos/{repo.full_name}"
        html = f"{self.web}/{repo.full_name}/pull/{pull.number}"
        return {
            "url": f"{api}/pulls/{pull.number}",
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": f"{api}/issues/{pull.number}",
        }

    def pull_request(
        self,
        repo: Repository,
        pull: PullRequest,
        *,
        users: dict[str, User],
        repo_json: Json,
        teams: list[Team],
        full: bool = True,
    ) -> Json:
        """`pull-request` (full=True: pulls/get, webhooks) or `pull-request-simple`."""
        api = f"{self.api}/repos/{repo.full_name}"
        author = users[pull.author]
        urls = self._pull_urls(repo, pull)
        commits_url = f"{api}/pulls/{pull.number}/commits"
        review_comments_url = f"{api}/pulls/{pull.number}/comments"
        comments_url = f"{api}/issues/{pull.number}/comments"
        statuses_url = f"{api}/statuses/{pull.head_sha}"

        def ref(branch: str, sha: str) -> Json:
            return {
                "label": f"{repo.owner}:{branch}",
                "ref": branch,
                "sha": sha,
                "user": repo_json["owner"],
                "repo": repo_json,
            }

        merged_at = iso(pull.closed_at) if pull.merged and pull.closed_at else None
        shape: Json = {
            "url": urls["url"],
            "id": pull.id,
            "node_id": pull.node_id,
            "html_url": urls["html_url"],
            "diff_url": urls["diff_url"],
            "patch_url": urls["patch_url"],
            "issue_url": urls["issue_url"],
            "number": pull.number,
            "state": pull.state,
            "locked": False,
            "title": pull.title,
            "user": self.user(author),
            "body": pull.body or None,
            "created_at": iso(pull.created_at),
            "updated_at": iso(pull.updated_at),
            "closed_at": iso(pull.closed_at) if pull.closed_at else None,
            "merged_at": merged_at,
            "merge_commit_sha": pull.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [self.user(users[login]) for login in pull.requested_reviewers],
            "requested_teams": [self.team(team) for team in teams],
            "labels": [self.label(repo, repo.labels[name]) for name in pull.labels],
            "milestone": None,
            "draft": pull.draft,
            "commits_url": commits_url,
            "review_comments_url": review_comments_url,
            "review_comment_url": f"{api}/pulls/comments{{/number}}",
            "comments_url": comments_url,
            "statuses_url": statuses_url,
            "head": ref(pull.head_ref, pull.head_sha),
            "base": ref(pull.base_ref, pull.base_sha),
            "_links": {
                "self": {"href": urls["url"]},
                "html": {"href": urls["html_url"]},
                "issue": {"href": urls["issue_url"]},
                "comments": {"href": comments_url},
                "review_comments": {"href": review_comments_url},
                "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
                "commits": {"href": commits_url},
                "statuses": {"href": statuses_url},
            },
            "author_association": "CONTRIBUTOR",
            "auto_merge": None,
            "active_lock_reason": None,
        }
        if not full:
            return shape
        files = repo.pull_files(pull)
        shape.update(
            {
                "merged": pull.merged,
                "mergeable": None if pull.merged else True,
                "rebaseable": None if pull.merged else True,
                "mergeable_state": "unknown" if pull.merged else "clean",
                "merged_by": self.user(users[pull.merged_by]) if pull.merged_by else None,
                "comments": sum(1 for c in repo.comments.values() if c.issue_number == pull.number),
                "review_comments": 0,
                "maintainer_can_modify": False,
                "commits": len(pull.commit_shas),
                "additions": sum(change.additions for change in files),
                "deletions": sum(change.deletions for change in files),
                "changed_files": len(files),
            }
        )
        return shape

    def issue(self, repo: Repository, pull: PullRequest | Issue, *, users: dict[str, User]) -> Json:
        """An issue, or the issue side of a pull request, as `issues` and `issue_comment`
        payloads and search carry it; only a pull request's has `pull_request` and `draft`."""
        api = f"{self.api}/repos/{repo.full_name}/issues/{pull.number}"
        if isinstance(pull, Issue):
            return self._plain_issue(repo, pull, api, users=users)
        urls = self._pull_urls(repo, pull)
        comment_count = sum(1 for c in repo.comments.values() if c.issue_number == pull.number)
        return {
            "url": api,
            "repository_url": f"{self.api}/repos/{repo.full_name}",
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "html_url": urls["html_url"],
            "id": pull.id,
            "node_id": pull.node_id,
            "number": pull.number,
            "title": pull.title,
            "user": self.user(users[pull.author]),
            "labels": [self.label(repo, repo.labels[name]) for name in pull.labels],
            "state": pull.state,
            "locked": False,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": comment_count,
            "created_at": iso(pull.created_at),
            "updated_at": iso(pull.updated_at),
            "closed_at": iso(pull.closed_at) if pull.closed_at else None,
            "author_association": "CONTRIBUTOR",
            "active_lock_reason": None,
            "draft": pull.draft,
            "pull_request": {
                "url": urls["url"],
                "html_url": urls["html_url"],
                "diff_url": urls["diff_url"],
                "patch_url": urls["patch_url"],
                "merged_at": iso(pull.closed_at) if pull.merged and pull.closed_at else None,
            },
            "body": pull.body or None,
            "reactions": self.reactions_rollup(f"{api}/reactions", pull.reactions),
            "timeline_url": f"{api}/timeline",
            "performed_via_github_app": None,
            "state_reason": None,
        }

    def _plain_issue(
        self, repo: Repository, issue: Issue, api: str, *, users: dict[str, User]
    ) -> Json:
        comment_count = sum(1 for c in repo.comments.values() if c.issue_number == issue.number)
        return {
            "url": api,
            "repository_url": f"{self.api}/repos/{repo.full_name}",
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "html_url": f"{self.web}/{repo.full_name}/issues/{issue.number}",
            "id": issue.id,
            "node_id": issue.node_id,
            "number": issue.number,
            "title": issue.title,
            "user": self.user(users[issue.author]),
            "labels": [self.label(repo, repo.labels[name]) for name in issue.labels],
            "state": issue.state,
            "locked": False,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": comment_count,
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_at": iso(issue.closed_at) if issue.closed_at else None,
            "author_association": "CONTRIBUTOR",
            "active_lock_reason": None,
            "body": issue.body or None,
            "reactions": self.reactions_rollup(f"{api}/reactions", issue.reactions),
            "timeline_url": f"{api}/timeline",
            "performed_via_github_app": None,
            "state_reason": None,
        }

    def comment(
        self, repo: Repository, comment: Comment, *, user: User, app_owner: User | None
    ) -> Json:
        api = f"{self.api}/repos/{repo.full_name}/issues/comments/{comment.id}"
        return {
            "url": api,
            "html_url": (
                f"{self.web}/{repo.full_name}/"
                f"{'issues' if comment.issue_number in repo.issues else 'pull'}/"
                f"{comment.issue_number}#issuecomment-{comment.id}"
            ),
            "issue_url": f"{self.api}/repos/{repo.full_name}/issues/{comment.issue_number}",
            "id": comment.id,
            "node_id": comment.node_id,
            "user": self.user(user),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "author_association": "CONTRIBUTOR",
            "body": comment.body,
            "reactions": self.reactions_rollup(f"{api}/reactions", comment.reactions),
            "performed_via_github_app": (
                self.app(app_owner) if comment.via_app and app_owner else None
            ),
        }

    def review(self, repo: Repository, pull: PullRequest, review: Review, *, user: User) -> Json:
        html = f"{self.web}/{repo.full_name}/pull/{pull.number}#pullrequestreview-{review.id}"
        pull_url = f"{self.api}/repos/{repo.full_name}/pulls/{pull.number}"
        return {
            "id": review.id,
            "node_id": review.node_id,
            "user": self.user(user),
            "body": review.body or None,
            "commit_id": review.commit_id,
            "submitted_at": iso(review.submitted_at),
            "state": review.state.lower(),
            "html_url": html,
            "pull_request_url": pull_url,
            "author_association": "CONTRIBUTOR",
            "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
        }

    def team(self, team: Team) -> Json:
        api = f"{self.api}/orgs/{team.org}/teams/{team.slug}"
        return {
            "name": team.name,
            "id": team.id,
            "node_id": team.node_id,
            "slug": team.slug,
            "description": None,
            "privacy": "closed",
            "url": api,
            "html_url": f"{self.web}/orgs/{team.org}/teams/{team.slug}",
            "members_url": f"{api}/members{{/member}}",
            "repositories_url": f"{api}/repos",
            "permission": "pull",
        }

    def check_pull_requests(self, repo: Repository, pulls: list[PullRequest]) -> list[Json]:
        repo_ref = {
            "id": repo.id,
            "url": f"{self.api}/repos/{repo.full_name}",
            "name": repo.name,
        }
        return [
            {
                "url": f"{self.api}/repos/{repo.full_name}/pulls/{pull.number}",
                "id": pull.id,
                "number": pull.number,
                "head": {"ref": pull.head_ref, "sha": pull.head_sha, "repo": repo_ref},
                "base": {"ref": pull.base_ref, "sha": pull.base_sha, "repo": repo_ref},
            }
            for pull in pulls
        ]

    def check_suite(
        self,
        repo: Repository,
        suite: CheckSuite,
        *,
        runs: list[CheckRun],
        pulls: list[PullRequest],
        app_owner: User,
        head_commit: Commit | None = None,
        webhook: bool = False,
    ) -> Json:
        """The suite nested in a check run (webhook=False) or as `check_suite` events carry it."""
        complete = bool(runs) and all(run.status == "completed" for run in runs)
        conclusion = _suite_conclusion(runs) if complete else None
        shape: Json = {
            "id": suite.id,
            "node_id": suite.node_id,
            "head_branch": suite.head_branch,
            "head_sha": suite.head_sha,
            "status": "completed" if complete else "queued",
            "conclusion": conclusion,
            "url": f"{self.api}/repos/{repo.full_name}/check-suites/{suite.id}",
            "before": None,
            "after": suite.head_sha,
            "pull_requests": self.check_pull_requests(repo, pulls),
            "app": self.app_of(suite.app_id, app_owner),
            "created_at": iso(suite.created_at),
            "updated_at": iso(suite.updated_at),
        }
        if webhook and head_commit is not None:
            shape["status"] = "requested" if not runs else shape["status"]
            shape.update(
                {
                    "latest_check_runs_count": len(runs),
                    "check_runs_url": (
                        f"{self.api}/repos/{repo.full_name}/check-suites/{suite.id}/check-runs"
                    ),
                    "rerequestable": True,
                    "runs_rerequestable": True,
                    "head_commit": self.commit_simple(head_commit),
                }
            )
        return shape

    def check_run(
        self,
        repo: Repository,
        run: CheckRun,
        *,
        suite: Json,
        pulls: list[PullRequest],
        app_owner: User,
    ) -> Json:
        api = f"{self.api}/repos/{repo.full_name}/check-runs/{run.id}"
        html = f"{self.web}/{repo.full_name}/runs/{run.id}"
        shape: Json = {
            "id": run.id,
            "node_id": run.node_id,
            "head_sha": run.head_sha,
            "external_id": run.external_id or "",
            "url": api,
            "html_url": html,
            "details_url": run.details_url or f"{self.web}/apps/{self.app_slug}",
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": iso(run.started_at),
            "completed_at": iso(run.completed_at) if run.completed_at else None,
            "output": {
                "title": run.title,
                "summary": run.summary,
                "text": run.text,
                "annotations_count": len(run.annotations),
                "annotations_url": f"{api}/annotations",
            },
            "name": run.name,
            "check_suite": suite,
            "app": self.app_of(run.app_id, app_owner),
            "pull_requests": self.check_pull_requests(repo, pulls),
        }
        return shape

    def app_of(self, app_id: int, owner: User) -> Json:
        """This App, or another one (a workflow's runs come from GitHub Actions)."""
        if app_id == self.app_id:
            return self.app(owner)
        return {
            **self.app(owner),
            "id": app_id,
            "slug": "github-actions",
            "node_id": f"A_sim{app_id}",
            "name": "GitHub Actions",
        }

    def installation(self, installation: Installation, account: User, *, account_type: str) -> Json:
        return {
            "id": installation.id,
            "account": self.user(account, account_type=account_type),
            "repository_selection": "all" if installation.repositories is None else "selected",
            "access_tokens_url": (f"{self.api}/app/installations/{installation.id}/access_tokens"),
            "repositories_url": f"{self.api}/installation/repositories",
            "html_url": f"{self.web}/settings/installations/{installation.id}",
            "app_id": self.app_id,
            "app_slug": self.app_slug,
            "target_id": account.id,
            "target_type": account_type,
            "permissions": dict(APP_PERMISSIONS),
            "events": list(APP_EVENTS),
            "created_at": iso(installation.created_at),
            "updated_at": iso(installation.updated_at or installation.created_at),
            "single_file_name": None,
            "has_multiple_single_files": False,
            "single_file_paths": [],
            "suspended_by": None,
            "suspended_at": None,
        }

    @staticmethod
    def installation_lite(installation: Installation) -> Json:
        return {
            "id": installation.id,
            "node_id": f"MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u{installation.id}",
        }

    @staticmethod
    def commit_simple(commit: Commit) -> Json:
        return {
            "id": commit.sha,
            "tree_id": commit.tree_sha,
            "message": commit.message,
            "timestamp": iso(commit.committer.date),
            "author": {"name": commit.author.name, "email": commit.author.email},
            "committer": {"name": commit.committer.name, "email": commit.committer.email},
        }

    def push_commit(self, repo: Repository, commit: Commit, parent: Commit | None) -> Json:
        before = parent.tree if parent else {}
        after = commit.tree
        author: Json = {"name": commit.author.name, "email": commit.author.email}
        if commit.author.login:
            author["username"] = commit.author.login
        committer: Json = {"name": commit.committer.name, "email": commit.committer.email}
        if commit.committer.login:
            committer["username"] = commit.committer.login
        return {
            "id": commit.sha,
            "tree_id": commit.tree_sha,
            "distinct": True,
            "message": commit.message,
            "timestamp": iso(commit.committer.date),
            "url": f"{self.web}/{repo.full_name}/commit/{commit.sha}",
            "author": author,
            "committer": committer,
            "added": sorted(set(after) - set(before)),
            "removed": sorted(set(before) - set(after)),
            "modified": sorted(p for p in set(after) & set(before) if after[p] != before[p]),
        }

    def collaborator(self, user: User, permission: str) -> Json:
        shape = self.user(user)
        level = PERMISSION_ORDER.index(permission)
        shape["permissions"] = {
            "admin": level >= PERMISSION_ORDER.index("admin"),
            "maintain": level >= PERMISSION_ORDER.index("maintain"),
            "push": level >= PERMISSION_ORDER.index("write"),
            "triage": level >= PERMISSION_ORDER.index("triage"),
            "pull": level >= PERMISSION_ORDER.index("read"),
        }
        shape["role_name"] = permission
        return shape

    def content_file(self, repo: Repository, path: str, text: str, *, ref: str) -> Json:
        sha = blob_sha(text)
        api = f"{self.api}/repos/{repo.full_name}/contents/{path}?ref={ref}"
        html = f"{self.web}/{repo.full_name}/blob/{ref}/{path}"
        git = f"{self.api}/repos/{repo.full_name}/git/blobs/{sha}"
        encoded = base64.b64encode(text.encode()).decode()
        # GitHub wraps the base64 body at 60 characters per line, each line ending in "\n".
        wrapped = "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))
        return {
            "type": "file",
            "encoding": "base64",
            "size": len(text.encode()),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": wrapped,
            "sha": sha,
            "url": api,
            "git_url": git,
            "html_url": html,
            "download_url": f"{self.web}/raw/{repo.full_name}/{ref}/{path}",
            "_links": {"self": api, "git": git, "html": html},
        }

    def content_dir_entry(
        self, repo: Repository, path: str, *, kind: str, sha: str, ref: str
    ) -> Json:
        api = f"{self.api}/repos/{repo.full_name}/contents/{path}?ref={ref}"
        html = f"{self.web}/{repo.full_name}/{'blob' if kind == 'file' else 'tree'}/{ref}/{path}"
        git = (
            f"{self.api}/repos/{repo.full_name}/git/{'blobs' if kind == 'file' else 'trees'}/{sha}"
        )
        return {
            "type": kind,
            "size": 0,
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "url": api,
            "git_url": git,
            "html_url": html,
            "download_url": f"{self.web}/raw/{repo.full_name}/{ref}/{path}"
            if kind == "file"
            else None,
            "_links": {"self": api, "git": git, "html": html},
        }


PERMISSION_ORDER = ("none", "read", "triage", "write", "maintain", "admin")
assert set(PERMISSION_ORDER) == set(LEGACY_PERMISSION)

# GitHub's priority among run conclusions when it sums up a suite (highest first).
_CONCLUSION_PRIORITY = (
    "action_required",
    "cancelled",
    "timed_out",
    "failure",
    "neutral",
    "stale",
    "skipped",
    "success",
)


def _suite_conclusion(runs: list[CheckRun]) -> str | None:
    conclusions = {run.conclusion for run in runs}
    for conclusion in _CONCLUSION_PRIORITY:
        if conclusion in conclusions:
            return conclusion
    return None
