"""Carry out a vote on a pull request: its `TSC vote` check run, its comments, its label.

Everything is derived again from GitHub at every evaluation (the label's timeline, the comments,
the App's own comments and check runs), so a restart or a second replica finds the same vote:

- the check run on the head is `in_progress` with the live tally while the vote is open, and
  `completed` (success, failure, cancelled) once it closed; it is written only when it changes;
- the final tally is commented once, marked with the vote's opening time; once that comment
  exists the result is frozen: a new head gets the same title and summary, whatever happens to
  the comments afterwards;
- a label change that does not count gets one reply, marked with who and when; a label added by
  someone who may not open a vote is taken off;
- each label event is judged by the map in force at its time (bot.github.vote_maps), which the
  opening comment records: a vote keeps that map to its end, however late the bot heard of it.

docs.github.com/en/rest/checks/runs, docs.github.com/en/rest/issues/labels
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import gidgethub.abc

from bot.affiliations.index import AffiliationMap
from bot.affiliations.loader import load_map_text
from bot.github.checks import stamped_external_id
from bot.github.map_source import OWNER_REPOSITORY, MapSource
from bot.github.queries import ISSUE_COMMENTS_PAGE, ISSUE_VOTE, MAP_BLOB, OWNERS_TEXTS
from bot.github.snapshot import (
    ExistingCheckRun,
    SnapshotError,
    _deletion,
    _label_change,
    _login,
    _page_info,
    accounts_in,
)
from bot.github.snapshot import _comment as _parse_comment
from bot.github.vote_maps import MapAt, map_in_force_at
from bot.policy.ballot_records import read_ballots
from bot.policy.commands import CommandOutcome
from bot.policy.conflicts import Declaration
from bot.policy.facts import Comment, PullRequestFacts, RecordedBallot
from bot.policy.render import MAX_OUTPUT_CHARS, fit
from bot.policy.verdict import MapRef
from bot.policy.vote_conflicts import OWNERS_PATH, Proposal
from bot.policy.vote_render import (
    CANCEL_MARKER,
    KEPT_MARKER,
    KEPT_PREFIX,
    LABEL_MARKER,
    LIVE_MARKER,
    VoteOutput,
    app_record,
    cancel_comment,
    final_comment,
    frozen_output,
    kept_comment,
    label_comment,
    opened_comment,
    parse_final,
    parse_opened,
    stamp,
    vote_output,
)
from bot.policy.vote_state import NO_VOTE, VoteState, vote_state

# Maps votes opened under and still running after the map changed: a handful at most.
OPENING_MAPS_KEPT = 16
# Which map version was in force at a label event, by repository and moment: a past moment's
# answer never changes, so each is read from the map's history once per process.
LABEL_EVENTS_KEPT = 1024


@dataclass(frozen=True, slots=True)
class VoteWrites:
    state: VoteState
    check: str = "none"  # created, updated, unchanged or none
    commented: tuple[str, ...] = ()  # final, cancelled, label: the comments posted now
    label_removed: bool = False

    @property
    def outcomes(self) -> tuple[CommandOutcome, ...]:
        return self.state.outcomes


def has_vote_activity(facts: PullRequestFacts, amap: AffiliationMap) -> bool:
    """Whether this PR has anything to do with a vote: its label now or ever, or a command."""
    label = amap.policy.votes.label.casefold()
    prefix = f"{amap.policy.command_prefix} vote".casefold()
    return (
        any(name.casefold() == label for name in facts.labels)
        or any(change.label.casefold() == label for change in facts.label_changes)
        or any(
            prefix in comment.body.casefold()
            for comment in facts.comments
            if not (comment.by_viewer or comment.author_is_bot)
        )
    )


def _label_added_at(facts: PullRequestFacts, amap: AffiliationMap) -> tuple[datetime, ...]:
    """When people added the vote label: each may open a vote, judged by the map of that time."""
    label = amap.policy.votes.label.casefold()
    return tuple(
        sorted(
            {
                change.at
                for change in facts.label_changes
                if change.added
                and change.label.casefold() == label
                and change.actor is not None
                and not amap.is_bot(change.actor)
            }
        )
    )


async def _owners_texts(
    gh: gidgethub.abc.GitHubAPI, facts: PullRequestFacts, endpoint: str
) -> tuple[str | None, str | None]:
    data: Mapping[str, Any] = await gh.graphql(
        OWNERS_TEXTS,
        endpoint=endpoint,
        owner=facts.owner,
        name=facts.repo,
        before=f"{facts.base_ref}:{OWNERS_PATH}",
        after=f"{facts.head_sha}:{OWNERS_PATH}",
    )
    repository = data.get("repository") or {}

    def text(key: str) -> str | None:
        blob = repository.get(key) or {}
        value = blob.get("text")
        return value if isinstance(value, str) else None

    return text("before"), text("after")


async def _proposal(
    gh: gidgethub.abc.GitHubAPI, facts: PullRequestFacts, *, map_path: str, endpoint: str
) -> Proposal:
    """What the vote decides: the PR's authors, its new map entries and OWNERS.md lines."""
    paths = {changed.path for changed in facts.files}
    head_map = None
    if map_path in paths and facts.head_map is not None:
        head_map = load_map_text(facts.head_map.text, path=facts.head_map.path).map
    before = after = None
    if OWNERS_PATH in paths:
        before, after = await _owners_texts(gh, facts, endpoint)
    return Proposal(facts, head_map=head_map, owners_before=before, owners_after=after)


