"""A vote's story from label changes and comments: opening, casting, replacing, closing,
cancelling, and refusals."""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest

from bot.affiliations.index import AffiliationMap
from bot.policy.commands import parse_commands, usage
from bot.policy.facts import ChangedFile, Comment, LabelChange
from bot.policy.vote_conflicts import Proposal
from bot.policy.vote_state import VoteState, vote_state

from .test_votes import OPENED, vote_map

LABEL = "TSC:voting"
# A nominee's line added to OWNERS.md: @nom of Acme is the proposal's subject.
NOMINEE = Proposal(
    owners_before="", owners_after="* Nom ([@nom](https://github.com/nom)), _Acme_\n"
)


def at(minutes: float) -> datetime:
    return OPENED + timedelta(minutes=minutes)


def labeled(actor: str, minutes: float = 0, *, added: bool = True) -> LabelChange:
    return LabelChange(LABEL, actor, added, at(minutes))


def said(author: str, body: str, minutes: float, *, edited: float | None = None) -> Comment:
    created = at(minutes)
    return Comment(
        id=f"c-{author}-{minutes}",
        author=author,
        body=body,
        created_at=created,
        updated_at=at(edited) if edited is not None else created,
        database_id=int(minutes * 10) + 1,
    )


def state(
    changes: list[LabelChange],
    comments: list[Comment],
    *,
    now: float = 60,
    labels: tuple[str, ...] = (LABEL,),
    proposal: Proposal | None = None,
    files: tuple[str, ...] = (),
    map_at: dict[datetime, AffiliationMap] | None = None,
    **votes: Any,
) -> VoteState:
    return vote_state(
        vote_map(**votes),
        labels=labels,
        label_changes=changes,
        comments=comments,
        files=[ChangedFile(path) for path in files],
        proposal=proposal or Proposal(),
        declared={},
        now=at(now),
        map_at=None if map_at is None else map_at.__getitem__,
    )


def test_the_grammar() -> None:
    (vote,) = parse_commands("/coi vote YES because it is good", prefix="/coi")
    assert (vote.kind, vote.choice, vote.reason, vote.error) == (
        "vote",
        "yes",
        "because it is good",
        None,
    )
    (bad,) = parse_commands("/coi vote maybe", prefix="/coi")
    assert (
        bad.error
        == "a vote is yes, no or abstain, not `maybe`: `/coi vote yes|no|abstain [reason]`"
    )
    (empty,) = parse_commands("/coi vote", prefix="/coi")
    assert empty.error is not None
    assert "not nothing" in empty.error
    assert "`/coi vote yes|no|abstain [reason]`" in usage("/coi")


def test_no_label_no_vote() -> None:
    result = state([], [said("max", "/coi vote yes", 1)], labels=())
    assert result.status == "none"
    (outcome,) = result.outcomes
    assert not outcome.applied
    assert (
        outcome.reason == "no vote is open here: a TSC member opens one with the label `TSC:voting`"
    )


def test_a_tsc_member_opens_and_votes_count() -> None:
    comments = [
        said("max", "/coi vote yes", 1),
        said("sue", "/coi vote no I disagree", 2),
        said("cal", "/coi vote yes", 3),  # non-binding
        said("mia", "/coi vote yes", 4),
    ]
    result = state([labeled("lea")], comments)
    assert (result.status, result.opened_by, result.opened_at) == ("open", "lea", OPENED)
    assert result.tally is not None
    assert (result.tally.yes, result.tally.no) == (Fraction(2), Fraction(2))
    assert all(outcome.applied for outcome in result.outcomes)


def test_a_later_vote_replaces_an_earlier_one() -> None:
    comments = [said("max", "/coi vote no", 1), said("max", "/coi vote yes", 2)]
    result = state([labeled("lea")], comments)
    assert result.tally is not None
    assert (result.tally.yes, result.tally.no) == (Fraction(1), Fraction(0))


def test_an_edited_comment_changes_and_a_deleted_one_withdraws() -> None:
    edited = state([labeled("lea")], [said("max", "/coi vote yes", 1, edited=5)])
    assert edited.tally is not None
    assert edited.tally.yes == 1
    deleted = state([labeled("lea")], [])
    assert deleted.tally is not None
    assert deleted.tally.voted == 0


def test_a_vote_edited_into_someone_elses_comment_is_the_editors() -> None:
    # Cal, with write access but no vote, turns Lea's "LGTM" into a vote: it is Cal's,
    # non-binding, cast when he wrote it; Lea has not voted.
    lgtm = said("lea", "/coi vote yes", 1)
    edited = Comment(
        id=lgtm.id,
        author="lea",
        body=lgtm.body,
        created_at=lgtm.created_at,
        updated_at=at(5),
        database_id=lgtm.database_id,
        editor="cal",
        last_edited_at=at(5),
    )
    result = state([labeled("lea")], [edited])
    assert result.tally is not None
    assert (result.tally.yes, result.tally.voted) == (Fraction(0), 0)
    (outcome,) = result.outcomes
    assert (outcome.author, outcome.editor, outcome.actor) == ("lea", "cal", "cal")
    votes = {row.voter.login: row.choice for row in result.tally.rows}
    assert votes.get("lea") is None
    assert votes.get("cal") == "yes"


