"""The OWNERS.md and cncf/gitdm importers, company ids, and `dump_map`'s round trip."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from bot.affiliations.importers import (
    ImportFormatError,
    _display_name,
    company_id,
    dump_map,
    import_gitdm,
    import_owners,
)
from bot.affiliations.index import AffiliationMap
from bot.affiliations.loader import load_map_text
from bot.affiliations.lookalike import skeleton
from bot.affiliations.model import (
    Affiliation,
    Company,
    Conflict,
    MajorRules,
    MapDocument,
    Person,
    Policy,
    Role,
)
from bot.cli import main


@pytest.fixture(scope="module")
def owners_text(stackstorm_dir: Path) -> str:
    return (stackstorm_dir / "OWNERS.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def owners_2020_text(stackstorm_dir: Path) -> str:
    return (stackstorm_dir / "history" / "OWNERS.2020-02-11.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def gitdm_text(stackstorm_dir: Path) -> str:
    sample = stackstorm_dir / "cncf-gitdm" / "developers_affiliations1.head199.redacted.txt"
    return sample.read_text(encoding="utf-8")


def load_text(text: str) -> AffiliationMap:
    """Load a dumped map the way the bot does; fail the test on any error."""
    result = load_map_text(text, path="imported.yml")
    assert list(result.errors) == [], result.errors
    assert result.map is not None
    return result.map


def reload(document: MapDocument) -> MapDocument:
    return MapDocument.model_validate(YAML(typ="safe").load(dump_map(document)))


# --- company ids ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("VMware", "vmware"),
        ("VMware Inc.", "vmware"),
        ("  vmware  inc ", "vmware"),
        ("Microsoft Corporation", "microsoft"),
        ("Google LLC", "google"),
        ("Tencent Holdings Limited", "tencent"),
        ("Samsung Electronics Co. Ltd.", "samsung-electronics"),
        ("Virtuozzo International GmbH", "virtuozzo-international"),
        ("Schwarz IT KG", "schwarz-it"),
        ("OCADO GROUP PLC", "ocado-group"),
        ("Orchestral.ai", "orchestral-ai"),
        ("H-E-B", "h-e-b"),
        ("Firebolt ·", "firebolt"),
        ("Zürich Insurance", "zurich-insurance"),
        ("爱奇艺 · Internship", "爱奇艺-internship"),
        ("(Unknown)", "unknown"),
        ("Co", "co"),
        ("Inc. Ltd.", "inc"),
    ],
)
def test_company_id_normalises_names(name: str, expected: str) -> None:
    assert company_id(name) == expected


@pytest.mark.parametrize("name", ["", "   ", "· -- ·", "_"])
def test_company_id_refuses_names_without_letters(name: str) -> None:
    with pytest.raises(ValueError, match="no letters or digits"):
        company_id(name)


_names = st.text(min_size=1, max_size=40).filter(lambda s: any(c.isalnum() for c in s))


@given(_names)
def test_company_id_is_idempotent(name: str) -> None:
    once = company_id(name)
    assert company_id(once) == once


@given(_names, st.sampled_from([str.upper, str.lower, str.title, str.swapcase]), st.text(" \t"))
def test_company_id_ignores_case_and_surrounding_space(
    name: str, recase: Callable[[str], str], pad: str
) -> None:
    assert company_id(pad + recase(name) + pad) == company_id(name)


@given(_names)
def test_company_display_name_keeps_the_id(name: str) -> None:
    # The readable name an import writes must lead back to the id it was filed under.
    assert company_id(_display_name(name)) == company_id(name)


# --- OWNERS.md ------------------------------------------------------------------------------------


def test_owners_import_loads_with_zero_errors(owners_text: str) -> None:
    document = import_owners(owners_text)
    amap = load_text(dump_map(document))
    assert amap.document == document


@pytest.mark.parametrize(
    ("login", "role", "companies", "emails", "name"),
    [
        ("dzimine", "leader", [], ["dzimine@stackstorm.com"], "Dmitri Zimine"),
        ("cognifloyd", "senior-maintainer", ["copart"], ["cognifloyd@gmail.com"], "Jacob Floyd"),
        ("amanda11", "senior-maintainer", ["intive"], ["amanda.mcguinness@intive.com"], None),
        ("nzlosh", "senior-maintainer", [], ["nzlosh@yahoo.com"], "Carlos"),
        ("khushboobhatia01", "maintainer", ["vmware"], ["khushb99@gmail.com"], None),
        ("skiedude", "maintainer", ["adobe"], [], "Jake Z"),  # "- _Adobe_ -"
        ("arms11", "contributor", ["vmware"], [], None),  # ", _VMware_ -"
        ("AndroxxTraxxon", "contributor", ["h-e-b"], [], None),
        ("sravs-dev", "contributor", ["salesforce"], [], None),  # "_Salesforce_, -"
        ("philipphomberger", "contributor", ["schwarz-it"], [], None),
        ("userlocalhost", "contributor", [], [], None),  # no company
        ("blag", "friend", [], [], "blag"),  # description on the next line
    ],
)
def test_owners_people(
    owners_text: str,
    login: str,
    role: str,
    companies: list[str],
    emails: list[str],
    name: str | None,
) -> None:
    person = import_owners(owners_text).people[login]
    assert person.role == role
    assert [a.company for a in person.affiliations] == companies
    assert all(a.from_ is None and a.until is None for a in person.affiliations)
    assert person.emails == emails
    if name is not None:
        assert person.name == name


def test_owners_tiers_and_companies(owners_text: str) -> None:
    document = import_owners(owners_text)
    tsc = {
        login
        for login, p in document.people.items()
        if p.role in {"leader", "senior-maintainer", "maintainer"}
    }
    assert len(tsc) == 14
    assert set(document.policy.roles) >= {p.role for p in document.people.values() if p.role}
    assert document.policy.roles["maintainer"].tsc
    assert not document.policy.roles["friend"].tsc
    assert document.companies["schwarz-it"] == Company(name="Schwarz IT", aliases=["Schwarz IT KG"])
    assert document.companies["vmware"].name == "VMware"
    assert "Extreme Networks" not in {c.name for c in document.companies.values()}


def test_owners_2020_history(owners_2020_text: str) -> None:
    document = import_owners(owners_2020_text)
    load_text(dump_map(document))
    assert document.people["LindsayHill"].role == "leader"
    assert document.people["nzlosh"].role == "contributor"
    assert document.people["blag"].emails == ["blag@users.noreply.github.com"]
    assert document.companies == {}


DUPLICATE = """\
# Maintainers *
* Jo ([@jo](https://github.com/jo)) <<jo@work.example>>
# Leaders ***
* Jo Doe ([@JO](https://github.com/JO)), _Acme Inc._ <<jo@home.example>>
# Contributors
* Ann ([@ann](https://github.com/ann)), _ACME_ - Docs.
* Jo ([@jo](https://github.com/jo)), _Other_ <<JO@work.example>>
"""


def test_owners_person_listed_twice_keeps_the_higher_tier() -> None:
    document = import_owners(DUPLICATE)
    assert list(document.people) == ["jo", "ann"]
    jo = document.people["jo"]
    assert jo.role == "leader"
    assert jo.name == "Jo Doe"
    assert [a.company for a in jo.affiliations] == ["acme"]
    assert jo.emails == ["jo@home.example", "jo@work.example"]
    # "ACME" differs from "Acme" only in case: the map ignores case, so it is no alias
    assert document.companies["acme"] == Company(name="Acme", aliases=["Acme Inc."])
    assert "other" not in document.companies


def test_owners_lower_tier_listed_first_borrows_the_company_it_lacks() -> None:
    text = "# Contributors\n* A ([@a](https://github.com/a)), _Acme_\n# Leaders\n* A ([@a](x))\n"
    person = import_owners(text).people["a"]
    assert person.role == "leader"
    assert [a.company for a in person.affiliations] == ["acme"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# Maintainers\n* Jo without a handle\n", "line 2: a person's entry needs"),
        ("* Jo ([@jo](https://github.com/jo))\n", "line 1: @jo is outside the tiers"),
        ("# Emeritus\n* Jo ([@jo](https://github.com/jo))\n", "line 2: @jo is outside the tiers"),
        (
            "# Leaders\n* Jo ([@jo](https://github.com/someone))\n",
            "links to the profile of @someone",
        ),
        ("# Leaders\n* Jo [@jo] broken\n", "line 2: a person's entry needs"),
    ],
)
def test_owners_bad_entries_are_reported_with_their_line(text: str, message: str) -> None:
    with pytest.raises(ImportFormatError, match=message):
        import_owners(text)


def test_owners_reports_every_problem_at_once() -> None:
    text = "* A ([@a](x))\n# Leaders\n* nobody\n* B ([@b](https://github.com/c))\n"
    with pytest.raises(ImportFormatError) as caught:
        import_owners(text)
    assert [problem.line for problem in caught.value.problems] == [1, 3, 4]
    assert str(caught.value).splitlines()[0] == "line 1: @a is outside the tiers " + (
        "(Leaders, Senior Maintainers, Maintainers, Contributors, Friends)"
    )


def test_owners_ignores_bullets_outside_tiers_without_handles() -> None:
    text = "* See [GOVERNANCE.md](GOVERNANCE.md)\n# Friends\n* F ([@f](https://github.com/f/))\n"
    assert list(import_owners(text).people) == ["f"]


# --- cncf/gitdm -----------------------------------------------------------------------------------


def test_gitdm_import_loads_with_zero_errors(gitdm_text: str) -> None:
    document = import_gitdm(gitdm_text)
    amap = load_text(dump_map(document))
    assert amap.document == document
    assert len(document.people) == 54  # 55 records, 0xANDREW twice


def test_gitdm_dated_affiliations(gitdm_text: str) -> None:
    person = import_gitdm(gitdm_text).people["00r2"]
    assert person.affiliations == [
        Affiliation(company="perkinelmer", until=date(2014, 8, 1)),
        Affiliation(company="independent", from_=date(2014, 8, 1), until=date(2015, 10, 1)),
        Affiliation(company="pwc", from_=date(2015, 10, 1), until=date(2020, 1, 1)),
        Affiliation(company="simplebet", from_=date(2020, 1, 1)),
    ]
    assert person.emails == ["00r2@users.noreply.github.com"]


@pytest.mark.parametrize(
    ("day", "companies"),
    [
        (date(2014, 7, 31), {"perkinelmer"}),
        (date(2014, 8, 1), {"independent"}),  # from is inclusive, until exclusive
        (date(2015, 9, 30), {"independent"}),
        (date(2015, 10, 1), {"pwc"}),
        (date(2019, 12, 31), {"pwc"}),
        (date(2020, 1, 1), {"simplebet"}),
        (date(2030, 1, 1), {"simplebet"}),
    ],
)
def test_gitdm_boundaries_in_the_loaded_map(
    gitdm_text: str, day: date, companies: set[str]
) -> None:
    amap = load_text(dump_map(import_gitdm(gitdm_text)))
    assert amap.companies_of("00r2", day) == companies


def test_gitdm_odd_records(gitdm_text: str) -> None:
    document = import_gitdm(gitdm_text)
    people = document.people
    assert document.companies["independent"] == Company(name="Independent", independent=True)
    # redacted addresses are dropped; the noreply one that names another login is kept
    assert people["007"].emails == ["007@users.noreply.github.com"]
    assert people["03-aditi"].emails == []
    assert people["0x6d6178"].emails == ["2843450+b-m-f@users.noreply.github.com"]
    # back-to-back ranges of one company are one range
    assert people["0ur0b0r0s"].affiliations[0] == Affiliation(
        company="independent", until=date(2018, 11, 1)
    )
    # a login listed twice: the first record's history wins, emails of both merge
    andrew = people["0xANDREW"]
    assert [a.company for a in andrew.affiliations] == [
        "raiffeisen-bank-russia",
        "qiwi",
        "tinkoff-bank",
    ]
    assert andrew.emails == ["0xANDREW@users.noreply.github.com"]
    assert document.companies["vmware"] == Company(name="VMware", aliases=["VMware Inc."])
    assert people["100mik"].affiliations[-1] == Affiliation(
        company="vmware", from_=date(2021, 1, 1)
    )


def test_same_companies_from_owners_and_gitdm(owners_text: str, gitdm_text: str) -> None:
    owners = import_owners(owners_text)
    gitdm = import_gitdm(gitdm_text)
    assert owners.people["khushboobhatia01"].affiliations[0].company == "vmware"
    assert gitdm.people["100mik"].affiliations[-1].company == "vmware"
    shared = set(owners.companies) & set(gitdm.companies)
    assert shared == {"vmware"}


GITDM_EDGES = """\
# comment
alice*: alice!example.com, alice!old.example.com

\tAcme Inc. from 2015-01-01 until 2020-01-01
\t(Unknown) from 2020-01-01 until 2021-01-01
\tAcme from 2021-01-01
bob:
\tNotFound
carol: carol!example.com
ALICE: alice!new.example.com, Alice!Example.com
\tGlobex until 2015-01-01
\tInitech from 2019-01-01
"""


def test_gitdm_edge_cases() -> None:
    document = import_gitdm(GITDM_EDGES)
    alice = document.people["alice"]
    assert alice.emails == ["alice@example.com", "alice@old.example.com", "alice@new.example.com"]
    assert alice.affiliations == [
        Affiliation(company="globex", until=date(2015, 1, 1)),  # fits: kept
        Affiliation(company="acme", from_=date(2015, 1, 1), until=date(2020, 1, 1)),
        Affiliation(company="acme", from_=date(2021, 1, 1)),
    ]
    assert document.people["bob"] == Person()
    assert document.people["carol"] == Person(emails=["carol@example.com"])
    assert set(document.companies) == {"acme", "globex"}  # Initech overlapped: dropped
    assert document.companies["acme"] == Company(name="Acme", aliases=["Acme Inc."])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("\tAcme\n", "line 1: an affiliation before any 'login: emails' line"),
        ("just some words\n", "line 1: expected 'login: email, ...'"),
        ("a: not-an-email\n\tAcme\n", "line 1: 'not-an-email' is not an email"),
        ("a: x!y!z\n", "is not an email"),
        ("a:\n\tAcme from 2020-13-01\n", "line 2: '2020-13-01' is not a date"),
        ("a:\n\tAcme until soon\n", "line 2: 'soon' is not a date"),
        ("a:\n\tAcme from 2021-01-01 until 2020-01-01\n", "'from 2021-01-01' is not before"),
        ("a:\n\t··· from 2021-01-01\n", "line 2: company name '···' has no letters"),
        (
            "a:\n\tAcme until 2021-01-01\n\tGlobex from 2020-01-01\n",
            "line 3: @a's affiliation overlaps the one on line 2",
        ),
        ("a:\n\tAcme\n\tGlobex\n", "line 3: @a's affiliation overlaps the one on line 2"),
    ],
)
def test_gitdm_bad_lines_are_reported_with_their_line(text: str, message: str) -> None:
    with pytest.raises(ImportFormatError, match=message):
        import_gitdm(text)


def test_gitdm_email_of_two_logins_identifies_neither() -> None:
    text = "a: a!x.org, shared!x.org, A!X.org\n\tAcme\nb: SHARED!x.org, b!x.org\n\tAcme\n"
    document = import_gitdm(text)
    assert document.people["a"].emails == ["a@x.org"]
    assert document.people["b"].emails == ["b@x.org"]
    load_text(dump_map(document))


def test_owners_email_of_two_people_identifies_neither() -> None:
    text = (
        "# Maintainers\n* A ([@a](x)) <<team@x.org>> <<a@x.org>> <<a@x.org>>\n"
        "* B ([@b](x)) <<team@x.org>>\n"
    )
    document = import_owners(text)
    assert document.people["a"].emails == ["a@x.org"]
    assert document.people["b"].emails == []


def test_gitdm_problems_come_in_line_order() -> None:
    text = "a:\n\tAcme\n\tGlobex\nno colon here\n\tInitech from 1999\n"
    with pytest.raises(ImportFormatError) as caught:
        import_gitdm(text)
    assert [problem.line for problem in caught.value.problems] == [3, 4, 5]


# --- dump_map -------------------------------------------------------------------------------------


def test_dump_map_layout() -> None:
    document = MapDocument(
        version=1,
        companies={
            "acme": Company(name="Acme", aliases=["ACME Inc."]),
            "globex": Company(name="Globex", parent="acme"),
        },
        people={
            "jo": Person(
                role="maintainer",
                affiliations=[Affiliation(company="acme", from_=date(2021, 6, 1))],
                conflicts=[Conflict(company="globex", reason="consults", until=date(2027, 1, 1))],
            )
        },
        bots=["dependabot[bot]"],
        policy=Policy(major=MajorRules(paths=["st2common/**"], changed_lines=None)),
    )
    text = dump_map(document)
    assert text.splitlines()[0] == "version: 1"
    assert not text.startswith("#")
    assert "from_" not in text
    assert "      - {company: acme, from: 2021-06-01}" in text
    assert "      - {company: globex, until: 2027-01-01, reason: consults}" in text
    assert "bots: ['dependabot[bot]']" in text or 'bots: ["dependabot[bot]"]' in text
    assert "changed_files" not in text  # defaults are left out
    assert "changed_lines: null" in text
    top_level = [line.split(":")[0] for line in text.splitlines() if line[:1].isalpha()]
    assert top_level == ["version", "companies", "people", "bots", "policy"]
    assert reload(document) == document


def test_dump_map_of_an_empty_map() -> None:
    assert dump_map(MapDocument(version=1)) == "version: 1\n"


def test_dump_map_spells_roles_out() -> None:
    roles = {"core": Role(tsc=True), "helper": Role()}
    text = dump_map(MapDocument(version=1, policy=Policy(roles=roles)))
    assert "    core: {tsc: true}\n    helper: {tsc: false}\n" in text


_logins = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,12}", fullmatch=True)
_ids = st.from_regex(r"[a-z0-9][a-z0-9-]{0,10}", fullmatch=True)
_free_text = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=20)
_days = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 1, 1))


@st.composite
def _documents(draw: st.DrawFn) -> MapDocument:
    companies = draw(
        st.dictionaries(
            _ids,
            st.builds(Company, name=_free_text, aliases=st.lists(_free_text, max_size=2)),
            max_size=3,
        )
    )
    company = st.sampled_from(sorted(companies)) if companies else st.nothing()
    affiliations = st.lists(
        st.builds(Affiliation, company=company, from_=st.none() | _days, until=st.none() | _days),
        max_size=2 if companies else 0,
    )
    people = draw(
        st.dictionaries(
            _logins,
            st.builds(
                Person,
                name=st.none() | _free_text,
                emails=st.lists(_free_text, max_size=2),
                role=st.none() | st.sampled_from(["leader", "maintainer"]),
                affiliations=affiliations,
            ),
            max_size=3,
        )
    )
    bots = draw(st.lists(_free_text, max_size=2))
    return MapDocument(version=1, companies=companies, people=people, bots=bots)


@given(_documents())
def test_dump_map_round_trips(document: MapDocument) -> None:
    assert reload(document) == document


# --- the command line -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "file"),
    [
        ("owners", "OWNERS.md"),
        ("gitdm", "cncf-gitdm/developers_affiliations1.head199.redacted.txt"),
    ],
)
def test_cli_import_prints_a_valid_map(
    stackstorm_dir: Path, kind: str, file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", kind, str(stackstorm_dir / file)]) == 0
    printed = capsys.readouterr().out
    amap = load_text(printed)
    if kind == "owners":
        assert amap.companies_of("cognifloyd", date(2026, 1, 1)) == {"copart"}
        assert amap.is_tsc("cognifloyd")
    else:
        assert amap.companies_of("00r2", date(2014, 8, 1)) == {"independent"}


# Logins YAML would misread as other types: `yes`, `null`, `0x1f`, `1e3`, `on` are all logins.
@given(_free_text, _logins)
def test_dump_map_quotes_whatever_the_loader_would_misread(text: str, login: str) -> None:
    # One odd string in every place a string can go: a key, a block value, a flow list item.
    assume(skeleton(text) not in {"", skeleton("acme"), skeleton("Acme Inc.")})
    document = MapDocument(
        version=1,
        companies={"acme": Company(name="Acme Inc.", aliases=[text])},
        people={login: Person(name=text, emails=[f"{login}@{login}"])},
        bots=[login],
    )
    assert load_text(dump_map(document)).document == document


def test_cli_import_reports_problems_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "developers_affiliations.txt"
    source.write_text("\tAcme\nok: ok!example.com\n\tAcme from 2020-02-30\n", encoding="utf-8")
    assert main(["import", "gitdm", str(source)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"{source}:1: an affiliation before any 'login: emails' line",
        f"{source}:3: '2020-02-30' is not a date (YYYY-MM-DD)",
        f"{source}: 2 error(s)",
    ]


def test_gitdm_keeps_the_github_id_a_no_reply_address_gives() -> None:
    text = (
        "alice: 583231+Alice!users.noreply.github.com, alice!acme.example\n\tAcme\n"
        "bob: 77+bobby!users.noreply.github.com\n\tAcme\n"  # another login's: maybe an old name
        "carol: carol!globex.example\n\tGlobex\n"
    )
    document = import_gitdm(text)
    assert document.people["alice"].id == 583231
    assert document.people["bob"].id is None
    assert document.people["carol"].id is None
    assert "id: 583231" in dump_map(document)
    assert load_text(dump_map(document)).document.people["alice"].id == 583231


def test_owners_keeps_the_github_id_a_no_reply_address_gives() -> None:
    text = (
        "# Maintainers\n* A ([@a](x)) <<9+a@users.noreply.github.com>>\n* B ([@b](x)) <<b@x.org>>\n"
    )
    document = import_owners(text)
    assert document.people["a"].id == 9
    assert document.people["b"].id is None
