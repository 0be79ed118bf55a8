"""Renamed accounts: GitHub shows everything an account ever did under its current login.

A rename keeps the account (its numeric id, node id and history) and frees the old login, which
anyone may then register as a new account with a new id (docs.github.com/en/account-and-profile/
setting-up-and-managing-your-personal-account-on-github/managing-user-account-settings/
changing-your-github-username). The simulator stores acts by login, so a rename rewrites them.
"""

from __future__ import annotations

from collections.abc import Iterable

from githubsim.state import (
    Comment,
    CommentDeletion,
    Issue,
    LabelEvent,
    PullRequest,
    Repository,
    ReviewRequestEvent,
    Team,
)


def _renamed(value: str | None, old: str, new: str) -> str | None:
    return new if value == old else value


def _rename_in_list(values: list[str], old: str, new: str) -> None:
    values[:] = [new if value == old else value for value in values]


def _rename_events(
    events: Iterable[LabelEvent | ReviewRequestEvent | CommentDeletion], old: str, new: str
) -> None:
    for event in events:
        event.actor = new if event.actor == old else event.actor
        if isinstance(event, ReviewRequestEvent) and event.reviewer == old:
            event.reviewer = new
        if isinstance(event, CommentDeletion) and event.comment_author == old:
            event.comment_author = new


def _rename_thread(thread: PullRequest | Issue, old: str, new: str) -> None:
    thread.author = new if thread.author == old else thread.author
    for reaction in thread.reactions:
        reaction.user = new if reaction.user == old else reaction.user
    _rename_events(thread.label_events, old, new)
    _rename_events(thread.comment_deletions, old, new)
    if isinstance(thread, PullRequest):
        thread.merged_by = _renamed(thread.merged_by, old, new)
        _rename_in_list(thread.requested_reviewers, old, new)
        for review in thread.reviews:
            review.user = new if review.user == old else review.user
        _rename_events(thread.review_request_events, old, new)


def _rename_comment(comment: Comment, old: str, new: str) -> None:
    comment.user = new if comment.user == old else comment.user
    for reaction in comment.reactions:
        reaction.user = new if reaction.user == old else reaction.user
    for edit in comment.edits:
        edit.editor = new if edit.editor == old else edit.editor


def rename_in_repository(repo: Repository, old: str, new: str) -> None:
    """Every act of the account in `repo` shown under its new login, its access kept."""
    if old in repo.permissions:
        repo.permissions[new] = repo.permissions.pop(old)
    threads: list[PullRequest | Issue] = [*repo.pulls.values(), *repo.issues.values()]
    for thread in threads:
        _rename_thread(thread, old, new)
    for comment in repo.comments.values():
        _rename_comment(comment, old, new)
    for commit in repo.commits.values():
        for identity in (commit.author, commit.committer):
            identity.login = _renamed(identity.login, old, new)


def rename_in_teams(teams: Iterable[Team], members: Iterable[set[str]], old: str, new: str) -> None:
    """The account stays in its teams and organizations under its new login."""
    for team in teams:
        if old in team.members:
            team.members[new] = team.members.pop(old)
    for logins in members:
        if old in logins:
            logins.discard(old)
            logins.add(new)