def test_votes_before_the_opening_are_refused() -> None:
    result = state([labeled("lea", 10)], [said("max", "/coi vote yes", 1)])
    (outcome,) = result.outcomes
    assert outcome.reason == "written before the vote opened at 2026-05-01 12:10:00 UTC"


def test_a_label_by_someone_off_the_tsc_is_refused_and_removed() -> None:
    result = state([labeled("cal")], [])
    assert result.status == "none"
    assert result.remove_label
    (refusal,) = result.refusals
    assert refusal.why == (
        "only TSC members open a vote: @cal is not on the TSC, so `TSC:voting` comes off"
    )
    # Once the bot took it off, nothing more is to remove.
    assert not state([labeled("cal")], [], labels=()).remove_label


def test_cancelled_by_an_unconflicted_tsc_member() -> None:
    changes = [labeled("lea"), labeled("sue", 5, added=False)]
    result = state(changes, [said("max", "/coi vote yes", 1), said("mia", "/coi vote no", 6)])
    assert (result.status, result.cancelled_by) == ("cancelled", "sue")
    late = result.outcomes[-1]
    assert late.reason == "the vote was cancelled at 2026-05-01 12:05:00 UTC"


def test_a_removal_by_a_conflicted_member_or_an_outsider_leaves_the_vote_on() -> None:
    changes = [labeled("lea"), labeled("sam", 5, added=False), labeled("cal", 6, added=False)]
    result = state(changes, [], proposal=NOMINEE, labels=())
    assert result.status == "open"
    whys = [refusal.why for refusal in result.refusals]
    assert whys == [
        "@sam is conflicted on this vote (Acme, like the nominee @nom): the vote goes on",
        "@cal is not on the TSC: the vote goes on",
    ]


def test_closing_at_the_deadline_refuses_later_votes() -> None:
    comments = [said("max", "/coi vote yes", 1), said("sue", "/coi vote no", 100)]
    result = state([labeled("lea")], comments, now=200, duration="90m")
    assert (result.status, result.closed_at) == ("closed", at(90))
    assert result.tally is not None
    assert result.tally.outcome == "passed"
    assert (
        result.outcomes[1].reason
        == "the vote closed at 2026-05-01 13:30:00 UTC: no vote counts after that"
    )


def test_an_early_close_refuses_later_votes() -> None:
    comments = [
        said("lea", "/coi vote yes", 1),
        said("sam", "/coi vote yes", 2),
        said("sue", "/coi vote yes", 3),  # 7 of 13: decided
        said("max", "/coi vote no", 4),
    ]
    result = state([labeled("lea")], comments)
    assert (result.status, result.closed_at) == ("closed", at(3))
    assert result.tally is not None
    assert (result.tally.outcome, result.tally.closed_early) == ("passed", True)
    assert not result.outcomes[-1].applied


def test_a_nominees_colleague_abstains_and_that_decides() -> None:
    comments = [said("lea", "/coi vote yes", 1), said("sue", "/coi vote no", 2)]
    honest = state([labeled("max")], comments, now=20000)
    assert honest.tally is not None
    assert honest.tally.outcome == "passed"  # 3 to 2
    result = state([labeled("max")], comments, proposal=NOMINEE, now=20000)
    assert result.tally is not None
    assert result.tally.outcome == "failed"  # 0 to 2
    row = next(r for r in result.tally.rows if r.voter.login == "lea")
    assert row.why_not == "conflicted (Acme, like the nominee @nom): recorded as an abstention"


def test_the_first_matching_rule_applies() -> None:
    rules = [{"paths": ["OWNERS.md"], "threshold": "2/3"}]
    result = state([labeled("lea")], [], files=("OWNERS.md",), rules=rules)
    assert result.tally is not None
    assert result.tally.rules.threshold_text == "2/3"


def test_relabelling_after_a_cancel_opens_a_new_vote() -> None:
    changes = [labeled("lea"), labeled("sue", 5, added=False), labeled("sue", 10)]
    result = state(changes, [said("max", "/coi vote yes", 1), said("mia", "/coi vote yes", 11)])
    assert (result.status, result.opened_at) == ("open", at(10))
    assert result.tally is not None
    assert result.tally.yes == 1
    assert [o.applied for o in result.outcomes] == [False, True]


