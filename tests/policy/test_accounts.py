"""People are accounts, in the verdict, its summary and the reviewer choice (pure)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.affiliations.index import AffiliationMap
from bot.affiliations.model import MapDocument
from bot.policy.commands import replay
from bot.policy.facts import Account, CommentDeletion, Commit, PullRequestFacts, RecordedDeclaration
from bot.policy.render import render
from bot.policy.reviewers import reviewer_candidates
from bot.policy.verdict import MapRef, Verdict, evaluate

from .builders import HEAD, NOW, approve, at, comment, document, facts, make_map

REF = MapRef(path=".github/affiliations.yml", blob_sha=None, source="repository")
CAROL, ERIN = 3003, 5005  # carol of Globex and erin of Initech, bound to their accounts


def _map() -> AffiliationMap:
    doc: dict[str, Any] = document()
    doc["people"]["carol"]["id"] = CAROL
    doc["people"]["erin"]["id"] = ERIN
    return AffiliationMap(MapDocument.model_validate(doc))


def _judge(pr: PullRequestFacts) -> tuple[Verdict, AffiliationMap]:
    amap = _map()
    return evaluate(pr, amap, now=NOW, map_ref=REF), amap


def _row(verdict: Verdict, reviewer: str) -> Any:
    (found,) = [a for a in verdict.approvals if a.reviewer == reviewer]
    return found


def test_a_renamed_member_found_by_id_counts_under_the_new_login() -> None:
    pr = facts(
        reviews=(approve("bob"), approve("carol-new")),
        accounts=(Account("carol-new", CAROL),),
    )
    verdict, _ = _judge(pr)
    assert _row(verdict, "carol-new").counted
    assert _row(verdict, "carol-new").companies == ("globex",)
    assert verdict.conclusion == "success"
    summary = render(verdict, check_name="COI review").summary
    assert "@carol-new is @carol of the map (GitHub id 3003)" in summary
    assert "update the map's login" in summary


def test_without_its_id_a_renamed_member_is_a_stranger() -> None:
    verdict, _ = _judge(facts(reviews=(approve("bob"), approve("carol-new"))))
    assert not _row(verdict, "carol-new").counted
    assert verdict.conclusion == "action_required"
    assert verdict.accounts == ()


def test_a_login_the_map_binds_to_another_id_is_someone_not_in_the_map() -> None:
    pr = facts(reviews=(approve("bob"), approve("carol")), accounts=(Account("carol", 777),))
    verdict, _ = _judge(pr)
    carol = _row(verdict, "carol")
    assert not carol.counted
    assert carol.companies == ()
    assert "not in the affiliation map" in (carol.why_not or "")
    assert verdict.conclusion == "action_required"
    summary = render(verdict, check_name="COI review").summary
    assert "@carol is GitHub id 777, not @carol of the map (id 3003)" in summary
    assert "the login now belongs to another account" in summary


def test_the_same_id_on_the_maps_login_changes_nothing() -> None:
    pr = facts(reviews=(approve("bob"), approve("carol")), accounts=(Account("carol", CAROL),))
    verdict, _ = _judge(pr)
    assert _row(verdict, "carol").counted
    assert verdict.accounts == ()
    assert "### Accounts" not in render(verdict, check_name="COI review").summary


def test_an_author_renamed_is_still_the_author_and_their_colleagues_are_conflicted() -> None:
    # Erin of Initech renamed to "erin2" and opened the PR: Initech is the authors' company.
    pr = facts(opener="erin2", reviews=(approve("carol"),), accounts=(Account("erin2", ERIN),))
    verdict, _ = _judge(pr)
    assert [a.companies for a in verdict.authors] == [("initech",)]
    assert verdict.author_companies == ("initech",)
    assert _row(verdict, "carol").counted


def test_a_login_now_another_accounts_is_never_a_candidate() -> None:
    pr = facts(reviews=(approve("bob"),), accounts=(Account("carol", 777),))
    verdict, amap = _judge(pr)
    seen = amap.seen_as(pr.account_ids)
    candidates = reviewer_candidates(pr, seen, verdict, load={}, now=NOW)
    assert "carol" not in candidates
    assert "erin" in candidates


def test_a_renamed_member_is_asked_under_the_new_login() -> None:
    pr = facts(reviews=(approve("bob"),), accounts=(Account("erin-b", ERIN),))
    verdict, amap = _judge(pr)
    seen = amap.seen_as(pr.account_ids)
    candidates = reviewer_candidates(pr, seen, verdict, load={}, now=NOW)
    assert "erin-b" in candidates
    assert "erin" not in candidates


def test_a_member_whose_login_is_another_accounts_is_still_an_author_by_email() -> None:
    # Erin co-wrote the change (her email in a trailer); someone else now holds "erin" and
    # comments: Erin stays an Initech author, so Initech's approvals are still conflicted.
    trailer = "Fix\n\nCo-authored-by: Erin <erin@initech.example>"
    pr = facts(
        opener="carol",
        commits=(Commit(sha=HEAD, author_login="carol", message=trailer),),
        reviews=(approve("mallory"),),
        accounts=(Account("erin", 999),),
    )
    verdict, amap = _judge(pr)
    assert verdict.author_companies == ("globex", "initech")
    assert _row(verdict, "mallory").conflicted
    assert "@erin (old login)" in [a.display for a in verdict.authors]
    seen = amap.seen_as(pr.account_ids)
    assert "erin" not in reviewer_candidates(pr, seen, verdict, load={}, now=NOW)


def test_a_no_reply_trailer_names_the_account_by_its_id_whatever_the_login_in_it() -> None:
    # GitHub's own co-author line for Erin, written before she renamed (or another took "erin").
    trailer = "Fix\n\nCo-authored-by: Erin <5005+erin@users.noreply.github.com>"
    pr = facts(
        opener="carol",
        commits=(Commit(sha=HEAD, author_login="carol", message=trailer),),
        reviews=(approve("mallory"),),
        accounts=(Account("erin", 999),),
    )
    verdict, _ = _judge(pr)
    assert verdict.author_companies == ("globex", "initech")
    assert _row(verdict, "mallory").conflicted


def test_a_no_reply_trailer_of_an_unknown_id_names_its_login() -> None:
    trailer = "Fix\n\nCo-authored-by: Zed <77+erin@users.noreply.github.com>"
    pr = facts(opener="carol", commits=(Commit(sha=HEAD, author_login="carol", message=trailer),))
    verdict, _ = _judge(pr)
    # By login, as before: naming an author more only ever asks for more review.
    assert verdict.author_companies == ("globex", "initech")


def test_a_login_github_no_longer_knows_is_told_as_such() -> None:
    pr = facts(reviews=(approve("bob"),))
    verdict, amap = _judge(pr)
    seen = amap.seen_as({"carol": None})
    summary = render(replace(verdict, accounts=seen.account_notes), check_name="x").summary
    assert "GitHub knows no account @carol now: @carol of the map (id 3003)" in summary
    assert "carol" not in reviewer_candidates(pr, seen, verdict, load={}, now=NOW)


def test_a_minor_label_counts_from_a_renamed_member_and_not_from_whoever_took_the_login() -> None:
    renamed = facts(
        labels=("trivial",), labels_by="carol-new", accounts=(Account("carol-new", CAROL),)
    )
    assert not _judge(renamed)[0].classification.major
    taken = facts(labels=("trivial",), labels_by="carol", accounts=(Account("carol", 777),))
    verdict, _ = _judge(taken)
    assert verdict.classification.major
    assert [act.actor for act in verdict.refused_acts] == ["carol"]


def test_a_minor_command_counts_from_a_renamed_member_and_not_from_whoever_took_the_login() -> None:
    renamed = facts(
        comments=(comment("carol-new", "/coi minor typo"),),
        accounts=(Account("carol-new", CAROL),),
    )
    assert not _judge(renamed)[0].classification.major
    taken = facts(
        comments=(comment("carol", "/coi minor typo"),), accounts=(Account("carol", 777),)
    )
    assert _judge(taken)[0].classification.major


def test_a_kept_declaration_follows_its_accounts_not_their_old_logins() -> None:
    # carol declared erin conflicted; alice (an author) deleted it. Since, both renamed and
    # someone else took "carol": the declaration is still carol's, and still on erin.
    record = RecordedDeclaration(
        "c-carol-1", "carol", "erin", "carol", "reviews for Acme", at(1), CAROL, ERIN, CAROL
    )
    pr = facts(
        reviews=(approve("erin-new"),),
        comments=(comment("carol", "thanks"),),
        recorded_declarations=(record,),
        comment_deletions=(CommentDeletion("carol-new", "alice", at(2)),),
        accounts=(Account("carol-new", CAROL), Account("carol", 777), Account("erin-new", ERIN)),
    )
    verdict, _ = _judge(pr)
    (declared,) = verdict.declarations
    assert (declared.login, declared.by) == ("erin-new", "carol-new")
    assert (declared.login_id, declared.by_id) == (ERIN, CAROL)
    assert not _row(verdict, "erin-new").counted
    assert "conflict declared" in str(_row(verdict, "erin-new").why_not)


def test_without_ids_in_the_map_a_kept_declaration_keeps_its_logins() -> None:
    record = RecordedDeclaration(
        "c-carol-1", "carol", "erin", "carol", "reviews for Acme", at(1), 41, 42, 41
    )
    pr = facts(
        recorded_declarations=(record,),
        comment_deletions=(CommentDeletion("carol", "alice", at(2)),),
        accounts=(Account("carol", 777),),
    )
    state = replay(pr, make_map(), writers=frozenset())
    assert [(d.login, d.by) for d in state.declarations.values()] == [("erin", "carol")]