def _own(facts: PullRequestFacts, marker: str) -> Comment | None:
    for comment in facts.comments:
        if comment.by_viewer and comment.body.startswith(marker):
            return comment
    return None


def _final(facts: PullRequestFacts, opened: datetime) -> tuple[Comment, str] | None:
    """The App's final comment for the vote opened at `opened`, and its conclusion."""
    for comment in facts.comments:
        parsed = parse_final(comment.body) if app_record(comment) else None
        if parsed is not None and parsed[0] == stamp(opened):
            return comment, parsed[1]
    return None


def _closed_at(facts: PullRequestFacts, opened: datetime) -> datetime | None:
    """When the App commented the final tally of the vote opened at `opened`, if it did."""
    final = _final(facts, opened)
    return None if final is None else final[0].created_at


class OpeningMaps:
    """Maps that votes opened under, by blob, read once each (GraphQL's `object(oid:)`), and
    which version was in force at each label event (the map's history, read once per event)."""

    def __init__(self, maps: MapSource) -> None:
        self.maps = maps
        self._loaded: dict[tuple[str, str, str], AffiliationMap | None] = {}
        self._at: dict[tuple[str, str, str, str], tuple[str | None, str]] = {}

    async def load(
        self, gh: gidgethub.abc.GitHubAPI, *, owner: str, repo: str, blob: str, endpoint: str
    ) -> AffiliationMap | None:
        key = (owner.lower(), repo.lower(), blob)
        if key not in self._loaded:
            data = await gh.graphql(MAP_BLOB, endpoint=endpoint, owner=owner, name=repo, oid=blob)
            found = ((data.get("repository") or {}).get("object")) or {}
            text = found.get("text")
            loaded = load_map_text(text).map if isinstance(text, str) else None
            while len(self._loaded) >= OPENING_MAPS_KEPT:
                del self._loaded[next(iter(self._loaded))]
            self._loaded[key] = loaded
        return self._loaded[key]

    async def at(
        self,
        gh: gidgethub.abc.GitHubAPI,
        facts: PullRequestFacts,
        moment: datetime,
        *,
        current: AffiliationMap,
        current_ref: MapRef,
        endpoint: str,
        default_branch: str,
    ) -> tuple[AffiliationMap, str | None, str]:
        """The map in force at `moment` on the repository's default branch (whose map judges
        every PR, whatever its base), its blob and source; the map in force now when the history
        does not reach back that far or that version is not a valid map."""
        key = (facts.owner.lower(), facts.repo.lower(), default_branch, stamp(moment))
        known = self._at.get(key)
        if known is not None:
            blob, source = known
            found = await self.recorded(
                gh, facts, blob, source, current=current, current_ref=current_ref, endpoint=endpoint
            )
            if found is not None:
                return found, blob, source

        async def load_blob(repo: str, blob: str) -> AffiliationMap | None:
            if blob == current_ref.blob_sha:
                return current
            return await self.load(gh, owner=facts.owner, repo=repo, blob=blob, endpoint=endpoint)

        then: MapAt | None = await map_in_force_at(
            gh,
            self.maps,
            owner=facts.owner,
            repo=facts.repo,
            branch=default_branch,
            moment=moment,
            endpoint=endpoint,
            load_blob=load_blob,
        )
        if then is None or then.map is None:
            return current, current_ref.blob_sha, current_ref.source
        while len(self._at) >= LABEL_EVENTS_KEPT:
            del self._at[next(iter(self._at))]
        self._at[key] = (then.blob, then.source)
        return then.map, then.blob, then.source

    async def recorded(
        self,
        gh: gidgethub.abc.GitHubAPI,
        facts: PullRequestFacts,
        blob: str | None,
        source: str,
        *,
        current: AffiliationMap,
        current_ref: MapRef,
        endpoint: str,
    ) -> AffiliationMap | None:
        """The map of a recorded (blob, source); None when it cannot be read again."""
        if blob is None or (blob, source) == (current_ref.blob_sha, current_ref.source):
            return current
        if source == "bundled":
            bundled, ref = await self.maps.bundled()
            return bundled.map if ref.blob_sha == blob else None
        repo = {"repository": facts.repo, "owner": OWNER_REPOSITORY}.get(source)
        if repo is None:
            return None
        return await self.load(gh, owner=facts.owner, repo=repo, blob=blob, endpoint=endpoint)


