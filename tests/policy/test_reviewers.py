from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bot.affiliations.index import AffiliationMap
from bot.affiliations.model import MapDocument
from bot.intents import CommentEdit
from bot.policy.commands import CommandOutcome
from bot.policy.facts import Profile, PullRequestFacts, ReviewRequestRemoval
from bot.policy.render import render
from bot.policy.reviewers import (
    ReviewPlan,
    plan_review_request,
    reviewer_candidates,
    surplus_requests,
)
from bot.policy.verdict import MapRef, Verdict, evaluate

from .builders import NOW, approve, at, comment, document, facts, make_map

AMAP = make_map()
REF = MapRef(path=".github/affiliations.yml", blob_sha=None, source="repository")


def _plan(
    pr: PullRequestFacts, verdict: Verdict, *, count: int = 1, amap: AffiliationMap | None = None
) -> ReviewPlan:
    """The plan once the candidates' load is read (none of them has any)."""
    amap = amap or make_map(policy={"request_reviewers": count})
    return plan_review_request(pr, amap, verdict, now=NOW, load={})


def _chosen(pr: PullRequestFacts, verdict: Verdict, *, count: int = 1) -> list[str]:
    return list(_plan(pr, verdict, count=count).ask)


def _candidates(
    pr: PullRequestFacts, *, load: dict[str, int] | None = None, amap: AffiliationMap = AMAP
) -> tuple[list[str], Verdict]:
    verdict = evaluate(pr, amap, now=NOW, map_ref=REF)
    return reviewer_candidates(pr, amap, verdict, load=load or {}, now=NOW), verdict


def test_candidates_exclude_authors_conflicts_away_and_approvers() -> None:
    pr = facts(
        reviews=(approve("bob"), approve("grace", 2)), comments=(comment("erin", "/coi declare"),)
    )
    candidates, verdict = _candidates(pr)
    assert not verdict.needs_independent_review  # grace's approval is independent
    # Out: alice, bob, frank (Acme, the authors'), dave (not TSC), erin (declared), grace
    # (approved already), mallory (standing conflict with Acme), oscar (away).
    assert set(candidates) == {"carol", "heidi", "ivan", "judy"}
    assert candidates[-1] == "heidi"  # Broadcom's group is represented by grace (VMware)


def test_conflicted_approvers_companies_are_avoided() -> None:
    pr = facts(
        opener="erin",
        commits=(),
        reviews=(approve("heidi"),),
        comments=(comment("carol", "/coi declare @heidi"),),
    )
    candidates, verdict = _candidates(pr)
    assert verdict.needs_independent_review
    assert "grace" not in candidates  # VMware sits under Broadcom, heidi's company
    assert "erin" not in candidates
    assert "mallory" not in candidates  # initech: the author's company


def test_order_new_companies_then_load_then_stable_hash() -> None:
    pr = facts(reviews=(approve("bob"), approve("dave", 2)))  # dave: globex, not TSC
    candidates, _ = _candidates(pr, load={"ivan": 3, "judy": 1})
    # globex is represented by dave's approval: carol comes last.
    assert candidates[-1] == "carol"
    assert candidates.index("judy") < candidates.index("ivan")
    tie, _ = _candidates(pr)
    again, _ = _candidates(replace(pr, reviews=tuple(reversed(pr.reviews))))
    assert tie == again
    other_pr, _ = _candidates(replace(pr, node_id="PR_other"))
    assert set(other_pr) == set(tie)


@pytest.mark.parametrize(
    ("requested", "count", "expected_len"),
    [((), 1, 1), ((), 2, 2), ((), 0, 0), (("carol",), 1, 0), (("oscar",), 1, 1), (("bob",), 1, 1)],
)
def test_choose_reviewers(requested: tuple[str, ...], count: int, expected_len: int) -> None:
    pr = replace(facts(reviews=(approve("bob"),)), requested_reviewers=requested)
    verdict = evaluate(pr, AMAP, now=NOW, map_ref=REF)
    chosen = _chosen(pr, verdict, count=count)
    assert len(chosen) == expected_len
    assert not set(chosen) & {"alice", "bob", "oscar"}


def test_nobody_is_requested_when_no_review_is_needed() -> None:
    pr = facts(files=("docs/a.md",), reviews=(approve("bob"),))
    verdict = evaluate(pr, AMAP, now=NOW, map_ref=REF)
    assert _chosen(pr, verdict) == []


