"""The verdict: DESIGN.md's rules of judgement as one pure function of facts, map and time.

The map in force is always the default branch's (`amap`), whatever the PR's base; the PR's own
new map is only validated and compared with it, so a pull request can never change the rules it
is judged by.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

from bot.affiliations.evidence import Contradiction, Evidence, contradictions
from bot.affiliations.index import AccountNote, AffiliationMap
from bot.affiliations.loader import MapError
from bot.affiliations.model import Person, Policy
from bot.affiliations.proposed import (
    ProposedMap,
    check_proposed_map,
    company_entries,
    entry_digest,
)
from bot.policy.authors import CO_AUTHOR as _CO_AUTHOR
from bot.policy.authors import Authors as _Authors
from bot.policy.authors import collect_authors as _collect_authors
from bot.policy.authors import noreply_login as _noreply_login
from bot.policy.classify import Classification, classify, list_files, matching_files
from bot.policy.commands import CommandOutcome, limit_strangers_requests, replay
from bot.policy.conflicts import Declaration, Parties, RefusedAct, conflict_on_pr
from bot.policy.facts import PullRequestFacts, Review
from bot.policy.labels import judge_labels
from bot.policy.markdown import code
from bot.policy.removals import NO_REMOVALS, Removals, judge_removals
from bot.policy.shown_companies import ShownCompany, companies_shown, describe, email_evidence
from bot.policy.trust import HeldChange

# `in_progress`: a major change waits for the approval that decides it (see `_conclude`).
Conclusion = Literal["success", "action_required", "neutral", "failure", "in_progress"]
MapSource = Literal["repository", "owner", "bundled"]
EvidencePolicy = Literal["ignore", "warn", "block"]


@dataclass(frozen=True, slots=True)
class MapRef:
    """Which map decided: its path, its blob SHA when known, and where it was found."""

    path: str
    blob_sha: str | None
    source: MapSource
    held: HeldChange | None = None  # a newer version landed unreviewed and is held (issue 22)
    branch: str | None = None  # the default branch a repository's map was read on
    # "owner/.github" when the App could not read it, so that the next map decided instead.
    unread_owner: str | None = None

    def __post_init__(self) -> None:
        if self.source not in ("repository", "owner", "bundled"):
            raise ValueError(
                f"map source must be 'repository', 'owner' or 'bundled', not {self.source!r}"
            )


@dataclass(frozen=True, slots=True)
class Author:
    key: str  # the map's key for the person, else "login" or "email:address" in lower case
    display: str  # "@login", or "Name <email>" for someone known only by a trailer
    login: str | None
    known: bool  # in the map
    roles: tuple[str, ...]  # "opener", "commit author", "co-author", "committer"
    companies: tuple[str, ...]  # company ids at evaluation time
    shown_by: str | None = None  # what GitHub showed, when the companies come from it


@dataclass(frozen=True, slots=True)
class Approval:
    """A reviewer's approval, judged at the day it was submitted."""

    reviewer: str
    review_id: str
    submitted_at: datetime
    commit_sha: str | None
    companies: tuple[str, ...]  # the reviewer's company ids that day
    tsc: bool
    excluded: bool  # no approval at all: cancelled, a bot's, the opener's, own map entry
    conflicted: bool  # shares a company with the authors, declared a conflict, or unknown
    counted: bool  # counts toward the independent approvals
    why_not: str | None  # why it does not count; None when it counts
    protected_company: str | None = None  # the company it lends a protected change, if any
    stale: str | None = None  # "approved abc1234, 2 commits ago" when it approved an older head
    shown_by: str | None = None  # what GitHub showed, when the companies come from it

    @property
    def lapsed(self) -> bool:
        """Independent but for its age: an older head's approval under `stale_approvals: ignore`."""
        return self.why_not == STALE_IGNORED


@dataclass(frozen=True, slots=True)
class ProtectedChange:
    files: tuple[str, ...]
    required_companies: int
    approving_companies: tuple[str, ...]  # conflict groups of approving TSC members, sorted
    own_entry_changed: tuple[str, ...]  # approvers whose own entry the PR's map changes

    @property
    def satisfied(self) -> bool:
        return len(self.approving_companies) >= self.required_companies

    @property
    def missing(self) -> int:
        return max(0, self.required_companies - len(self.approving_companies))


