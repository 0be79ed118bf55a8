"""Which version of a map is in force, and the verdict on a push that changed it (DESIGN.md, 6).

The map is the root of trust: a version takes effect only when it landed reviewed, that is
through a pull request into the branch whose `COI review` was `success` when it merged (a merge
queue lands a PR that passed too). The App's own `success` on a commit is not enough: a PR into
another branch passes there (its map is not in force anyway: the default branch's judges every
PR), and its commit could then be pushed here. A file's first version is its bootstrap, in force
as it is, unless an owner's `.github` map governed the repository before.
An unreviewed change is held (`unreviewed_map: hold`: the last reviewed version stays in force)
or accepted (`accept`), as the policy of the version in force says: a push cannot switch itself
to `accept`. Everything here is read from GitHub by `bot.github.map_source`; nothing is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from bot.affiliations.audit_rules import Finding, Seen
from bot.affiliations.index import AffiliationMap
from bot.affiliations.model import MapDocument

PushConclusion = Literal["success", "failure", "neutral"]


@dataclass(frozen=True, slots=True)
class LandedPullRequest:
    """The merged pull request that brought a commit to the branch, as its check left it."""

    number: int
    merged_by: str | None
    check: str | None  # the App's `COI review` conclusion on its head when merged, lower case
    approvers: tuple[str, ...] = ()  # logins whose latest review approved


@dataclass(frozen=True, slots=True)
class MapCommit:
    """One commit of the map file's history on the branch (`git log -- path`)."""

    oid: str
    url: str
    committed_at: datetime
    blob_sha: str | None  # the map's blob at this commit; None: the commit removed it
    author: str | None  # the author's GitHub login (history does not tell who pushed)
    pull_request: LandedPullRequest | None = None  # the merged PR into the branch that brought it

    @property
    def landed_reviewed(self) -> bool:
        return self.pull_request is not None and self.pull_request.check == "success"


@dataclass(frozen=True, slots=True)
class MapHistory:
    """The map file's history on a branch, newest first, and what governed before it."""

    commits: tuple[MapCommit, ...]
    complete: bool  # the file's first version is among `commits`
    owner_map_dates: tuple[datetime, ...] = ()  # commits of the owner's `.github` map
    owner_map_older: bool = False  # the owner's map has older commits than those dates


@dataclass(frozen=True, slots=True)
class Trust:
    """The last trusted version of a map and the newest change that is not trusted."""

    trusted: MapCommit | None  # None: no version of this file was reviewed (nor is a bootstrap)
    unreviewed: MapCommit | None  # the newest change, when it landed without review: in force
    # only under the `accept` of the trusted version's policy (bot.github.map_source decides)
    reviewed_blobs: frozenset[str]  # every blob of this file that landed reviewed


def owner_governed_before(history: MapHistory, moment: datetime) -> bool:
    """Whether the owner's `.github` map may have existed before `moment` (unknown, or the same
    second, which is all a commit's date tells: yes)."""
    return history.owner_map_older or any(day <= moment for day in history.owner_map_dates)


def bootstrap_commit(history: MapHistory, *, owner_repository: bool) -> MapCommit | None:
    """The file's first version, when it is a bootstrap: nothing governed the repository before."""
    if not history.complete or not history.commits:
        return None
    first = history.commits[-1]
    if first.blob_sha is None:
        return None
    if not owner_repository and owner_governed_before(history, first.committed_at):
        return None
    return first


def judge_history(history: MapHistory, *, owner_repository: bool) -> Trust:
    """Which version is trusted: reviewed blobs, else the bootstrap; the newest if it is one."""
    reviewed = frozenset(
        c.blob_sha for c in history.commits if c.blob_sha is not None and c.landed_reviewed
    )
    first = bootstrap_commit(history, owner_repository=owner_repository)
    trusted_blobs = reviewed | ({first.blob_sha} if first and first.blob_sha else set())
    trusted = next((c for c in history.commits if c.blob_sha in trusted_blobs), None)
    newest = history.commits[0] if history.commits else None
    unreviewed = None if newest is None or newest.blob_sha in trusted_blobs else newest
    return Trust(trusted, unreviewed, reviewed)


@dataclass(frozen=True, slots=True)
class VersionAt:
    """Which version of a map file was in force at a past moment (a vote's label event)."""

    known: bool  # False: the history read does not reach back to that moment
    commit: MapCommit | None = None  # the trusted version then; None: none (the next map decided)
    # The newest change then, landed without review: in force instead of `commit` only under the
    # `accept` of `commit`'s policy (a deletion when its blob is None).
    unreviewed: MapCommit | None = None


