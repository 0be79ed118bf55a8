"""An immutable snapshot of a pull request: everything the verdict may look at, and no more.

`bot.github.snapshot` builds it from ONE GraphQL query; tests build it by hand. Lists are tuples
so that a snapshot can be hashed, compared and shared between tasks without copies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.affiliations.model import LOGIN_PATTERN

# A whole GitHub login, or an owner's name.
LOGIN = re.compile(rf"^{LOGIN_PATTERN}$")

ReviewState = Literal["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"]


@dataclass(frozen=True, slots=True)
class ChangedFile:
    path: str
    additions: int = 0
    deletions: int = 0
    previous_path: str | None = None  # set on renames: a rename out of a protected path counts


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    message: str = ""
    author_login: str | None = None
    author_email: str | None = None
    committer_login: str | None = None
    committer_email: str | None = None


@dataclass(frozen=True, slots=True)
class Review:
    id: str
    author: str | None  # None for a deleted ("ghost") account
    state: ReviewState
    submitted_at: datetime
    commit_sha: str | None = None
    author_is_bot: bool = False
    # GitHub's order of reviews: submittedAt has one-second resolution and node ids are opaque.
    database_id: int | None = None
    # GitHub's authorCanPushToRepository; None when not read (facts built by hand).
    author_can_push: bool | None = None


@dataclass(frozen=True, slots=True)
class Comment:
    id: str
    author: str | None
    body: str
    created_at: datetime
    updated_at: datetime
    author_is_bot: bool = False  # GraphQL's `Bot` author type, beyond the map's `bots` list
    database_id: int | None = None  # REST id, for reactions and edits of the bot's own reply
    by_viewer: bool = False  # written by this App itself (GraphQL's viewerDidAuthor)
    # Reactions this App left on the comment, as GraphQL contents ("THUMBS_UP"...): a command
    # the App already reacted to was already answered.
    viewer_reactions: tuple[str, ...] = ()
    # Hidden on GitHub (GraphQL's isMinimized): a minimized reply of the App is no longer its reply.
    is_minimized: bool = False
    url: str | None = None  # the comment on GitHub's web pages, for links from the check run
    # Who last edited it and when (GraphQL's editor, lastEditedAt); None when never edited.
    editor: str | None = None
    last_edited_at: datetime | None = None

    @property
    def edited_by_other(self) -> str | None:
        """The last editor when someone other than the author edited the comment: its
        commands are then that editor's acts (anyone with write access may edit a comment)."""
        if self.editor is None or self.author is None:
            return None
        return None if self.editor.lower() == self.author.lower() else self.editor

    @property
    def writer(self) -> str | None:
        """Whose act the comment's text is: its last editor's, else its author's."""
        return self.edited_by_other or self.author

    @property
    def written_at(self) -> datetime:
        """When its text was written: the last edit by someone else, else its creation."""
        if self.edited_by_other is not None and self.last_edited_at is not None:
            return self.last_edited_at
        return self.created_at


@dataclass(frozen=True, slots=True)
class ReviewRequestRemoval:
    """A review request withdrawn on this PR (GitHub's ReviewRequestRemovedEvent)."""

    reviewer: str
    actor: str | None  # who removed it; None for a deleted ("ghost") account
    removed_at: datetime


@dataclass(frozen=True, slots=True)
class LabelChange:
    """A label added to or removed from this PR (GitHub's LabeledEvent / UnlabeledEvent)."""

    label: str
    actor: str | None  # who; None for a deleted ("ghost") account
    added: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class CommentDeletion:
    """A comment deleted from this PR (GitHub's CommentDeletedEvent: whose, by whom, not which)."""

    comment_author: str | None
    actor: str | None  # who deleted it; None for a deleted ("ghost") account
    at: datetime


@dataclass(frozen=True, slots=True)
class RecordedDeclaration:
    """A declaration in force at the last evaluation, as the App's check run recorded it: a
    deleted comment's text is gone from GitHub, this record is what keeps it."""

    comment_id: str
    comment_author: str
    login: str
    by: str
    reason: str | None
    at: datetime
    # The accounts behind `comment_author`, `login` and `by` when the record names them.
    comment_author_id: int | None = None
    login_id: int | None = None
    by_id: int | None = None


@dataclass(frozen=True, slots=True)
class RecordedBallot:
    """A ballot counted at the last tally, as the App's own tally recorded it: a vote deleted
    or edited away by someone other than its voter stands from this record."""

    voter: str
    choice: str  # yes, no or abstain
    reason: str | None
    comment_id: str  # the vote comment's node id
    at: datetime  # when the voter wrote it
    comment_database_id: int | None = None
    voter_id: int | None = None  # the voter's account, when known
    comment_author: str = ""  # whose comment it is (another's, when the voter edited it in)


@dataclass(frozen=True, slots=True)
class MapFile:
    """A copy of the map as a PR's head has it, for validation and protected-file judgement."""

    path: str
    text: str
    blob_sha: str | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    """What a person's GitHub profile shows: the free-text company and public organizations."""

    login: str
    company: str | None = None
    organizations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Account:
    """A GitHub user account as the snapshot saw it: its login now and its numeric id."""

    login: str
    id: int


@dataclass(frozen=True, slots=True)
class PullRequestFacts:
    owner: str
    repo: str
    number: int
    node_id: str
    title: str
    opener: str | None
    head_sha: str
    base_ref: str
    draft: bool = False
    state: Literal["OPEN", "CLOSED", "MERGED"] = "OPEN"
    opener_is_bot: bool = False
    labels: tuple[str, ...] = ()
    files: tuple[ChangedFile, ...] = ()
    commits: tuple[Commit, ...] = ()
    reviews: tuple[Review, ...] = ()
    comments: tuple[Comment, ...] = ()
    requested_reviewers: tuple[str, ...] = ()
    requested_teams: tuple[str, ...] = ()
    head_map: MapFile | None = None
    # GitHub stops listing files and commits at these caps; the verdict says so when reached.
    files_truncated: bool = False
    commits_truncated: bool = False
    commits_total: int | None = None  # GitHub's commits.totalCount, read or not
    # The last 100 removed review requests of users (teams are never requested by the bot).
    review_request_removals: tuple[ReviewRequestRemoval, ...] = ()
    # Profiles of the opener, the commit authors and the reviewers, read by the same query.
    profiles: tuple[Profile, ...] = ()
    # The last 100 label changes, oldest first: who set a label decides whether it counts.
    label_changes: tuple[LabelChange, ...] = ()
    # The last 100 comment deletions, and the declarations the App's check run recorded.
    comment_deletions: tuple[CommentDeletion, ...] = ()
    recorded_declarations: tuple[RecordedDeclaration, ...] = ()
    # The ballots the App's own vote tally recorded (its check run, or an issue's live comment).
    recorded_ballots: tuple[RecordedBallot, ...] = ()
    # The numeric id of every user account the snapshot names (authors, reviewers, commenters,
    # label actors...): people are accounts, and logins change hands.
    accounts: tuple[Account, ...] = ()

    @property
    def account_ids(self) -> dict[str, int | None]:
        return {account.login: account.id for account in self.accounts}

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.repo}#{self.number}"