@dataclass(frozen=True, slots=True)
class Verdict:
    conclusion: Conclusion
    needs_independent_review: bool
    slug: str
    node_id: str
    head_sha: str
    opener: str | None
    draft: bool
    authors: tuple[Author, ...]
    author_companies: tuple[str, ...]  # union of the authors' company ids at evaluation time
    approvals: tuple[Approval, ...]
    classification: Classification
    protected: ProtectedChange | None
    declarations: tuple[Declaration, ...]
    command_outcomes: tuple[CommandOutcome, ...]
    head_map_errors: tuple[MapError, ...]
    map_errors: tuple[MapError, ...]  # the map in force could not be used
    map_ref: MapRef
    require: Literal["when_conflicted", "always"]
    enforcement: Literal["required", "advisory"]
    independent_required: int
    independent_count: int
    reasons: tuple[str, ...]  # why this conclusion, one sentence each
    files_truncated: bool = False
    commits_truncated: bool = False
    company_names: tuple[tuple[str, str], ...] = ()  # id -> display name, for every id shown
    evidence: EvidencePolicy = "warn"  # the map's policy.evidence
    # What GitHub shows against the map about the authors and approvers (empty under ignore).
    contradictions: tuple[Contradiction, ...] = ()
    # Whom this PR's conflicts were judged against, for the reviewer choice to ask the same rule.
    parties: Parties | None = field(default=None, compare=False, repr=False)
    # Acts other than commands that asked for less review and were not allowed to (issue 20).
    refused_acts: tuple[RefusedAct, ...] = ()
    # Removed review requests judged by who removed them, for the reviewer choice.
    removals: Removals = NO_REMOVALS
    head_map_errors_omitted: int = 0  # errors of the PR's map beyond those listed
    # Accounts recognised by id under a new login, and logins that are now another's account.
    accounts: tuple[AccountNote, ...] = ()

    @property
    def missing(self) -> int:
        """Independent approvals still needed (0 unless review is needed)."""
        if not self.needs_independent_review:
            return 0
        return max(0, self.independent_required - self.independent_count)

    @property
    def conflicted_approvers(self) -> tuple[Approval, ...]:
        return tuple(a for a in self.approvals if a.conflicted)

    @property
    def waiting(self) -> bool:
        """A major change with no approval yet that decides it: written `in_progress`."""
        return self.conclusion == "in_progress"


def _day(moment: datetime, *, what: str) -> date:
    if moment.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware, got {moment.isoformat()}")
    return moment.astimezone(UTC).date()


OWN_ENTRY = "this pull request changes their own entry in the map"
WAITING = (
    "a major change is judged at its first approval that counts (a TSC member's from outside "
    "the authors' companies) or conflicts (one from the authors' companies, or someone "
    "conflicted): waiting for an approval to judge, it cannot be merged until then"
)
STALE_IGNORED = "approved an older head: not what is merged (`stale_approvals: ignore`)"
NO_WRITE_ACCESS = "no write access to the repository"
_ROLE_ORDER = {"opener": 0, "commit author": 1, "co-author": 2, "committer": 3}


def collect_evidence(
    facts: PullRequestFacts, amap: AffiliationMap, people: frozenset[str]
) -> tuple[Evidence, ...]:
    """What GitHub shows about `people` (map keys, see AffiliationMap.key_of): their commit
    author emails (co-author trailers included) and their profiles' company and public orgs."""
    items: dict[tuple[str, str, str], Evidence] = {}

    def add(login: str | None, kind: Literal["commit_email"], value: str, source: str) -> None:
        if login is not None and amap.key_of(login) in people:
            # One line per address: a hundred commits under one email are one sighting.
            items.setdefault(
                (amap.key_of(login), kind, value.lower()), Evidence(login, kind, value, source)
            )

    for commit in facts.commits:
        source = f"commit {commit.sha[:7]}"
        if commit.author_email:
            email = commit.author_email
            login = commit.author_login or amap.login_of_email(email) or _noreply_login(email)
            add(login, "commit_email", email, source)
        if "co-authored-by" in commit.message.lower():
            for trailer in _CO_AUTHOR.finditer(commit.message):
                email = trailer["email"]
                add(
                    amap.login_of_email(email) or _noreply_login(email),
                    "commit_email",
                    email,
                    source,
                )
    found = list(items.values())
    for profile in facts.profiles:
        if amap.key_of(profile.login) not in people:
            continue
        if profile.company:
            found.append(Evidence(profile.login, "profile_company", profile.company, "profile"))
        found += [
            Evidence(profile.login, "org_member", org, "profile") for org in profile.organizations
        ]
    return tuple(found)


