"""The audit's pure rules, case by case, and its suggestions as diffs of the map's text."""

from __future__ import annotations

from datetime import date

import gidgethub
import pytest

from bot.affiliations.audit_rules import (
    AuditFacts,
    Collaborator,
    EditError,
    Finding,
    MapEdit,
    Seen,
    apply_edits,
    audit,
    suggestion_diff,
    tsc_role,
)
from bot.affiliations.evidence import Evidence
from bot.affiliations.index import AffiliationMap
from bot.affiliations.loader import load_map_text
from bot.audit_github import write_level
from bot.github.errors import data_beside_not_found

TODAY = date(2026, 12, 1)

MAP = """\
version: 1
companies:
  acme: {name: Acme, domains: [acme.com], github_orgs: [acme-corp]}
  initech: {name: Initech, domains: [initech.com]}
  indie: {name: Independent, independent: true}
# People of the project.
people:
  alice:  # maintainer at Acme
    role: maintainer
    affiliations:
      - {company: acme, from: 2020-01-01}
  bob:
    role: maintainer
    affiliations:
      - {company: initech}
  carol:
    role: contributor
    affiliations:
      - {company: acme}
  dave:
    role: maintainer
  erin:
    role: contributor
    affiliations:
      - {company: initech, until: 2025-01-01}
    away:
      - {from: 2024-01-01, until: 2024-02-01}
      - {from: 2027-01-01}

# Bots never count.
bots: [helper-bot]
policy:
  independent_approvals: 1
  protected_companies: 2
"""


def load(text: str = MAP) -> AffiliationMap:
    loaded = load_map_text(text, path="map.yml")
    assert loaded.map is not None, loaded.errors
    return loaded.map


def writer(login: str, level: str = "write") -> Collaborator:
    return Collaborator(login, level, f"https://github.com/{login}")


def profile(login: str, company: str) -> Evidence:
    return Evidence(login, "profile_company", company, f"https://github.com/{login}")


def org(login: str, name: str) -> Evidence:
    return Evidence(login, "org_member", name, f"https://github.com/{name}")


def email(login: str, address: str) -> Evidence:
    return Evidence(login, "commit_email", address, "https://github.com/o/r/commit/abc1234")


# Findings every audit of MAP has, whatever GitHub shows.
BASELINE = {
    ("error", "tsc-without-company", "dave"),
    ("info", "affiliation-ended", "erin"),
    ("info", "away-ended", "erin"),
}


def keys(findings: tuple[Finding, ...]) -> set[tuple[str, str, str | None]]:
    return {(f.severity, f.rule, f.person) for f in findings}


@pytest.mark.parametrize(
    ("collaborators", "evidence", "expected"),
    [
        pytest.param((), (), set(), id="nothing-seen"),
        pytest.param(
            (writer("stranger"),), (), {("error", "access-not-in-map", "stranger")}, id="stranger"
        ),
        pytest.param(
            (writer("Carol", "admin"),),
            (),
            {("warning", "access-without-tsc-role", "carol")},
            id="contributor-with-admin",
        ),
        pytest.param((writer("alice", "admin"),), (), set(), id="tsc-with-admin"),
        pytest.param((writer("helper-bot"),), (), set(), id="bot-with-write"),
        pytest.param(
            (),
            (email("alice", "alice@initech.com"),),
            {("warning", "affiliation-contradicted", "alice")},
            id="email-of-another-company",
        ),
        pytest.param((), (email("alice", "alice@eng.acme.com"),), set(), id="email-agrees"),
        pytest.param((), (email("alice", "alice@gmail.com"),), set(), id="free-mail"),
        pytest.param(
            (), (profile("erin", "Initech"),), {("warning", "company-missing", "erin")}, id="ended"
        ),
        pytest.param((), (org("dave", "acme-corp"),), set(), id="tsc-without-company-told-once"),
        pytest.param((), (profile("zed", "Acme"),), set(), id="not-in-map-without-access"),
        pytest.param((), (profile("bob", "Some Startup"),), set(), id="unmatched-company"),
    ],
)
def test_findings(
    collaborators: tuple[Collaborator, ...],
    evidence: tuple[Evidence, ...],
    expected: set[tuple[str, str, str | None]],
) -> None:
    facts = AuditFacts(collaborators=collaborators, evidence=evidence)
    assert keys(audit(load(), facts, today=TODAY)) == BASELINE | expected


