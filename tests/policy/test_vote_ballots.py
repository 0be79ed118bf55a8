"""A vote is only its writer's: the ballots the App records with each tally keep a vote whose
comment someone else deleted or edited away; the voter's own deletion still withdraws it."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from bot.affiliations.index import AffiliationMap
from bot.affiliations.model import MapDocument
from bot.policy.ballot_records import ballot_line, read_ballots
from bot.policy.facts import Comment, CommentDeletion, LabelChange, RecordedBallot
from bot.policy.vote_conflicts import Proposal
from bot.policy.vote_render import vote_output
from bot.policy.vote_state import VoteState, vote_state

from .test_votes import OPENED, vote_map

LABEL = "TSC:voting"


def at(minutes: float) -> datetime:
    return OPENED + timedelta(minutes=minutes)


def said(author: str, body: str, minutes: float, **edit: object) -> Comment:
    comment = Comment(
        id=f"c-{author}-{minutes}",
        author=author,
        body=body,
        created_at=at(minutes),
        updated_at=at(minutes),
        database_id=int(minutes * 10) + 1,
    )
    return dataclasses.replace(comment, **edit)  # type: ignore[arg-type]


def state(
    comments: list[Comment],
    *,
    records: tuple[RecordedBallot, ...] = (),
    deletions: tuple[CommentDeletion, ...] = (),
) -> VoteState:
    return vote_state(
        vote_map(),
        labels=(LABEL,),
        label_changes=[LabelChange(LABEL, "lea", True, OPENED)],
        comments=comments,
        files=[],
        proposal=Proposal(),
        declared={},
        now=at(60),
        recorded_ballots=records,
        comment_deletions=deletions,
        account_ids={"sue": 42},
    )


def yes_no(result: VoteState) -> tuple[object, object]:
    assert result.tally is not None
    return result.tally.yes, result.tally.no


SUE_NO = said("sue", "/coi vote no not yet <b>", 2)
MAX_YES = said("max", "/coi vote yes", 1)


def test_each_counted_ballot_is_recorded_and_read_back_unchanged() -> None:
    result = state([MAX_YES, SUE_NO])
    sue = next(b for b in result.ballots if b.voter == "sue")
    assert (sue.choice, sue.reason, sue.comment_id, sue.at) == (
        "no",
        "not yet <b>",
        SUE_NO.id,
        at(2),
    )
    assert (sue.comment_database_id, sue.voter_id, sue.comment_author) == (21, 42, "sue")
    line = ballot_line(result.ballots)
    assert read_ballots(f"summary\n{line}\n") == result.ballots
    assert ballot_line(()) == ""


def test_user_text_cannot_close_or_forge_the_record() -> None:
    forged = '--> <!-- coi-bot:ballots [{"voter":"gus","choice":"yes"}] -->'
    ballot = dataclasses.replace(state([SUE_NO]).ballots[0], reason=forged)
    line = ballot_line([ballot])
    assert line.count("-->") == 1
    assert line.endswith("-->")
    assert read_ballots(line) == (ballot,)


def test_a_record_that_does_not_parse_is_not_trusted_in_part() -> None:
    assert read_ballots("no record here") == ()
    bad_choice = '<!-- coi-bot:ballots [{"voter":"sue","choice":"maybe"}] -->'
    assert read_ballots(bad_choice) == ()
    good = ballot_line(state([SUE_NO]).ballots)
    assert read_ballots(good.replace('"comment_db":21', '"comment_db":-1')) == ()
    assert read_ballots(good.replace('"voter_id":42', '"voter_id":"42"')) == ()
    assert read_ballots("<!-- coi-bot:ballots [not json] -->") == ()


def test_a_vote_deleted_by_someone_else_stands_and_the_tally_says_why() -> None:
    before = state([MAX_YES, SUE_NO])
    assert yes_no(before) == (1, 2)
    gone = CommentDeletion("sue", "gus", at(5))
    after = state([MAX_YES], records=before.ballots, deletions=(gone,))
    assert yes_no(after) == (1, 2)
    assert after.kept == ("@sue's vote stands: its comment was deleted by @gus",)
    # No reaction nor reply for a comment that is gone: only the present one has an outcome.
    assert [o.comment_id for o in after.outcomes] == [MAX_YES.id]
    assert vote_output(after, vote_map()).summary.count("vote stands") == 1
    # The next tally records it again: it stands at every later evaluation.
    assert after.ballots == before.ballots
    again = state([MAX_YES], records=after.ballots, deletions=(gone,))
    assert yes_no(again) == (1, 2)


def test_a_vote_deleted_by_its_voter_is_withdrawn() -> None:
    before = state([MAX_YES, SUE_NO])
    own = CommentDeletion("sue", "sue", at(5))
    after = state([MAX_YES], records=before.ballots, deletions=(own,))
    assert yes_no(after) == (1, 0)
    assert after.kept == ()
    assert [b.voter for b in after.ballots] == ["max"]


def test_any_other_deletion_of_the_voters_comments_since_keeps_it() -> None:
    # GitHub does not name the deleted comment: one deletion by another is enough to keep it.
    before = state([MAX_YES, SUE_NO])
    deletions = (CommentDeletion("sue", "sue", at(4)), CommentDeletion("sue", "gus", at(5)))
    after = state([MAX_YES], records=before.ballots, deletions=deletions)
    assert yes_no(after) == (1, 2)
    # A deletion from before the ballot was written is not this comment's.
    earlier = (CommentDeletion("sue", "gus", at(1)), CommentDeletion("sue", "sue", at(5)))
    assert yes_no(state([MAX_YES], records=before.ballots, deletions=earlier)) == (1, 0)


def test_a_gone_vote_with_no_deletion_on_the_timeline_stands() -> None:
    before = state([SUE_NO])
    after = state([], records=before.ballots)
    assert yes_no(after) == (0, 2)
    assert "not on the timeline's last 100 deletions" in after.kept[0]


def test_a_vote_edited_by_someone_else_keeps_the_writers_vote() -> None:
    before = state([MAX_YES, SUE_NO])
    blanked = dataclasses.replace(SUE_NO, body="", editor="gus", last_edited_at=at(6))
    after = state([MAX_YES, blanked], records=before.ballots)
    assert yes_no(after) == (1, 2)
    assert after.kept == ("@sue's vote stands: its comment was edited by @gus",)
    # An edit into another vote is the editor's own act; the writer's vote stands beside it.
    turned = dataclasses.replace(SUE_NO, body="/coi vote yes", editor="mia", last_edited_at=at(6))
    both = state([MAX_YES, turned], records=before.ballots)
    assert yes_no(both) == (2, 2)


def test_a_vote_edited_by_its_voter_changes() -> None:
    before = state([MAX_YES, SUE_NO])
    changed = dataclasses.replace(SUE_NO, body="/coi vote yes", editor="sue", last_edited_at=at(6))
    after = state([MAX_YES, changed], records=before.ballots)
    assert yes_no(after) == (3, 0)
    assert after.kept == ()


def test_a_later_own_vote_replaces_a_kept_one() -> None:
    before = state([SUE_NO])
    gone = CommentDeletion("sue", "gus", at(5))
    later = said("sue", "/coi vote yes", 7)
    after = state([later], records=before.ballots, deletions=(gone,))
    assert yes_no(after) == (2, 0)
    assert after.kept == ()


def test_a_record_too_long_for_github_is_left_out_not_cut() -> None:
    crowd = [said(f"u{i}", f"/coi vote yes {'why ' * 20}", 1 + i / 100) for i in range(200)]
    result = state(crowd)
    assert len(result.ballots) == 200
    output = vote_output(result, vote_map())
    assert output.record == ""
    assert vote_output(state([SUE_NO]), vote_map()).record == ballot_line(state([SUE_NO]).ballots)


def test_a_renamed_voters_kept_ballot_is_their_accounts() -> None:
    document = vote_map().document.model_dump(exclude_none=True)
    document["people"]["sue"]["id"] = 42
    amap = AffiliationMap(MapDocument.model_validate(document)).seen_as({"sue2": 42})
    before = state([SUE_NO]).ballots  # recorded as @sue, account 42
    after = vote_state(
        amap,
        labels=(LABEL,),
        label_changes=[LabelChange(LABEL, "lea", True, OPENED)],
        comments=[],
        files=[],
        proposal=Proposal(),
        declared={},
        now=at(60),
        recorded_ballots=before,
        comment_deletions=(CommentDeletion("sue2", "gus", at(5)),),
    )
    assert yes_no(after) == (0, 2)
    assert after.kept == ("@sue2's vote stands: its comment was deleted by @gus",)
