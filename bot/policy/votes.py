"""TSC votes: the rules in force, who may vote, and the tally, in exact fractions.

Pure: the map, the ballots, the conflicts and the time are arguments. A vote's rules and
electorate are those of the map in force when it opened; `conflicts` says why a voter is
conflicted on the proposal (`bot.policy.vote_conflicts` computes it), so that the tally never
decides who is conflicted itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Literal

from bot.affiliations.index import AffiliationMap
from bot.affiliations.model import Votes, parse_duration, parse_share, parse_threshold
from bot.policy.classify import list_files, matching_files
from bot.policy.facts import ChangedFile

Choice = Literal["yes", "no", "abstain"]
CHOICES: tuple[Choice, ...] = ("yes", "no", "abstain")
Outcome = Literal["open", "passed", "failed"]


@dataclass(frozen=True, slots=True)
class VoteRules:
    """The rules one vote runs under: `votes`' defaults, overridden by the first matching rule."""

    threshold: Fraction
    more_than: bool  # majority: strictly more than `threshold`; "p/q": at least `threshold`
    threshold_text: str  # as the map writes it: "majority", "2/3"
    of: Literal["cast", "eligible"]
    quorum: Fraction
    duration: timedelta
    company_cap: int | None
    conflicted: Literal["abstain", "count"]
    why: str  # which rule applies and why, for the tally

    @property
    def threshold_phrase(self) -> str:
        if self.more_than:
            return f"more than {show(self.threshold)}"
        return f"at least {self.threshold_text}"


def rules_for(votes: Votes, files: Iterable[ChangedFile]) -> VoteRules:
    """The rules for a proposal changing `files` (none for an issue): the first rule whose
    `paths` match a changed file (or its old name) overrides the defaults."""
    changed = tuple(files)
    threshold, of, quorum, duration = votes.threshold, votes.of, votes.quorum, votes.duration
    why = "no rule's paths match: the default rules" if changed else "the default rules"
    for number, rule in enumerate(votes.rules, start=1):
        hits = matching_files(changed, rule.paths)
        if not hits:
            continue
        paths = sorted({path for matched in hits.values() for path in matched})
        why = f"rule {number} (paths {', '.join(rule.paths)}) matches {list_files(paths)}"
        threshold = rule.threshold if rule.threshold is not None else threshold
        of = rule.of if rule.of is not None else of
        quorum = rule.quorum if rule.quorum is not None else quorum
        duration = rule.duration if rule.duration is not None else duration
        break
    share, more_than = parse_threshold(threshold)
    return VoteRules(
        threshold=share,
        more_than=more_than,
        threshold_text=threshold,
        of=of,
        quorum=parse_share(quorum),
        duration=parse_duration(duration),
        company_cap=votes.company_cap,
        conflicted=votes.conflicted,
        why=why,
    )


@dataclass(frozen=True, slots=True)
class Voter:
    """A person as the map in force at the vote's opening sees them."""

    login: str  # the map's key, or the login in lower case for someone the map lacks
    role: str | None
    weight: int  # 0: may not vote (not on the TSC, or a role without votes)
    companies: tuple[str, ...]  # company ids at the opening
    cap_group: str  # voters sharing a company cap: one company group, or the person alone
    cap_name: str  # the cap group's display name

    @property
    def binding(self) -> bool:
        return self.weight > 0


def voter(amap: AffiliationMap, login: str, day: date) -> Voter:
    """`login` as a voter on `day`: weight from their role, company group for the cap."""
    key = amap.key_of(login)
    person = amap.person(login)
    role_name = None if person is None else person.role
    role = None if role_name is None else amap.policy.roles.get(role_name)
    companies = tuple(sorted(amap.companies_of(key, day)))
    groups = sorted(amap.conflict_groups(companies))
    # Independent members and people with no company are each their own group under the cap.
    group, name = (
        (f"company:{groups[0]}", amap.company_name(groups[0])) if groups else (f"person:{key}", key)
    )
    return Voter(
        login=key,
        role=role_name,
        weight=0 if role is None else role.vote_weight,
        companies=companies,
        cap_group=group,
        cap_name=name,
    )


def electorate(amap: AffiliationMap, day: date, *, also: Iterable[str] = ()) -> dict[str, Voter]:
    """Everyone with a vote on `day`, and the people in `also` (ballot writers), by map key."""
    voters = {
        v.login: v for login in amap.document.people if (v := voter(amap, login, day)).binding
    }
    for login in also:
        key = amap.key_of(login)
        if key not in voters:
            voters[key] = voter(amap, login, day)
    return voters


