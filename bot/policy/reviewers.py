"""Whom to ask for a third-party review: an ordered, deterministic list of eligible TSC members."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.affiliations.evidence import Evidence, agrees, match_company
from bot.affiliations.index import AffiliationMap
from bot.intents import CommentEdit
from bot.policy.authors import collect_authors
from bot.policy.commands import CommandOutcome, review_asked_by_person
from bot.policy.conflicts import Parties, conflict_on_pr
from bot.policy.facts import Profile, PullRequestFacts
from bot.policy.verdict import Verdict


def _tie_breaker(node_id: str, login: str) -> str:
    # Stable across runs and processes (unlike hash()), and different per PR to spread the load.
    return hashlib.sha256(f"{node_id}\0{login.lower()}".encode()).hexdigest()


def shown_at(amap: AffiliationMap, profile: Profile) -> frozenset[str]:
    """The map's companies a profile names (its `company` text, its public organizations)."""
    items = [Evidence(profile.login, "org_member", org, "profile") for org in profile.organizations]
    if profile.company:
        items.append(Evidence(profile.login, "profile_company", profile.company, "profile"))
    return frozenset(c for item in items if (c := match_company(amap, item)) is not None)


def _authors_shown_at(amap: AffiliationMap, verdict: Verdict) -> set[str]:
    """Under `evidence: block`, the companies GitHub shows the authors at beyond the map's."""
    authors = {amap.key_of(author.key) for author in verdict.authors}
    return {
        found.company for found in verdict.contradictions if amap.key_of(found.login) in authors
    }


def reviewer_candidates(
    facts: PullRequestFacts,
    amap: AffiliationMap,
    verdict: Verdict,
    *,
    load: Mapping[str, int],
    now: datetime,
    profiles: Sequence[Profile] | None = None,
) -> list[str]:
    """Every TSC member who could give an independent review, best first.

    Eligible: a TSC member not conflicted on this PR today (`conflict_on_pr`), not a bot, not
    already an approver, not away today, not removed from this PR's review requests for good
    nor waited on (see bot.policy.removals), and in a company that conflicts with none of
    the authors' nor of the conflicted approvers'. Order: companies no
    approval represents yet first, then the least `load` (open review requests), then a stable
    hash of the PR's node id and the login.

    Under `evidence: block`, where GitHub's evidence decides independence, the companies GitHub
    shows the authors at are avoided too, and so is a candidate whose profile (in `profiles`,
    when read) shows a company to avoid: their approval would not count.
    """
    if now.tzinfo is None:
        raise ValueError(f"now must be timezone-aware, got {now.isoformat()}")
    today = now.astimezone(UTC).date()
    parties = verdict.parties or Parties(amap, collect_authors(facts, amap))
    approvers = {amap.key_of(a.reviewer) for a in verdict.approvals}
    declared = {amap.key_of(d.login): d for d in verdict.declarations}
    opener = amap.login_of(facts.opener) if facts.opener else None
    removals = verdict.removals
    removed = removals.excluded | {amap.key_of(login) for login in removals.waiting_on}
    avoided = set(verdict.author_companies)
    for approval in verdict.conflicted_approvers:
        avoided.update(approval.companies)
    block = amap.policy.evidence == "block"
    if block:
        avoided.update(_authors_shown_at(amap, verdict))
    profile_of = {amap.key_of(p.login): p for p in profiles or ()} if block else {}
    represented = {
        amap.conflict_group(c) or c
        for approval in verdict.approvals
        if not approval.excluded
        for c in approval.companies
    }

    ranked: list[tuple[bool, int, str, str]] = []
    for login in amap.tsc_members():
        if login in approvers or login == opener:
            continue
        if conflict_on_pr(parties, login, day=today, declared=declared) is not None:
            continue
        if login in removed:
            continue
        if amap.is_bot(login) or amap.is_away(login, today):
            continue
        companies = amap.companies_of(login, today)
        if amap.conflicting_companies(companies, avoided):
            continue
        if amap.standing_conflict_with(login, today, avoided) is not None:
            continue
        profile = profile_of.get(login)
        if profile is not None and any(
            agrees(amap, company, avoided) for company in shown_at(amap, profile)
        ):
            continue
        already = any((amap.conflict_group(c) or c) in represented for c in companies)
        count = load.get(login, 0)
        if count < 0:
            raise ValueError(f"load for {login} must be zero or more, got {count}")
        ranked.append((already, count, _tie_breaker(facts.node_id, login), login))
    ranked.sort()
    return [login for *_, login in ranked]


def lapsed_approvers(
    facts: PullRequestFacts, amap: AffiliationMap, verdict: Verdict, *, now: datetime
) -> list[str]:
    """Reviewers whose approval would count but for its age (`Approval.lapsed`), not away today.

    GitHub's re-request asks them to look at what was pushed since their approval."""
    today = now.astimezone(UTC).date()
    return [
        approval.reviewer
        for approval in verdict.approvals
        if approval.lapsed and not amap.is_away(approval.reviewer, today)
    ]