def _opened(facts: PullRequestFacts, opened: datetime) -> tuple[str | None, str] | None:
    """(map blob, source) the App recorded when the vote opened at `opened`, if it did."""
    for comment in facts.comments:
        parsed = parse_opened(comment.body) if app_record(comment) else None
        if parsed is not None and parsed[0] == stamp(opened):
            return parsed[1], parsed[2]
    return None


def _nodes(node: Mapping[str, Any], field: str) -> list[dict[str, Any]]:
    return [n for n in ((node.get(field) or {}).get("nodes") or []) if n]


def _recorded_ballots(facts: PullRequestFacts) -> tuple[RecordedBallot, ...]:
    """The ballots the App's last tally recorded: its vote run on the head, or on an issue its
    live comment, read only as the App wrote it (anyone with write access may edit a comment)."""
    found = facts.recorded_ballots
    for comment in facts.comments:
        # The live tally on an issue, and each reply that kept a ballot (it survives pushes).
        if comment.body.startswith((LIVE_MARKER, KEPT_PREFIX)):
            found += read_ballots(comment.body) if app_record(comment) else ()
    return found


@dataclass(frozen=True, slots=True)
class VoteReading:
    state: VoteState
    map: AffiliationMap  # the map the vote opened under (in force at its label event), else now's
    recorded: tuple[str | None, str] | None  # the opening comment's (map blob, source)
    opened_under: tuple[str | None, str] | None = None  # the opening map's (blob, source)


async def read_vote(
    gh: gidgethub.abc.GitHubAPI,
    facts: PullRequestFacts,
    amap: AffiliationMap,
    *,
    map_ref: MapRef,
    declared: Mapping[str, Declaration],
    now: datetime,
    map_path: str,
    endpoint: str,
    opening_maps: OpeningMaps,
    default_branch: str | None = None,
) -> VoteReading:
    """The vote on this PR at `now`, read and decided, nothing written. Each label event is
    judged by the map in force at its time: the one recorded in the App's opening comment, else
    the one the map's history shows (read once per event); the vote keeps that map to its end.
    `declared`: the conflicts declared on the PR by command, by map key; `default_branch`: the
    repository's (an issue's facts carry it as their base)."""
    under: dict[datetime, tuple[AffiliationMap, str | None, str]] = {}
    for moment in _label_added_at(facts, amap):
        recorded = _opened(facts, moment)
        found = None
        if recorded is not None:
            found = await opening_maps.recorded(
                gh,
                facts,
                *recorded,
                current=amap,
                current_ref=map_ref,
                endpoint=endpoint,
            )
        if found is not None and recorded is not None:
            under[moment] = (found, *recorded)
        else:
            under[moment] = await opening_maps.at(
                gh,
                facts,
                moment,
                current=amap,
                current_ref=map_ref,
                endpoint=endpoint,
                default_branch=default_branch or facts.base_ref,
            )
    # The accounts GitHub shows now decide who is who under an older map too (renamed logins).
    under = {
        moment: (opened.seen_as(facts.account_ids), blob, source)
        for moment, (opened, blob, source) in under.items()
    }
    proposal = Proposal(facts)
    if under:  # the subjects matter only to a vote that may open
        proposal = await _proposal(gh, facts, map_path=map_path, endpoint=endpoint)
    state = vote_state(
        amap,
        labels=facts.labels,
        label_changes=facts.label_changes,
        comments=facts.comments,
        files=facts.files,
        proposal=proposal,
        declared=declared,
        now=now,
        map_at=lambda moment: under[moment][0] if moment in under else amap,
        closed_by_record=lambda moment: _closed_at(facts, moment),
        recorded_ballots=_recorded_ballots(facts),
        comment_deletions=facts.comment_deletions,
        account_ids=facts.account_ids,
    )
    if state.opened_at is None or state.opened_at not in under:
        return VoteReading(state, amap, None)
    opening_map, blob, source = under[state.opened_at]
    return VoteReading(state, opening_map, _opened(facts, state.opened_at), (blob, source))