class _Judge:
    def __init__(
        self,
        facts: PullRequestFacts,
        amap: AffiliationMap,
        parties: Parties,
        *,
        declared: dict[str, Declaration],
        head_map: ProposedMap | None,
        map_entries_protected: bool,
    ) -> None:
        self.facts = facts
        self.amap = amap
        self.policy = amap.policy
        self.parties = parties
        self.declared = declared
        self.head_map = head_map
        self.map_entries_protected = map_entries_protected
        self.author_keys = parties.author_keys

    def author_companies(self, day: date) -> frozenset[str]:
        return self.parties.author_companies(day)

    def conflict(self, login: str, day: date) -> str | None:
        """Why an approval by `login` is not independent of the authors, or None."""
        found = conflict_on_pr(self.parties, login, day=day, declared=self.declared)
        return None if found is None else found.why

    def judge(self, review: Review, *, cancelled_by: str | None) -> Approval:
        assert review.author is not None
        login = review.author
        day = _day(review.submitted_at, what=f"review {review.id}'s submitted_at")
        companies, seen = self.parties.companies_of(login, day)
        tsc = self.amap.is_tsc(login)
        stale = stale_note(self.facts, review.commit_sha)
        # A stale approval lends no company either: it covers an older content of the files.
        lends = tsc and (stale is None or self.policy.stale_approvals == "count")

        def approval(*, excluded: bool, conflicted: bool, why_not: str | None) -> Approval:
            return Approval(
                reviewer=self.amap.login_of(login) or login,
                review_id=review.id,
                submitted_at=review.submitted_at,
                commit_sha=review.commit_sha,
                companies=tuple(sorted(companies)),
                tsc=tsc,
                excluded=excluded,
                conflicted=conflicted,
                counted=why_not is None,
                why_not=why_not,
                protected_company=(
                    self._lent_company(companies)
                    if lends and not excluded and review.author_can_push is not False
                    else None
                ),
                stale=stale,
                shown_by=describe(self.amap, seen) or None,
            )

        excluded = cancelled_by or self._excluded(review)
        if excluded is not None:
            return approval(excluded=True, conflicted=False, why_not=excluded)
        # GitHub counts no approval without push access: a stranger's is a drive-by, no more.
        no_access = review.author_can_push is False
        if no_access and not self.amap.is_known(login):
            return approval(excluded=True, conflicted=False, why_not=NO_WRITE_ACCESS)
        conflict = self.conflict(login, day)
        if conflict is not None:
            return approval(excluded=False, conflicted=True, why_not=conflict)
        why_not = "not a TSC member" if not tsc else NO_WRITE_ACCESS if no_access else None
        if why_not is None and stale is not None and self.policy.stale_approvals == "ignore":
            why_not = STALE_IGNORED
        return approval(excluded=False, conflicted=False, why_not=why_not)

    def _lent_company(self, companies: frozenset[str]) -> str | None:
        # Independent companies have no group: the company id itself is then the side it takes.
        sides = [self.amap.conflict_group(c) or c for c in companies]
        return min(sides) if sides else None

    def _excluded(self, review: Review) -> str | None:
        """Why an approval is no approval at all, or None."""
        login = review.author
        assert login is not None
        if review.author_is_bot or self.amap.is_bot(login):
            return "a bot: bots' reviews never count"
        # GitHub refuses the opener's own approval; any other author's is a conflicted approval.
        if self.facts.opener and self.amap.key_of(login) == self.amap.key_of(self.facts.opener):
            return "the pull request's opener"
        if self.map_entries_protected and self._changes_own_entry(login):
            return OWN_ENTRY
        return None

    def _changes_own_entry(self, login: str) -> bool:
        if self.head_map is None:
            return False
        base_key = self.amap.login_of(login)
        person = None if base_key is None else self.amap.document.people[base_key]
        base = None if person is None else entry_digest(person)
        # The PR's map keys a renamed person as the map in force does, not by their new login.
        map_key = None if base_key is None else self.amap.map_key(base_key)
        head = self.head_map.entry_of(map_key or login)
        if (map_key, base) != (head or (None, None)):
            return True
        # Setting `independent` or a `parent` on one's own company changes one's conflicts too.
        return bool(self._changed_companies & _companies_around(self.amap, self.head_map, person))

    @functools.cached_property
    def _changed_companies(self) -> frozenset[str]:
        assert self.head_map is not None
        before, after = company_entries(self.amap), self.head_map.companies
        return frozenset(
            c
            for c in before.keys() | after.keys()
            if (before.get(c) or ("",))[0] != (after.get(c) or ("",))[0]
        )


