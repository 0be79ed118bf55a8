"""Whom to ask for a third-party review: an ordered, deterministic list of eligible TSC members."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime

from bot.affiliations.index import AffiliationMap
from bot.policy.facts import PullRequestFacts
from bot.policy.verdict import Verdict


def _tie_breaker(node_id: str, login: str) -> str:
    # Stable across runs and processes (unlike hash()), and different per PR to spread the load.
    return hashlib.sha256(f"{node_id}\0{login.lower()}".encode()).hexdigest()


def removed_reviewers(facts: PullRequestFacts, amap: AffiliationMap) -> frozenset[str]:
    """Map keys of people whose review request on this PR was removed, and who are not asked now.

    Whoever removed it, nobody is re-requested automatically: a reviewer who removes themselves
    declines, and a maintainer who removes them decided against them; fighting either would
    only pile up requests. A person requested again by hand afterwards counts as asked again.
    """
    pending = {amap.login_of(login) or login.lower() for login in facts.requested_reviewers}
    return frozenset(
        key
        for removal in facts.review_request_removals
        if (key := amap.login_of(removal.reviewer) or removal.reviewer.lower()) not in pending
    )


def reviewer_candidates(
    facts: PullRequestFacts,
    amap: AffiliationMap,
    verdict: Verdict,
    *,
    load: Mapping[str, int],
    now: datetime,
) -> list[str]:
    """Every TSC member who could give an independent review, best first.

    Eligible: a TSC member, not an author nor a bot, not already an approver, not away today, with
    no declared conflict (on this PR, or standing with an author's company), not removed from this
    PR's review requests (see `removed_reviewers`), and in a company that conflicts with none of
    the authors' nor of the conflicted approvers'. Order: companies no
    approval represents yet first, then the least `load` (open review requests), then a stable
    hash of the PR's node id and the login.
    """
    if now.tzinfo is None:
        raise ValueError(f"now must be timezone-aware, got {now.isoformat()}")
    today = now.astimezone(UTC).date()
    author_keys = {author.key for author in verdict.authors}
    approvers = {amap.login_of(a.reviewer) or a.reviewer.lower() for a in verdict.approvals}
    declared = {amap.login_of(d.login) or d.login.lower() for d in verdict.declarations}
    opener = amap.login_of(facts.opener) if facts.opener else None
    removed = removed_reviewers(facts, amap)
    avoided = set(verdict.author_companies)
    for approval in verdict.conflicted_approvers:
        avoided.update(approval.companies)
    represented = {
        amap.conflict_group(c) or c
        for approval in verdict.approvals
        if not approval.excluded
        for c in approval.companies
    }

    ranked: list[tuple[bool, int, str, str]] = []
    for login in amap.tsc_members():
        if login in author_keys or login in approvers or login in declared or login == opener:
            continue
        if login in removed:
            continue
        if amap.is_bot(login) or amap.is_away(login, today):
            continue
        companies = amap.companies_of(login, today)
        if any(amap.companies_conflict(c, a) or c == a for c in companies for a in avoided):
            continue
        standing = amap.standing_conflicts(login, today)
        if any(
            s.company in avoided or any(amap.companies_conflict(s.company, a) for a in avoided)
            for s in standing
        ):
            continue
        already = any((amap.conflict_group(c) or c) in represented for c in companies)
        count = load.get(login, 0)
        if count < 0:
            raise ValueError(f"load for {login} must be zero or more, got {count}")
        ranked.append((already, count, _tie_breaker(facts.node_id, login), login))
    ranked.sort()
    return [login for *_, login in ranked]


def choose_reviewers(
    facts: PullRequestFacts,
    amap: AffiliationMap,
    verdict: Verdict,
    *,
    load: Mapping[str, int],
    now: datetime,
    count: int,
) -> list[str]:
    """The first `count` candidates to request, or [] when no request is due.

    No request is due when no review is needed, or while an eligible reviewer is already
    requested (one pending request at a time).
    """
    if count < 0:
        raise ValueError(f"count must be zero or more, got {count}")
    protected_short = verdict.protected is not None and not verdict.protected.satisfied
    if count == 0 or not (verdict.needs_independent_review or protected_short):
        return []
    candidates = reviewer_candidates(facts, amap, verdict, load=load, now=now)
    pending = {amap.login_of(r) or r.lower() for r in facts.requested_reviewers}
    if pending.intersection(candidates):
        return []
    return candidates[:count]


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