def test_findings_come_most_severe_first() -> None:
    facts = AuditFacts(
        collaborators=(writer("carol"), writer("stranger")),
        evidence=(email("alice", "a@initech.com"),),
    )
    severities = [f.severity for f in audit(load(), facts, today=TODAY)]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    assert severities[0] == "error"
    assert severities[-1] == "info"


def test_a_stranger_with_access_is_added_with_a_tsc_role_and_the_company_github_shows() -> None:
    facts = AuditFacts(
        collaborators=(writer("stranger"),), evidence=(profile("stranger", "@acme-corp"),)
    )
    [found] = [f for f in audit(load(), facts, today=TODAY) if f.person == "stranger"]
    assert found.evidence == (
        Seen("access", "write", "https://github.com/stranger"),
        Seen("profile_company", "@acme-corp", "https://github.com/stranger"),
    )
    entry = {"role": "maintainer", "affiliations": [{"company": "acme", "from": TODAY}]}
    assert found.edits == (MapEdit("set", ("people", "stranger"), entry),)
    assert found.fix is not None
    assert found.fix.endswith("or take their write access away")


def test_a_contradiction_ends_the_affiliation_and_starts_the_one_github_shows() -> None:
    facts = AuditFacts(collaborators=(), evidence=(email("alice", "alice@initech.com"),))
    [found] = [f for f in audit(load(), facts, today=TODAY) if f.person == "alice"]
    assert found.message == "the map says @alice works for Acme; GitHub shows Initech"
    assert found.edits == (
        MapEdit("set", ("people", "alice", "affiliations", 0, "until"), TODAY),
        MapEdit(
            "append", ("people", "alice", "affiliations"), {"company": "initech", "from": TODAY}
        ),
    )
    assert found.evidence[0].describe() == "commit authored as alice@initech.com"


@pytest.mark.parametrize(
    ("evidence", "company"),
    [((org("dave", "acme-corp"),), "acme"), ((), "indie")],
    ids=["github-shows-acme", "the-one-independent-company"],
)
def test_a_tsc_member_without_company_gets_one(
    evidence: tuple[Evidence, ...], company: str
) -> None:
    facts = AuditFacts(collaborators=(), evidence=evidence)
    [found] = [f for f in audit(load(), facts, today=TODAY) if f.person == "dave"]
    append = MapEdit(
        "append", ("people", "dave", "affiliations"), {"company": company, "from": TODAY}
    )
    assert found.edits == (append,)


def test_without_one_independent_company_the_fix_is_words_only() -> None:
    amap = load(MAP.replace("  indie: {name: Independent, independent: true}\n", ""))
    [found] = [f for f in audit(amap, AuditFacts(()), today=TODAY) if f.person == "dave"]
    assert found.edits == ()
    assert found.fix is not None
    assert "independent: true" in found.fix


def test_a_policy_the_tsc_cannot_meet() -> None:
    amap = load(MAP.replace("independent_approvals: 1", "independent_approvals: 3"))
    found = [
        f for f in audit(amap, AuditFacts(()), today=TODAY) if f.rule == "policy-unsatisfiable"
    ]
    assert [(f.severity, f.person, f.edits) for f in found] == [
        ("error", None, (MapEdit("set", ("policy", "independent_approvals"), 2),))
    ]
    assert "only 2 companies" in found[0].message


def test_ended_away_windows_are_deleted_and_the_future_one_kept() -> None:
    [found] = [f for f in audit(load(), AuditFacts(()), today=TODAY) if f.rule == "away-ended"]
    assert found.edits == (MapEdit("delete", ("people", "erin", "away", 0)),)
    assert "ended on 2024-02-01" in found.message