def test_a_protected_change_short_of_companies_asks_for_reviewers() -> None:
    pr = facts(opener="erin", files=("GOVERNANCE.md",), reviews=(approve("carol"),))
    verdict = evaluate(pr, AMAP, now=NOW, map_ref=REF)
    assert not verdict.needs_independent_review
    chosen = _chosen(pr, verdict)
    assert chosen
    assert chosen[0] not in {"carol", "oscar", "erin", "dave"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"load": {"ivan": -1}}, "load"),
        ({"now": NOW.replace(tzinfo=None)}, "timezone"),
    ],
)
def test_bad_inputs(kwargs: dict[str, object], message: str) -> None:
    pr = facts(reviews=(approve("bob"),))
    verdict = evaluate(pr, AMAP, now=NOW, map_ref=REF)
    arguments: dict[str, object] = {"load": {}, "now": NOW, **kwargs}
    with pytest.raises(ValueError, match=message):
        plan_review_request(pr, AMAP, verdict, **arguments)  # type: ignore[arg-type]


def _removal(reviewer: str, actor: str | None, days: float = 0.8) -> ReviewRequestRemoval:
    return ReviewRequestRemoval(reviewer=reviewer, actor=actor, removed_at=at(days))


# Without removals, bob's approval (Acme, the authors' company) leaves these, best first.
BASELINE = ["erin", "heidi", "grace", "judy", "ivan", "carol"]


@pytest.mark.parametrize(
    ("removals", "requested", "excluded", "chosen"),
    [
        ((), (), set(), ["erin"]),
        # erin declined by removing herself: the next one is asked, never erin again.
        ((_removal("erin", "erin"),), (), {"erin"}, ["heidi"]),
        # A TSC member with no conflict removed her (frank was at Globex then): not fought.
        ((_removal("erin", "frank"),), (), {"erin"}, ["heidi"]),
        # The author, a colleague, someone outside the TSC, a deleted account: asked again.
        ((_removal("erin", "alice"),), (), set(), ["erin"]),
        ((_removal("heidi", "bob"),), (), set(), ["heidi"]),
        ((_removal("heidi", "dave"),), (), set(), ["heidi"]),
        ((_removal("erin", None),), (), set(), ["erin"]),
        # Removed a second time by the author: nobody is asked, not even someone else.
        ((_removal("erin", "alice"), _removal("erin", "alice", 0.9)), (), {"erin"}, []),
        ((_removal("ERIN", "erin"),), (), {"erin"}, ["heidi"]),  # logins are case-insensitive
        (
            (_removal("erin", "erin"), _removal("heidi", "heidi")),
            (),
            {"erin", "heidi"},
            ["grace"],
        ),
        # Requested again by hand after the removal: she is pending, so nobody else is asked.
        ((_removal("erin", "erin"),), ("erin",), set(), []),
        ((_removal("dave", "dave"),), (), set(), ["erin"]),  # not a candidate anyway
        ((_removal("ghost-login", "x"),), (), set(), ["erin"]),  # unknown to the map
    ],
)
def test_removed_review_requests(
    removals: tuple[ReviewRequestRemoval, ...],
    requested: tuple[str, ...],
    excluded: set[str],
    chosen: list[str],
) -> None:
    pr = facts(
        reviews=(approve("bob"),), review_request_removals=removals, requested_reviewers=requested
    )
    candidates, verdict = _candidates(pr)
    assert candidates == [login for login in BASELINE if login not in excluded]
    assert _chosen(pr, verdict) == chosen


def test_every_candidate_removed_leaves_nobody_to_ask() -> None:
    removals = tuple(_removal(login, login) for login in BASELINE)
    pr = facts(reviews=(approve("bob"),), review_request_removals=removals)
    candidates, verdict = _candidates(pr)
    assert verdict.needs_independent_review
    assert candidates == []
    assert verdict.removals.excluded == frozenset(BASELINE)