@dataclass(frozen=True, slots=True)
class Ballot:
    """A person's last vote: later ones replace earlier ones before the tally sees them."""

    login: str  # the voter's map key
    choice: Choice
    reason: str | None = None
    comment_id: str = ""


@dataclass(frozen=True, slots=True)
class VoterRow:
    voter: Voter
    choice: Choice | None  # as cast; None: not voted
    counted_as: Choice | None  # an abstention for a conflicted voter under `conflicted: abstain`
    counted: Fraction  # weight counted for `counted_as` (after the company cap)
    why_not: str | None  # why `counted` is not the voter's full weight as cast
    conflict: str | None
    reason: str | None = None  # the voter's own words


@dataclass(frozen=True, slots=True)
class GroupTotal:
    """One company cap group's weight, as cast and as counted."""

    group: str
    name: str
    yes_cast: int
    no_cast: int
    abstain_cast: int
    yes: Fraction
    no: Fraction
    factor: Fraction  # 1 under the cap; cap / (yes + no) above it


@dataclass(frozen=True, slots=True)
class Tally:
    rules: VoteRules
    rows: tuple[VoterRow, ...]
    groups: tuple[GroupTotal, ...]
    yes: Fraction
    no: Fraction
    abstain: Fraction
    eligible: Fraction  # weight that may vote and counts (capped per company): `of: eligible`
    electorate_weight: int  # weight that may vote and counts, uncapped: the quorum's base
    voted: int  # of that, the weight that voted (yes, no or abstain)
    quorum_needed: Fraction
    threshold_met: bool
    outcome: Outcome
    closes_at: datetime
    closed_early: bool
    reason: str

    @property
    def quorum_met(self) -> bool:
        return self.voted >= self.quorum_needed


def show(value: Fraction) -> str:
    """An exact weight: `3`, `4/3`."""
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


@dataclass(frozen=True, slots=True)
class _Count:
    yes: Fraction
    no: Fraction
    abstain: Fraction
    eligible: Fraction
    electorate_weight: int
    voted: int
    groups: tuple[GroupTotal, ...]


def _count(rules: VoteRules, counting: Sequence[Voter], choices: Mapping[str, Choice]) -> _Count:
    """Yes, no and abstain weight of the counting voters (binding, not set aside for a conflict),
    each company's yes and no scaled by one factor to the cap; abstentions are never capped."""
    cast: dict[str, dict[Choice | None, int]] = {}
    names: dict[str, str] = {}
    for person in counting:
        weights = cast.setdefault(person.cap_group, {})
        names[person.cap_group] = person.cap_name
        choice = choices.get(person.login)
        weights[choice] = weights.get(choice, 0) + person.weight
    yes = no = abstain = eligible = Fraction(0)
    groups: list[GroupTotal] = []
    electorate_weight = voted = 0
    cap = rules.company_cap
    for group in sorted(cast):
        weights = cast[group]
        total = sum(weights.values())
        electorate_weight += total
        voted += total - weights.get(None, 0)
        y, n, a = weights.get("yes", 0), weights.get("no", 0), weights.get("abstain", 0)
        factor = Fraction(cap, y + n) if cap is not None and y + n > cap else Fraction(1)
        yes += y * factor
        no += n * factor
        abstain += a
        eligible += total if cap is None else min(cap, total)
        groups.append(GroupTotal(group, names[group], y, n, a, y * factor, n * factor, factor))
    return _Count(yes, no, abstain, eligible, electorate_weight, voted, tuple(groups))


def _threshold_met(rules: VoteRules, count: _Count) -> bool:
    base = count.yes + count.no if rules.of == "cast" else count.eligible
    if base == 0:
        return False
    target = rules.threshold * base
    return count.yes > target if rules.more_than else count.yes >= target


def _passes(rules: VoteRules, count: _Count) -> bool:
    return count.voted >= rules.quorum * count.electorate_weight and _threshold_met(rules, count)