def test_tsc_role_prefers_maintainer_else_the_last_tsc_role() -> None:
    assert tsc_role(load()) == "maintainer"
    roles = "policy:\n  roles:\n    chair: {tsc: true}\n    member: {tsc: true}\n    user: {}\n"
    renamed = MAP.replace("role: maintainer", "role: chair").replace("contributor", "user")
    amap = load(renamed.replace("policy:\n", roles, 1))
    assert tsc_role(amap) == "member"
    no_tsc = "policy:\n  roles:\n    user: {}\n"
    bare = load(renamed.replace("role: chair", "role: user").replace("policy:\n", no_tsc, 1))
    assert tsc_role(bare) is None


# --- suggestions ------------------------------------------------------------------------------


def test_the_diff_keeps_comments_and_a_comment_after_the_last_entry_stays_after_it() -> None:
    edits = [MapEdit("set", ("people", "stranger"), {"role": "maintainer"})]
    changed = apply_edits(MAP, edits)
    assert "  alice:  # maintainer at Acme\n" in changed
    assert "  stranger:\n    role: maintainer\n\n# Bots never count.\n" in changed
    diff = suggestion_diff(MAP, edits, path=".github/affiliations.yml")
    assert diff.startswith("--- a/.github/affiliations.yml\n+++ b/.github/affiliations.yml\n")
    assert [
        line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"
    ] == [
        "+  stranger:",
        "+    role: maintainer",
    ]


def test_the_edits_of_a_contradiction_and_a_deleted_window() -> None:
    edits = [
        MapEdit("set", ("people", "alice", "affiliations", 0, "until"), TODAY),
        MapEdit(
            "append", ("people", "alice", "affiliations"), {"company": "initech", "from": TODAY}
        ),
        MapEdit("delete", ("people", "erin", "away", 0)),
        MapEdit("append", ("people", "dave", "affiliations"), {"company": "indie", "from": TODAY}),
    ]
    changed = apply_edits(MAP, edits)
    assert (
        "      - {company: acme, from: 2020-01-01, until: 2026-12-01}\n"
        "      - {company: initech, from: 2026-12-01}\n"
    ) in changed
    assert "2024-01-01" not in changed
    assert "      - {from: 2027-01-01}\n" in changed
    assert "  dave:\n    role: maintainer\n    affiliations:\n      - {company: indie" in changed
    assert load(changed).companies_of("alice", TODAY) == {"initech"}


def test_the_file_keeps_its_own_indentation() -> None:
    text = "people:\n    ann:\n        role: maintainer\n        emails:\n        - a@x.org\n"
    changed = apply_edits(text, [MapEdit("set", ("people", "ann", "role"), "contributor")])
    assert changed == text.replace("maintainer", "contributor")


@pytest.mark.parametrize(
    ("text", "edit"),
    [
        ("people: [a, b]\n", MapEdit("set", ("people", "x", "role"), "r")),
        ("version: 1\n", MapEdit("delete", ("people", "ghost"))),
        ("- a list\n", MapEdit("set", ("policy", "x"), 1)),
        ("key: [unclosed\n", MapEdit("set", ("policy", "x"), 1)),
    ],
    ids=["not-a-mapping-on-the-way", "nothing-to-delete", "not-a-map", "not-yaml"],
)
def test_an_edit_the_text_cannot_take_is_refused(text: str, edit: MapEdit) -> None:
    with pytest.raises(EditError):
        apply_edits(text, [edit])


def test_no_edits_no_diff() -> None:
    assert suggestion_diff(MAP, [], path="m.yml") == ""


def test_edits_in_words() -> None:
    assert (
        MapEdit("delete", ("people", "erin", "away", 0)).describe() == "delete people.erin.away.0"
    )
    shown = MapEdit("append", ("people", "x", "affiliations"), {"company": "a", "from": TODAY})
    assert shown.describe() == "add `{company: a, from: 2026-12-01}` to people.x.affiliations"
    assert MapEdit("set", ("people", "x"), {"logins": ["y"]}).describe() == (
        "set people.x to `{logins: [y]}`"
    )


def test_untouched_flow_entries_keep_their_braces() -> None:
    text = "people:\n  carl: {role: contributor, affiliations: [{company: acme}]}\n"
    changed = apply_edits(text, [MapEdit("set", ("people", "carl", "role"), "maintainer")])
    assert changed == "people:\n  carl: {role: maintainer, affiliations: [{company: acme}]}\n"


