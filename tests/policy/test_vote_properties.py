"""Hypothesis properties of the vote tally: order never matters, an early close is final, and a
company never counts more than its cap."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.policy.votes import CHOICES, Ballot, Choice, electorate, rules_for, tally

from .test_votes import AFTER, DAY, DURING, OPENED, PEOPLE, vote_map

VOTERS = sorted(PEOPLE)
CAST = st.dictionaries(st.sampled_from(VOTERS), st.sampled_from(CHOICES), max_size=len(VOTERS))
KEYS = st.fixed_dictionaries(
    {
        "threshold": st.sampled_from(["majority", "1/2", "2/3", "3/4", "1/1"]),
        "of": st.sampled_from(["cast", "eligible"]),
        "quorum": st.sampled_from([0, "1/3", 0.5, 1]),
        "company_cap": st.sampled_from([None, 1, 2, 3]),
        "conflicted": st.sampled_from(["abstain", "count"]),
    }
)
CONFLICTED = st.sets(st.sampled_from(VOTERS), max_size=3)
FAST = settings(max_examples=150, deadline=None)


def _run(cast: dict[str, Choice], keys: dict[str, Any], conflicted: set[str], **time: Any) -> Any:
    amap = vote_map(**keys)
    rules = rules_for(amap.policy.votes, [])
    voters = electorate(amap, DAY, also=cast)
    ballots = [Ballot(login, choice) for login, choice in cast.items()]
    conflicts = dict.fromkeys(conflicted, "a test conflict")
    return tally(rules, voters, ballots, conflicts=conflicts, opened_at=OPENED, **time)


@FAST
@given(cast=CAST, keys=KEYS, conflicted=CONFLICTED, order=st.randoms(use_true_random=False))
def test_order_of_casting_never_matters(
    cast: dict[str, Choice], keys: dict[str, Any], conflicted: set[str], order: Any
) -> None:
    items = list(cast.items())
    order.shuffle(items)
    assert _run(dict(items), keys, conflicted, now=DURING) == _run(
        cast, keys, conflicted, now=DURING
    )


@FAST
@given(cast=CAST, later=CAST, keys=KEYS, conflicted=CONFLICTED)
def test_an_early_close_is_what_the_deadline_would_say(
    cast: dict[str, Choice], later: dict[str, Choice], keys: dict[str, Any], conflicted: set[str]
) -> None:
    early = _run(cast, keys, conflicted, now=DURING)
    if early.outcome == "open":
        return
    # The voters who had not voted vote any way they like before the deadline.
    completed = {**{k: v for k, v in later.items() if k not in cast}, **cast}
    final = _run(completed, keys, conflicted, now=AFTER)
    assert final.outcome == early.outcome


@FAST
@given(cast=CAST, keys=KEYS, conflicted=CONFLICTED)
def test_no_company_counts_more_than_its_cap(
    cast: dict[str, Choice], keys: dict[str, Any], conflicted: set[str]
) -> None:
    result = _run(cast, keys, conflicted, now=AFTER)
    cap = keys["company_cap"]
    for group in result.groups:
        assert group.yes <= group.yes_cast
        assert group.no <= group.no_cast
        if cap is not None:
            assert group.yes + group.no <= cap
        # One factor for the company: yes and no keep their proportion.
        assert group.yes * group.no_cast == group.no * group.yes_cast
    assert result.yes + result.no <= result.eligible
    assert result.closes_at == OPENED + timedelta(days=7)