def _companies_around(
    base: AffiliationMap, head: ProposedMap, person: Person | None
) -> frozenset[str]:
    """Every company a person was, is or will be affiliated or in standing conflict with, and
    its company tree in either map: a change to any of them is a change to the person's entry."""
    if person is None:
        return frozenset()
    named = {a.company for a in person.affiliations} | {c.company for c in person.conflicts}
    around: set[str] = set()
    for company in named:
        around |= base.family(company) | head.family(company)
    return frozenset(around)


def stale_note(facts: PullRequestFacts, commit_sha: str | None) -> str | None:
    """ "approved abc1234, N commits ago" for a review of an older head; None on the head."""
    if commit_sha is None or commit_sha == facts.head_sha:
        return None
    shas = [commit.sha for commit in facts.commits]
    if commit_sha not in shas:  # force-pushed away, or past GitHub's commit listing cap
        return f"approved {commit_sha[:7]}, a commit no longer on this pull request's branch"
    ago = len(shas) - 1 - shas.index(commit_sha)
    return f"approved {commit_sha[:7]}, {ago} commit{'s' if ago != 1 else ''} ago"


def _latest_approvals(reviews: Sequence[Review], judge: _Judge) -> list[tuple[Review, str | None]]:
    """Each reviewer's last approval and what cancelled it, if anything.

    GitHub's rule: a later CHANGES_REQUESTED or a dismissal cancels an approval, COMMENTED does
    not. A dismissed approval itself arrives with state DISMISSED, so it is no approval at all.
    """
    ordered = sorted((r for r in reviews if r.author is not None), key=_review_order)
    last: dict[str, tuple[Review, str | None]] = {}
    for review in ordered:
        assert review.author is not None
        key = judge.amap.key_of(review.author)
        if review.state == "APPROVED":
            last[key] = (review, None)
        elif key in last and last[key][1] is None:
            if review.state == "CHANGES_REQUESTED":
                last[key] = (last[key][0], "changes requested afterwards")
            elif review.state == "DISMISSED":
                last[key] = (last[key][0], "dismissed")
    return sorted(last.values(), key=lambda pair: _review_order(pair[0]))


def _review_order(review: Review) -> tuple[datetime, int, str]:
    """GitHub's order: by time, and within a second by databaseId, which grows with creation;
    the node id only breaks ties between reviews built without one (hand-made facts)."""
    return (review.submitted_at, review.database_id or 0, review.id)


def _protected_patterns(amap: AffiliationMap, map_ref: MapRef, map_path: str | None) -> list[str]:
    """The policy's protected files, plus the map's own path whatever map is in force: a
    repository map added under an owner's or the bundled map would govern every later verdict."""
    patterns = list(amap.policy.protected_files)
    shown = [map_path] if map_path is not None else []
    if map_ref.source != "bundled":
        shown.append(map_ref.path)
    patterns += [path for path in dict.fromkeys(shown) if path not in patterns]
    return patterns


def _load_head_map(facts: PullRequestFacts, checked: ProposedMap | None) -> ProposedMap | None:
    """The PR's map as checked by the caller (off the event loop), else checked here."""
    if facts.head_map is None:
        return None
    if checked is not None:
        return checked
    return check_proposed_map(facts.head_map.text, path=facts.head_map.path)


@dataclass(frozen=True, slots=True)
class _Tally:
    """How the approvals stand against the policy's independent-approval rule."""

    independent_count: int
    required: int
    conflicted: tuple[Approval, ...]
    asks: bool  # the policy asks for independent approval of this change
    needs_review: bool  # it asks, and too few independent approvals are in
    hidden_authors: str | None = None  # why not every author could be read, when so
    # A major change no counted or conflicted approval has decided yet (bots', stale and
    # drive-by approvals decide nothing): GitHub would merge it on a first approval before
    # that approval's webhook is judged, so it waits rather than passes.
    waiting: bool = False