def lapsed_to_ask(
    facts: PullRequestFacts, amap: AffiliationMap, verdict: Verdict, lapsed: Sequence[str]
) -> list[str]:
    """Which of the `lapsed` approvers to ask again now: at most once per head, by construction.

    Not one already asked (the request is pending), nor one who reviewed the head since (the
    request was answered), nor one whose request was removed for good (see bot.policy.removals:
    by themselves, or by a TSC member with no conflict) after their approval.
    """
    asked = {amap.key_of(login) for login in facts.requested_reviewers}
    on_head = {
        amap.key_of(review.author)
        for review in facts.reviews
        if review.author is not None and review.commit_sha == facts.head_sha
    }
    approved_at = {
        amap.key_of(review.author): review.submitted_at
        for review in facts.reviews
        if review.author is not None and review.state == "APPROVED"
    }
    declined = {
        key
        for removal in facts.review_request_removals
        if (key := amap.key_of(removal.reviewer)) in approved_at
        and key in verdict.removals.excluded
        and removal.removed_at > approved_at[key]
    }
    return [
        login
        for login in lapsed
        if (key := amap.key_of(login)) not in asked and key not in on_head and key not in declined
    ]


def surplus_requests(
    facts: PullRequestFacts, pending: Sequence[str], eligible: Collection[str], *, count: int
) -> list[str]:
    """Eligible reviewers pending beyond `count`, to withdraw after two evaluations raced.

    Each racing evaluation may ask a different candidate (their loads differ by a moment). All
    keep the same `count` by the PR's stable order, the same in every process, and withdraw the
    rest; the bot never asks while one is pending, so a surplus is never a person's own choice.
    """
    wanted = {login.lower() for login in eligible}
    asked = [login for login in pending if login.lower() in wanted]
    if len(asked) <= count:
        return []
    return sorted(asked, key=lambda login: _tie_breaker(facts.node_id, login))[count:]


@dataclass(frozen=True, slots=True)
class ReviewPlan:
    """Whom an evaluation asks for a third-party review, decided before anything is written."""

    ordered: tuple[str, ...] = ()  # best first; those past `count` stand in if GitHub refuses
    count: int = 0
    pending: tuple[str, ...] = ()  # eligible reviewers already asked
    no_candidate: bool = False  # a review is needed and nobody eligible is left to ask
    # Candidates whose review load must be read before they can be ordered; empty when final.
    needs_load: tuple[str, ...] = ()
    # Reviewers removed twice by someone who may not: nobody is asked while the check waits.
    waiting_on: tuple[str, ...] = ()

    @property
    def ask(self) -> tuple[str, ...]:
        return self.ordered[: self.count]

    @property
    def shown(self) -> tuple[str, ...]:
        """Who the check says is asked: stable across evaluations while nothing changes."""
        return self.ask or self.pending


NO_PLAN = ReviewPlan()


def plan_review_request(
    facts: PullRequestFacts,
    amap: AffiliationMap,
    verdict: Verdict,
    *,
    now: datetime,
    commands: Sequence[CommandOutcome] = (),
    clicks: Sequence[CommandOutcome] = (),
    edits: Sequence[CommentEdit] = (),
    load: Mapping[str, int] | None = None,
    asked_now: Sequence[str] = (),
    profiles: Sequence[Profile] | None = None,
) -> ReviewPlan:
    """Whom to ask, and when: the one decision, in two steps when a request is due.

    A request is due when the verdict needs an independent review, protected files lack their
    companies, or someone allowed to (a `request` command, a comment edited into one, a click
    on `Request reviewer`) asked since the last evaluation; never on a draft or closed PR, never
    while an eligible reviewer is pending, never the PR's opener (GitHub answers 422).
    Called without `load`, a due plan names the candidates whose load to read (`needs_load`);
    called again with it, and with `asked_now` (whom the PR asks at the moment of that read),
    it orders them. A candidate a racing evaluation asked since the snapshot counts as pending.
    `profiles`: the candidates' profiles, read with their load under `evidence: block`.
    """
    count = amap.policy.request_reviewers
    if facts.draft or facts.state != "OPEN":
        return ReviewPlan(count=count)
    candidates = reviewer_candidates(
        facts, amap, verdict, load=load or {}, now=now, profiles=profiles
    )
    # An approver whose approval went stale is asked again before anyone new (GitHub's
    # re-request); they are approvers, hence never among the candidates.
    lapsed = lapsed_approvers(facts, amap, verdict, now=now)
    lapsed_due = lapsed_to_ask(facts, amap, verdict, lapsed)
    eligible = {amap.key_of(login) for login in (*candidates, *lapsed)}
    pending = tuple(login for login in facts.requested_reviewers if amap.key_of(login) in eligible)
    protected_short = verdict.protected is not None and not verdict.protected.satisfied
    needed = (
        verdict.needs_independent_review
        or protected_short
        or review_asked_by_person(facts, commands, clicks, edits, prefix=amap.policy.command_prefix)
    )
    if needed and not pending and verdict.removals.waiting_on:
        return ReviewPlan(count=count, waiting_on=verdict.removals.waiting_on)
    if count == 0 or not needed or pending or not (candidates or lapsed_due):
        no_candidate = needed and not candidates and not lapsed and count > 0
        return ReviewPlan(count=count, pending=pending, no_candidate=no_candidate)
    if load is None and len(lapsed_due) < count and candidates:
        return ReviewPlan(count=count, needs_load=tuple(candidates))
    wanted = {login.lower() for login in (*candidates, *lapsed)}
    racing = tuple(login for login in asked_now if login.lower() in wanted)
    if racing:
        return ReviewPlan(count=count, pending=racing)
    opener = (facts.opener or "").lower()
    # Removed once by someone who may not: that reviewer is asked again before anyone else.
    again = {amap.key_of(login) for login in verdict.removals.ask_again}
    candidates = sorted(candidates, key=lambda login: amap.key_of(login) not in again)
    ordered = tuple(login for login in (*lapsed_due, *candidates) if login.lower() != opener)
    return ReviewPlan(ordered=ordered, count=count, no_candidate=not ordered)
