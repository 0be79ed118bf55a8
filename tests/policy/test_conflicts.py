"""One rule for "conflicts by company": the verdict and the reviewer choice agree on every pair."""

from __future__ import annotations

import pytest

from bot.policy.reviewers import reviewer_candidates
from bot.policy.verdict import MapRef, evaluate

from .builders import NOW, approve, facts, make_map

AMAP = make_map()
REF = MapRef(path=".github/affiliations.yml", blob_sha=None, source="repository")

# (author, approver, conflicted): people of builders.document(); ivan and judy are independent.
PAIRS = [
    ("alice", "bob", True),  # both Acme
    ("alice", "carol", False),  # Acme and Globex
    ("grace", "heidi", True),  # VMware's parent is Broadcom: one side
    ("heidi", "grace", True),
    ("ivan", "judy", False),  # two independent members never conflict by company
    ("ivan", "carol", False),
    ("carol", "ivan", False),
    ("alice", "mallory", True),  # Initech, but a standing conflict with Acme
    ("erin", "mallory", True),  # both Initech
]


@pytest.mark.parametrize(("author", "approver", "conflicted"), PAIRS)
def test_the_verdict_and_the_reviewer_choice_apply_one_rule(
    author: str, approver: str, conflicted: bool
) -> None:
    pr = facts(opener=author, reviews=(approve(approver),))
    (approval,) = evaluate(pr, AMAP, now=NOW, map_ref=REF).approvals
    assert approval.conflicted is conflicted
    assert approval.counted is not conflicted
    # The same pair seen from the request side: is the approver a candidate for this author?
    unreviewed = facts(opener=author)
    verdict = evaluate(unreviewed, AMAP, now=NOW, map_ref=REF)
    candidates = reviewer_candidates(unreviewed, AMAP, verdict, load={}, now=NOW)
    assert (approver in candidates) is not conflicted


@pytest.mark.parametrize(
    ("companies", "others", "shared"),
    [
        (["acme"], ["acme"], ("acme",)),
        (["vmware"], ["broadcom"], ("vmware",)),
        (["independent"], ["independent"], ()),
        (["acme", "independent"], ["acme"], ("acme",)),
        (["globex"], ["acme", "initech"], ()),
        (["unknown-company"], ["acme"], ()),
        ([], ["acme"], ()),
    ],
)
def test_conflicting_companies(
    companies: list[str], others: list[str], shared: tuple[str, ...]
) -> None:
    assert AMAP.conflicting_companies(companies, others) == shared
