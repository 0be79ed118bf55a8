"""Map edits that look harmless: look-alike companies, logins and emails are errors."""

from __future__ import annotations

import textwrap
from datetime import date

import pytest

from bot.affiliations.loader import load_map_text
from bot.affiliations.lookalike import skeleton


def errors_of(text: str) -> list[str]:
    result = load_map_text(textwrap.dedent(text), path="m.yml")
    return [str(error) for error in result.errors]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("acme", "Acme"),
        ("acme", "ACME"),
        ("acme", "\u0410\u0441me"),  # Cyrillic A and s
        ("acme", "Ac\u200bme"),  # a zero-width space
        ("acme", "\uff21\uff43\uff4d\uff45"),  # full-width letters
        ("acme", "ac-me"),
        ("acme", "ac me"),
        ("acme", "Acrne"),  # "rn" reads as "m"
        ("globex", "G1obex"),  # 1 reads as l
        ("ibm", "lBM"),  # capital I and small l
        ("octo", "0cto"),
    ],
)
def test_spellings_that_fold_alike_are_equal(first: str, second: str) -> None:
    assert skeleton(first) == skeleton(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [("acme", "acne"), ("Acme, Inc.", "Acme"), ("字节跳动", "腾讯"), ("globex", "globe")],
)
def test_different_spellings_stay_apart(first: str, second: str) -> None:
    assert skeleton(first) != skeleton(second)


@pytest.mark.parametrize(
    ("companies", "expected"),
    [
        pytest.param(
            "  acme: {name: Acme}\n  Acme: {name: Acme Corporation}\n",
            "m.yml:4:3: 'Acme' of company 'Acme' looks like 'acme' of company 'acme'",
            id="ids-differing-in-case",
        ),
        pytest.param(
            "  acme: {name: Acme}\n  globex: {name: Globex, aliases: [ACME]}\n",
            "m.yml:4:36: 'ACME' of company 'globex' looks like 'acme' of company 'acme'",
            id="alias-naming-another-company",
        ),
        pytest.param(
            "  acme: {name: Acme}\n  \u0430cme: {name: Anvils}\n",
            "m.yml:4:3: '\u0430cme' of company '\u0430cme' looks like 'acme' of company 'acme'",
            id="cyrillic-id",
        ),
        pytest.param(
            '  acme: {name: Acme}\n  umbrella: {name: "A c\u200bme"}\n',
            "m.yml:4:20: 'A c\\u200bme' of company 'umbrella' looks like 'acme' of company 'acme'",
            id="spaces-and-zero-width-in-a-name",
        ),
    ],
)
def test_lookalike_companies_are_errors_at_the_later_spelling(
    companies: str, expected: str
) -> None:
    errors = errors_of(f"version: 1\ncompanies:\n{companies}")
    assert len(errors) == 1, errors
    assert errors[0].startswith(expected)
    assert errors[0].endswith(", first at line 3")


def test_one_company_may_spell_itself_alike() -> None:
    text = "version: 1\ncompanies:\n  acme: {name: ACME, aliases: [Acme, acme]}\n"
    assert errors_of(text) == []


@pytest.mark.parametrize(
    ("map_text", "expected"),
    [
        pytest.param(
            'people:\n  "an\u200bna": {role: maintainer}\n',
            "m.yml:3:3: 'an\\u200bna' is not a GitHub login",
            id="zero-width-in-a-key",
        ),
        pytest.param(
            "people:\n  \u0430nna: {role: maintainer}\n",
            "m.yml:3:3: '\u0430nna' is not a GitHub login",
            id="cyrillic-key",
        ),
        pytest.param(
            'people:\n  anna: {logins: ["anna work"]}\n',
            "m.yml:3:19: 'anna work' is not a GitHub login",
            id="login-with-a-space",
        ),
        pytest.param(
            "people:\n  anna: {emails: [anna.acme.com]}\n",
            "m.yml:3:19: 'anna.acme.com' is not an email address",
            id="email-without-at",
        ),
        pytest.param(
            'people:\n  anna: {emails: ["anna @acme.com"]}\n',
            "m.yml:3:19: 'anna @acme.com' is not an email address",
            id="email-with-a-space",
        ),
        pytest.param(
            'bots: ["anna "]\n',
            "m.yml:2:8: 'anna ' is not a GitHub bot's login",
            id="bot-with-a-trailing-space",
        ),
    ],
)
def test_people_keys_logins_emails_and_bots_must_be_real(map_text: str, expected: str) -> None:
    errors = errors_of(f"version: 1\n{map_text}")
    assert len(errors) == 1, errors
    assert errors[0].startswith(expected)


def test_real_logins_and_bots_load() -> None:
    text = """\
        version: 1
        people:
          a-b-: {logins: [x--y, "0"], emails: ["root@localhost"]}
        bots: ["dependabot[bot]", renovate-bot]
        """
    assert errors_of(text) == []


def test_an_independent_company_that_looks_like_an_employer_is_warned() -> None:
    text = """\
        version: 1
        companies:
          acme: {name: Acme, independent: true, domains: [acme.com], github_orgs: [acme]}
          solo: {name: Independent, independent: true}
        people:
          alice: {role: maintainer, affiliations: [{company: acme}]}
          anna: {role: maintainer, affiliations: [{company: acme}]}
          sam: {role: maintainer, affiliations: [{company: solo}]}
        """
    result = load_map_text(textwrap.dedent(text), path="m.yml", warnings_on=date(2026, 7, 1))
    assert result.errors == ()
    assert [str(w) for w in result.warnings] == [
        "m.yml:3:35: warning: company 'acme' is `independent: true` but has email domains and"
        " GitHub organizations and 2 TSC members (alice, anna): its members never conflict with"
        " each other; if it is an employer, remove `independent`"
    ]
