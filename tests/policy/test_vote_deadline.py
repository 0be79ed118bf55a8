"""The reconciler's estimate of an issue vote's close, from the label's timeline alone."""

from __future__ import annotations

from datetime import timedelta

from bot.policy.facts import LabelChange
from bot.policy.vote_deadline import issue_vote_closes

from .test_vote_state import LABEL, at, labeled
from .test_votes import vote_map


def test_the_last_tsc_addition_opens_and_the_duration_closes() -> None:
    changes = [labeled("lea", 0), labeled("lea", 5, added=False), labeled("sue", 10)]
    assert issue_vote_closes(vote_map(duration="36h"), changes) == at(10) + timedelta(hours=36)


def test_additions_by_people_outside_the_tsc_and_other_labels_open_nothing() -> None:
    changes = [labeled("cal", 0), LabelChange("major", "lea", True, at(1)), labeled("lea", 2)]
    assert issue_vote_closes(vote_map(), changes[:2]) is None
    assert issue_vote_closes(vote_map(), changes) == at(2) + timedelta(days=7)
    ghost = LabelChange(LABEL, None, True, at(3))  # a deleted account
    assert issue_vote_closes(vote_map(), [ghost]) is None


def test_a_path_rule_never_applies_to_an_issue_and_the_label_matches_in_any_case() -> None:
    amap = vote_map(duration="1d", rules=[{"paths": ["OWNERS.md"], "duration": "2d"}])
    changes = [LabelChange(LABEL.upper(), "lea", True, at(0))]
    assert issue_vote_closes(amap, changes) == at(0) + timedelta(days=1)