def tally(
    rules: VoteRules,
    voters: Mapping[str, Voter],
    ballots: Iterable[Ballot],
    *,
    conflicts: Mapping[str, str],
    opened_at: datetime,
    now: datetime,
) -> Tally:
    """The vote as it stands at `now`: passed or failed once the deadline has come, or earlier
    once the votes not yet cast cannot change the outcome; open otherwise.

    `voters` holds every binding voter at the opening and every ballot's writer (`electorate`);
    `conflicts` maps a voter's key to why they are conflicted on the proposal.
    """
    by_login = {ballot.login: ballot for ballot in ballots}
    unknown = sorted(set(by_login) - set(voters))
    if unknown:
        raise ValueError(f"ballots by people missing from the voters: {', '.join(unknown)}")
    set_aside = rules.conflicted == "abstain"
    counting = [
        v for v in voters.values() if v.binding and not (set_aside and v.login in conflicts)
    ]
    choices = {v.login: by_login[v.login].choice for v in counting if v.login in by_login}
    count = _count(rules, counting, choices)
    closes_at = opened_at + rules.duration
    remaining = [v.login for v in counting if v.login not in choices]
    # Each uncast yes only helps and each uncast no only hurts (a cap scales a company's yes
    # down as its no grows): all-no and all-yes bound every way the vote can still end.
    worst = _count(rules, counting, {**choices, **dict.fromkeys(remaining, "no")})
    best = _count(rules, counting, {**choices, **dict.fromkeys(remaining, "yes")})
    threshold_met = _threshold_met(rules, count)
    quorum_needed = rules.quorum * count.electorate_weight
    outcome: Outcome = "open"
    closed_early = False
    if now >= closes_at:
        outcome = "passed" if _passes(rules, count) else "failed"
    elif count.voted >= quorum_needed and _threshold_met(rules, worst):
        outcome, closed_early = "passed", True
    elif not _passes(rules, best):
        outcome, closed_early = "failed", True
    rows = _rows(voters, by_login, conflicts, count, set_aside=set_aside)
    return Tally(
        rules=rules,
        rows=rows,
        groups=count.groups,
        yes=count.yes,
        no=count.no,
        abstain=count.abstain,
        eligible=count.eligible,
        electorate_weight=count.electorate_weight,
        voted=count.voted,
        quorum_needed=quorum_needed,
        threshold_met=threshold_met,
        outcome=outcome,
        closes_at=closes_at,
        closed_early=closed_early,
        reason=_reason(rules, count, outcome, closed_early=closed_early),
    )


def _rows(
    voters: Mapping[str, Voter],
    ballots: Mapping[str, Ballot],
    conflicts: Mapping[str, str],
    count: _Count,
    *,
    set_aside: bool,
) -> tuple[VoterRow, ...]:
    factors = {group.group: group.factor for group in count.groups}
    rows: list[VoterRow] = []
    for login in sorted(voters, key=lambda k: (-voters[k].weight, k)):
        person = voters[login]
        ballot = ballots.get(login)
        choice = None if ballot is None else ballot.choice
        conflict = conflicts.get(login)
        counted_as = choice
        counted = Fraction(0)
        why_not: str | None = None
        if not person.binding:
            counted_as = None
            why_not = "non-binding: no vote in this TSC" if choice is not None else None
        elif conflict is not None and set_aside:
            counted_as = None if choice is None else "abstain"
            why_not = f"conflicted ({conflict}): recorded as an abstention"
        elif choice is not None:
            factor = factors[person.cap_group] if choice != "abstain" else Fraction(1)
            counted = person.weight * factor
            if factor != 1:
                why_not = f"{person.cap_name}'s yes and no scaled by {show(factor)} to the cap"
        reason = None if ballot is None else ballot.reason
        rows.append(VoterRow(person, choice, counted_as, counted, why_not, conflict, reason))
    return tuple(rows)


def _reason(rules: VoteRules, count: _Count, outcome: Outcome, *, closed_early: bool) -> str:
    base_name = "cast yes and no" if rules.of == "cast" else "eligible"
    base = count.yes + count.no if rules.of == "cast" else count.eligible
    standing = f"yes {show(count.yes)} of {show(base)} {base_name}, {rules.threshold_phrase} needed"
    quorum = rules.quorum * count.electorate_weight
    if count.voted < quorum:
        standing += f"; {count.voted} of {count.electorate_weight} voted, quorum {show(quorum)}"
    if outcome == "open":
        return f"open: {standing}"
    when = "early, the votes not yet cast cannot change it" if closed_early else "at the deadline"
    return f"{outcome} {when}: {standing}"