@pytest.mark.parametrize(
    ("pending", "count", "withdrawn"),
    [
        (["gus"], 1, 0),  # no race: nothing to withdraw
        (["gus", "ivan"], 1, 1),  # two evaluations each asked one: one goes
        (["gus", "ivan", "gina"], 2, 1),
        (["gus", "outsider"], 1, 0),  # not eligible (a person's own choice): never withdrawn
        (["GUS", "ivan"], 1, 1),  # logins ignore case
    ],
)
def test_a_racing_surplus_is_withdrawn_the_same_way_everywhere(
    pending: list[str], count: int, withdrawn: int
) -> None:
    pr = facts()
    eligible = ["gus", "ivan", "gina"]
    surplus = surplus_requests(pr, pending, eligible, count=count)
    assert len(surplus) == withdrawn
    # Every process, whatever order GitHub lists the requests in, withdraws the same people.
    assert surplus == surplus_requests(pr, list(reversed(pending)), eligible, count=count)
    assert "outsider" not in surplus


def _click(kind: str = "request", *, applied: bool = True) -> CommandOutcome:
    return CommandOutcome(
        comment_id="click", comment_database_id=None, author="carol", command=kind,
        kind=kind, applied=applied,  # type: ignore[arg-type]
    )  # fmt: skip


MINOR: dict[str, Any] = {"files": ("docs/a.md",)}  # no review is needed on its own
ASKED_BY_COMMAND = {**MINOR, "comments": (comment("carol", "/coi request"),)}


@pytest.mark.parametrize(
    ("pr_args", "clicks", "due"),
    [
        ({"reviews": (approve("bob"),)}, (), True),  # same-company approval of a major change
        (MINOR, (), False),
        (ASKED_BY_COMMAND, (), True),  # a fresh `/coi request`: asked even though not needed
        (MINOR, (_click(),), True),  # a click on `Request reviewer`
        (MINOR, (_click(applied=False),), False),  # a refused click asks nobody
        (MINOR, (_click("recheck"),), False),
        ({"reviews": (approve("bob"),), "draft": True}, (), False),  # never on a draft
        ({"reviews": (approve("bob"),), "state": "CLOSED"}, (), False),
        ({"reviews": (approve("bob"),), "requested_reviewers": ("carol",)}, (), False),  # pending
        ({"opener": "erin", "files": ("GOVERNANCE.md",), "reviews": (approve("carol"),)}, (), True),
    ],
)
def test_when_a_request_is_due(
    pr_args: dict[str, Any], clicks: tuple[CommandOutcome, ...], due: bool
) -> None:
    pr = facts(**pr_args)
    verdict = evaluate(pr, AMAP, now=NOW, map_ref=REF)
    first = plan_review_request(
        pr, AMAP, verdict, now=NOW, commands=verdict.command_outcomes, clicks=clicks
    )
    # Due: the first step names candidates whose load to read and asks nobody yet.
    assert bool(first.needs_load) == due
    assert first.ask == ()
    if due:
        second = plan_review_request(
            pr, AMAP, verdict, now=NOW, commands=verdict.command_outcomes, clicks=clicks, load={}
        )
        assert second.ask
        assert not second.needs_load
        assert second.ask[0] not in {pr.opener, *(r.author for r in pr.reviews)}


def test_a_reviewer_a_racing_evaluation_asked_is_pending_not_asked_again() -> None:
    pr = facts(reviews=(approve("bob"),))
    verdict = evaluate(pr, AMAP, now=NOW, map_ref=REF)
    plan = plan_review_request(pr, AMAP, verdict, now=NOW, load={}, asked_now=("Heidi",))
    assert plan.ask == ()
    assert plan.pending == ("Heidi",)
    assert plan.shown == ("Heidi",)


def test_nobody_left_is_said_whenever_a_review_is_needed() -> None:
    removals = tuple(_removal(login, login) for login in BASELINE)
    pr = facts(reviews=(approve("bob"),), review_request_removals=removals)
    verdict = evaluate(pr, AMAP, now=NOW, map_ref=REF)
    plan = plan_review_request(pr, AMAP, verdict, now=NOW)
    assert plan.no_candidate
    assert not plan.needs_load
    quiet = plan_review_request(pr, make_map(policy={"request_reviewers": 0}), verdict, now=NOW)
    assert not quiet.no_candidate  # a map that asks nobody never says nobody is left


def test_an_edit_into_a_request_asks_like_a_fresh_command() -> None:
    note = comment("carol", "/coi request")
    pr = facts(**{**MINOR, "comments": (replace(note, viewer_reactions=("THUMBS_UP",)),)})
    verdict = evaluate(pr, AMAP, now=NOW, map_ref=REF)
    commands = verdict.command_outcomes
    edit = CommentEdit(comment_id=note.database_id or 0, node_id=note.id, previous_body="hi")
    plain = plan_review_request(pr, AMAP, verdict, now=NOW, commands=commands)
    assert not plain.needs_load  # its `+1` says the request was carried out
    edited = plan_review_request(pr, AMAP, verdict, now=NOW, commands=commands, edits=(edit,))
    assert edited.needs_load


