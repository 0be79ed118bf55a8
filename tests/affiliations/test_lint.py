"""Warnings about valid maps: located like errors, failing only under --strict; import refusals."""

from __future__ import annotations

import shutil
import textwrap
from datetime import date
from pathlib import Path

import pytest

from bot.affiliations.lint import suppliers
from bot.affiliations.loader import load_map_text
from bot.cli import main

DATA = Path(__file__).resolve().parent / "data"
TODAY = date(2026, 7, 1)


def warnings_of(text: str, *, today: date = TODAY) -> list[str]:
    result = load_map_text(textwrap.dedent(text), path="m.yml", warnings_on=today)
    assert result.errors == ()
    return [str(w) for w in result.warnings]


def test_a_sound_map_has_no_warnings() -> None:
    text = """\
        version: 1
        companies:
          acme: {name: Acme, domains: [acme.com]}
          globex: {name: Globex}
        people:
          alice: {role: maintainer, emails: [a@acme.com], affiliations: [{company: acme}]}
          bob: {role: maintainer, emails: [bob@gmail.com], affiliations: [{company: globex}]}
        """
    assert warnings_of(text) == []


def test_warnings_are_computed_only_when_asked() -> None:
    result = load_map_text("version: 1\npeople: {alice: {role: maintainer}}\n")
    assert result.map is not None
    assert result.warnings == ()


def test_tsc_member_without_company_on_the_day() -> None:
    text = """\
        version: 1
        companies:
          acme: {name: Acme}
          solo: {name: Independent, independent: true}
        people:
          alice: {role: maintainer, affiliations: [{company: acme, until: 2026-07-01}]}
          bob: {role: contributor}
          carol: {role: maintainer, affiliations: [{company: solo}]}
        policy: {protected_companies: 1}
        """
    assert warnings_of(text) == [
        "m.yml:6:3: warning: TSC member 'alice' has no company on record on 2026-07-01: add"
        " their affiliation (to a company with `independent: true` if they work for none)"
    ]
    assert warnings_of(text, today=date(2026, 6, 30)) == []


def test_domain_and_organization_claimed_twice() -> None:
    text = """\
        version: 1
        companies:
          acme: {name: Acme, domains: [acme.com], github_orgs: [Acme]}
          globex:
            name: Globex
            domains: [globex.io, ACME.com, globex.io]
            github_orgs: [acme]
        """
    assert warnings_of(text) == [
        "m.yml:6:26: warning: domain 'acme.com' is claimed by 'acme' too, first at line 3",
        "m.yml:6:36: warning: domain 'globex.io' is claimed twice, first at line 6",
        "m.yml:7:19: warning: GitHub organization 'acme' is claimed by 'acme' too, first at line 3",
    ]


def test_email_of_another_company() -> None:
    text = """\
        version: 1
        companies:
          acme: {name: Acme, domains: [acme.com]}
          acme-labs: {name: Acme Labs, parent: acme}
          globex: {name: Globex, domains: [globex.io]}
        people:
          alice:
            emails: [alice@acme.com, alice@eng.globex.io, alice@gmail.com]
            affiliations: [{company: acme-labs}]
          bob:
            emails: [bob@globex.io]
        """
    assert warnings_of(text) == [
        "m.yml:8:30: warning: 'alice@eng.globex.io' is an email of company 'globex' (by its"
        " domain), but the map gives 'alice' 'acme-labs' on 2026-07-01",
        "m.yml:11:14: warning: 'bob@globex.io' is an email of company 'globex' (by its domain),"
        " but the map gives 'bob' no company on 2026-07-01",
    ]


