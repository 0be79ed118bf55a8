"""Removed review requests, judged by who removed them (DESIGN.md, "Nobody conflicted can lower
the bar"). A removal by the reviewer (declining) or by a TSC member with no conflict on the PR
excludes that reviewer for good. A removal by anyone else, an author first, does not: the bot
asks that reviewer again, once; after a second such removal it neither asks them again nor moves
on to someone else, so an author cannot pick a reviewer by removing the others in turn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.affiliations.index import AffiliationMap
from bot.policy.conflicts import Declaration, Parties, RefusedAct, may_not_lower_the_bar
from bot.policy.facts import PullRequestFacts, ReviewRequestRemoval


@dataclass(frozen=True, slots=True)
class Removals:
    excluded: frozenset[str] = frozenset()  # map keys: removed for good, never asked again
    ask_again: tuple[str, ...] = ()  # removed once by someone who may not: asked again, once
    waiting_on: tuple[str, ...] = ()  # removed twice so: not asked, and nobody else either
    refused: tuple[RefusedAct, ...] = ()


NO_REMOVALS = Removals()


def _is_app(login: str, amap: AffiliationMap) -> bool:
    # The App withdraws surplus requests after racing evaluations (see surplus_requests).
    return amap.is_bot(login)


def judge_removals(
    facts: PullRequestFacts,
    amap: AffiliationMap,
    parties: Parties,
    *,
    declared: Mapping[str, Declaration],
) -> Removals:
    """Each removed reviewer not pending now, by the removals of their request, oldest first.

    Someone requested again since (by hand, or by the bot) is pending: their removals wait
    until they are removed again."""
    pending = {amap.key_of(login) for login in facts.requested_reviewers}
    by_reviewer: dict[str, list[ReviewRequestRemoval]] = {}
    for removal in sorted(facts.review_request_removals, key=lambda r: r.removed_at):
        key = amap.key_of(removal.reviewer)
        if key not in pending:
            by_reviewer.setdefault(key, []).append(removal)
    excluded: set[str] = set()
    ask_again: list[str] = []
    waiting_on: list[str] = []
    refused: list[RefusedAct] = []
    for key, removals in sorted(by_reviewer.items()):
        barred: list[tuple[ReviewRequestRemoval, str]] = []
        for removal in removals:
            actor = removal.actor
            if actor is not None and (amap.key_of(actor) == key or _is_app(actor, amap)):
                excluded.add(key)  # the reviewer declined, or the App withdrew a surplus
                continue
            why = may_not_lower_the_bar(
                parties, actor, day=removal.removed_at.date(), declared=declared
            )
            if why is None:
                excluded.add(key)
            else:
                barred.append((removal, why))
        if key in excluded or not barred:
            continue
        removal, why = barred[-1]
        shown = amap.login_of(removal.reviewer) or removal.reviewer
        if len(barred) == 1:
            ask_again.append(shown)
            outcome = f"@{shown} is asked again"
        else:
            waiting_on.append(shown)
            outcome = (
                f"removed twice: the check waits on @{shown} or a decision by a TSC member "
                "with no conflict on this pull request"
            )
        refused.append(
            RefusedAct(removal.actor, f"removed @{shown}'s review request", f"{why}; {outcome}")
        )
    return Removals(
        excluded=frozenset(excluded),
        ask_again=tuple(ask_again),
        waiting_on=tuple(waiting_on),
        refused=tuple(refused),
    )
