"""Every vote a thread held, read back from the App's own comments (what `report` lists)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from bot.policy.facts import Comment
from bot.policy.vote_records import HeldVote, held_votes, records_of_another
from tests.policy.builders import at, comment

OPENED = at(0).strftime("%Y-%m-%dT%H:%M:%SZ")
LATER = at(10).strftime("%Y-%m-%dT%H:%M:%SZ")
ROW = "| @anna | maintainer | 1 | Acme | yes (counted as abstain) | 0 | conflicted (Acme) |"


def app(body: str, days: float) -> Comment:
    return dataclasses.replace(comment("coi-bot[bot]", body, days, bot=True), by_viewer=True)


def opened(stamp: str, days: float) -> Comment:
    return app(f"<!-- coi-bot:vote-opened {stamp} blob=- source=bundled -->\n@gus opened", days)


def final(stamp: str, conclusion: str, title: str, days: float) -> Comment:
    return app(
        f"<!-- coi-bot:vote-final {stamp} {conclusion} -->\n### {title}\n\nrule\n\n{ROW}\n", days
    )


def test_a_vote_closed_by_its_final_comment_passed_or_failed_with_its_abstentions() -> None:
    (vote,) = held_votes([opened(OPENED, 0), final(OPENED, "success", "Vote passed: yes 3", 7)])
    assert vote == HeldVote(
        at(0), "passed", "Vote passed: yes 3", at(7), (("anna", "conflicted (Acme)"),)
    )
    (vote,) = held_votes([final(OPENED, "failure", "Vote failed: yes 0", 7)])
    assert (vote.outcome, vote.opened_at) == ("failed", at(0))


def test_a_cancelled_vote_and_a_new_one_still_open_with_its_live_tally() -> None:
    cancel = app(f"<!-- coi-bot:vote-cancelled {OPENED} -->\n@ivan removed `TSC:voting`: x", 2)
    comments = [opened(OPENED, 0), cancel, opened(LATER, 10)]
    live = ("Vote open: yes 1, no 0, abstain 0; closes soon", f"rule\n\n{ROW}\n")
    first, second = held_votes(comments, live=live)
    assert first == HeldVote(at(0), "cancelled", "Vote cancelled by @ivan", at(2))
    assert second == HeldVote(at(10), "open", live[0], None, (("anna", "conflicted (Acme)"),))
    # Without a live tally, an open vote is shown as open all the same.
    assert held_votes(comments)[1] == HeldVote(at(10), "open", "Vote open")


def test_an_issues_live_comment_gives_the_open_votes_tally() -> None:
    live = app(f"<!-- coi-bot:vote-live -->\n### Vote open: yes 2\n\nrule\n\n{ROW}\n", 1)
    (vote,) = held_votes([opened(OPENED, 0), live])
    assert (vote.title, vote.abstentions) == ("Vote open: yes 2", (("anna", "conflicted (Acme)"),))
    # A live comment left by a vote that closed since says nothing about it.
    closed = final(OPENED, "success", "Vote passed: yes 3", 7)
    (vote,) = held_votes([opened(OPENED, 0), live, closed])
    assert vote.title == "Vote passed: yes 3"


def test_only_the_apps_own_comments_with_its_stamps_count() -> None:
    forged = comment("mallory", f"<!-- coi-bot:vote-final {OPENED} success -->\n### Vote passed")
    bad_stamp = final("yesterday", "success", "Vote passed", 1)
    assert held_votes([forged, bad_stamp, opened("soon", 0)]) == ()


def test_a_vote_is_in_the_period_when_it_opened_or_closed_in_it() -> None:
    vote = HeldVote(at(0), "passed", "Vote passed", at(7))
    assert vote.in_period(at(-1), at(1))
    assert vote.in_period(at(6), at(8))
    assert not vote.in_period(at(1), at(7))  # the end is exclusive
    assert not vote.in_period(at(8), at(9))
    still_open = HeldVote(at(0), "open", "Vote open")
    assert not still_open.in_period(at(1), at(1) + timedelta(days=30))


def test_vote_records_by_another_bot_are_noticed_and_people_quoting_them_are_not() -> None:
    record = f"<!-- coi-bot:vote-final {OPENED} success -->\n### Vote passed"
    assert records_of_another([comment("forger[bot]", record, bot=True)])
    assert not records_of_another([comment("mallory", record)]), "a person's comment: no record"
    assert not records_of_another([app(record, 1)]), "the App's own"
    assert not records_of_another([comment("other[bot]", "hello", bot=True)])


def edited(record: Comment, editor: str | None, days: float) -> Comment:
    return dataclasses.replace(record, editor=editor, last_edited_at=at(days))


def test_a_record_someone_else_edited_is_not_the_apps() -> None:
    forged = edited(final(OPENED, "success", "Vote passed: yes 9", 7), "anna", 8)
    (vote,) = held_votes([opened(OPENED, 0), forged])
    assert (vote.outcome, vote.title) == ("open", "Vote open")
    # An editor GitHub no longer shows (a deleted account) may be anyone.
    (vote,) = held_votes([opened(OPENED, 0), edited(forged, None, 8)])
    assert vote.outcome == "open"
    # The App editing its own comment (the issue's live tally) keeps it the App's.
    live = app(f"<!-- coi-bot:vote-live -->\n### Vote open: yes 2\n\nrule\n\n{ROW}\n", 1)
    (vote,) = held_votes([opened(OPENED, 0), edited(live, "coi-bot[bot]", 2)])
    assert vote.title == "Vote open: yes 2"
    (vote,) = held_votes([opened(OPENED, 0), edited(live, "gus", 2)])
    assert vote.title == "Vote open"