POLICY_MAP = """\
version: 1
companies:
  broadcom: {name: Broadcom}
  vmware: {name: VMware, parent: broadcom}
  indie: {name: Independent, independent: true}
people:
  a: {role: maintainer, affiliations: [{company: broadcom}]}
  b: {role: maintainer, affiliations: [{company: vmware}]}
  c: {role: maintainer, affiliations: [{company: indie}]}
  d: {role: maintainer, affiliations: [{company: indie}]}
  e: {role: contributor, affiliations: [{company: indie}]}
  f: {role: maintainer, affiliations: [{company: vmware, until: 2020-01-01}]}
"""


def test_suppliers_count_conflict_groups_and_each_independent_member() -> None:
    result = load_map_text(POLICY_MAP)
    assert result.map is not None
    assert suppliers(result.map, TODAY) == 3


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("policy: {protected_companies: 3, independent_approvals: 3}\n", []),
        (
            "policy:\n  independent_approvals: 4\n  protected_companies: 5\n",
            [
                "m.yml:14:26: warning: policy.independent_approvals is 4, but TSC members on"
                " 2026-07-01 come from only 3 companies (independent members count one each):"
                " no pull request can satisfy it",
                "m.yml:15:24: warning: policy.protected_companies is 5, but TSC members on"
                " 2026-07-01 come from only 3 companies (independent members count one each):"
                " no pull request can satisfy it",
            ],
        ),
    ],
)
def test_a_policy_the_map_cannot_satisfy(policy: str, expected: list[str]) -> None:
    found = [w for w in warnings_of(POLICY_MAP + policy) if "policy." in w]
    assert found == expected


def test_a_map_without_tsc_has_no_policy_warning() -> None:
    assert warnings_of("version: 1\npeople: {a: {role: contributor}}\n") == []


# --- the command line -----------------------------------------------------------------------


def test_validate_prints_warnings_and_fails_only_when_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.yml"
    path.write_text("version: 1\npeople:\n  alice: {role: maintainer}\n", encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{path}: valid: 1 people, 0 companies, 1 TSC members\n"
    lines = err.splitlines()
    # The policy is located at the top: the map does not spell it out.
    assert lines[0].startswith(f"{path}:1:1: warning: policy.independent_approvals is 1")
    assert lines[1].startswith(f"{path}:1:1: warning: policy.protected_companies is 2")
    assert lines[2].startswith(f"{path}:3:3: warning: TSC member 'alice' has no company")
    assert lines[3:] == [f"{path}: 3 warning(s)"]
    assert main(["validate", "--strict", str(path)]) == 1
    assert capsys.readouterr().err == err


def test_import_of_people_without_companies_fails_unless_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    owners = shutil.copy(DATA / "OWNERS.2020-02-11.md", tmp_path / "OWNERS.md")
    assert main(["import", "owners", str(owners)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"{owners}: the import found 33 people but no company: is this the right file and"
        " format? (--allow-empty writes the map anyway)\n"
    )
    assert main(["import", "owners", "--allow-empty", str(owners)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("version: 1\n")
    assert "<stdout>:" in err
    assert ": warning: TSC member 'dzimine' has no company" in err


def test_import_of_no_people_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "developers_affiliations.txt"
    source.write_text("# nothing yet\n", encoding="utf-8")
    assert main(["import", "gitdm", str(source)]) == 1
    assert "the import found no people" in capsys.readouterr().err


def test_import_prints_the_warnings_of_the_map_it_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    owners = tmp_path / "OWNERS.md"
    owners.write_text(
        "# Maintainers *\n"
        "* A ([@a](https://github.com/a)), _Acme_\n"
        "* B ([@b](https://github.com/b))\n",
        encoding="utf-8",
    )
    assert main(["import", "owners", str(owners)]) == 0
    out, err = capsys.readouterr()
    amap = load_map_text(out).map
    assert amap is not None
    assert amap.is_tsc("b")
    assert err.splitlines()[0].startswith("<stdout>:")
    assert "TSC member 'b' has no company" in err
    assert "policy.protected_companies is 2" in err  # only Acme supplies reviewers
    assert err.splitlines()[-1] == "<stdout>: 2 warning(s)"
