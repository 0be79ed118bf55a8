"""The evidence keys of the map: `domains`, `github_orgs`, `policy.evidence`, and their import."""

from __future__ import annotations

import textwrap

import pytest

from bot.affiliations.importers import dump_map, import_gitdm
from bot.affiliations.loader import load_map_text


def test_keys_load_with_their_defaults() -> None:
    result = load_map_text(
        "version: 1\ncompanies:\n  acme: {name: Acme, domains: [Acme.COM], github_orgs: [acme]}\n"
    )
    assert result.document is not None
    assert result.map is not None
    acme = result.document.companies["acme"]
    assert (acme.domains, acme.github_orgs) == (["acme.com"], ["acme"])
    assert result.document.policy.evidence == "warn"
    assert result.map.company_of_org("@ACME") == "acme"


@pytest.mark.parametrize(
    ("value", "column", "message"),
    [
        ("frank@acme.com", 32, "is an email address: write its domain 'acme.com'"),
        ("'@acme.com'", 32, "is an email address: write its domain 'acme.com'"),
        ("'acme .com'", 32, "is not a domain: a domain has no spaces"),
        ("acme", 32, "is not a domain name such as 'acme.com'"),
        ("acme.com.", 32, "is not a domain name such as 'acme.com'"),
        ("gmail.com", 32, "is a free-mail or no-reply domain: it names no employer"),
    ],
)
def test_bad_domains_are_located_errors(value: str, column: int, message: str) -> None:
    text = f"version: 1\ncompanies:\n  acme: {{name: Acme, domains: [{value}]}}\n"
    (error,) = load_map_text(text, path="m.yml").errors
    assert str(error).startswith(f"m.yml:3:{column}: companies.acme.domains[0]: ")
    assert str(error).endswith(message)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("'@acme'", "write the organization's login without '@'"),
        ("'acme corp'", "is not a GitHub organization login (letters, digits, '-')"),
    ],
)
def test_bad_organizations_are_located_errors(value: str, message: str) -> None:
    text = f"version: 1\ncompanies:\n  acme: {{name: Acme, github_orgs: [{value}]}}\n"
    (error,) = load_map_text(text, path="m.yml").errors
    assert str(error).startswith("m.yml:3:36: companies.acme.github_orgs[0]: ")
    assert str(error).endswith(message)


def test_policy_evidence_accepts_three_values() -> None:
    for value in ("ignore", "warn", "block"):
        result = load_map_text(f"version: 1\npolicy: {{evidence: {value}}}\n")
        assert result.document is not None
        assert result.document.policy.evidence == value
    (error,) = load_map_text("version: 1\npolicy: {evidence: loud}\n").errors
    assert "policy.evidence should be 'ignore', 'warn' or 'block'" in error.message


GITDM = textwrap.dedent(
    """\
    ann: ann!acme.com, ann!gmail.com, ann!eng.acme.com
    \tAcme Inc. from 2020-01-01
    bob: bob!acme.com
    \tAcme until 2020-01-01
    \tAcme from 2020-01-01
    cy: cy!globex.io, cy!shared.org
    \tGlobex
    dee: dee!shared.org
    \tAcme
    eve: eve!solo.dev, eve!under_score.com
    \tIndependent
    fay: fay!nowhere.net
    \t(Unknown)
    gus: gus!nowhere.net
    \tAcme
    hal: hal!users.noreply.github.com
    \tGlobex
    ivy: ivy!moved.com
    \tAcme until 2021-01-01
    \tGlobex from 2021-01-01
    """
)


def test_gitdm_import_gives_companies_the_domains_only_their_people_use() -> None:
    document = import_gitdm(GITDM)
    domains = {cid: company.domains for cid, company in document.companies.items()}
    assert domains == {
        "acme": ["acme.com", "eng.acme.com"],
        "globex": ["globex.io"],
        "independent": [],
    }
    reloaded = load_map_text(dump_map(document))
    assert reloaded.document == document
