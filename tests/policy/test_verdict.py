from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from bot.affiliations.loader import MapError
from bot.policy.facts import ChangedFile, Commit, MapFile, PullRequestFacts
from bot.policy.verdict import OWN_ENTRY, MapRef, Verdict, evaluate, map_failure

from .builders import HEAD, NOW, approve, comment, document, facts, make_map

REPO_MAP = MapRef(path=".github/affiliations.yml", blob_sha="b" * 40, source="repository")
MAP_PATH = ".github/affiliations.yml"


def judge(pr: PullRequestFacts, *, now: datetime = NOW, **policy: Any) -> Verdict:
    return evaluate(pr, make_map(policy=policy), now=now, map_ref=REPO_MAP)


def co_authored(opener: str, *emails: str) -> tuple[Commit, ...]:
    trailers = "\n".join(f"Co-Authored-By: Someone <{e}>" for e in emails)
    return (Commit(sha=HEAD, author_login=opener, message=f"Fix\n\n{trailers}"),)


CASES: list[tuple[str, PullRequestFacts, dict[str, Any], str]] = [
    (
        "acme author, acme approval, major path",
        facts(reviews=(approve("bob"),)),
        {},
        "action_required",
    ),
    ("+ globex tsc approval", facts(reviews=(approve("bob"), approve("carol", 2))), {}, "success"),
    (
        "same on a minor change",
        facts(files=("docs/a.md",), reviews=(approve("bob"),)),
        {},
        "success",
    ),
    (
        "advisory enforcement",
        facts(reviews=(approve("bob"),)),
        {"enforcement": "advisory"},
        "neutral",
    ),
    (
        "non-tsc globex approval is not enough",
        facts(reviews=(approve("bob"), approve("dave", 2))),
        {},
        "action_required",
    ),
    (
        "major label",
        facts(files=("docs/a.md",), labels=("major",), reviews=(approve("bob"),)),
        {},
        "action_required",
    ),
    ("minor label wins", facts(labels=("trivial",), reviews=(approve("bob"),)), {}, "success"),
    (
        "tsc /coi minor wins",
        facts(reviews=(approve("bob"),), comments=(comment("carol", "/coi minor docs only"),)),
        {},
        "success",
    ),
    (
        "non-tsc /coi minor refused",
        facts(reviews=(approve("bob"),), comments=(comment("dave", "/coi minor"),)),
        {},
        "action_required",
    ),
    (
        "reviewer changed company: approved while at globex",
        facts(reviews=(approve("frank", 1),)),
        {},
        "success",
    ),
    (
        "reviewer changed company: latest approval while at acme",
        facts(reviews=(approve("frank", 1), approve("frank-work", 10))),
        {},
        "action_required",
    ),
    (
        "acme co-author on an initech PR",
        facts(
            opener="erin",
            commits=co_authored("erin", "ALICE@acme.example"),
            reviews=(approve("bob"),),
        ),
        {},
        "action_required",
    ),
    (
        "initech PR approved by acme without acme co-author",
        facts(opener="erin", reviews=(approve("bob"),)),
        {},
        "success",
    ),
    (
        "parent company conflict: vmware author, broadcom approver",
        facts(opener="grace", reviews=(approve("heidi"),)),
        {},
        "action_required",
    ),
    (
        "independent members never conflict by company",
        facts(opener="ivan", reviews=(approve("judy"),)),
        {"require": "always"},
        "success",
    ),
    (
        "standing conflict declared in the map",
        facts(reviews=(approve("bob"), approve("mallory", 2))),
        {},
        "action_required",
    ),
    (
        "declared on the PR",
        facts(
            reviews=(approve("bob"), approve("carol", 2)),
            comments=(comment("carol", "/coi declare pair-programmed"),),
        ),
        {},
        "action_required",
    ),
    (
        "declared then withdrawn",
        facts(
            reviews=(approve("bob"), approve("carol", 2)),
            comments=(comment("carol", "/coi declare", 0.5), comment("carol", "/coi withdraw", 3)),
        ),
        {},
        "success",
    ),
    (
        "declaration comment deleted (only the withdrawal is left)",
        facts(
            reviews=(approve("bob"), approve("carol", 2)),
            comments=(comment("carol", "/coi withdraw", 3),),
        ),
        {},
        "success",
    ),
    (
        "declaration inside a quote",
        facts(
            reviews=(approve("bob"), approve("carol", 2)),
            comments=(comment("carol", "> /coi declare"),),
        ),
        {},
        "success",
    ),
    (
        "declaration inside a code block",
        facts(
            reviews=(approve("bob"), approve("carol", 2)),
            comments=(comment("carol", "```\n/coi declare\n```"),),
        ),
        {},
        "success",
    ),
    (
        "dismissed independent approval",
        facts(reviews=(approve("bob"), approve("carol", 2, state="DISMISSED"))),
        {},
        "action_required",
    ),
    (
        "approval then a dismissal",
        facts(
            reviews=(approve("bob"), approve("carol", 2), approve("carol", 3, state="DISMISSED"))
        ),
        {},
        "action_required",
    ),
    (
        "approval followed by changes requested",
        facts(
            reviews=(
                approve("bob"),
                approve("carol", 2),
                approve("carol", 3, state="CHANGES_REQUESTED"),
            )
        ),
        {},
        "action_required",
    ),
    (
        "a later comment does not cancel an approval",
        facts(
            reviews=(approve("bob"), approve("carol", 2), approve("carol", 3, state="COMMENTED"))
        ),
        {},
        "success",
    ),
    (
        "approve again after changes requested",
        facts(
            reviews=(
                approve("bob"),
                approve("carol", 2),
                approve("carol", 3, state="CHANGES_REQUESTED"),
                approve("carol", 4),
            )
        ),
        {},
        "success",
    ),
    (
        "a bot's approval",
        facts(reviews=(approve("renovate[bot]"),)),
        {"require": "always"},
        "action_required",
    ),
    (
        "an app's approval by GraphQL type",
        facts(reviews=(approve("helper", bot=True),)),
        {"require": "always"},
        "action_required",
    ),
    (
        "an author's own approval never counts",
        facts(reviews=(approve("alice"),)),
        {"require": "always"},
        "action_required",
    ),
    (
        "unknown approver, unknown_people: conflicted",
        facts(reviews=(approve("zed"),)),
        {},
        "action_required",
    ),
    (
        # Not conflicted, yet not counted either (not TSC): the change waits on.
        "unknown approver, unknown_people: independent",
        facts(reviews=(approve("zed"),)),
        {"unknown_people": "independent"},
        "in_progress",
    ),
    (
        "unknown approver cannot satisfy require: always",
        facts(reviews=(approve("zed"),)),
        {"unknown_people": "independent", "require": "always"},
        "action_required",
    ),
    ("require: always with no approvals", facts(), {"require": "always"}, "action_required"),
    (
        "require: always on a minor change",
        facts(files=("docs/a.md",)),
        {"require": "always"},
        "success",
    ),
    (
        "require: always with an independent approval",
        facts(reviews=(approve("carol"),)),
        {"require": "always"},
        "success",
    ),
    (
        "stale approval ignored by default",
        facts(reviews=(approve("bob"), approve("carol", 2, sha="o" * 40))),
        {},
        "action_required",
    ),
    (
        "stale approval counted under count",
        facts(reviews=(approve("bob"), approve("carol", 2, sha="o" * 40))),
        {"stale_approvals": "count"},
        "success",
    ),
    (
        "a stale same-company approval still asks for independent review",
        facts(reviews=(approve("bob", sha="o" * 40),)),
        {},
        "action_required",
    ),
    (
        "a stale same-company approval, answered by a fresh independent one",
        facts(reviews=(approve("bob", sha="o" * 40), approve("carol", 2))),
        {},
        "success",
    ),
    ("a major change with no approval waits", facts(), {}, "in_progress"),
    ("a minor change with no approval passes", facts(files=("docs/a.md",)), {}, "success"),
    (
        "a bot's approval does not end the wait",
        facts(reviews=(approve("renovate[bot]"),)),
        {},
        "in_progress",
    ),
    (
        "an app's approval does not end the wait",
        facts(reviews=(approve("helper", bot=True),)),
        {},
        "in_progress",
    ),
    (
        "a stale independent approval does not end the wait",
        facts(reviews=(approve("carol", 2, sha="o" * 40),)),
        {},
        "in_progress",
    ),
    (
        "a stale independent approval counted under count",
        facts(reviews=(approve("carol", 2, sha="o" * 40),)),
        {"stale_approvals": "count"},
        "success",
    ),
    (
        "a non-TSC approval does not end the wait",
        facts(reviews=(approve("dave", 2),)),
        {},
        "in_progress",
    ),
    ("an independent approval ends the wait", facts(reviews=(approve("carol", 2),)), {}, "success"),
    ("a draft waits too", replace(facts(), draft=True), {}, "in_progress"),
    ("advisory enforcement never waits", facts(), {"enforcement": "advisory"}, "success"),
    (
        "no independent approval required: nothing to wait for",
        facts(),
        {"independent_approvals": 0},
        "success",
    ),
    (
        "/coi major on a minor change waits",
        facts(files=("docs/a.md",), comments=(comment("carol", "/coi major"),)),
        {},
        "in_progress",
    ),
    (
        "tsc /coi minor on a major change passes",
        facts(comments=(comment("carol", "/coi minor docs only"),)),
        {},
        "success",
    ),
    (
        "two independent approvals required",
        facts(reviews=(approve("bob"), approve("carol", 2))),
        {"independent_approvals": 2},
        "action_required",
    ),
]