async def carry_out_vote(
    gh: gidgethub.abc.GitHubAPI,
    facts: PullRequestFacts,
    amap: AffiliationMap,
    *,
    map_ref: MapRef,
    runs: tuple[ExistingCheckRun, ...],
    declared: Mapping[str, Declaration],
    now: datetime,
    map_path: str,
    endpoint: str,
    opening_maps: OpeningMaps,
    live_comment: bool = False,
    default_branch: str | None = None,
) -> VoteWrites:
    """Decide the vote on this PR at `now` and write what changed. `live_comment`: show the
    tally in one comment edited in place (an issue has no commit for a check run)."""
    if not has_vote_activity(facts, amap):
        return VoteWrites(NO_VOTE)
    reading = await read_vote(
        gh,
        facts,
        amap,
        map_ref=map_ref,
        declared=declared,
        now=now,
        map_path=map_path,
        endpoint=endpoint,
        opening_maps=opening_maps,
        default_branch=default_branch,
    )
    state, amap, recorded = reading.state, reading.map, reading.recorded
    votes = amap.policy.votes
    url_vars: dict[str, str | int] = {"owner": facts.owner, "repo": facts.repo}
    commented: list[str] = []
    for refusal in state.refusals:
        marker = LABEL_MARKER.format(actor=refusal.actor, at=stamp(refusal.at))
        if _own(facts, marker) is None:
            await _comment(gh, facts, label_comment(refusal.actor, refusal.at, refusal.why))
            commented.append("label")
    removed = False
    if state.remove_label:
        await gh.delete(
            "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
            {**url_vars, "issue_number": facts.number, "name": votes.label},
        )
        removed = True
    if state.status == "none" or state.opened_at is None:
        return VoteWrites(state, commented=tuple(commented), label_removed=removed)
    if recorded is None and state.status == "open":
        prefix = amap.policy.command_prefix
        blob, source = reading.opened_under or (map_ref.blob_sha, map_ref.source)
        body = opened_comment(state, blob=blob, source=source, prefix=prefix)
        await _comment(gh, facts, body)
        commented.append("opened")
    # The newest: a vote opened again after a close has its own run (see `_write_run`).
    existing = next((run for run in reversed(runs) if run.name == votes.check_name), None)
    final = _final(facts, state.opened_at)
    if final is not None:
        output = frozen_output(final[0].body, final[1])
    else:
        output = vote_output(state, amap)
    if live_comment:
        check = await _write_live(gh, facts, output)
    else:
        check = await _write_run(
            gh, facts, votes.check_name, output, existing=existing, opened=state.opened_at, now=now
        )
    for ballot, why in zip(state.kept_ballots, state.kept, strict=True):
        if (
            state.status == "open"
            and _own(facts, KEPT_MARKER.format(comment=ballot.comment_id)) is None
        ):
            await _comment(gh, facts, kept_comment(ballot, why))
            commented.append("kept")
    if state.status == "closed" and final is None:
        await _comment(gh, facts, final_comment(state, output))
        commented.append("final")
    if state.status == "cancelled":
        marker = CANCEL_MARKER.format(opened=stamp(state.opened_at))
        if _own(facts, marker) is None:
            await _comment(gh, facts, cancel_comment(state, votes.label))
            commented.append("cancelled")
    return VoteWrites(state, check, tuple(commented), removed)


async def _comment(gh: gidgethub.abc.GitHubAPI, facts: PullRequestFacts, body: str) -> None:
    await gh.post(
        "/repos/{owner}/{repo}/issues/{issue_number}/comments",
        {"owner": facts.owner, "repo": facts.repo, "issue_number": facts.number},
        data={"body": body},
    )