def _protected_files_touched(
    facts: PullRequestFacts, amap: AffiliationMap, map_ref: MapRef, map_path: str | None
) -> list[str]:
    patterns = _protected_patterns(amap, map_ref, map_path)
    return sorted({p for ps in matching_files(facts.files, patterns).values() for p in ps})


def _map_touched(facts: PullRequestFacts, map_ref: MapRef) -> bool:
    map_path = facts.head_map.path if facts.head_map is not None else map_ref.path
    return any(f.path == map_path or f.previous_path == map_path for f in facts.files)


def _evidence_in_force(
    facts: PullRequestFacts, amap: AffiliationMap, authors: _Authors
) -> tuple[Evidence, ...]:
    # Profiles are read with the snapshot whatever the policy (it costs no request, and the map
    # is only known afterwards); under `ignore` they are simply never looked at.
    if amap.policy.evidence == "ignore":
        return ()
    approvers = frozenset(
        amap.key_of(r.author) for r in facts.reviews if r.author and r.state == "APPROVED"
    )
    return collect_evidence(facts, amap, frozenset(authors.by_key) | approvers)


def _judge_approvals(facts: PullRequestFacts, judge: _Judge) -> tuple[Approval, ...]:
    return tuple(
        judge.judge(review, cancelled_by=cancelled)
        for review, cancelled in _latest_approvals(facts.reviews, judge)
    )


def hidden_authors(facts: PullRequestFacts) -> str | None:
    """Why not every commit author could be read (GitHub's totalCount above the commits read)."""
    if not facts.commits_truncated:
        return None
    total = f" of {facts.commits_total}" if facts.commits_total is not None else ""
    return (
        f"only {len(facts.commits)}{total} commits could be read: the authors of the others are "
        "unknown, so independent approval is required"
    )


def _tally(
    approvals: tuple[Approval, ...],
    classification: Classification,
    policy: Policy,
    hidden: str | None = None,
) -> _Tally:
    independent_count = sum(1 for a in approvals if a.counted)
    conflicted = tuple(a for a in approvals if a.conflicted)
    required = policy.independent_approvals
    # Hidden authors may share any approver's company: judged as under `require: always`.
    always = policy.require == "always" or hidden is not None
    asks = classification.major and (always or bool(conflicted))
    return _Tally(
        independent_count=independent_count,
        required=required,
        conflicted=conflicted,
        asks=asks,
        needs_review=asks and independent_count < required,
        hidden_authors=hidden,
        # With no independent approval ever required, no approval can change the verdict.
        waiting=classification.major and not asks and independent_count == 0 and required > 0,
    )


def _protected_change(
    touched: list[str], policy: Policy, approvals: tuple[Approval, ...]
) -> ProtectedChange | None:
    if not touched:
        return None
    lent = {a.protected_company for a in approvals if a.protected_company is not None}
    return ProtectedChange(
        files=tuple(touched),
        required_companies=policy.protected_companies,
        approving_companies=tuple(sorted(lent)),
        own_entry_changed=tuple(sorted(a.reviewer for a in approvals if a.why_not == OWN_ENTRY)),
    )


def _review_reason(tally: _Tally, policy: Policy) -> str:
    have = f"{tally.independent_count} of {tally.required}"
    if tally.hidden_authors is not None and policy.require != "always" and not tally.conflicted:
        return (
            f"a major change needs {tally.required} approval(s) from TSC members outside the "
            f"known authors' companies; {have} so far"
        )
    if policy.require == "always":
        return (
            f"a major change needs {tally.required} approval(s) from TSC members outside the "
            f"authors' companies (require: always); {have} so far"
        )
    names = ", ".join(f"@{a.reviewer}" for a in tally.conflicted)
    return (
        f"a major change approved by {names}, not independent of the authors, needs "
        f"{tally.required} approval(s) from TSC members of another company; {have} so far"
    )


def _success_reason(tally: _Tally, classification: Classification) -> str:
    if not classification.major:
        return "not a major change"
    if tally.independent_count >= tally.required and tally.asks:
        return f"a major change with {tally.independent_count} independent approval(s)"
    return "a major change with no approval from the authors' companies"


