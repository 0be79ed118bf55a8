"""Evidence from GitHub against the map in the verdict and the check run (issue 14)."""

from __future__ import annotations

import pytest

from bot.affiliations.index import AffiliationMap
from bot.affiliations.model import MapDocument
from bot.policy.facts import Commit, Profile, PullRequestFacts
from bot.policy.markdown import as_shown
from bot.policy.render import render
from bot.policy.verdict import MapRef, Verdict, evaluate

from .builders import HEAD, NOW, approve, comment, document, facts

REF = MapRef(path=".github/affiliations.yml", blob_sha="abc123", source="repository")
SHORT = HEAD[:7]
SECTION = "### The map may be out of date"


def judge(pr: PullRequestFacts, evidence: str, *, bob_emails: tuple[str, ...] = ()) -> Verdict:
    doc = document(policy={"evidence": evidence})
    doc["people"]["bob"]["emails"] = list(bob_emails)
    doc["companies"]["acme"] |= {"domains": ["acme.example"], "github_orgs": ["acme-corp"]}
    doc["companies"]["globex"] |= {"domains": ["globex.example"]}
    amap = AffiliationMap(MapDocument.model_validate(doc))
    return evaluate(pr, amap, now=NOW, map_ref=REF)


def summary(verdict: Verdict) -> str:
    return render(verdict, check_name="COI review").summary


# alice (Acme) opens; carol (Globex, TSC) approves: independent by the map alone.
CAROL_AT_ACME = facts(
    reviews=(approve("carol"),), profiles=(Profile("carol", company="ACME Corp"),)
)
CAROL_IN_ACME_ORG = facts(
    reviews=(approve("carol"),), profiles=(Profile("carol", organizations=("acme-corp",)),)
)
# zoe, unknown to the map, commits as zoe@globex.example; carol (Globex) approves.
ZOE_AT_GLOBEX = facts(
    opener="zoe",
    commits=(Commit(sha=HEAD, author_login="zoe", author_email="zoe@globex.example"),),
    reviews=(approve("carol"),),
)


@pytest.mark.parametrize(
    ("name", "pr", "evidence", "conclusion", "why_not"),
    [
        ("profile, warn", CAROL_AT_ACME, "warn", "success", None),
        ("profile, ignore", CAROL_AT_ACME, "ignore", "success", None),
        (
            "profile, block",
            CAROL_AT_ACME,
            "block",
            "action_required",
            "GitHub shows them at Acme (`acme`), an author's company (profile company: ACME Corp)",
        ),
        (
            "public org, block",
            CAROL_IN_ACME_ORG,
            "block",
            "action_required",
            "GitHub shows them at Acme (`acme`), an author's company (public member of acme-corp)",
        ),
        # zoe is not in the map: her commit email places her at Globex whatever the policy.
        (
            "author's commit email, warn",
            ZOE_AT_GLOBEX,
            "warn",
            "action_required",
            "same company as the authors, Globex (`globex`)",
        ),
        (
            "author's commit email, ignore",
            ZOE_AT_GLOBEX,
            "ignore",
            "action_required",
            "same company as the authors, Globex (`globex`)",
        ),
        (
            "author's commit email, block",
            ZOE_AT_GLOBEX,
            "block",
            "action_required",
            "same company as the authors, Globex (`globex`)",
        ),
    ],
)
def test_evidence_policies(
    name: str, pr: PullRequestFacts, evidence: str, conclusion: str, why_not: str | None
) -> None:
    verdict = judge(pr, evidence)
    assert verdict.conclusion == conclusion, name
    [approval] = verdict.approvals
    # The reason is Markdown with GitHub's text made inert: compare it as it renders.
    shown = approval.why_not and as_shown(approval.why_not)
    assert shown == why_not
    assert approval.conflicted == (why_not is not None)
    assert bool(verdict.contradictions) == (evidence != "ignore")


def test_warn_lists_each_contradiction_with_its_fix() -> None:
    [found] = judge(CAROL_AT_ACME, "warn").contradictions
    assert (found.login, found.map_says, found.github_shows) == (
        "carol",
        "Globex",
        ("profile company: ACME Corp",),
    )
    assert found.fix == (
        "set `until: 2026-04-01` in people.carol.affiliations[0] (globex) and add "
        "`{company: acme, from: 2026-04-01}` to people.carol.affiliations"
    )
    [unknown] = judge(ZOE_AT_GLOBEX, "warn").contradictions
    assert (unknown.map_says, unknown.github_shows) == (
        "not in the map",
        (f"commit {SHORT} authored as zoe@globex.example",),
    )
    assert (
        unknown.fix == "add `zoe: {affiliations: [{company: globex, from: 2026-04-01}]}` to people"
    )


def test_evidence_that_agrees_or_concerns_nobody_says_nothing() -> None:
    pr = facts(
        commits=(
            Commit(sha=HEAD, author_login="alice", author_email="alice@acme.example"),
            Commit(sha="e" * 40, author_login="alice", author_email="alice@gmail.com"),
        ),
        reviews=(approve("carol"),),
        comments=(comment("mallory", "looks fine"),),
        profiles=(
            Profile("alice", company="@acme-corp", organizations=("stackstorm",)),
            Profile("mallory", company="Acme"),  # commented only: the verdict does not use her
        ),
    )
    for evidence in ("warn", "block"):
        verdict = judge(pr, evidence)
        assert verdict.contradictions == ()
        assert verdict.conclusion == "success"
        assert SECTION not in summary(verdict)


def test_a_co_author_trailer_is_evidence_of_the_person_the_map_knows_by_that_email() -> None:
    pr = facts(
        opener="erin",
        commits=(
            Commit(
                sha=HEAD,
                author_login="erin",
                message="Fix\n\nCo-authored-by: Carol <12+carol@users.noreply.github.com>\n"
                "Co-authored-by: Bob <bob@globex.example>\n"
                "Co-authored-by: Someone <someone@globex.example>",
            ),
        ),
    )
    # No-reply says nothing; an address nobody in the map uses names nobody.
    [found] = judge(pr, "warn", bob_emails=("bob@globex.example",)).contradictions
    assert (found.login, found.company) == ("bob", "globex")
    assert found.github_shows == (f"commit {SHORT} authored as bob@globex.example",)


def test_one_line_per_address_however_many_commits() -> None:
    commits = tuple(
        Commit(sha=f"{i:040d}", author_login="carol", author_email="carol@acme.example")
        for i in range(5)
    )
    pr = facts(opener="carol", commits=commits)
    [found] = judge(pr, "warn").contradictions
    assert found.github_shows == (f"commit {'0' * 7} authored as carol@acme.example",)


@pytest.mark.parametrize(
    ("evidence", "shown", "note"),
    [
        ("warn", True, "Policy `evidence: warn`: the verdict follows the map"),
        ("block", True, "Policy `evidence: block`: this evidence also decides independence."),
        ("ignore", False, None),
    ],
)
def test_the_check_run_shows_the_section(evidence: str, shown: bool, note: str | None) -> None:
    text = summary(judge(CAROL_AT_ACME, evidence))
    assert (SECTION in text) == shown
    if note is not None:
        assert note in text
        row = (
            "| @carol | Globex | profile company: ACME Corp | set `until: 2026-04-01` in "
            "people.carol.affiliations[0] (globex) and add "
            "`{company: acme, from: 2026-04-01}` to people.carol.affiliations |"
        )
        assert row in text
    if evidence == "block":
        assert "GitHub shows them at Acme" in text
