"""One rule for "conflicts by company": the verdict and the reviewer choice agree on every pair."""

from __future__ import annotations

import pytest

from bot.affiliations.evidence import Evidence
from bot.policy.authors import collect_authors
from bot.policy.conflicts import Declaration, Parties, conflict_on_pr
from bot.policy.facts import Commit
from bot.policy.reviewers import reviewer_candidates
from bot.policy.verdict import MapRef, evaluate

from .builders import HEAD, NOW, approve, at, facts, make_map

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


# --- the one rule: conflict_on_pr --------------------------------------------------------------

_ALICE_TRAILER = "Fix\n\nCo-authored-by: Alice A <alice@acme.example>"
_DECLARED = {"carol": Declaration("carol", "erin", "reviews for Acme", "c1")}


@pytest.mark.parametrize(
    ("opener", "commits", "login", "day", "declared", "kind", "sentence"),
    [
        ("alice", (), "alice", 1, {}, "author", "@alice is an author"),
        ("alice", (), "ALICE", 1, {}, "author", "@alice is an author"),
        ("carol", (Commit(HEAD, author_login="frank-work"),), "frank", 1, {}, "author", None),
        ("carol", (Commit(HEAD, message=_ALICE_TRAILER),), "alice", 1, {}, "author", None),
        ("alice", (), "bob", 1, {}, "company", "@bob works for Acme (`acme`), like the author"),
        # frank moved from Globex to Acme on 2026-03-05: judged at the day of the act.
        ("alice", (), "frank", 1, {}, None, None),
        (
            "alice",
            (),
            "frank-work",
            10,
            {},
            "company",
            "@frank works for Acme (`acme`), like the author",
        ),
        (
            "heidi",
            (),
            "grace",
            1,
            {},
            "company",
            "@grace works for VMware (`vmware`), like the author",
        ),
        ("ivan", (), "judy", 1, {}, None, None),
        ("alice", (), "mallory", 1, {}, "standing", "standing conflict with Acme"),
        ("alice", (), "carol", 1, _DECLARED, "declared", "declared on this pull request by @erin"),
        ("alice", (), "carol", 1, {}, None, None),
        ("alice", (), "ivan", 1, _DECLARED, None, None),
        ("alice", (), "stranger", 1, {}, "unknown", "not in the affiliation map"),
        (
            "alice",
            (Commit(HEAD, author_login="alice"), Commit("c" * 40, author_login="erin")),
            "bob",
            1,
            {},
            "company",
            "@bob works for Acme (`acme`), like an author",
        ),
    ],
)
def test_who_is_conflicted_on_a_pull_request(
    opener: str,
    commits: tuple[Commit, ...],
    login: str,
    day: float,
    declared: dict[str, Declaration],
    kind: str | None,
    sentence: str | None,
) -> None:
    pr = facts(opener=opener, commits=commits)
    parties = Parties(AMAP, collect_authors(pr, AMAP))
    found = conflict_on_pr(parties, login, day=at(day).date(), declared=declared)
    if kind is None:
        assert found is None
        return
    assert found is not None
    assert found.kind == kind
    if sentence is not None:
        assert sentence in found.sentence


def test_unknown_people_can_be_independent_by_policy() -> None:
    amap = make_map(policy={"unknown_people": "independent"})
    pr = facts(opener="alice")
    parties = Parties(amap, collect_authors(pr, amap))
    assert conflict_on_pr(parties, "stranger", day=at(1).date(), declared={}) is None


@pytest.mark.parametrize(
    ("seen", "login", "conflicted"),
    [
        (Evidence("carol", "profile_company", "ACME Corp", "profile"), "carol", True),
        (Evidence("carol", "org_member", "globex", "profile"), "carol", False),
        # An author seen at the reviewer's company: the same side, seen from the other end.
        (Evidence("alice", "profile_company", "Globex", "profile"), "carol", True),
    ],
)
def test_evidence_counts_only_under_block(seen: Evidence, login: str, conflicted: bool) -> None:
    pr = facts(opener="alice")
    authors = collect_authors(pr, AMAP)
    blocking = Parties(AMAP, authors, blocking_evidence=(seen,))
    found = conflict_on_pr(blocking, login, day=at(1).date(), declared={})
    assert (found is not None and found.kind == "evidence") is conflicted
    if found is not None:
        assert found.sentence.startswith(f"@{login}: GitHub shows")
    warned = Parties(AMAP, authors)  # what `warn` and `ignore` build: no blocking evidence
    assert conflict_on_pr(warned, login, day=at(1).date(), declared={}) is None
