"""The bundled map (config/affiliations.yml): valid, faithful to OWNERS.md, fit for the demo."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.affiliations.importers import import_owners
from bot.affiliations.index import AffiliationMap
from bot.affiliations.loader import load_map_file
from bot.cli import DEFAULT_MAP
from bot.policy.facts import ChangedFile, Commit, PullRequestFacts, Review
from bot.policy.verdict import MapRef, evaluate

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "config" / "affiliations.yml"
TODAY = date(2026, 7, 17)  # the day the OWNERS.md copy was taken

# Read off OWNERS.md by hand: the Leaders, Senior Maintainers and Maintainers sections.
OWNERS_TSC = {
    "dzimine",
    "amanda11",
    "nzlosh",
    "cognifloyd",
    "kami",
    "m4dcoder",
    "guzzijones",
    "rush-skills",
    "bishopbm1",
    "khushboobhatia01",
    "winem",
    "mamercad",
    "mickmcgrath13",
    "skiedude",
}


@pytest.fixture(scope="module")
def bundled() -> AffiliationMap:
    result = load_map_file(BUNDLED)
    assert list(result.errors) == []
    assert result.map is not None
    return result.map


def test_cli_default_points_at_the_bundled_map() -> None:
    assert ROOT / DEFAULT_MAP == BUNDLED


def test_first_line_names_the_schema() -> None:
    first = BUNDLED.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=./affiliations.schema.json"


def test_tsc_is_owners_md_voting_tiers(bundled: AffiliationMap) -> None:
    assert set(bundled.tsc_members()) == OWNERS_TSC


def test_people_match_a_fresh_import(bundled: AffiliationMap, stackstorm_dir: Path) -> None:
    owners = (stackstorm_dir / "OWNERS.md").read_text(encoding="utf-8")
    imported = import_owners(owners)
    assert bundled.document.people == imported.people
    assert set(bundled.document.companies) == set(imported.companies)
    assert bundled.policy.roles == imported.policy.roles


@pytest.mark.parametrize(
    ("login", "companies"),
    [
        ("cognifloyd", {"copart"}),
        ("khushboobhatia01", {"vmware"}),
        ("arms11", {"vmware"}),
        ("amanda11", {"intive"}),
        ("xod442", {"hpe"}),
        ("dzimine", set()),  # OWNERS.md names no company: none is invented
        ("kami", set()),
    ],
)
def test_affiliations(bundled: AffiliationMap, login: str, companies: set[str]) -> None:
    assert bundled.companies_of(login, TODAY) == companies


def test_a_maintainer_has_a_colleague(bundled: AffiliationMap) -> None:
    # The demo needs a TSC member and someone of the same company.
    people = bundled.document.people
    headcount = Counter(a.company for p in people.values() for a in p.affiliations)
    assert any(n >= 2 for n in headcount.values())
    assert bundled.companies_of("khushboobhatia01", TODAY) == {"vmware"}
    assert bundled.companies_of("arms11", TODAY) == {"vmware"}
    assert bundled.companies_conflict("vmware", "vmware")
    assert bundled.is_tsc("khushboobhatia01")
    assert not bundled.is_tsc("arms11")


def test_companies_have_readable_names(bundled: AffiliationMap) -> None:
    companies = bundled.document.companies
    assert companies["hpe"].name == "Hewlett Packard Enterprise"
    assert bundled.company_of_text("HPE") == "hpe"
    assert bundled.company_of_text("Schwarz IT KG") == "schwarz-it"
    assert "extreme" not in companies  # not named in OWNERS.md's current entries


def test_bots(bundled: AffiliationMap) -> None:
    assert bundled.document.bots == ["dependabot[bot]", "renovate[bot]"]


def test_policy_fits_st2(bundled: AffiliationMap) -> None:
    policy = bundled.policy
    assert policy.major.paths == [
        "st2common/**",
        "st2api/**",
        "st2auth/**",
        "st2actions/**",
        "st2reactor/**",
        "st2stream/**",
        "st2client/**",
        "GOVERNANCE.md",
    ]
    assert (policy.major.changed_lines, policy.major.changed_files) == (500, 30)
    assert policy.major.labels == ["major"]
    assert policy.minor_labels == ["trivial"]
    assert policy.protected_files == [
        ".github/affiliations.yml",
        "config/affiliations.yml",
        "OWNERS.md",
        "GOVERNANCE.md",
    ]
    assert policy.protected_companies == 2
    assert policy.enforcement == "required"
    assert policy.check_name == "COI review"
    assert policy.command_prefix == "/coi"


def test_stale_approvals_are_ignored_by_the_bundled_policy(bundled: AffiliationMap) -> None:
    assert bundled.policy.stale_approvals == "ignore"


def test_tsc_members_with_no_company_on_record_are_not_independent_of_each_other(
    bundled: AffiliationMap,
) -> None:
    # kami's major change approved by m4dcoder: neither has a company on record, GitHub shows
    # none here, so the approval falls under `unknown_people: conflicted`.
    now = datetime(2026, 7, 17, 12, tzinfo=UTC)
    pr = PullRequestFacts(
        owner="StackStorm",
        repo="st2",
        number=1,
        node_id="PR_1",
        title="Rework",
        opener="kami",
        head_sha="h" * 40,
        base_ref="master",
        files=(ChangedFile("st2common/x.py", 1, 1),),
        commits=(Commit(sha="h" * 40, author_login="kami"),),
        reviews=(Review("r1", "m4dcoder", "APPROVED", now, commit_sha="h" * 40),),
    )
    ref = MapRef(path="config/affiliations.yml", blob_sha=None, source="bundled")
    verdict = evaluate(pr, bundled, now=now, map_ref=ref)
    assert verdict.conclusion == "action_required", verdict.reasons
    [approval] = verdict.approvals
    assert approval.conflicted
    assert approval.why_not == (
        "no company on record, and GitHub shows none (policy: unknown people are conflicted)"
    )