def test_the_check_shows_new_requests_else_pending_ones() -> None:
    assert ReviewPlan(ordered=("erin", "heidi"), count=1).shown == ("erin",)
    assert ReviewPlan(pending=("carol",)).shown == ("carol",)
    assert ReviewPlan().shown == ()


BLOCK = make_map(policy={"evidence": "block"})


def _block_candidates(
    pr: PullRequestFacts, profiles: tuple[Profile, ...] | None, *, amap: AffiliationMap = BLOCK
) -> list[str]:
    verdict = evaluate(pr, amap, now=NOW, map_ref=REF)
    assert verdict.needs_independent_review
    return reviewer_candidates(pr, amap, verdict, load={}, now=NOW, profiles=profiles)


@pytest.mark.parametrize(
    ("profiles", "left_out"),
    [
        (None, set()),  # not read: the map decides
        ((), set()),
        ((Profile("carol", "ACME Corp"),), {"carol"}),  # an alias of the authors' company
        ((Profile("erin", None, ("acme",)),), set()),  # an org the map does not list for Acme
        ((Profile("ivan", "@acme"),), {"ivan"}),
        ((Profile("carol", "Initech"), Profile("judy", "Freelance")), set()),
    ],
)
def test_under_block_a_candidate_github_shows_at_an_authors_company_is_left_out(
    profiles: tuple[Profile, ...] | None, left_out: set[str]
) -> None:
    pr = facts(reviews=(approve("bob"),))  # Acme approves Acme: a review is needed
    everyone = _block_candidates(pr, None)
    assert set(everyone) - set(_block_candidates(pr, profiles)) == left_out


def test_under_block_a_company_github_shows_an_author_at_is_avoided() -> None:
    # The map says Alice is at Acme; her profile says Globex: Globex's approval would not count.
    pr = facts(reviews=(approve("bob"),), profiles=(Profile("alice", "Globex"),))
    candidates = _block_candidates(pr, ())
    assert "carol" not in candidates
    assert "erin" in candidates
    warned = make_map(policy={"evidence": "warn"})
    assert "carol" in _block_candidates(pr, (Profile("carol", "Acme"),), amap=warned)


def test_under_block_the_plan_reads_profiles_with_the_load_and_asks_only_who_counts() -> None:
    pr = facts(reviews=(approve("bob"),))
    verdict = evaluate(pr, BLOCK, now=NOW, map_ref=REF)
    first = plan_review_request(pr, BLOCK, verdict, now=NOW)
    assert "carol" in first.needs_load
    everyone_at_acme = tuple(Profile(login, "Acme") for login in first.needs_load)
    plan = plan_review_request(pr, BLOCK, verdict, now=NOW, load={}, profiles=everyone_at_acme)
    assert plan.ask == ()
    assert plan.no_candidate


def test_a_reviewer_removed_twice_by_the_author_is_waited_on_and_said() -> None:
    removals = (_removal("erin", "alice"), _removal("erin", "alice", 0.9))
    pr = facts(reviews=(approve("bob"),), review_request_removals=removals)
    verdict = evaluate(pr, AMAP, now=NOW, map_ref=REF)
    plan = _plan(pr, verdict)
    assert (plan.ask, plan.waiting_on, plan.no_candidate) == ((), ("erin",), False)
    (act,) = verdict.refused_acts
    assert (act.actor, act.act) == ("alice", "removed @erin's review request")
    assert "the check waits on @erin" in act.why
    summary = render(verdict, check_name="COI review", waiting_on=plan.waiting_on).summary
    assert "The check waits on @erin" in summary
    assert "| @alice | removed @erin's review request | @alice is an author;" in summary


def test_a_removal_once_by_the_author_asks_that_reviewer_again_first() -> None:
    # heidi would come second without the removal: she is asked again before erin.
    pr = facts(reviews=(approve("bob"),), review_request_removals=(_removal("heidi", "alice"),))
    verdict = evaluate(pr, AMAP, now=NOW, map_ref=REF)
    assert _chosen(pr, verdict) == ["heidi"]
    assert "@heidi is asked again" in verdict.refused_acts[0].why