@pytest.mark.parametrize(
    ("permissions", "level"),
    [
        ({"admin": True, "maintain": True, "push": True}, "admin"),
        ({"admin": False, "maintain": True, "push": True}, "maintain"),
        ({"push": True, "triage": True}, "write"),
        ({"triage": True, "pull": True}, None),
        ({}, None),
    ],
)
def test_write_level(permissions: dict[str, bool], level: str | None) -> None:
    assert write_level(permissions) == level


def test_errors_other_than_unknown_logins_are_not_swallowed() -> None:
    unknown = {"data": {"u0": None}, "errors": [{"type": "NOT_FOUND", "message": "no u0"}]}
    assert data_beside_not_found(gidgethub.QueryError(unknown)) == {"u0": None}
    limited = {"data": None, "errors": [{"type": "RATE_LIMITED", "message": "slow down"}]}
    with pytest.raises(gidgethub.QueryError):
        data_beside_not_found(gidgethub.QueryError(limited))


ACCOUNTS_MAP = MAP.replace(
    "  bob:\n    role: maintainer\n", "  bob:\n    id: 22\n    role: maintainer\n"
).replace("  carol:\n    role: contributor\n", "  carol:\n    id: 33\n    role: contributor\n")


@pytest.mark.parametrize(
    ("collaborators", "accounts", "unknown", "expected"),
    [
        pytest.param((), {"bob": 22}, (), set(), id="id-agrees"),
        pytest.param((), {"alice": 11}, (), {("info", "id-missing", "alice")}, id="id-missing"),
        pytest.param(
            (Collaborator("bobby", "write", "https://github.com/bobby", 22),),
            {"bobby": 22},
            ("bob",),
            {("warning", "login-renamed", "bob")},
            id="renamed-with-access-is-not-a-stranger",
        ),
        pytest.param(
            (),
            {"bobby": 22, "bob": 99},
            (),
            {("warning", "login-renamed", "bob"), ("error", "login-reused", "bob")},
            id="renamed-and-login-taken",
        ),
        pytest.param((), {"bob": 99}, (), {("error", "login-reused", "bob")}, id="login-reused"),
        pytest.param(
            (Collaborator("carol", "write", "https://github.com/carol", 33),),
            {"carol": 33},
            (),
            {("warning", "access-without-tsc-role", "carol")},
            id="contributor-bound-to-an-id-with-access",
        ),
        pytest.param(
            (Collaborator("carol-b", "write", "https://github.com/carol-b", 33),),
            {"carol-b": 33},
            ("carol",),
            {
                ("warning", "access-without-tsc-role", "carol"),
                ("warning", "login-renamed", "carol"),
            },
            id="renamed-contributor-with-access",
        ),
        pytest.param((), {}, ("bob",), {("warning", "login-gone", "bob")}, id="login-gone"),
    ],
)
def test_account_findings(
    collaborators: tuple[Collaborator, ...],
    accounts: dict[str, int],
    unknown: tuple[str, ...],
    expected: set[tuple[str, str, str | None]],
) -> None:
    facts = AuditFacts(collaborators=collaborators, unknown_accounts=unknown, account_ids=accounts)
    assert keys(audit(load(ACCOUNTS_MAP), facts, today=TODAY)) == BASELINE | expected


def test_suggest_fills_a_missing_id_in_the_persons_entry() -> None:
    facts = AuditFacts(collaborators=(), account_ids={"Alice": 583231})
    [found] = [f for f in audit(load(), facts, today=TODAY) if f.rule == "id-missing"]
    assert found.edits == (MapEdit("set", ("people", "alice", "id"), 583231),)
    edited = apply_edits(MAP, found.edits)
    assert "    id: 583231\n" in edited
    assert load(edited).document.people["alice"].id == 583231


def test_a_rename_and_a_reused_login_say_what_to_do() -> None:
    facts = AuditFacts(collaborators=(), account_ids={"bobby": 22, "bob": 99})
    found = {f.rule: f for f in audit(load(ACCOUNTS_MAP), facts, today=TODAY)}
    assert "update the map's login" in found["login-renamed"].message
    assert found["login-renamed"].fix == "rename `people.bob` to `bobby`"
    assert "the login now belongs to another account" in found["login-reused"].message