def in_force_at(history: MapHistory, moment: datetime, *, owner_repository: bool) -> VersionAt:
    """The map file's version in force at `moment`, by the history as GitHub tells it now: the
    changes committed by then, judged as `judge_history` judges them (a commit's date is all
    the history tells of when it landed; a reviewed merge is committed by GitHub when merged)."""
    earlier = tuple(c for c in history.commits if c.committed_at <= moment)
    if not earlier and not history.complete:
        return VersionAt(known=False)
    newest = earlier[0] if earlier else None
    if newest is not None and newest.blob_sha is None and newest.landed_reviewed:
        return VersionAt(known=True)  # a reviewed deletion: no file then
    then = MapHistory(
        commits=earlier,
        complete=history.complete,
        owner_map_dates=history.owner_map_dates,
        owner_map_older=history.owner_map_older,
    )
    trust = judge_history(then, owner_repository=owner_repository)
    return VersionAt(known=True, commit=trust.trusted, unreviewed=trust.unreviewed)


# --- what changed ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MapChanges:
    """People and companies a map change added, removed or moved, for the push's verdict."""

    people_added: tuple[str, ...] = ()
    people_removed: tuple[str, ...] = ()
    people_moved: tuple[str, ...] = ()  # their affiliations changed
    roles_changed: tuple[str, ...] = ()
    companies_added: tuple[str, ...] = ()
    companies_removed: tuple[str, ...] = ()
    policy_changed: bool = False

    def lines(self) -> list[str]:
        named = [
            ("people added", self.people_added),
            ("people removed", self.people_removed),
            ("affiliations changed", self.people_moved),
            ("roles changed", self.roles_changed),
            ("companies added", self.companies_added),
            ("companies removed", self.companies_removed),
        ]
        lines = [
            f"- {what}: " + ", ".join(f"`{n}`" for n in names) for what, names in named if names
        ]
        if self.policy_changed:
            lines.append("- the policy changed")
        return lines


def map_changes(before: MapDocument | None, after: MapDocument | None) -> MapChanges:
    """What changed between two versions of a map (None: absent or invalid)."""
    old_people = before.people if before else {}
    new_people = after.people if after else {}
    old_companies = before.companies if before else {}
    new_companies = after.companies if after else {}
    common = sorted(old_people.keys() & new_people.keys())
    return MapChanges(
        people_added=tuple(sorted(new_people.keys() - old_people.keys())),
        people_removed=tuple(sorted(old_people.keys() - new_people.keys())),
        people_moved=tuple(
            login
            for login in common
            if old_people[login].affiliations != new_people[login].affiliations
        ),
        roles_changed=tuple(
            login for login in common if old_people[login].role != new_people[login].role
        ),
        companies_added=tuple(sorted(new_companies.keys() - old_companies.keys())),
        companies_removed=tuple(sorted(old_companies.keys() - new_companies.keys())),
        policy_changed=(before is not None and after is not None and before.policy != after.policy),
    )


# --- the verdict on a push ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MapPush:
    """A push to the default branch that changed the map, as the bot read it back."""

    head_sha: str
    pusher: str
    forced: bool
    first_version: bool  # the map did not exist before this push
    owner_governed: bool  # an owner's `.github` map governed the repository before
    pull_request: LandedPullRequest | None  # the merged PR that brought the pushed commit
    commits: tuple[str, ...] = ()  # the pushed commits that touched the map (short shas)


@dataclass(frozen=True, slots=True)
class PushVerdict:
    conclusion: PushConclusion
    title: str
    summary: str


def _who(login: str | None, amap: AffiliationMap | None, day: date, *, quiet: bool = False) -> str:
    """`@login (Company)`; `quiet`: the login in code, so that a comment mentions nobody."""
    if not login:
        return "an unknown account"
    name = f"`@{login}`" if quiet else f"@{login}"
    if amap is None:
        return name
    companies = sorted(amap.company_name(c) for c in amap.companies_of(login, day))
    return f"{name} ({', '.join(companies) if companies else 'no company on record'})"


def _companies(logins: Sequence[str], amap: AffiliationMap | None, day: date) -> str:
    if amap is None:
        return ", ".join(f"@{login}" for login in logins) or "nobody"
    names = sorted(
        {amap.company_name(c) for login in logins for c in amap.companies_of(login, day)}
    )
    return ", ".join(names) if names else "no company on record"