def _conclude(
    facts: PullRequestFacts,
    *,
    policy: Policy,
    classification: Classification,
    tally: _Tally,
    protected: ProtectedChange | None,
    head_errors: tuple[MapError, ...],
    map_ref: MapRef,
    head_errors_omitted: int = 0,
) -> tuple[Conclusion, tuple[str, ...]]:
    """The conclusion and why, one sentence per reason."""
    reasons: list[str] = []
    if head_errors:
        path = facts.head_map.path if facts.head_map is not None else map_ref.path
        found = len(head_errors) + head_errors_omitted
        reasons.append(f"this pull request's map {code(path)} has {found} error(s)")
    if tally.hidden_authors is not None and tally.asks:
        reasons.append(tally.hidden_authors)
    if tally.needs_review:
        reasons.append(_review_reason(tally, policy))
    protected_unmet = protected is not None and not protected.satisfied
    if protected is not None and not protected.satisfied:
        reasons.append(
            f"protected files changed ({list_files(protected.files)}): approvals from TSC members "
            f"of {protected.required_companies} companies needed, "
            f"{len(protected.approving_companies)} so far"
        )
    if head_errors:
        return "failure", tuple(reasons)
    if tally.needs_review or protected_unmet:
        conclusion: Conclusion = (
            "action_required" if policy.enforcement == "required" else "neutral"
        )
        return conclusion, tuple(reasons)
    # Advisory enforcement never blocks a merge: nothing to wait for.
    if tally.waiting and policy.enforcement == "required":
        return "in_progress", (*reasons, WAITING)
    return "success", (*reasons, _success_reason(tally, classification))


def _author_rows(authors: _Authors, parties: Parties, today: date) -> tuple[Author, ...]:
    rows: list[Author] = []
    for key, entry in sorted(authors.by_key.items()):
        companies, seen = parties.companies_of(key, today)
        rows.append(
            Author(
                key=key,
                display=entry.display,
                login=entry.login,
                known=entry.known,
                roles=tuple(sorted(entry.roles, key=_ROLE_ORDER.__getitem__)),
                companies=tuple(sorted(companies)),
                shown_by=describe(parties.amap, seen) or None,
            )
        )
    return tuple(rows)


def _shown_companies(
    facts: PullRequestFacts,
    amap: AffiliationMap,
    authors: _Authors,
    collected: tuple[Evidence, ...] | None,
) -> dict[str, tuple[ShownCompany, ...]]:
    """What GitHub shows of every author's and approver's employer, whatever `policy.evidence`:
    it decides only for people the map places nowhere (see `companies_on`). `collected`: the
    same people's evidence when `_evidence_in_force` already read it."""
    if collected is None:
        approvers = frozenset(
            amap.key_of(r.author) for r in facts.reviews if r.author and r.state == "APPROVED"
        )
        collected = collect_evidence(facts, amap, frozenset(authors.by_key) | approvers)
    items = list(collected)
    for key, entry in authors.by_key.items():
        source = "commit" if "commit author" in entry.roles else "co-author trailer"
        found = email_evidence(key, source)
        if found is not None:
            items.append(found)
    return companies_shown(amap, items)


def _company_names(
    amap: AffiliationMap,
    author_rows: tuple[Author, ...],
    approvals: tuple[Approval, ...],
    protected: ProtectedChange | None,
) -> tuple[tuple[str, str], ...]:
    """Display names for every company id the verdict shows."""
    shown = {c for author in author_rows for c in author.companies}
    shown |= {c for approval in approvals for c in approval.companies}
    shown |= set(protected.approving_companies if protected else ())
    return tuple((c, amap.company_name(c)) for c in sorted(shown))


