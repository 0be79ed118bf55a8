"""What the reconciler remembers of open issue votes: queued once open, once past the close."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.jobs import vote_timers
from bot.jobs.vote_timers import OpenVotes
from bot.pr import IssueRef

CLOSES = datetime(2026, 5, 8, 12, 0, tzinfo=UTC)
ISSUE = IssueRef(1, "acme", "widgets", 7)


def test_an_issue_vote_is_queued_when_first_seen_and_once_past_its_close() -> None:
    votes = OpenVotes()
    before, after = CLOSES - timedelta(hours=1), CLOSES + timedelta(seconds=1)
    assert votes.issue_due(ISSUE, CLOSES, now=before)  # its timer armed again
    assert not votes.issue_due(ISSUE, CLOSES, now=before)
    assert not votes.due_in((1, "acme", "widgets"), now=before)
    assert votes.due_in((1, "acme", "widgets"), now=after), "a quiet repository is listed"
    assert votes.issue_due(ISSUE, CLOSES, now=after)
    # The label stays on after the close: the same vote is never queued again, nor its repository.
    assert not votes.issue_due(ISSUE, CLOSES, now=after + timedelta(days=1))
    assert not votes.due_in((1, "acme", "widgets"), now=after)


def test_a_new_vote_on_the_same_issue_is_queued_again_and_a_lost_label_forgotten() -> None:
    votes = OpenVotes()
    assert votes.issue_due(ISSUE, CLOSES, now=CLOSES)
    later = CLOSES + timedelta(days=7)
    assert votes.issue_due(ISSUE, later, now=CLOSES)  # the label went on again: a new vote
    assert not votes.issue_due(ISSUE, None, now=CLOSES)
    assert not votes.due_in((1, "acme", "widgets"), now=later)
    assert votes.issue_due(ISSUE, later, now=CLOSES), "seen again after it was forgotten"


def test_closed_issue_votes_are_remembered_within_a_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(vote_timers, "CLOSED_ISSUE_VOTES_KEPT", 2)
    votes = OpenVotes()
    for number in (1, 2, 3):
        assert votes.issue_due(IssueRef(1, "acme", "widgets", number), CLOSES, now=CLOSES)
    assert votes.issue_due(IssueRef(1, "acme", "widgets", 1), CLOSES, now=CLOSES), "forgotten"
    assert not votes.issue_due(IssueRef(1, "acme", "widgets", 3), CLOSES, now=CLOSES)