@pytest.mark.parametrize("actor", ["coi-bot[bot]", None])
def test_bots_and_ghosts_label_changes_are_ignored(actor: str | None) -> None:
    change = LabelChange(LABEL, actor, True, at(0))
    assert state([change], []).status == "none"


def test_a_vote_edited_after_the_close_is_refused() -> None:
    comments = [
        said("lea", "/coi vote yes", 1),
        said("sam", "/coi vote yes", 2),
        said("sue", "/coi vote no", 3, edited=20),  # 6 to 2, 5 to come: open to the deadline
        said("max", "/coi vote yes", 4),
    ]
    result = state([labeled("lea")], comments, now=30, duration="10m")
    assert result.closed_at == at(10)
    edited = next(o for o in result.outcomes if o.author == "sue")
    assert not edited.applied
    assert edited.reason == (
        "edited after the vote closed at 2026-05-01 12:10:00 UTC: the edit does not count"
    )


def test_a_vote_edited_after_an_early_close_is_refused() -> None:
    comments = [
        said("lea", "/coi vote yes", 1, edited=5),
        said("sam", "/coi vote yes", 2),
        said("sue", "/coi vote yes", 3),  # 7 of 13: decided
    ]
    result = state([labeled("lea")], comments)
    assert result.closed_at == at(3)
    assert [o.applied for o in result.outcomes] == [False, True, True]
    assert result.outcomes[0].reason == (
        "edited after the vote closed at 2026-05-01 12:03:00 UTC: the edit does not count"
    )


def test_a_vote_stays_closed_from_the_apps_record_of_its_close() -> None:
    comments = [
        said("lea", "/coi vote yes", 1),
        said("sam", "/coi vote no", 2, edited=5),  # a yes when the vote closed at 3
        said("sue", "/coi vote yes", 3),
        said("max", "/coi vote no", 6),
    ]
    unrecorded = state([labeled("lea")], comments)
    assert unrecorded.status == "open", "read again, the comments as they are now reopen it"
    result = vote_state(
        vote_map(),
        labels=(LABEL,),
        label_changes=[labeled("lea")],
        comments=comments,
        files=(),
        proposal=Proposal(),
        declared={},
        now=at(60),
        closed_by_record={OPENED: at(3.5)}.get,
    )
    assert (result.status, result.closed_at) == ("closed", at(3.5))
    assert [o.applied for o in result.outcomes] == [True, False, True, False]
    assert result.outcomes[1].reason == (
        "edited after the vote closed at 2026-05-01 12:03:30 UTC: the edit does not count"
    )


# --- the map in force at the label event ----------------------------------------------------


def _promoted(**people: str) -> AffiliationMap:
    """The test map with some people's roles changed."""
    base = vote_map()
    data = base.document.model_dump(by_alias=True)
    for login, role in people.items():
        data["people"][login]["role"] = role
    return AffiliationMap(type(base.document).model_validate(data))


def test_a_label_is_judged_by_the_map_in_force_when_it_was_added() -> None:
    # @cal was a contributor when he added the label and became a maintainer since.
    later = _promoted(cal="maintainer")
    result = vote_state(
        later,
        labels=(LABEL,),
        label_changes=[labeled("cal")],
        comments=[],
        files=[],
        proposal=Proposal(),
        declared={},
        now=at(1),
        map_at={at(0): vote_map()}.__getitem__,
    )
    assert result.status == "none"
    assert result.remove_label
    (refusal,) = result.refusals
    assert refusal.why.startswith("only TSC members open a vote: @cal is not on the TSC")
    honest = state([labeled("cal")], [], map_at={at(0): later})
    assert (honest.status, honest.opened_by) == ("open", "cal")


def test_a_vote_keeps_the_rules_and_weights_of_the_map_at_its_label_event() -> None:
    comments = [said("lea", "/coi vote yes", 1), said("sue", "/coi vote no", 2)]
    # By the map of the label event: a leader weighs 3 and a majority passes (3 to 2)...
    then = vote_map(duration="1h")
    # ...whatever the map says now: 2/3 needed and Lea a mere maintainer.
    result = state(
        [labeled("max")],
        comments,
        now=120,
        map_at={at(0): then},
        threshold="2/3",
        duration="7d",
    )
    assert result.tally is not None
    assert (result.status, result.tally.outcome) == ("closed", "passed")
    assert result.tally.rules.threshold_text == "majority"
    assert result.closed_at == at(60)
    lea = next(row for row in result.tally.rows if row.voter.login == "lea")
    assert lea.voter.weight == 3


def test_a_second_label_event_opens_a_vote_under_its_own_map() -> None:
    changes = [labeled("lea"), labeled("lea", 5, added=False), labeled("cal", 10)]
    maps = {at(0): vote_map(), at(10): _promoted(cal="maintainer")}
    result = state(changes, [], map_at=maps)
    assert (result.status, result.opened_by, result.opened_at) == ("open", "cal", at(10))