OLD = "0" * 40


@pytest.mark.parametrize(
    ("reviews", "extra", "asked"),
    [
        # bob (Acme) approved the head, carol's independent approval is of an older head.
        ((approve("bob"), approve("carol", 2, sha=OLD)), {}, ["carol"]),
        # Already asked again: pending, nobody new is asked.
        ((approve("bob"), approve("carol", 2, sha=OLD)), {"requested_reviewers": ("carol",)}, []),
        # She looked at the head since (a comment answers the request): not asked twice per head.
        (
            (approve("bob"), approve("carol", 2, sha=OLD), approve("carol", 3, state="COMMENTED")),
            {},
            ["erin"],
        ),
        # She removed the request after her approval: declined, a third party is asked instead.
        (
            (approve("bob"), approve("carol", 0.5, sha=OLD)),
            {"review_request_removals": (_removal("carol", "carol"),)},
            ["erin"],
        ),
        # The author removing her request is no answer: she is asked again.
        (
            (approve("bob"), approve("carol", 0.5, sha=OLD)),
            {"review_request_removals": (_removal("carol", "alice"),)},
            ["carol"],
        ),
        # A removal before her approval is no answer to the new head.
        (
            (approve("bob"), approve("carol", 2, sha=OLD)),
            {"review_request_removals": (_removal("carol", "carol"),)},
            ["carol"],
        ),
        # A stale same-company approval is not asked again: it would not count anyway.
        ((approve("bob", sha=OLD),), {}, ["erin"]),
    ],
)
def test_a_stale_independent_approval_asks_its_reviewer_again(
    reviews: tuple[Any, ...], extra: dict[str, Any], asked: list[str]
) -> None:
    pr = facts(reviews=reviews, **extra)
    verdict = evaluate(pr, AMAP, now=NOW, map_ref=REF)
    assert verdict.needs_independent_review
    assert list(_plan(pr, verdict).ask) == asked


def test_asking_again_needs_no_load_and_nothing_under_count() -> None:
    pr = facts(reviews=(approve("bob"), approve("carol", 2, sha=OLD)))
    verdict = evaluate(pr, AMAP, now=NOW, map_ref=REF)
    plan = plan_review_request(pr, AMAP, verdict, now=NOW)
    assert plan.ask == ("carol",)
    assert plan.needs_load == ()
    counting = make_map(policy={"stale_approvals": "count"})
    verdict = evaluate(pr, counting, now=NOW, map_ref=REF)
    assert not verdict.needs_independent_review
    assert plan_review_request(pr, counting, verdict, now=NOW, load={}).ask == ()


def test_a_tsc_member_with_no_company_on_record_is_asked_only_if_unknown_people_count() -> None:
    doc = document()
    doc["people"]["kami"] = {"role": "maintainer"}  # TSC, no company on record
    pr = facts(reviews=(approve("bob"),))
    for unknown_people, asked in (("conflicted", False), ("independent", True)):
        doc["policy"]["unknown_people"] = unknown_people
        amap = AffiliationMap(MapDocument.model_validate(doc))
        candidates, _ = _candidates(pr, amap=amap)
        assert ("kami" in candidates) is asked


@pytest.mark.parametrize(
    ("reviews", "extra", "asked"),
    [
        # carol's independent approval is of an older head: the change waits, she is asked again.
        ((approve("carol", 2, sha=OLD),), {}, ("carol",)),
        # Already asked again, or she looked at the head since: nobody is asked.
        ((approve("carol", 2, sha=OLD),), {"requested_reviewers": ("carol",)}, ()),
        ((approve("carol", 2, sha=OLD), approve("carol", 3, state="COMMENTED")), {}, ()),
        # No lapsed approver: a waiting change asks nobody new.
        ((), {}, ()),
    ],
)
def test_a_waiting_change_asks_only_its_lapsed_approvers_again(
    reviews: tuple[Any, ...], extra: dict[str, Any], asked: tuple[str, ...]
) -> None:
    pr = facts(reviews=reviews, **extra)
    verdict = evaluate(pr, AMAP, now=NOW, map_ref=REF)
    assert verdict.waiting
    plan = plan_review_request(pr, AMAP, verdict, now=NOW)
    assert plan.ask == asked
    assert plan.needs_load == (), "no load read: nobody new is a candidate"
    assert not plan.no_candidate