def evaluate(
    facts: PullRequestFacts,
    amap: AffiliationMap,
    *,
    now: datetime,
    map_ref: MapRef,
    writers: frozenset[str] = frozenset(),
    map_path: str | None = None,
    head_map: ProposedMap | None = None,
) -> Verdict:
    """Judge a pull request by the map in force (`amap`, the default branch's) at `now`.

    `map_path`: where repositories keep their map (COI_MAP_PATH), protected whatever map decides.
    `head_map`: the PR's new map, already checked (the App checks it off the event loop);
    None: checked here, if the PR has one."""
    today = _day(now, what="now")
    amap = amap.seen_as(facts.account_ids)
    policy = amap.policy
    authors = _collect_authors(facts, amap)
    proposed = _load_head_map(facts, head_map)
    head_errors = proposed.errors if proposed is not None else ()
    head_errors_omitted = proposed.errors_omitted if proposed is not None else 0
    evidence = _evidence_in_force(facts, amap, authors)
    shown = _shown_companies(
        facts, amap, authors, evidence if policy.evidence != "ignore" else None
    )
    parties = Parties(
        amap,
        authors,
        blocking_evidence=evidence if policy.evidence == "block" else (),
        shown=shown,
    )
    commands = replay(facts, amap, writers=writers, parties=parties)
    labels = judge_labels(facts, amap, parties, declared=commands.declarations)
    removals = judge_removals(facts, amap, parties, declared=commands.declarations)
    classification = classify(facts, policy, override=commands.override, labels=labels.labels)
    touched = _protected_files_touched(facts, amap, map_ref, map_path)
    judge = _Judge(
        facts,
        amap,
        parties,
        declared=commands.declarations,
        head_map=proposed if proposed is not None and proposed.ok else None,
        map_entries_protected=_map_touched(facts, map_ref),
    )
    approvals = _judge_approvals(facts, judge)
    tally = _tally(approvals, classification, policy, hidden_authors(facts))
    protected = _protected_change(touched, policy, approvals)
    conclusion, reasons = _conclude(
        facts,
        policy=policy,
        classification=classification,
        tally=tally,
        protected=protected,
        head_errors=head_errors,
        map_ref=map_ref,
        head_errors_omitted=head_errors_omitted,
    )
    author_rows = _author_rows(authors, parties, today)
    return Verdict(
        company_names=_company_names(amap, author_rows, approvals, protected),
        conclusion=conclusion,
        needs_independent_review=tally.needs_review,
        slug=facts.slug,
        node_id=facts.node_id,
        head_sha=facts.head_sha,
        opener=facts.opener,
        draft=facts.draft,
        authors=author_rows,
        author_companies=tuple(sorted(judge.author_companies(today))),
        approvals=approvals,
        classification=classification,
        protected=protected,
        declarations=tuple(commands.declarations.values()),
        command_outcomes=limit_strangers_requests(
            facts, amap, commands.outcomes, writers=writers, major=classification.major
        ),
        head_map_errors=head_errors,
        map_errors=(),
        map_ref=map_ref,
        require=policy.require,
        enforcement=policy.enforcement,
        independent_required=tally.required,
        independent_count=tally.independent_count,
        reasons=reasons,
        files_truncated=facts.files_truncated,
        commits_truncated=facts.commits_truncated,
        evidence=policy.evidence,
        contradictions=contradictions(amap, evidence, at=now),
        parties=parties,
        refused_acts=(*commands.refused_acts, *labels.refused, *removals.refused),
        removals=removals,
        head_map_errors_omitted=head_errors_omitted,
        accounts=amap.account_notes,
    )


def map_failure(
    facts: PullRequestFacts,
    errors: Sequence[MapError],
    *,
    map_ref: MapRef,
    now: datetime,
) -> Verdict:
    """The verdict when the map in force cannot be used: a failure, never a silent pass."""
    _day(now, what="now")
    if not errors:
        raise ValueError("map_failure needs the map's errors: an empty list would explain nothing")
    return Verdict(
        conclusion="failure",
        needs_independent_review=False,
        slug=facts.slug,
        node_id=facts.node_id,
        head_sha=facts.head_sha,
        opener=facts.opener,
        draft=facts.draft,
        authors=(),
        author_companies=(),
        approvals=(),
        classification=Classification(major=False, reasons=("not judged: the map is invalid",)),
        protected=None,
        declarations=(),
        command_outcomes=(),
        head_map_errors=(),
        map_errors=tuple(errors),
        map_ref=map_ref,
        require="when_conflicted",
        enforcement="required",
        independent_required=0,
        independent_count=0,
        reasons=(
            f"the map in force `{map_ref.path}` ({map_ref.source}) has {len(errors)} error(s): "
            "fix it before any pull request can be judged",
        ),
        files_truncated=facts.files_truncated,
        commits_truncated=facts.commits_truncated,
    )