@pytest.mark.parametrize(
    ("pr", "policy", "conclusion"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_judgement_table(pr: PullRequestFacts, policy: dict[str, Any], conclusion: str) -> None:
    verdict = judge(pr, **policy)
    assert verdict.conclusion == conclusion, verdict.reasons
    blocked = conclusion in ("action_required", "neutral")
    assert verdict.needs_independent_review is blocked
    assert (verdict.missing > 0) is blocked
    assert verdict.waiting is (conclusion == "in_progress"), "nobody is asked while it waits"


def _approval(verdict: Verdict, reviewer: str) -> Any:
    (found,) = [a for a in verdict.approvals if a.reviewer == reviewer]
    return found


def test_approvals_say_why_they_do_not_count() -> None:
    verdict = judge(
        facts(
            reviews=(
                approve("bob"),
                approve("renovate[bot]"),
                approve("dave"),
                approve("carol", 2),
                approve("carol", 3, state="CHANGES_REQUESTED"),
                approve("alice"),
                approve("zed"),
            )
        )
    )
    assert _approval(verdict, "bob").why_not == "same company as the authors, Acme (`acme`)"
    assert _approval(verdict, "bob").companies == ("acme",)
    assert "bot" in _approval(verdict, "renovate[bot]").why_not
    assert _approval(verdict, "dave").why_not == "not a TSC member"
    assert _approval(verdict, "carol").why_not == "changes requested afterwards"
    assert _approval(verdict, "alice").why_not == "the pull request's opener"
    assert "not in the affiliation map" in _approval(verdict, "zed").why_not
    assert verdict.independent_count == 0
    assert "@bob" in verdict.reasons[0]


def test_company_at_the_time_of_each_approval() -> None:
    early = judge(facts(reviews=(approve("frank", 1),)))
    late = judge(facts(reviews=(approve("frank-work", 10),)))
    assert _approval(early, "frank").companies == ("globex",)
    assert _approval(early, "frank").counted
    assert _approval(late, "frank").companies == ("acme",)
    assert _approval(late, "frank").conflicted


def test_authors_from_opener_commits_emails_and_trailers() -> None:
    commits = (
        Commit(sha="1", author_email="erin@initech.example"),
        Commit(sha="2", author_email="12345+Ghosty@users.noreply.github.com"),
        Commit(
            sha="3",
            author_email="who@else.example",
            message="x\n\nco-authored-by: Pat Doe <pat@else.example>\n"
            "Co-authored-by: Alice <alice@acme.example>",
        ),
        Commit(sha="4"),
    )
    verdict = judge(facts(opener="carol", commits=commits))
    by_key = {a.key: a for a in verdict.authors}
    assert set(by_key) == {
        "carol",
        "erin",
        "ghosty",
        "email:who@else.example",
        "email:pat@else.example",
        "alice",
    }
    assert by_key["alice"].roles == ("co-author",)
    assert by_key["carol"].roles == ("opener",)
    assert by_key["email:pat@else.example"].display == "Pat Doe <pat@else.example>"
    assert not by_key["ghosty"].known
    assert verdict.author_companies == ("acme", "globex", "initech")


def test_ghost_reviews_and_pending_reviews_are_not_approvals() -> None:
    ghost = replace(approve("x"), author=None)
    verdict = judge(facts(reviews=(ghost, approve("carol", state="PENDING"))), require="always")
    assert verdict.approvals == ()


def _map_pr(
    text: str | None, *, reviewers: tuple[str, ...], opener: str = "erin"
) -> PullRequestFacts:
    head = None if text is None else MapFile(path=MAP_PATH, text=text)
    return facts(
        opener=opener,
        files=(MAP_PATH,),
        head_map=head,
        reviews=tuple(approve(r, i + 1) for i, r in enumerate(reviewers)),
    )


def _changed_map(**people_changes: dict[str, Any]) -> str:
    doc = document()
    for login, change in people_changes.items():
        doc["people"][login] = {**doc["people"][login], **change}
    return json.dumps(doc)  # JSON is YAML


@pytest.mark.parametrize(
    ("text", "reviewers", "conclusion", "approving"),
    [
        (_changed_map(), ("carol", "oscar"), "action_required", ("globex",)),
        (_changed_map(), ("carol", "oscar", "bob"), "success", ("acme", "globex")),
        (_changed_map(), ("carol", "grace", "heidi"), "success", ("broadcom", "globex")),
        (_changed_map(), ("carol", "dave"), "action_required", ("globex",)),
        (_changed_map(), ("ivan", "judy"), "action_required", ("independent",)),
        (
            _changed_map(carol={"emails": ["c@globex.example"]}),
            ("carol", "bob"),
            "action_required",
            ("acme",),
        ),
        (
            _changed_map(carol={"emails": ["c@globex.example"]}),
            ("oscar", "bob"),
            "success",
            ("acme", "globex"),
        ),
        (None, ("carol", "bob"), "success", ("acme", "globex")),
    ],
    ids=[
        "two of one company",
        "two companies",
        "parent group counts once",
        "non-tsc",
        "independents are one side",
        "own entry",
        "someone else's entry",
        "map deleted",
    ],
)
def test_protected_map_change(
    text: str | None, reviewers: tuple[str, ...], conclusion: str, approving: tuple[str, ...]
) -> None:
    verdict = judge(_map_pr(text, reviewers=reviewers))
    assert verdict.conclusion == conclusion, verdict.reasons
    assert verdict.protected is not None
    assert verdict.protected.files == (MAP_PATH,)
    assert verdict.protected.approving_companies == approving


def test_own_entry_approval_is_named() -> None:
    verdict = judge(_map_pr(_changed_map(carol={"role": "leader"}), reviewers=("carol", "bob")))
    assert verdict.protected is not None
    assert verdict.protected.own_entry_changed == ("carol",)
    assert _approval(verdict, "carol").why_not == OWN_ENTRY
    assert not verdict.protected.satisfied


@pytest.mark.parametrize("source", ["repository", "owner", "bundled"])
def test_the_map_path_is_protected_whatever_map_is_in_force(source: str) -> None:
    # A repository map added under an owner's or the bundled map would govern later verdicts.
    pr = _map_pr(_changed_map(), reviewers=("bob",))
    in_force = MapRef(path="config/affiliations.yml", blob_sha=None, source=source)  # type: ignore[arg-type]
    amap = make_map(policy={"protected_files": ["GOVERNANCE.md"]})
    verdict = evaluate(pr, amap, now=NOW, map_ref=in_force, map_path=MAP_PATH)
    assert verdict.protected is not None
    assert verdict.protected.files == (MAP_PATH,)
    assert verdict.conclusion == "action_required"


def test_a_custom_map_path_is_protected() -> None:
    pr = facts(files=("governance/coi.yml",), reviews=(approve("bob"),))
    amap = make_map(policy={"protected_files": []})
    bundled = MapRef(path="config/affiliations.yml", blob_sha=None, source="bundled")
    verdict = evaluate(pr, amap, now=NOW, map_ref=bundled, map_path="governance/coi.yml")
    assert verdict.protected is not None
    assert verdict.protected.files == ("governance/coi.yml",)


def _changed_company(**company_changes: dict[str, Any]) -> str:
    doc = document()
    for company, change in company_changes.items():
        doc["companies"][company] = {**doc["companies"].get(company, {}), **change}
    return json.dumps(doc)


@pytest.mark.parametrize(
    ("text", "own"),
    [
        (_changed_company(acme={"independent": True}), ("bob",)),
        (_changed_company(globex={"parent": "broadcom"}), ("carol", "heidi")),
        (_changed_company(broadcom={"aliases": ["Avago"]}), ("heidi",)),
        (_changed_company(initech={"name": "Initech Inc."}), ()),
    ],
    ids=["independent on their company", "a parent for it", "their parent", "another company"],
)
def test_a_change_to_a_company_is_a_change_to_its_members_entries(
    text: str, own: tuple[str, ...]
) -> None:
    verdict = judge(_map_pr(text, reviewers=("bob", "carol", "heidi")))
    assert verdict.protected is not None
    assert verdict.protected.own_entry_changed == own


def test_the_authors_company_made_independent_needs_two_other_companies() -> None:
    # Anna (bob here) plus one outside company used to pass; afterwards every Acme approval counts.
    verdict = judge(
        _map_pr(_changed_company(acme={"independent": True}), reviewers=("bob", "carol"))
    )
    assert verdict.conclusion == "action_required"
    assert _approval(verdict, "bob").why_not == OWN_ENTRY


@pytest.mark.parametrize(
    ("first_id", "second_id", "cancelled"),
    [(1, 2, False), (2, 1, True)],
    ids=["approved last", "changes requested last"],
)
def test_reviews_in_one_second_follow_github_order(
    first_id: int, second_id: int, cancelled: bool
) -> None:
    # Node ids sort the other way round on purpose: only databaseId tells which came last.
    changes = replace(approve("carol", state="CHANGES_REQUESTED", rid="zzz"), database_id=first_id)
    approval = replace(approve("carol", rid="aaa"), database_id=second_id)
    verdict = judge(facts(reviews=(approve("bob"), approval, changes)))
    assert verdict.conclusion == ("action_required" if cancelled else "success")
    assert (_approval(verdict, "carol").why_not is not None) is cancelled


def test_an_invalid_head_map_fails_with_its_errors() -> None:
    text = '{"version": 1,\n "companies": {"acme": {"name": "Acme"}},\n "poeple": {}}'
    verdict = judge(_map_pr(text, reviewers=("carol", "bob")))
    assert verdict.conclusion == "failure"
    assert verdict.head_map_errors
    assert all(e.path == MAP_PATH for e in verdict.head_map_errors)
    assert any(e.line == 3 for e in verdict.head_map_errors)
    assert "error" in verdict.reasons[0]


def test_map_failure() -> None:
    errors = [MapError(path=MAP_PATH, line=4, column=7, message="unknown company 'acm'")]
    verdict = map_failure(facts(), errors, map_ref=REPO_MAP, now=NOW)
    assert verdict.conclusion == "failure"
    assert verdict.map_errors == tuple(errors)
    assert not verdict.needs_independent_review
    with pytest.raises(ValueError, match="needs the map's errors"):
        map_failure(facts(), [], map_ref=REPO_MAP, now=NOW)


@pytest.mark.parametrize("bad", ["naive now", "naive review", "bad source"])
def test_bad_inputs_are_refused_clearly(bad: str) -> None:
    if bad == "naive now":
        with pytest.raises(ValueError, match="timezone-aware"):
            judge(facts(), now=NOW.replace(tzinfo=None))
    elif bad == "naive review":
        review = replace(approve("bob"), submitted_at=NOW.replace(tzinfo=None))
        with pytest.raises(ValueError, match="timezone-aware"):
            judge(facts(reviews=(review,)))
    else:
        with pytest.raises(ValueError, match="map source"):
            MapRef(path="x", blob_sha=None, source="elsewhere")  # type: ignore[arg-type]


def test_renamed_file_out_of_a_protected_path() -> None:
    pr = replace(
        facts(opener="erin"), files=(ChangedFile("docs/gov.md", previous_path="GOVERNANCE.md"),)
    )
    verdict = judge(pr)
    assert verdict.protected is not None
    assert verdict.protected.files == ("GOVERNANCE.md → docs/gov.md",)
    assert verdict.conclusion == "action_required"
    assert any("GOVERNANCE.md → docs/gov.md" in reason for reason in verdict.reasons)
    moved = replace(pr, files=(ChangedFile("attic/engine.py", previous_path="core/engine.py"),))
    classification = judge(moved).classification
    assert classification.major
    assert classification.matched_files == ("core/engine.py → attic/engine.py",)
    assert classification.reasons[0] == (
        "path rule `core/**` matches 1 file: `core/engine.py → attic/engine.py`"
    )


def test_a_drive_by_approval_is_excluded_not_conflicted() -> None:
    # An outsider, not in the map and without push access, cannot make a passing PR ask anyone.
    drive_by = replace(approve("stranger"), author_can_push=False)
    verdict = judge(facts(reviews=(drive_by,)))
    assert verdict.conclusion == "in_progress", "nor does it end the wait for a first approval"
    assert not verdict.needs_independent_review
    approval = _approval(verdict, "stranger")
    assert approval.excluded
    assert not approval.conflicted
    assert approval.why_not == "no write access to the repository"


def test_unknown_people_with_push_access_stay_conflicted() -> None:
    with_access = replace(approve("stranger"), author_can_push=True)
    verdict = judge(facts(reviews=(with_access,)))
    assert verdict.conclusion == "action_required"
    assert _approval(verdict, "stranger").conflicted


def test_an_approval_without_push_access_never_counts_as_independent() -> None:
    # A TSC member of Globex who cannot push: GitHub does not count the approval, nor do we.
    no_push = replace(approve("carol", 2), author_can_push=False)
    verdict = judge(facts(reviews=(approve("bob"), no_push)))
    assert verdict.conclusion == "action_required"
    carol = _approval(verdict, "carol")
    assert not carol.counted
    assert carol.why_not == "no write access to the repository"
    assert carol.protected_company is None


def test_a_same_company_approval_without_push_access_still_asks() -> None:
    verdict = judge(facts(reviews=(replace(approve("bob"), author_can_push=False),)))
    assert verdict.conclusion == "action_required"
    assert _approval(verdict, "bob").conflicted


def test_an_author_other_than_the_opener_who_approves_is_conflicted() -> None:
    # Erin (Initech) opens; Alice (Acme) is named as a co-author and approves: GitHub counts her
    # approval, so the check must ask for independent review.
    verdict = judge(
        facts(
            opener="erin",
            commits=co_authored("erin", "alice@acme.example"),
            reviews=(approve("alice"),),
        )
    )
    assert verdict.conclusion == "action_required"
    alice = _approval(verdict, "alice")
    assert alice.conflicted
    assert alice.why_not == "an author of this pull request"


@pytest.mark.parametrize(
    ("committer_login", "committer_email", "authors"),
    [
        ("bob", None, ("@bob", "@erin")),  # bob rebased erin's commit
        (None, "alice@acme.example", ("@alice", "@erin")),  # known only by email
        ("web-flow", "noreply@github.com", ("@erin",)),  # GitHub's own commits
        ("erin", None, ("@erin",)),  # the author committed
    ],
)
def test_committers_are_authors_unless_github_committed(
    committer_login: str | None, committer_email: str | None, authors: tuple[str, ...]
) -> None:
    commit = Commit(
        sha=HEAD,
        author_login="erin",
        committer_login=committer_login,
        committer_email=committer_email,
    )
    verdict = judge(facts(opener="erin", commits=(commit,), reviews=(approve("carol", 2),)))
    assert tuple(a.display for a in verdict.authors) == authors
    committers = [a for a in verdict.authors if "committer" in a.roles]
    assert len(committers) == len(authors) - 1


def test_a_committers_company_is_an_authors_company() -> None:
    commit = Commit(sha=HEAD, author_login="erin", committer_login="bob")
    verdict = judge(facts(opener="erin", commits=(commit,), reviews=(approve("alice"),)))
    assert "acme" in verdict.author_companies
    assert verdict.conclusion == "action_required"


def test_a_stale_approval_is_shown_with_its_age_and_lends_nothing() -> None:
    old = "0" * 40
    commits = (
        Commit(sha=old, author_login="alice"),
        Commit(sha="1" * 40, author_login="alice"),
        Commit(sha=HEAD, author_login="alice"),
    )
    pr = facts(commits=commits, reviews=(approve("bob"), approve("carol", 2, sha=old)))
    carol = _approval(judge(pr), "carol")
    assert carol.stale == "approved 0000000, 2 commits ago"
    assert not carol.counted
    assert not carol.conflicted
    assert carol.lapsed
    assert carol.protected_company is None
    assert "older head" in (carol.why_not or "")
    counted = _approval(judge(pr, stale_approvals="count"), "carol")
    assert counted.counted
    assert counted.stale == carol.stale
    assert not counted.lapsed
    gone = _approval(judge(facts(reviews=(approve("carol", sha=old),))), "carol")
    assert gone.stale == "approved 0000000, a commit no longer on this pull request's branch"
    fresh = _approval(judge(pr), "bob")
    assert fresh.stale is None
    assert not fresh.lapsed


@pytest.mark.parametrize(
    ("reviews", "files", "conclusion"),
    [
        ((), ("core/engine.py",), "action_required"),
        ((approve("carol"),), ("core/engine.py",), "success"),  # independent of the known ones
        ((approve("bob"),), ("core/engine.py",), "action_required"),
        ((), ("docs/a.md",), "success"),  # not major: nothing to ask
    ],
)
def test_hidden_commit_authors_require_independent_approval(
    reviews: tuple[Any, ...], files: tuple[str, ...], conclusion: str
) -> None:
    pr = facts(reviews=reviews, files=files, commits_truncated=True, commits_total=312)
    verdict = judge(pr)
    assert verdict.conclusion == conclusion, verdict.reasons
    hidden = (
        "only 1 of 312 commits could be read: the authors of the others are unknown, "
        "so independent approval is required"
    )
    assert (hidden in verdict.reasons) is (files == ("core/engine.py",))
    if not reviews and conclusion == "action_required":
        assert verdict.reasons[-1] == (
            "a major change needs 1 approval(s) from TSC members outside the known authors' "
            "companies; 0 of 1 so far"
        )
    # Read in full, the same PR needs no independent approval without a same-company one; with
    # no approval at all, a major change waits for the first.
    unread = "in_progress" if not reviews and files == ("core/engine.py",) else "success"
    assert judge(facts(reviews=reviews, files=files)).conclusion == (
        "action_required" if reviews == (approve("bob"),) else unread
    )


def test_errors_and_unmet_protected_files_come_before_the_wait() -> None:
    # A major change with no approval that also carries a broken map, or protected files.
    broken = facts(
        opener="erin",
        files=(MAP_PATH, "core/engine.py"),
        head_map=MapFile(path=MAP_PATH, text="version: 1\npeople: ["),
    )
    assert judge(broken).conclusion == "failure"
    protected = facts(opener="erin", files=("GOVERNANCE.md", "core/engine.py"))
    verdict = judge(protected)
    assert verdict.conclusion == "action_required"
    assert not verdict.waiting
    # Advisory enforcement shows unmet protected files as neutral, and never waits.
    assert judge(protected, enforcement="advisory").conclusion == "neutral"
    assert judge(facts(), enforcement="advisory").conclusion == "success"