async def _write_run(
    gh: gidgethub.abc.GitHubAPI,
    facts: PullRequestFacts,
    name: str,
    output: VoteOutput,
    *,
    existing: ExistingCheckRun | None,
    opened: datetime,
    now: datetime,
) -> str:
    """Create the vote's run on the head, or update it when its output changed."""
    external_id = stamped_external_id(output.fingerprint)
    if existing is not None and existing.external_id == external_id:
        return "unchanged"
    body: dict[str, Any] = {
        "name": name,
        "status": output.status,
        "external_id": external_id,
        "started_at": stamp(opened),
        "output": {"title": output.title, "summary": output.summary},
    }
    if output.status == "in_progress":  # an open tally's ballots replace the last record
        body["output"]["text"] = output.record
    if output.conclusion is not None:
        body["conclusion"] = output.conclusion
        body["completed_at"] = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    url_vars: dict[str, str | int] = {"owner": facts.owner, "repo": facts.repo}
    # GitHub never opens a completed run again: a vote opened anew gets a run of its own.
    if existing is None or (existing.status == "completed" and output.conclusion is None):
        await gh.post(
            "/repos/{owner}/{repo}/check-runs", url_vars, data={**body, "head_sha": facts.head_sha}
        )
        return "created"
    await gh.patch(
        "/repos/{owner}/{repo}/check-runs/{check_run_id}",
        {**url_vars, "check_run_id": existing.id},
        data=body,
    )
    return "updated"


async def _write_live(
    gh: gidgethub.abc.GitHubAPI, facts: PullRequestFacts, output: VoteOutput
) -> str:
    """The tally on an issue: one App comment, created once, then edited when it changes."""
    head = f"{LIVE_MARKER}\n### {output.title}\n\n"
    body = head + output.summary
    if output.record:  # one comment holds both: the shown tally gives way to the record
        room = MAX_OUTPUT_CHARS - len(head) - len(output.record) - 2
        body = f"{head}{fit(output.summary, limit=room)}\n{output.record}\n"
    existing = _own(facts, LIVE_MARKER)
    if existing is None:
        await _comment(gh, facts, body)
        return "created"
    if existing.body.replace("\r\n", "\n") == body:  # GitHub may store CRLF
        return "unchanged"
    if existing.database_id is None:
        raise ValueError(f"{facts.slug}: the App's tally comment {existing.id} has no REST id")
    await gh.patch(
        "/repos/{owner}/{repo}/issues/comments/{comment_id}",
        {"owner": facts.owner, "repo": facts.repo, "comment_id": existing.database_id},
        data={"body": body},
    )
    return "updated"


async def read_issue(
    gh: gidgethub.abc.GitHubAPI, *, owner: str, repo: str, number: int, endpoint: str
) -> PullRequestFacts:
    """An issue as the facts a vote reads: its opener, labels, comments and label timeline
    (one GraphQL read, and one more per further 100 comments; no head commit, files or
    reviews), with its actors' ids. Its base is the default branch, whose map is in force."""
    data: Mapping[str, Any] = await gh.graphql(
        ISSUE_VOTE, endpoint=endpoint, owner=owner, name=repo, number=number
    )
    repository = data.get("repository") or {}
    issue = repository.get("issue")
    if not isinstance(issue, dict):
        raise SnapshotError(f"{owner}/{repo}: GitHub returned no issue #{number}")
    opener, opener_is_bot = _login(issue.get("author"))
    labels = ((issue.get("labels") or {}).get("nodes")) or []
    comments = list(((issue.get("comments") or {}).get("nodes")) or [])
    cursor = _page_info(issue.get("comments"))
    while cursor is not None:  # every comment: a vote or the App's own record may be on any page
        page = await gh.graphql(
            ISSUE_COMMENTS_PAGE,
            endpoint=endpoint,
            owner=owner,
            name=repo,
            number=number,
            after=cursor,
        )
        more = ((page.get("repository") or {}).get("issue") or {}).get("comments")
        comments += ((more or {}).get("nodes")) or []
        cursor = _page_info(more)
    changes = ((issue.get("labelChanges") or {}).get("nodes")) or []
    return PullRequestFacts(
        owner=owner,
        repo=repo,
        number=number,
        node_id=str(issue["id"]),
        title=str(issue.get("title") or ""),
        opener=opener,
        head_sha="",
        base_ref=str((repository.get("defaultBranchRef") or {}).get("name") or ""),
        state="OPEN" if issue.get("state") == "OPEN" else "CLOSED",
        opener_is_bot=opener_is_bot,
        labels=tuple(str(node["name"]) for node in labels if node),
        comments=tuple(_parse_comment(node) for node in comments if node),
        label_changes=tuple(
            change for change in map(_label_change, (n for n in changes if n)) if change is not None
        ),
        accounts=accounts_in(issue, comments),  # the further pages' actors too
        # A deleted vote's author and deleter: whether its recorded ballot stands.
        comment_deletions=tuple(
            d for d in map(_deletion, _nodes(issue, "commentDeletions")) if d is not None
        ),
    )