def judge_map_push(
    push: MapPush,
    *,
    reviewer_map: AffiliationMap | None,
    changes: MapChanges,
    day: date,
) -> PushVerdict:
    """`success` when the change landed reviewed, `neutral` for a bootstrap, else `failure`.

    `reviewer_map`: the map that judged the change (the one in force before the push), to name
    the companies of the people involved.
    """
    landed = push.pull_request
    detail = changes.lines()
    commits = ", ".join(f"`{sha}`" for sha in push.commits)
    tail = (["", f"Commits: {commits}"] if commits else []) + (
        ["", "What changed:", *detail] if detail else []
    )
    if push.forced:
        title = f"Map force-pushed by {_who(push.pusher, reviewer_map, day)}"
        why = "a force push rewrote the map's history: no review covers it."
        return PushVerdict("failure", title, "\n".join([f"**failure**: {why}", *tail]))
    if landed is not None and landed.check == "success":
        approvals = _companies(landed.approvers, reviewer_map, day)
        title = f"Map change reviewed in #{landed.number}: approvals from {approvals}"
        return PushVerdict("success", title, "\n".join([f"**success**: {title}.", *tail]))
    if push.first_version and not push.owner_governed:
        title = "First map of this repository: in force as it is"
        why = "the repository had no map, and no owner's `.github` map governed it: bootstrap."
        return PushVerdict("neutral", title, "\n".join([f"**neutral**: {why}", *tail]))
    if landed is not None:
        merger = _who(landed.merged_by, reviewer_map, day)
        check = landed.check or "missing"
        title = f"Map changed without independent review: #{landed.number} merged by {merger}"
        why = f"#{landed.number} was merged while its `COI review` was `{check}`."
        return PushVerdict("failure", title, "\n".join([f"**failure**: {why}", *tail]))
    title = (
        f"Map changed without independent review: pushed by {_who(push.pusher, reviewer_map, day)}"
    )
    why = "a direct push to the default branch, not a reviewed pull request."
    return PushVerdict("failure", title, "\n".join([f"**failure**: {why}", *tail]))


@dataclass(frozen=True, slots=True)
class HeldChange:
    """The newest change of the map, landed without review and held out of force."""

    commit_sha: str
    commit_url: str


def held_line(held: HeldChange) -> str:
    """The one line every summary carries while an unreviewed map change is held."""
    return (
        f"The map changed without review in [`{held.commit_sha[:7]}`]({held.commit_url}): PRs "
        "are judged by the last reviewed version until a reviewed change lands "
        "(`unreviewed_map: hold`)."
    )


# --- a merge over the check -----------------------------------------------------------------

MERGED_OVER_CHECK_MARKER = "<!-- coi-bot:merged-over-check -->"


def merged_over_check_comment(
    *,
    merged_by: str,
    check_name: str,
    conclusion: str | None,
    amap: AffiliationMap | None,
    day: date,
) -> str | None:
    """The one comment on a PR merged while its check had not passed; None when it had."""
    if conclusion == "success":
        return None
    who = _who(merged_by, amap, day, quiet=True)
    shown = f"`{conclusion}`" if conclusion else "missing (never written)"
    return (
        f"{MERGED_OVER_CHECK_MARKER}\n**Merged over the check**: {who} merged this pull request "
        f"while its `{check_name}` was {shown}. Merging over a required check needs admin "
        "rights or a bypass; the verdict it overrode stays on the head commit."
    )


# --- how each change landed (`coi-bot audit --history`) -------------------------------------


@dataclass(frozen=True, slots=True)
class LandedChange:
    """One change of the map or of a protected file on the default branch, as it landed."""

    path: str
    commit: MapCommit
    reviewed: bool  # through a PR whose check passed, or a bootstrap
    how: str  # "reviewed in #12: approvals from Globex, Initech", "direct push by @x (Acme)"...
    changes: MapChanges | None = None  # what changed in the map; None for other files


def how_it_landed(
    commit: MapCommit,
    *,
    path: str,
    bootstrap: bool,
    amap: AffiliationMap | None,
    day: date,
    changes: MapChanges | None = None,
) -> LandedChange:
    """The story of one change: reviewed (and by which companies), a bootstrap, or not reviewed
    (a direct push, a merge over the check), naming who with their company in `amap`."""
    landed = commit.pull_request
    if landed is not None and landed.check == "success":
        approvals = _companies(landed.approvers, amap, day)
        how = f"reviewed in #{landed.number}: approvals from {approvals}"
        return LandedChange(path, commit, True, how, changes)
    if bootstrap:
        return LandedChange(path, commit, True, "first version (bootstrap)", changes)
    if landed is not None:
        merger = _who(landed.merged_by, amap, day)
        check = f"`{landed.check}`" if landed.check else "missing"
        how = f"#{landed.number} merged over the check ({check}) by {merger}"
        return LandedChange(path, commit, False, how, changes)
    how = f"direct push: a commit by {_who(commit.author, amap, day)}"
    return LandedChange(path, commit, False, how, changes)


def history_findings(
    changes: Sequence[LandedChange], *, map_paths: Sequence[str]
) -> tuple[Finding, ...]:
    """An `error` for each change that did not land reviewed: of the map, or of a protected
    file (`map_paths`: where the map in force lives, as `LandedChange.path` names it)."""
    return tuple(
        Finding(
            severity="error",
            rule="map-change-unreviewed"
            if change.path in map_paths
            else "protected-change-unreviewed",
            person=change.commit.author,
            message=(
                f"{change.path} changed in {change.commit.oid[:7]} without independent review:"
                f" {change.how}"
            ),
            evidence=(Seen("commit", change.commit.oid[:7], change.commit.url),),
            hint="land the change again through a pull request the check passes, or revert it",
        )
        for change in changes
        if not change.reviewed
    )
