"""Labels are judged by who set them (issue 20): alice opened the PR, with core files (major)."""

from __future__ import annotations

import pytest

from bot.policy.authors import collect_authors
from bot.policy.conflicts import Declaration, Parties
from bot.policy.facts import LabelChange
from bot.policy.labels import judge_labels
from bot.policy.verdict import MapRef, evaluate

from .builders import NOW, approve, at, facts, make_map

AMAP = make_map()
REF = MapRef(path=".github/affiliations.yml", blob_sha=None, source="repository")


def added(label: str, by: str | None, days: float = 1) -> LabelChange:
    return LabelChange(label, by, True, at(days))


def removed(label: str, by: str | None, days: float = 2) -> LabelChange:
    return LabelChange(label, by, False, at(days))


@pytest.mark.parametrize(
    ("labels", "changes", "read", "refused"),
    [
        (("trivial",), (added("trivial", "carol"),), ("trivial",), ()),
        (("trivial",), (added("trivial", "alice"),), (), ("@alice is an author",)),
        (("trivial",), (added("trivial", "bob"),), (), ("@bob works for Acme (`acme`)",)),
        (("trivial",), (added("trivial", "dave"),), (), ("@dave is not a TSC member",)),
        (("trivial",), (added("trivial", "mallory"),), (), ("standing conflict with Acme",)),
        (("trivial",), (added("trivial", None),), (), ("a deleted account",)),
        (("trivial",), (), (), ("not on the timeline",)),
        # The last change decides: re-added by the author after an independent member.
        (
            ("Trivial",),
            (
                added("trivial", "carol", 1),
                removed("trivial", "carol", 2),
                added("Trivial", "bob", 3),
            ),
            (),
            ("@bob works for Acme (`acme`)",),
        ),
        # A major label counts whoever added it; removed, it still counts unless removed by an
        # unconflicted TSC member.
        (("major",), (added("major", "dave"),), ("major",), ()),
        ((), (added("major", "carol"), removed("major", "alice")), ("major",), ("@alice is",)),
        ((), (added("major", "carol"), removed("major", "erin")), (), ()),
        (("docs",), (added("docs", "alice"),), ("docs",), ()),
    ],
)
def test_labels_count_by_who_set_them(
    labels: tuple[str, ...],
    changes: tuple[LabelChange, ...],
    read: tuple[str, ...],
    refused: tuple[str, ...],
) -> None:
    pr = facts(labels=labels, label_changes=changes)
    judged = judge_labels(pr, AMAP, Parties(AMAP, collect_authors(pr, AMAP)), declared={})
    assert judged.labels == read
    assert len(judged.refused) == len(refused)
    for act, why in zip(judged.refused, refused, strict=True):
        assert why in act.why


def test_a_declared_conflict_bars_the_label_too() -> None:
    pr = facts(labels=("trivial",), label_changes=(added("trivial", "carol"),))
    declared = {"carol": Declaration("carol", "erin", None, "c1")}
    judged = judge_labels(pr, AMAP, Parties(AMAP, collect_authors(pr, AMAP)), declared=declared)
    assert judged.labels == ()
    assert "declared on this pull request by @erin" in judged.refused[0].why


def test_the_verdict_ignores_the_authors_minor_label_and_lists_it() -> None:
    pr = facts(
        labels=("trivial",), label_changes=(added("trivial", "alice"),), reviews=(approve("bob"),)
    )
    verdict = evaluate(pr, AMAP, now=NOW, map_ref=REF)
    assert verdict.classification.major
    assert verdict.conclusion == "action_required"
    (act,) = verdict.refused_acts
    assert (act.actor, act.act) == ("alice", "added the label `trivial`")
